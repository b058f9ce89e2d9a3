# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import classifier

LIMITS = classifier.DEFAULT_THRESHOLDS


def profile(**values):
    base = dict(cpu_util=0.0, dirty_rate_mibps=0.0, net_rx_mibps=0.0, net_tx_mibps=0.0,
                memory_mib=256.0, memory_used_mib=32.0)
    base.update(values)
    return base


def classify(bandwidth=50.0, **values):
    return classifier.classify(profile(**values), bandwidth)


def test_idle():
    result = classify(cpu_util=0.05)
    assert result['workload'] == 'idle'
    assert result['access'] == 'read-intensive'
    assert result['labels'] == []


def test_cpu_boundary():
    assert classify(cpu_util=LIMITS['busy_cpu'])['workload'] == 'cpu-intensive'
    assert classify(cpu_util=LIMITS['busy_cpu'] - 0.001)['workload'] == 'idle'


def test_busy_vcpu_over_a_large_footprint_is_memory_intensive():
    big = LIMITS['memory_footprint_ratio'] * 256.0
    assert classify(cpu_util=0.9, memory_used_mib=big)['workload'] == 'memory-intensive'
    assert classify(cpu_util=0.9, memory_used_mib=big - 1)['workload'] == 'cpu-intensive'
    # A large footprint alone, with an idle vCPU, is not intensity.
    assert classify(cpu_util=0.05, memory_used_mib=200.0)['workload'] == 'idle'


def test_dirty_rate_boundary_for_memory_intensity():
    assert classify(dirty_rate_mibps=LIMITS['dirty_mibps'])['workload'] == 'memory-intensive'
    assert classify(dirty_rate_mibps=LIMITS['dirty_mibps'] - 0.01)['workload'] == 'idle'


def test_write_intensity_is_relative_to_the_bandwidth():
    ratio = LIMITS['write_bandwidth_ratio']
    assert classify(bandwidth=100.0, dirty_rate_mibps=100.0 * ratio)['access'] == 'write-intensive'
    assert classify(bandwidth=100.0, dirty_rate_mibps=100.0 * ratio - 0.01)['access'] == 'read-intensive'
    # The same 40 MiB/s is write-intensive on a 50 MiB/s link, not on a 1000 MiB/s one.
    assert classify(bandwidth=50.0, dirty_rate_mibps=40.0)['access'] == 'write-intensive'
    assert classify(bandwidth=1000.0, dirty_rate_mibps=40.0)['access'] == 'read-intensive'


def test_network_boundary_and_precedence_over_cpu():
    limit = LIMITS['network_mibps']
    assert classify(net_tx_mibps=limit / 2, net_rx_mibps=limit / 2, cpu_util=0.9)['workload'] == 'network-intensive'
    assert classify(net_tx_mibps=limit - 0.01, cpu_util=0.9)['workload'] == 'cpu-intensive'


def test_traffic_the_vm_writes_into_its_memory_is_memory_intensity():
    # A key-value store taking writes (measured on the test bed: 2.4 MiB/s of traffic, 5.0 MiB/s dirtied).
    result = classify(net_rx_mibps=2.0, net_tx_mibps=0.4, dirty_rate_mibps=5.0, cpu_demand=0.94)
    assert result['workload'] == 'memory-intensive' and 'network' not in result['labels']
    # A web server: its traffic is above what it dirties (measured: 4.8 against 1.0, 4.1 against 2.3 MiB/s),
    # even where what it dirties is above the dirty-rate threshold.
    for dirty in (1.0, 2.3):
        assert classify(net_tx_mibps=4.1, dirty_rate_mibps=dirty, cpu_demand=0.93)['workload'] == 'network-intensive'
    above = LIMITS['dirty_mibps'] + 1.0
    assert classify(net_tx_mibps=above + 3.0, dirty_rate_mibps=above, cpu_demand=0.93)['workload'] == 'network-intensive'
    # Traffic equal to the dirty rate is not network intensity of its own.
    assert 'network' not in classify(net_rx_mibps=10.0, dirty_rate_mibps=10.0)['labels']


def test_network_intensity_over_a_busy_large_footprint_is_mixed():
    # Both rates above their thresholds: the larger labels the VM.
    assert classify(net_tx_mibps=50.0, dirty_rate_mibps=30.0)['workload'] == 'network-intensive'
    assert classify(net_tx_mibps=30.0, dirty_rate_mibps=50.0)['workload'] == 'memory-intensive'
    result = classify(net_tx_mibps=50.0, dirty_rate_mibps=30.0, cpu_util=0.9, memory_used_mib=200.0)
    assert result['workload'] == 'mixed'
    assert set(result['labels']) == {'cpu', 'memory', 'network'}


def test_cpu_demand_is_preferred_over_what_the_vcpu_got():
    # 40 % of a crowded host's CPU, but it wanted all of it.
    assert classify(cpu_util=0.4, cpu_demand=0.98)['workload'] == 'cpu-intensive'
    assert classify(cpu_util=0.4, cpu_demand=None)['workload'] == 'idle'


def test_rss_stands_in_for_missing_balloon_statistics():
    assert classifier.footprint_ratio(profile(memory_used_mib=None, memory_rss_mib=128.0)) == 0.5
    assert classifier.footprint_ratio(profile(memory_used_mib=None)) == 0.0


def test_explanation_carries_the_numbers():
    text = classify(cpu_util=0.62, dirty_rate_mibps=40.0)['explanation']
    assert 'wants 62%' in text
    assert 'write-intensive' in text and '62%' in text and '40.0 MiB/s' in text


def test_thresholds_can_be_overridden_but_not_invented():
    assert classifier.classify(profile(cpu_util=0.3), 50.0, {'busy_cpu': 0.25})['workload'] == 'cpu-intensive'
    with pytest.raises(ValueError):
        classifier.merged_thresholds({'busy_gpu': 0.5})
    with pytest.raises(ValueError):
        classifier.merged_thresholds({'busy_cpu': -1})
    with pytest.raises(ValueError):
        classifier.classify(profile(), 0)
