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


def main():
    print('vms  hosts  plan time (median of 20)')
    for vm_count, host_count in ((5, 2), (50, 10), (500, 10), (5000, 100)):
        vms, hosts = fleet(vm_count, host_count)
        times = sorted(timeit.repeat(lambda: planner.plan_evacuation(vms, hosts, 'nfs'), number=1, repeat=20))
        print('%4d  %5d  %.2f ms' % (vm_count, host_count, times[len(times) // 2] * 1000))


if __name__ == '__main__':
    main()
