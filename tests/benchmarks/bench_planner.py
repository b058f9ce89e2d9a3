#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""How long the evacuation planner takes on generated fleets (prints figures).

    . scripts/env.sh && PYTHONPATH=build/collections python tests/benchmarks/bench_planner.py
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import timeit

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import planner


def fleet(vm_count, host_count, seed=1):
    rng = random.Random(seed)
    vms = [planner.VmToMove('vm%03d' % i, rng.choice([512, 1024, 2048, 4096]), rng.choice([1, 2, 4]),
                            rng.choice(['precopy', 'postcopy', 'hybrid']), rng.uniform(0.5, 60), rng.uniform(1, 120), '')
           for i in range(vm_count)]
    hosts = [planner.Destination('hv%02d' % i, rng.choice([65536, 131072]), 64, rng.random() < 0.7, 'nfs')
             for i in range(host_count)]
    return vms, hosts


def median_ms(call):
    times = sorted(timeit.repeat(call, number=1, repeat=20))
    return times[len(times) // 2] * 1000


def main():
    # The target (issue #14): 500 VMs over 50 hosts planned in under 1 s. The re-plan runs after every
    # finished migration, on the moves not yet started.
    print('vms  hosts  plan (median of 20)  re-plan of every move')
    for vm_count, host_count in ((5, 2), (50, 10), (500, 10), (500, 50), (5000, 100)):
        vms, hosts = fleet(vm_count, host_count)
        plan = planner.plan_evacuation(vms, hosts, 'nfs')
        rates = dict((m['vm'], planner.Measured(100.0, 2.0, 'learned', 1.4)) for m in plan['moves'])
        moves = [dict(m, predicted_sent_mib=500.0) for m in plan['moves']]
        print('%4d  %5d  %8.2f ms  %8.2f ms' % (
            vm_count, host_count, median_ms(lambda: planner.plan_evacuation(vms, hosts, 'nfs')),
            median_ms(lambda: planner.replan(moves, rates, 0.0))))


if __name__ == '__main__':
    main()
