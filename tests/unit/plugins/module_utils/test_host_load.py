# -*- coding: utf-8 -*-
"""A host's load from libvirt's node CPU statistics (libvirt's counters, faked)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import host_load
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt


class Node:
    """virNodeGetCPUStats of all CPUs, in ns, advancing by `busy`/`idle` per reading."""

    def __init__(self, busy, idle, fails=False):
        self.readings = 0
        self.busy, self.idle, self.fails = busy, idle, fails

    def getCPUStats(self, cpu, flags):
        assert cpu == libvirt.VIR_NODE_CPU_STATS_ALL_CPUS and flags == 0
        if self.fails:
            raise libvirt.libvirtError('this driver cannot tell')
        self.readings += 1
        return {'kernel': self.readings * self.busy // 4, 'user': self.readings * self.busy * 3 // 4,
                'idle': self.readings * self.idle, 'iowait': 0}


def test_the_busy_fraction_is_busy_time_over_all_time_between_two_readings():
    assert host_load.busy_fraction((100, 1000), (400, 2000)) == pytest.approx(0.3)
    assert host_load.busy_fraction(None, (400, 2000)) is None
    assert host_load.busy_fraction((100, 1000), (100, 1000)) is None


def test_a_meter_waits_out_its_window_and_says_nothing_where_libvirt_cannot_tell():
    now, slept = [10.0], []
    meter = host_load.Meter(Node(busy=600, idle=400), clock=lambda: now[0], sleep=slept.append)
    now[0] += 0.1
    assert meter.busy() == pytest.approx(0.6)
    assert slept == [pytest.approx(host_load.MIN_WINDOW_S - 0.1)]
    late = host_load.Meter(Node(busy=200, idle=800), clock=lambda: now[0], sleep=slept.append)
    now[0] += 1.0
    assert late.busy() == pytest.approx(0.2) and len(slept) == 1
    assert host_load.Meter(Node(1, 1, fails=True), clock=lambda: now[0], sleep=slept.append).busy() is None
