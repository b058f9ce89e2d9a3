#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The default migration rate of a hypervisor type by the source's load, fitted from calibration stores.

Where nothing is learned about a pair yet, decisions.rates.DEFAULTS gives the rate; under TCG it depends
on how busy the source is (the migration thread shares its cores with every guest's vCPUs).  This fits
rate = idle + (saturated - idle) x busy over the migrations the stores hold that ran one at a time (streams 1), uncapped, of
one hypervisor type and stream transport, with their source's load measured: each migration's rate is
what QEMU sent over its transfer less the default set-up.

    python scripts/default_rates.py STORE.json [STORE.json ...] [--hypervisor qemu] [--transport tls]
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'build', 'collections'))

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (  # noqa: E402
    calibration_store)  # pylint: disable=wrong-import-position
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (  # noqa: E402
    calibration, rates)  # pylint: disable=wrong-import-position


def points(paths, hypervisor, transport):
    """[(source_busy, rate MiB/s)] of the stores' uncapped migrations of this kind that ran one at a time."""
    setup_s = rates.DEFAULTS[hypervisor]['setup_s']
    found = []
    for path in paths:
        with open(path) as handle:
            pairs = json.load(handle)['pairs']
        for key, entries in sorted(pairs.items()):
            parts = key.split('|') + [rates.PLAIN]
            if parts[2] != hypervisor or parts[3] != transport:
                continue
            samples = [calibration_store.from_entry(entry) for entry in entries]
            for sample in calibration.alike(calibration.at_cap(samples, 0), streams=1):
                if sample.source_busy is not None and sample.transfer_s and sample.transfer_s > setup_s + 0.1:
                    found.append((sample.source_busy, sample.sent_mib / (sample.transfer_s - setup_s)))
    return found


def line(found):
    """(idle, saturated): the least-squares line of rate on load, at 0 and at 1."""
    count = len(found)
    mean_x = sum(x for x, _y in found) / count
    mean_y = sum(y for _x, y in found) / count
    slope = sum((x - mean_x) * (y - mean_y) for x, y in found) / sum((x - mean_x) ** 2 for x, _y in found)
    return mean_y - slope * mean_x, mean_y + slope * (1 - mean_x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('stores', nargs='+')
    parser.add_argument('--hypervisor', default='qemu')
    parser.add_argument('--transport', default='tls')
    args = parser.parse_args()
    found = points(args.stores, args.hypervisor, args.transport)
    if len(set(x for x, _y in found)) < 2:
        sys.exit('not enough migrations at different loads: %d' % len(found))
    idle, saturated = line(found)
    errors = sorted(abs(y - (idle + (saturated - idle) * x)) / y for x, y in found)
    print('%d migrations (%s, %s, one at a time, uncapped), the source %.0f-%.0f %% busy' % (
        len(found), args.hypervisor, args.transport, 100 * min(x for x, _y in found), 100 * max(x for x, _y in found)))
    print('rate = %.0f MiB/s idle, %.0f MiB/s saturated (linear in the load)' % (idle, saturated))
    print('error of the line per migration: median %.0f %%, p90 %.0f %%, max %.0f %%' % (
        100 * calibration.median(errors), 100 * calibration.percentile(errors, 0.9), 100 * errors[-1]))
    for low, high in ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.01)):
        rates_in = [y for x, y in found if low <= x < high]
        if rates_in:
            print('  busy %3.0f-%3.0f %%: %2d migrations, median %.0f MiB/s' % (
                100 * low, min(100, 100 * high), len(rates_in), calibration.median(rates_in)))


if __name__ == '__main__':
    main()
