#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The benchmark's report: plots, a Markdown table, the targets and the cost model's calibration.

    . scripts/env.sh && python scripts/benchmark_report.py docs/evaluation

Reads DIR/runs.csv and DIR/evacuations.csv (written by playbooks/benchmark.yml) and writes
into DIR: report.md, calibration.json, time.png, downtime.png, slowdown.png,
predicted_vs_measured.png and, with application guests' runs (load_series.jsonl), latency.png.
Prints the targets.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'build', 'collections'))

import matplotlib  # noqa: E402  pylint: disable=wrong-import-position

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=wrong-import-position
from matplotlib.ticker import FuncFormatter  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import (  # noqa: E402
    evacuations, evaluation)  # pylint: disable=wrong-import-position

COLOURS = {
    'precopy': '#4c72b0', 'postcopy': '#dd8452', 'hybrid': '#55a868', 'auto': '#c44e52',
    'libvirt-default': '#8c8c8c', 'kubevirt': '#937860', 'ovirt-postcopy': '#da8bc3', 'nova-postcopy': '#8172b3',
}


def cell_label(cell):
    return '%s\n%d MiB' % (cell['workload'], cell['memory_mib'])


def grouped_bars(summary, value, low, high, ylabel, title, path, note=None, log=False):
    """One group of bars per cell, one bar per method, error bars from min to max of the repetitions.

    A bar with cut-off runs is hatched.
    """
    methods = [m for m in evaluation.ALL_METHODS if any(m in c['stats'] for c in summary)]
    width = 0.8 / max(1, len(methods))
    fig, axis = plt.subplots(figsize=(max(8, 1.6 * len(summary) + 2), 5))
    for i, method in enumerate(methods):
        xs, ys, errors, hatches = [], [], [[], []], []
        for j, cell in enumerate(summary):
            stats = cell['stats'].get(method)
            if not stats or stats[value] is None:
                continue
            xs.append(j + (i - (len(methods) - 1) / 2.0) * width)
            ys.append(stats[value])
            errors[0].append(stats[value] - (stats[low] if stats[low] is not None else stats[value]))
            errors[1].append((stats[high] if stats[high] is not None else stats[value]) - stats[value])
            hatches.append('//' if stats['cut_off'] else '')
        bars = axis.bar(xs, ys, width, yerr=errors, capsize=2, label=method, color=COLOURS[method])
        for drawn, hatch in zip(bars, hatches):
            drawn.set_hatch(hatch)
    axis.set_xticks(range(len(summary)))
    axis.set_xticklabels([cell_label(c) for c in summary])
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    if log:
        axis.set_yscale('log')
        plain = FuncFormatter(lambda value, _pos: '%g' % value)
        axis.yaxis.set_major_formatter(plain)
        axis.yaxis.set_minor_formatter(plain)
    if note:
        fig.text(0.01, 0.01, note, fontsize=8)
    axis.legend(fontsize=8, ncol=4, loc='upper left')
    axis.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def predicted_vs_measured(runs, path):
    fig, axis = plt.subplots(figsize=(6, 6))
    top = 1.0
    for method in evaluation.OWN_METHODS + (evaluation.AUTO,):
        points = [(r['predicted_total_s'], evaluation.measured_s(r)) for r in runs
                  if r['method'] == method and r['success'] and r['predicted_total_s'] and evaluation.measured_s(r)]
        if points:
            axis.scatter([p for p, _m in points], [m for _p, m in points], s=18, label=method,
                         color=COLOURS[method], marker='o' if method != evaluation.AUTO else 'x')
            top = max(top, max(max(p) for p in points))
    line = [0, top * 1.1]
    axis.plot(line, line, color='black', linewidth=1, label='measured = predicted')
    axis.fill_between(line, [x * 0.8 for x in line], [x * 1.2 for x in line], color='grey', alpha=0.15,
                      label='within 20 %')
    axis.set_xlabel('predicted total time (s)')
    axis.set_ylabel('measured total time (s)')
    axis.set_title('Cost model: predicted against measured')
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fmt(value, digits=1, suffix=''):
    if value is None:
        return '-'
    return ('%.' + str(digits) + 'f%s') % (value, suffix)


