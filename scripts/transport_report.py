#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""What encrypting the migration stream costs (#15): the same benchmark cells run once with plain streams and
once over TLS (two benchmark directories, playbooks/benchmark.yml with -e wa_transport=plain and =tls), side
by side per cell and method: median time (libvirt's whole job), pause, the guest's work rate, successes.

    python scripts/transport_report.py PLAIN_DIR TLS_DIR OUT.md [--command 'how the runs were made']
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'build', 'collections'))

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import (  # noqa: E402
    evaluation)  # pylint: disable=wrong-import-position


def _fmt(value, digits=2, suffix=''):
    return '-' if value is None else ('%.*f%s' % (digits, value, suffix))


def cell_stats(runs):
    """{(workload, memory_mib, bandwidth_mibps, method): {n, ok, time_s, pause_ms, work}} (medians)."""
    cells = {}
    for run in runs:
        key = (run['workload'], run['memory_mib'], run['bandwidth_mibps'], run['method'])
        cells.setdefault(key, []).append(run)
    stats = {}
    for key, mine in cells.items():
        ok = [r for r in mine if r['success']]
        stats[key] = {'n': len(mine), 'ok': len(ok),
                      'time_s': evaluation.median(evaluation.measured_s(r) for r in ok),
                      'qemu_s': evaluation.median(r['total_s'] for r in ok),
                      'pause_ms': evaluation.median(r['downtime_ms'] for r in ok),
                      'work': evaluation.median(r['work_ratio'] for r in mine)}
    return stats


def table(plain, tls):
    """Markdown lines: one row per cell and method both directories ran, and the median TLS/plain ratio."""
    lines = ['| workload | MiB | cap MiB/s | method | plain s | TLS s | TLS / plain | QEMU plain s | QEMU TLS s '
             '| plain pause ms | TLS pause ms | plain work | TLS work | ok plain/TLS |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    ratios = {}
    for key in sorted(set(plain) & set(tls), key=lambda k: (k[2] or 0, k[0], k[1], k[3])):
        p, t = plain[key], tls[key]
        ratio = t['time_s'] / p['time_s'] if p['time_s'] and t['time_s'] else None
        if ratio is not None:
            ratios.setdefault(key[2] or 0, []).append(ratio)
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d of %d/%d |' % (
            key[0], key[1], key[2] or 'none', key[3], _fmt(p['time_s']), _fmt(t['time_s']), _fmt(ratio, 2, 'x'),
            _fmt(p['qemu_s']), _fmt(t['qemu_s']), _fmt(p['pause_ms'], 0), _fmt(t['pause_ms'], 0), _fmt(p['work']), _fmt(t['work']), p['ok'], t['ok'],
            p['n'], t['n']))
    summary = ['- %s: TLS takes %s of plain\'s time (median over %d cells and methods; range %s-%s)'
               % ('uncapped' if cap == 0 else 'capped at %s MiB/s' % cap, _fmt(evaluation.median(values), 2, 'x'),
                  len(values), _fmt(min(values), 2, 'x'), _fmt(max(values), 2, 'x'))
               for cap, values in sorted(ratios.items())]
    return lines, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('plain_dir')
    parser.add_argument('tls_dir')
    parser.add_argument('out')
    parser.add_argument('--command', default='')
    args = parser.parse_args()
    plain = evaluation.read_runs(os.path.join(args.plain_dir, 'runs.csv'))
    tls = evaluation.read_runs(os.path.join(args.tls_dir, 'runs.csv'))
    if not plain or not tls:
        raise SystemExit('no runs in %s or %s' % (args.plain_dir, args.tls_dir))
    rows, summary = table(cell_stats(plain), cell_stats(tls))
    lines = ['# What encryption costs: plain against TLS migration streams', '',
             'Produced by %s and `python scripts/transport_report.py %s %s %s`, %s: %d plain and %d TLS runs. Test '
             'bed: two libvirt 11 / QEMU 10 hosts on one 2-core machine, TCG guests, libvirt over TLS; the same '
             'cells with the stream plain (`transport: plain`) and encrypted (`transport: tls`, `VIR_MIGRATE_TLS`). '
             'Time is libvirt\'s whole job (median of the successful runs), QEMU s QEMU\'s own part of it (the '
             'transfer, where encryption costs); work is the guest\'s work rate during the migration over before '
             '(1 = no slowdown); pause is the downtime (limit 300 ms).'
             % (args.command or 'the benchmark', args.plain_dir, args.tls_dir, args.out, time.strftime('%Y-%m-%d'),
                len(plain), len(tls)), ''] + summary + [''] + rows
    with open(args.out, 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    print('\n'.join(summary))


if __name__ == '__main__':
    main()
