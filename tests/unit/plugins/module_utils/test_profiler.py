# -*- coding: utf-8 -*-
"""The pure parts of the profiler: the libvirt side runs against the test bed
(extensions/molecule/default/verify.yml)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import profiler

MIB = 1024 * 1024


def test_page_sampling_is_the_only_mode_outside_kvm():
    assert profiler.choose_dirty_rate_mode('qemu') == 'page-sampling'
    assert profiler.choose_dirty_rate_mode('kvm') == 'page-sampling'
    assert profiler.choose_dirty_rate_mode('kvm', 'dirty-ring') == 'dirty-ring'
    with pytest.raises(profiler.ProfileError):
        # dirty-bitmap crashed a TCG guest's QEMU on the test bed
        profiler.choose_dirty_rate_mode('qemu', 'dirty-bitmap')
    with pytest.raises(profiler.ProfileError):
        profiler.choose_dirty_rate_mode('kvm', 'guess')


def test_rates_from_two_snapshots():
    before = {'cpu.time': 0, 'net.count': 2, 'net.0.rx.bytes': 0, 'net.0.tx.bytes': 0,
              'net.1.rx.bytes': 0, 'net.1.tx.bytes': 0, 'block.count': 1, 'block.0.rd.bytes': 0,
              'block.0.wr.bytes': 0}
    after = {'cpu.time': 3 * 10 ** 9, 'net.count': 2, 'net.0.rx.bytes': 4 * MIB, 'net.0.tx.bytes': 20 * MIB,
             'net.1.rx.bytes': 2 * MIB, 'net.1.tx.bytes': 0, 'block.count': 1, 'block.0.rd.bytes': 8 * MIB,
             'block.0.wr.bytes': 2 * MIB}
    rates = profiler.rates_from_stats(before, after, 2.0, vcpus=2)
    assert rates == {'cpu_util': 0.75, 'cpu_demand': None, 'net_rx_mibps': 3.0, 'net_tx_mibps': 10.0,
                     'block_rd_mibps': 4.0, 'block_wr_mibps': 1.0}


def test_cpu_demand_adds_the_run_queue_delay():
    before = {'vcpu.0.time': 0, 'vcpu.0.delay': 0}
    after = {'vcpu.0.time': 6 * 10 ** 8, 'vcpu.0.delay': 3 * 10 ** 8}
    assert profiler.cpu_demand(before, after, 1.0, vcpus=1) == 0.9
    assert profiler.cpu_demand({}, {'vcpu.0.time': 1}, 1.0, vcpus=1) is None


def test_missing_counters_count_as_nothing():
    # User networking: libvirt reports the interface but no counters.
    rates = profiler.rates_from_stats({'cpu.time': 0}, {'cpu.time': 10 ** 9, 'net.count': 1}, 1.0, vcpus=1)
    assert rates['net_tx_mibps'] == 0.0 and rates['cpu_util'] == 1.0


def test_transfer_estimate_from_balloon_statistics():
    # Numbers of the test bed's 256 MiB write VM.
    stats = {'balloon.available': 210860, 'balloon.unused': 83540, 'balloon.rss': 300584}
    memory = profiler.memory_from_stats(stats, 256.0)
    assert memory['memory_used_mib'] == pytest.approx(124.3, abs=0.1)
    # 124.3 used + (256 - 205.9) outside the allocator
    assert memory['transfer_mib'] == pytest.approx(174.4, abs=0.1)
    assert memory['memory_rss_mib'] == pytest.approx(293.5, abs=0.1)


def test_without_balloon_the_whole_memory_must_cross():
    memory = profiler.memory_from_stats({}, 512.0)
    assert memory['transfer_mib'] == 512.0
    assert memory['memory_used_mib'] is None