def method_table(summary):
    lines = ['| workload | MiB | MiB/s | method | runs ok | median time s [min-max] | x floor | downtime ms (median) '
             '| work ratio (median) | auto chose |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for cell in summary:
        for method in evaluation.ALL_METHODS:
            stats = cell['stats'].get(method)
            if not stats:
                continue
            time_text = '%s [%s-%s]' % (fmt(stats['median_total_s'], 2), fmt(stats['min_total_s'], 2),
                                        fmt(stats['max_total_s'], 2))
            if stats['cut_off']:
                time_text = '>= %s (%d cut off)' % (time_text, stats['cut_off'])
            ok = '%d/%d' % (stats['successes'], stats['n'])
            if not stats['healthy']:
                ok += ' UNHEALTHY'
            lines.append('| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |' % (
                cell['workload'], cell['memory_mib'], bandwidth_text(cell['bandwidth_mibps']), method, ok, time_text, fmt(stats['median_floor_ratio'], 2),
                fmt(stats['median_downtime_ms'], 0), fmt(stats['median_work_ratio'], 2),
                ', '.join(stats['chosen'])))
    return lines


def targets_table(summary):
    lines = ['| workload | MiB | MiB/s | best fixed | auto / best fixed (<= 1.05) | model error median / max (<= 20 %) '
             '| auto / libvirt-default | auto / kubevirt | auto / ovirt-postcopy | auto / nova-postcopy |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for cell in summary:
        ratios = []
        for baseline in evaluation.BASELINE_METHODS:
            entry = cell['baselines'].get(baseline)
            if not entry:
                ratios.append('-')
                continue
            text = '%.2f' % entry['time_ratio']
            if entry['baseline_cut_off']:
                text += ' (baseline cut off)'
            ratios.append(text)
        verdict = {True: ' met', False: ' MISSED', None: ''}
        lines.append('| %s | %d | %s | %s | %s%s | %s / %s%s | %s |' % (
            cell['workload'], cell['memory_mib'], bandwidth_text(cell['bandwidth_mibps']), cell['best_fixed'] or '-', fmt(cell['auto_vs_best'], 2),
            verdict[cell['auto_within_target']], fmt(percent(cell['model_error_median']), 0, ' %'),
            fmt(percent(cell['model_error_max']), 0, ' %'), verdict[cell['model_within_target']],
            ' | '.join(ratios)))
    return lines


def bandwidth_lines(runs, summary):
    """Per bandwidth: auto's model error (against libvirt's whole job), downtime breaches per method, auto
    against the best fixed method, and where auto's rates came from."""
    lines = ['| bandwidth | auto model error median / max | auto within 5 % of best (cells) | '
             'downtime over the limit (runs / finished runs with a limit recorded) | auto rates from |',
             '|---|---|---|---|---|']
    for bandwidth in sorted(set(r['bandwidth_mibps'] for r in runs)):
        mine = [r for r in runs if r['bandwidth_mibps'] == bandwidth]
        errors = evaluation.model_errors(mine)
        cells = [c for c in summary if c['bandwidth_mibps'] == bandwidth and c['auto_within_target'] is not None]
        finished = {}
        for run in mine:
            if run['success'] and run.get('max_downtime_ms') and run['downtime_ms'] is not None:
                finished[run['method']] = finished.get(run['method'], 0) + 1
        breaches = evaluation.downtime_breaches(mine)
        sources = {}
        for run in mine:
            if run['method'] == evaluation.AUTO and run.get('rate_source'):
                kind = run['rate_source'].split(' (')[0].split(' from ')[0]
                sources[kind] = sources.get(kind, 0) + 1
        lines.append('| %s | %s / %s | %d of %d | %s | %s |' % (
            bandwidth_text(bandwidth) + (' MiB/s' if bandwidth else ''),
            fmt(percent(evaluation.median(errors)), 0, ' %'), fmt(percent(max(errors) if errors else None), 0, ' %'),
            sum(1 for c in cells if c['auto_within_target']), len(cells),
            ', '.join('%s %d/%d' % (m, breaches.get(m, 0), n) for m, n in sorted(finished.items())) or '-',
            ', '.join('%s %d' % item for item in sorted(sources.items())) or '-'))
    return lines


def bandwidth_text(bandwidth):
    return '%d' % bandwidth if bandwidth else 'uncapped'


def percent(value):
    return None if value is None else 100.0 * value


def success_lines(runs):
    lines = ['| method | runs | succeeded | cut off | healthy after |', '|---|---|---|---|---|']
    for method in evaluation.ALL_METHODS:
        mine = [r for r in runs if r['method'] == method]
        if mine:
            lines.append('| %s | %d | %d (%.0f %%) | %d | %d |' % (
                method, len(mine), sum(r['success'] for r in mine),
                100.0 * sum(r['success'] for r in mine) / len(mine), sum(r['cut_off'] for r in mine),
                sum(r['healthy'] for r in mine)))
    return lines


def _float(value):
    return None if value in (None, '') else float(value)


def evacuation_lines(directory):
    """The evacuation section: per bandwidth and strategy, medians of the evacuations' figures."""
    rows = evacuations.read_rows(os.path.join(directory, 'evacuations.csv'))
    if not rows:
        return ['No evacuation was recorded (evacuations.csv).']
    lines = ['| bandwidth MiB/s | strategy | evacuations | VMs | last VM safe s (median) | / floor | '
             'mean time until safe s | / shortest-first bound | left behind | paused over the limit | at once | '
             'all healthy | auto faster by |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for bandwidth in sorted(set(int(r['bandwidth_mibps']) for r in rows)):
        mine = [r for r in rows if int(r['bandwidth_mibps']) == bandwidth]
        auto = evaluation.median([_float(r['last_safe_s']) for r in mine if r['strategy'] == 'auto'
                                  and r['last_safe_s']])
        # One floor and one bound for every strategy of a bandwidth: from the rate the store had learned when
        # the collection's own evacuations ran (each row's own is the store's as that strategy began).
        reference = [r for r in mine if r['strategy'] == 'auto'] or mine
        floor = evaluation.median([_float(r['floor_s']) for r in reference if r['floor_s']])
        bound = evaluation.median([_float(r['shortest_first_bound_s']) for r in reference
                                   if r['shortest_first_bound_s']])
        for strategy in evacuations.STRATEGIES:
            these = [r for r in mine if r['strategy'] == strategy]
            if not these:
                continue
            last = evaluation.median([_float(r['last_safe_s']) for r in these if r['last_safe_s']])
            mean = evaluation.median([_float(r['mean_safe_s']) for r in these if r['mean_safe_s']])
            left = sum(int(r['left_behind'] or 0) for r in these)
            # Columns later runs added: '' in rows written before them.
            over = [int(r['paused_over_limit']) for r in these if r.get('paused_over_limit')]
            at_once = sorted(set(r['concurrency'] for r in these if r.get('concurrency')), key=int)
            lines.append('| %s | %s | %d | %s | %s | %s | %s | %s | %d | %s | %s | %d of %d | %s |' % (
                bandwidth_text(bandwidth), strategy, len(these), these[0]['vms'], fmt(last, 2),
                fmt(last / floor if last and floor else None, 2, 'x'), fmt(mean, 2),
                fmt(mean / bound if mean and bound else None, 2, 'x'), left,
                sum(over) if len(over) == len(these) else 'not recorded', ', '.join(at_once) or 'not recorded',
                sum(r['healthy'] == 'true' for r in these), len(these),
                '' if strategy == 'auto' else (fmt(100.0 * (1 - auto / last), 0, ' %') if auto and last
                                               else 'it left VMs behind' if left else '')))
    return lines


def application_lines(runs):
    """The application guests' table: per cell and method, time and what the users felt."""
    cells = evaluation.application_summary(runs)
    if not cells:
        return ['No application guest in these runs.']
    lines = ['| application | MiB/s | method | runs ok | median time s | p99 ms (median) | longest stall ms | '
             'replies/s during | failed requests | data errors | auto chose |', '|---|---|---|---|---|---|---|---|---|---|---|']
    verdicts = []
    for cell in cells:
        for method in evaluation.ALL_METHODS:
            stats = cell['stats'].get(method)
            if stats is None:
                continue
            lines.append('| %s | %s | %s | %d/%d | %s | %s | %s | %s | %d | %d | %s |' % (
                cell['workload'], bandwidth_text(cell['bandwidth_mibps']), method, stats['successes'], stats['n'],
                fmt(stats['median_total_s'], 2), fmt(stats['median_p99_ms'], 1), fmt(stats['max_stall_ms'], 0),
                fmt(stats['median_rps_during'], 0), stats['failed_requests'], stats['data_errors'],
                ', '.join(stats['chosen'])))
        verdicts.append(
            '- %s at %s: best fixed by time %s, by p99 %s; auto / best fixed: time %s (<= 1.05 %s), p99 %s '
            '(<= 1.2 %s); the collection\'s methods %s' % (
                cell['workload'], bandwidth_text(cell['bandwidth_mibps']) + (' MiB/s' if cell['bandwidth_mibps'] else ''),
                cell['best_fixed'], cell['best_fixed_p99'],
                fmt(cell['auto_time_ratio'], 2), {True: 'met', False: 'MISSED', None: '-'}[cell['auto_time_met']],
                fmt(cell['auto_p99_ratio'], 2), {True: 'met', False: 'MISSED', None: '-'}[cell['auto_p99_met']],
                'lost no request and no data' if cell['clean'] else 'FAILED requests or lost data'))
    return lines + [''] + verdicts


WALM = {'CPU-intensive': 'over 30 % faster than pre-copy', 'network-intensive': '47 % faster than pre-copy',
        'memory, write-intensive': '12 % faster than hybrid', 'memory, read-intensive': '12 % faster than hybrid',
        'application: key-value store (memory, write-intensive)': '12 % faster than hybrid (memory-intensive)',
        'application: web server (network-intensive)': '47 % faster than pre-copy (network-intensive)',
        'application: CPU-bound job (CPU-intensive)': 'over 30 % faster than pre-copy (CPU-intensive)'}


def workload_type_lines(runs):
    """auto against pre-copy and hybrid per workload type and bandwidth, beside WALM's published gains."""
    rows = evaluation.by_workload_type(runs)
    if not rows:
        return ['No auto run to compare.']
    lines = ['| workload type | MiB/s | cells | auto faster than pre-copy | auto faster than hybrid | WALM (2024) |',
             '|---|---|---|---|---|---|']
    for row in rows:
        lines.append('| %s | %s | %d | %s | %s | %s |' % (
            row['workload_type'], bandwidth_text(row['bandwidth_mibps']), row['cells'],
            fmt(percent(row['over_precopy']), 0, ' %'), fmt(percent(row['over_hybrid']), 0, ' %'),
            WALM.get(row['workload_type'], '-')))
    return lines


def latency_plot(directory, path):
    """Latency over time around the migration, one panel per application cell, one line per method (its first
    repetition); the migration's start (0), switch (dotted) and end (dashed) marked.  False without series."""
    series = [s for s in evaluation.read_series(evaluation.series_file(os.path.join(directory, 'runs.csv')))
              if s['repetition'] == 1]
    cells = sorted(evaluation.by_cell(series), key=lambda item: item[0])
    if not cells:
        return False
    fig, axes = plt.subplots(len(cells), 1, figsize=(11, 3.2 * len(cells)), squeeze=False)
    for axis, (cell, lines) in zip(axes[:, 0], cells):
        for line in lines:
            points = [p for p in line['points'] if p[2] is not None]
            colour = COLOURS.get(line['method'], '#333333')
            axis.plot([p[0] for p in points], [p[2] for p in points], label=line['method'], color=colour, lw=1.2)
            axis.axvline(line['end_s'], color=colour, ls='--', lw=0.8)
            if line.get('switch_s') is not None:
                axis.axvline(line['switch_s'], color=colour, ls=':', lw=0.8)
        axis.axvline(0, color='black', lw=0.8)
        axis.set_yscale('log')
        axis.set_title('%s, %s MiB of memory, %s' % (cell[0], cell[1], '%s MiB/s' % cell[2] if cell[2] else 'uncapped'))
        axis.set_xlabel('seconds since the migration started (dotted: switch to post-copy, dashed: end)')
        axis.set_ylabel('longest latency (ms)')
        axis.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write_report(directory, command, shaped_link):
    runs = evaluation.read_runs(os.path.join(directory, 'runs.csv'))
    if not runs:
        raise SystemExit('no runs in %s/runs.csv' % directory)
    shown = os.path.relpath(directory, REPO) if os.path.abspath(directory).startswith(REPO + os.sep) else directory
    summary = evaluation.summarise(runs)
    calibration = evaluation.calibrate(runs)
    with open(os.path.join(directory, 'calibration.json'), 'w') as handle:
        json.dump(dict(calibration, command='python scripts/benchmark_report.py %s' % shown), handle,
                  indent=2, sort_keys=True)
        handle.write('\n')

    budget = max(r['time_budget_s'] or 0 for r in runs)
    grouped_bars(summary, 'median_total_s', 'min_total_s', 'max_total_s', 'total migration time (s)',
                 'Migration time per workload and method (median, min-max of repetitions)',
                 os.path.join(directory, 'time.png'), log=True,
                 note='log scale; hatched: runs cut off at the %d s budget count at the budget (a lower bound)' % budget)
    grouped_bars(summary, 'median_downtime_ms', 'min_downtime_ms', 'max_downtime_ms', 'downtime (ms)',
                 'Downtime per workload and method (successful runs)', os.path.join(directory, 'downtime.png'))
    grouped_bars(summary, 'median_work_ratio', 'min_work_ratio', 'max_work_ratio',
                 'guest work rate during migration / before (1 = no slowdown)',
                 'Guest slowdown per workload and method (from the guest\'s own work reports)',
                 os.path.join(directory, 'slowdown.png'))
    predicted_vs_measured(runs, os.path.join(directory, 'predicted_vs_measured.png'))
    latency = latency_plot(directory, os.path.join(directory, 'latency.png'))

    met_auto = [c['auto_within_target'] for c in summary if c['auto_within_target'] is not None]
    met_model = [c['model_within_target'] for c in summary if c['model_within_target'] is not None]
    auto_runs = [r for r in runs if r['method'] == evaluation.AUTO]
    link = ('the migration ports shaped to each run\'s bandwidth (tc), so that everything a migration sends '
            'shares one link' if shaped_link else 'no link shaping: QEMU\'s cap alone')
    lines = [
        '# Benchmark report',
        '',
        'Produced by `%s` (the runs) and `python scripts/benchmark_report.py %s%s` (this report), %s; '
        '%d runs. Test bed: two libvirt 11 / QEMU 10 hosts on one 2-core machine, TCG guests, loopback with %s; '
        'every method capped at the same bandwidth for both phases. See docs/evaluation.md for the method.'
        % (command, shown, ' --shaped-link' if shaped_link else '', time.strftime('%Y-%m-%d'), len(runs), link),
        '',
        '## Targets',
        '',
        '- auto within 5 %% of the best fixed method (median time): %d of %d cells' % (sum(met_auto), len(met_auto)),
        '- auto success ratio: %d of %d runs' % (sum(r['success'] for r in auto_runs), len(auto_runs)),
        '- model error within 20 %% for the chosen method (every auto run of the cell): %d of %d cells'
        % (sum(met_model), len(met_model)),
        '- calibration (total = setup + sent / (efficiency x bandwidth), see docs/evaluation.md): '
        '%s' % json.dumps(calibration, sort_keys=True),
        '',
    ] + targets_table(summary) + [
        '',
        '## Predictions per bandwidth',
        '',
        'Model error: |predicted - measured| / measured of the method auto chose, measured being libvirt\'s whole '
        'job (`job_s`: the migrate call to its return) where recorded. Predictions start from an empty '
        'calibration store at the start of the benchmark (`calibration_store.json` beside the runs).',
        '',
    ] + bandwidth_lines(runs, summary) + [
        '',
        '## Success per method',
        '',
    ] + success_lines(runs) + [
        '',
        '## Evacuations',
        '',
        'A host of mixed VMs emptied onto the other, by the collection (`auto`) and as the anchors do it with their '
        'shipped defaults: everything at once as Proxmox migrates one (`proxmox-all`), two at a time with '
        'KubeVirt\'s monitor (`kubevirt-drain`), one at a time with Nova\'s (`nova-serial`); post-copy is off by '
        'default in all three (docs/evaluation.md). A VM is safe when the destination\'s libvirt says it runs '
        'there. Floor: every VM\'s memory to move over the rate the calibration store predicted when the '
        'collection\'s own evacuations began (median; one migration alone, the source as busy), back to back, the '
        'same for every strategy of a bandwidth; the shortest-first bound is the least mean time until a VM is safe '
        'at that rate. Paused over the limit: the VMs whose switch-over pause went past the operator\'s 300 ms '
        '(the downtime QEMU is given is a target, not a promise); at once: the migrations each evacuation ran at '
        'once (auto chooses it in its plan). A time is only given for an evacuation that left nothing behind (the '
        'budget cut off a migration otherwise).',
        '',
    ] + evacuation_lines(directory) + [
        '',
        '## Auto against pre-copy and hybrid per workload type',
        '',
        'As WALM (2024) reports its gains: per workload type and bandwidth, how much less time auto took than '
        'pre-copy and than hybrid (1 - auto / method, medians of each cell\'s median times, the median across the '
        'type\'s cells; negative: auto was slower). A cut-off pre-copy counts at its budget, so the gain over it '
        'is a lower bound.',
        '',
    ] + workload_type_lines(runs) + [
        '',
        '## Application guests',
        '',
        'Real applications in the guests under a load from the host side of the test bed\'s bridge, every request '
        'recorded (docs/evaluation.md, "Application guests"): the figures are what the application\'s users felt '
        'while the migration ran, from the same record before, during and after it. p99 and the longest stall '
        'are of the requests waiting during the migration, p99 with the users the load did not send for while '
        'it waited on a slow reply (coordinated omission, counted at its pace); a failed request or a data '
        'error counts over the run\'s whole window.',
        '',
    ] + application_lines(runs) + ([
        '',
        '![latency around the migration](latency.png)',
    ] if latency else []) + [
        '',
        '## Every method on every workload',
        '',
        '"x floor" is the median of total time over the floor: the memory that had to cross (the profile\'s '
        'non-zero memory) at the bandwidth limit. A cut-off run ran out of its %d s budget in pre-copy and '
        'was aborted (the VM stayed on its host); its time counts as the budget, a lower bound.' % budget,
        '',
    ] + method_table(summary) + [
        '',
        '![time](time.png)',
        '![downtime](downtime.png)',
        '![slowdown](slowdown.png)',
        '![predicted vs measured](predicted_vs_measured.png)',
        '',
    ]
    with open(os.path.join(directory, 'report.md'), 'w') as handle:
        handle.write('\n'.join(lines))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('directory', help='where runs.csv is and the report goes')
    parser.add_argument('--command', default='ansible-playbook playbooks/benchmark.yml',
                        help='the command that made the runs, for the report')
    parser.add_argument('--shaped-link', action=argparse.BooleanOptionalAction, default=False,
                        help='the runs were made with the migration ports shaped to the bandwidth')
    args = parser.parse_args()
    lines = write_report(args.directory, args.command, args.shaped_link)
    start = lines.index('## Targets')
    print('\n'.join(lines[start:lines.index('## Every method on every workload')]))


if __name__ == '__main__':
    main()
