# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import assessment, policy

WRITER = {'domain_type': 'qemu', 'memory_mib': 256.0, 'memory_used_mib': 124.3, 'transfer_mib': 174.4,
          'wws_mib': 124.3, 'cpu_util': 0.08, 'dirty_rate_mibps': 38.0, 'net_rx_mibps': 0.0, 'net_tx_mibps': 0.0}


def test_a_writer_on_a_capped_link_goes_by_postcopy():
    result = assessment.assess(WRITER, 50.0, 300, policy.allowed_methods())
    assert result['bandwidth_mibps'] == 50.0
    assert result['classification']['access'] == 'write-intensive'
    assert result['recommended_method'] == 'postcopy'
    assert result['predictions']['precopy']['total_s'] > result['predictions']['postcopy']['total_s']


def test_tcg_caps_the_bandwidth_at_what_the_cpu_can_push():
    assert assessment.assess(WRITER, 10000.0, 300, ['precopy'])['bandwidth_mibps'] == assessment.TCG_CEILING_MIBPS
    kvm = dict(WRITER, domain_type='kvm')
    assert assessment.assess(kvm, 10000.0, 300, ['precopy'])['bandwidth_mibps'] == 10000.0


def test_no_safe_method_is_reported_not_raised():
    hot = dict(WRITER, dirty_rate_mibps=400.0, wws_mib=174.4)
    result = assessment.assess(hot, 50.0, 300, ['precopy'])
    assert result['recommended_method'] is None
    assert 'does not converge' in result['reason']
