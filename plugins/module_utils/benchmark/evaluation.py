# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's records and what they add up to.

Pure Python, no libvirt: one CSV row per migration (COLUMNS), the guest's slowdown
from its own health reports, which runs are still to do (so an interrupted
benchmark resumes), and the figures of the report: medians, success ratios,
auto against the best fixed method and against each baseline, model error, the
floor, and the calibration of the cost model's bandwidth and fixed overhead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import csv
import json
import os

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import load_summary
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import bounds, calibration
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput

OWN_METHODS = ('precopy', 'postcopy', 'hybrid')
AUTO = 'auto'
BASELINE_METHODS = ('libvirt-default', 'kubevirt', 'ovirt-postcopy', 'nova-postcopy')
ALL_METHODS = OWN_METHODS + (AUTO,) + BASELINE_METHODS

# The columns first, then what explains them.
COLUMNS = (
    'workload', 'memory_mib', 'dirty_rate_mbps', 'bandwidth_mibps', 'method', 'chosen_method', 'repetition',
    'predicted_total_s', 'total_s', 'downtime_ms', 'bytes', 'rounds', 'work_ratio', 'success', 'healthy',
    'cut_off',
    'method_used', 'transfer_mib', 'floor_s', 'postcopy_requests', 'time_budget_s', 'vm', 'source',
    'destination', 'finished_at', 'job_s', 'max_downtime_ms', 'predicted_downtime_ms', 'rate_source',
) + load_summary.FIGURES + ('note',)
KEY = ('workload', 'memory_mib', 'bandwidth_mibps', 'method', 'repetition')
BOOLEANS = ('success', 'healthy', 'cut_off')
NUMBERS = ('memory_mib', 'dirty_rate_mbps', 'bandwidth_mibps', 'repetition', 'predicted_total_s', 'total_s',
           'downtime_ms', 'bytes', 'rounds', 'work_ratio', 'transfer_mib', 'floor_s', 'postcopy_requests',
           'time_budget_s', 'job_s', 'max_downtime_ms', 'predicted_downtime_ms') + load_summary.FIGURES

# Reports before a migration that give the guest's normal work rate.
BASELINE_REPORTS = 3


def run_key(row):
    """What identifies a run: workload, memory, bandwidth, method, repetition."""
    return tuple(str(_number(row[k]) if k in NUMBERS else row[k]) for k in KEY)


def _number(value):
    if value in (None, ''):
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def _parse(row):
    parsed = dict(row)
    for key in NUMBERS:
        parsed[key] = _number(row.get(key))
    for key in BOOLEANS:
        parsed[key] = str(row.get(key)).lower() == 'true'
    return parsed


def read_runs(path):
    """Every recorded run, numbers and booleans parsed; [] when there is no file yet."""
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [_parse(row) for row in csv.DictReader(handle)]


def append_run(path, row):
    """Append one run (a header first when the file is new)."""
    append_csv(path, row, COLUMNS, 'benchmark')


def append_csv(path, row, columns, what):
    """Append `row` to the CSV at `path` with `columns` (a header first when the file is new); ValueError
    naming any key that is not one of them (`what` says whose columns)."""
    unknown = set(row) - set(columns)
    if unknown:
        raise ValueError('not %s columns: %s' % (what, ', '.join(sorted(unknown))))
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    if not new:
        with open(path) as handle:
            header = next(csv.reader(handle), [])
        if tuple(header) != tuple(columns):
            raise ValueError('%s was written with other %s columns (%s); move it away or finish it with the code '
                             'that wrote it' % (path, what, ', '.join(sorted(set(header) ^ set(columns))) or 'order'))
    with open(path, 'a') as handle:
        writer = csv.DictWriter(handle, columns, lineterminator='\n')
        if new:
            writer.writeheader()
        writer.writerow(dict((k, _csv_value(row.get(k))) for k in columns))


def series_file(results_file):
    """Where the latency series of an application guest's runs go: load_series.jsonl beside the runs."""
    return os.path.join(os.path.dirname(os.path.abspath(results_file)), 'load_series.jsonl')


def append_series(path, row, series):
    """Append one run's latency series (load_summary.series, with its end and switch) as a JSON line keyed
    like the run."""
    line = dict((k, row.get(k)) for k in KEY)
    line.update(series)
    with open(path, 'a') as handle:
        handle.write(json.dumps(line, sort_keys=True) + '\n')


def read_series(path):
    """Every recorded latency series ([] when there is no file)."""
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _csv_value(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float):
        return '%.4g' % value if abs(value) < 1e6 else '%d' % value
    return value


def plan_runs(cells, methods, repetitions, bandwidths):
    """Every run of the matrix, in order: cell, bandwidth, repetition, method.

    Methods rotate from one repetition to the next, so that none always runs first.  A cell
    may name its own `methods` (of these, in this order) and `bandwidths_mibps` (of these), and
    carry `postcopy_allowed: false` (a destination that cannot take post-copy): its runs carry it.
    """
    runs = []
    for cell in cells:
        own = [m for m in methods if m in cell['methods']] if cell.get('methods') else list(methods)
        extra = {} if cell.get('postcopy_allowed', True) else {'postcopy_allowed': False}
        for bandwidth in [b for b in bandwidths if b in cell.get('bandwidths_mibps', bandwidths)]:
            for repetition in range(1, repetitions + 1):
                shift = (repetition - 1) % len(own)
                for method in own[shift:] + own[:shift]:
                    runs.append(dict(extra, workload=cell['workload'], memory_mib=cell['memory_mib'],
                                     bandwidth_mibps=bandwidth, method=method, repetition=repetition))
    return runs


def work_ratio(reports_before, reports_during):
    """The guest's work rate during a migration over its rate before it, from its own reports.

    None when the guest did no measurable work before, or there was no report.
    """
    before = [r.work for r in reports_before[-BASELINE_REPORTS:]]
    if not before or not reports_during:
        return None
    normal = sum(before) / len(before)
    if normal <= 0:
        return None
    during = sum(r.work for r in reports_during) / len(reports_during)
    return round(during / normal, 3)


def floor_s(transfer_mib, bandwidth_mibps):
    """The least time a migration can take: the memory that must cross, at the bandwidth limit (None uncapped)."""
    if not transfer_mib or not bandwidth_mibps:
        return None
    return round(float(transfer_mib) / bandwidth_mibps, 3)


# -- the report's figures ---------------------------------------------------------------------


def median(values):
    """The median of the known values (None skipped); None without any."""
    return calibration.median(v for v in values if v is not None)


def cell_of(run):
    """A run's cell: (workload, memory_mib, bandwidth_mibps)."""
    return (run['workload'], run['memory_mib'], run['bandwidth_mibps'])


def by_cell(runs):
    """[(cell, its runs)] with the cells in the order first recorded."""
    found = collections.OrderedDict()
    for run in runs:
        found.setdefault(cell_of(run), []).append(run)
    return list(found.items())


def _spread(field, runs):
    """{'median_FIELD', 'min_FIELD', 'max_FIELD'} over the runs that have the field (None when none has)."""
    values = [r[field] for r in runs if r[field] is not None]
    return {'median_' + field: median(values), 'min_' + field: min(values) if values else None,
            'max_' + field: max(values) if values else None}


def method_stats(runs):
    """Per method of one cell: n, successes, median/min/max total (a cut-off run counts at its budget), ..."""
    stats = {}
    for method in ALL_METHODS:
        mine = [r for r in runs if r['method'] == method]
        if not mine:
            continue
        ok = [r for r in mine if r['success']]
        stats[method] = {
            'n': len(mine),
            'successes': len(ok),
            'success_ratio': len(ok) / float(len(mine)),
            'cut_off': sum(1 for r in mine if r['cut_off']),
            'healthy': all(r['healthy'] for r in mine),
            'median_floor_ratio': median(r['total_s'] / r['floor_s'] for r in ok if r['floor_s'] and r['total_s']),
            'chosen': sorted(set(r['chosen_method'] for r in mine if r['chosen_method'])),
        }
        # Downtime only of migrations that finished; a cut-off run's time counts at its budget.
        for field, among in (('total_s', mine), ('downtime_ms', ok), ('work_ratio', mine)):
            stats[method].update(_spread(field, among))
    return stats


def best_fixed(stats):
    """The fixed method (pre-copy, post-copy, hybrid) with the lowest median time that never failed."""
    candidates = [(s['median_total_s'], m) for m, s in stats.items()
                  if m in OWN_METHODS and s['success_ratio'] == 1.0 and s['median_total_s'] is not None]
    return min(candidates)[1] if candidates else None


def measured_s(run):
    """What a prediction predicts: libvirt's whole job (`job_s`) where recorded, else QEMU's time (`total_s`)."""
    return run.get('job_s') or run['total_s']


def model_errors(runs):
    """|predicted - measured| / measured of auto's successful runs (its chosen method's prediction)."""
    return [abs(r['predicted_total_s'] - measured_s(r)) / measured_s(r) for r in runs
            if r['method'] == AUTO and r['success'] and r['predicted_total_s'] and measured_s(r)]


def downtime_breaches(runs):
    """{method: runs that finished with a pause over their max_downtime_ms} (where the limit is recorded)."""
    breaches = {}
    for run in runs:
        if run['success'] and run.get('max_downtime_ms') and run['downtime_ms'] is not None:
            breaches.setdefault(run['method'], 0)
            if run['downtime_ms'] > run['max_downtime_ms']:
                breaches[run['method']] += 1
    return breaches


def application_summary(runs, time_target=1.05, p99_target=1.2):
    """Per application-guest cell (runs with the load's figures): per method the median time and the users'
    figures, the best fixed method by time and by p99 latency, and auto against them (issue #16's targets:
    time within `time_target` x, p99 within `p99_target` x the best fixed method's; no failed request, no data
    error for the collection's methods)."""
    summary = []
    applications = [r for r in runs if r.get('p99_ms') is not None]
    for cell, mine in by_cell(applications):
        stats = method_stats(mine)
        for method in stats:
            theirs = [r for r in mine if r['method'] == method]
            stats[method].update(
                median_p99_ms=median(r['p99_ms'] for r in theirs),
                max_stall_ms=max(r['longest_stall_ms'] or 0 for r in theirs),
                median_rps_during=median(r['rps_during'] for r in theirs),
                failed_requests=sum(r['failed_requests'] or 0 for r in theirs),
                data_errors=sum(r['data_errors'] or 0 for r in theirs))
        best = best_fixed(stats)
        by_p99 = [(s['median_p99_ms'], m) for m, s in stats.items()
                  if m in OWN_METHODS and s['success_ratio'] == 1.0 and s['median_p99_ms'] is not None]
        best_p99 = min(by_p99)[1] if by_p99 else None
        auto = stats.get(AUTO)
        entry = dict(workload=cell[0], memory_mib=cell[1], bandwidth_mibps=cell[2], stats=stats,
                     best_fixed=best, best_fixed_p99=best_p99, auto_time_ratio=None, auto_p99_ratio=None,
                     auto_time_met=None, auto_p99_met=None,
                     clean=all(s['failed_requests'] == 0 and s['data_errors'] == 0
                               for m, s in stats.items() if m in OWN_METHODS + (AUTO,)))
        if auto and best and auto['median_total_s'] and stats[best]['median_total_s']:
            entry['auto_time_ratio'] = auto['median_total_s'] / stats[best]['median_total_s']
            entry['auto_time_met'] = entry['auto_time_ratio'] <= time_target
        if auto and best_p99 and auto['median_p99_ms'] is not None and stats[best_p99]['median_p99_ms']:
            entry['auto_p99_ratio'] = auto['median_p99_ms'] / stats[best_p99]['median_p99_ms']
            entry['auto_p99_met'] = entry['auto_p99_ratio'] <= p99_target
        summary.append(entry)
    return summary


# The benchmark's workloads by the research's workload types (WALM, 2024, reports its gains by type:
# network-intensive 47 % faster than pre-copy, CPU-intensive over 30 %, memory-intensive 12 % faster than hybrid).
WORKLOAD_TYPES = (
    ('CPU-intensive', ('cpu',)),
    ('memory, read-intensive', ('read',)),
    ('memory, write-intensive', ('write-below', 'write-above', 'write-above-no-postcopy')),
    ('network-intensive', ('net',)),
    ('application: key-value store (memory, write-intensive)', ('kv',)),
    ('application: web server (network-intensive)', ('web',)),
    ('application: CPU-bound job (CPU-intensive)', ('job',)),
    ('idle', ('idle',)),
)


def _gain(auto_s, other_s):
    """How much faster auto was than another method: 1 - auto / other (negative: slower); None if unknown."""
    return None if not auto_s or not other_s else 1.0 - auto_s / other_s


def by_workload_type(runs):
    """Per workload type and bandwidth: auto's median gain over pre-copy and over hybrid, across the type's
    cells (each cell's median times), as WALM reports its own; types without auto runs are left out."""
    found = []
    for label, workloads in WORKLOAD_TYPES:
        for bandwidth in sorted(set(r['bandwidth_mibps'] for r in runs if r['workload'] in workloads)):
            over = {'precopy': [], 'hybrid': []}
            cells = [(c, mine) for c, mine in by_cell(runs) if c[0] in workloads and c[2] == bandwidth]
            for _cell, mine in cells:
                stats = method_stats(mine)
                auto = stats.get(AUTO, {}).get('median_total_s')
                for method in over:
                    gain = _gain(auto, stats.get(method, {}).get('median_total_s'))
                    if gain is not None:
                        over[method].append(gain)
            if over['precopy'] or over['hybrid']:
                found.append(dict(workload_type=label, bandwidth_mibps=bandwidth, cells=len(cells),
                                  over_precopy=median(over['precopy']), over_hybrid=median(over['hybrid'])))
    return found


def summarise(runs, auto_target=1.05, model_target=0.20):
    """Per cell: the method stats, auto against the best fixed method and each baseline, and model error."""
    summary = []
    for cell, mine in by_cell(runs):
        stats = method_stats(mine)
        best = best_fixed(stats)
        auto = stats.get(AUTO)
        row = {'workload': cell[0], 'memory_mib': cell[1], 'bandwidth_mibps': cell[2], 'stats': stats,
               'best_fixed': best, 'auto_vs_best': None, 'auto_within_target': None, 'baselines': {}}
        if auto and best and auto['median_total_s']:
            row['auto_vs_best'] = auto['median_total_s'] / stats[best]['median_total_s']
            row['auto_within_target'] = row['auto_vs_best'] <= auto_target and auto['success_ratio'] == 1.0
        for baseline in BASELINE_METHODS:
            other = stats.get(baseline)
            if auto and other and other['median_total_s'] and auto['median_total_s']:
                row['baselines'][baseline] = {
                    'time_ratio': auto['median_total_s'] / other['median_total_s'],
                    'success_ratio': (auto['success_ratio'] / other['success_ratio']
                                      if other['success_ratio'] else None),
                    'baseline_cut_off': other['cut_off'],
                }
        errors = model_errors(mine)
        row['model_error_median'] = median(errors)
        row['model_error_max'] = max(errors) if errors else None
        row['model_within_target'] = (max(errors) <= model_target) if errors else None
        summary.append(row)
    return summary


def _fit(points):
    """Least-squares fit of total = setup + ideal / efficiency over (ideal_s, total_s) points; None if too few."""
    if len(points) < 3:
        return None
    n = float(len(points))
    mean_x = sum(x for x, _y in points) / n
    mean_y = sum(y for _x, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _y in points)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    if slope <= 0:
        return None
    intercept = mean_y - slope * mean_x
    spread = sum((y - mean_y) ** 2 for _x, y in points)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in points)
    return {'setup_s': round(intercept, 3), 'bandwidth_efficiency': round(1.0 / slope, 3), 'runs': len(points),
            'r2': round(1.0 - residual / spread, 4) if spread else None}


def calibrate(runs):
    """The cost model's setup time and bandwidth efficiency, fitted to the runs it predicts.

    Separately for the two ways memory moves, over the collection's own successful runs
    (the baselines use other downtime limits and auto-converge, which the model does not
    describe): runs that stayed in pre-copy, and runs that were post-copy from the start;
    total_s = setup_s + sent_mib / (bandwidth_efficiency * bandwidth), least squares.
    A fit is None with fewer than three runs.
    """
    def points(method_used):
        return [((r['bytes'] / 1048576.0) / r['bandwidth_mibps'], r['total_s']) for r in runs
                if r['method'] in OWN_METHODS + (AUTO,) and r['method_used'] == method_used and r['success']
                and r['bytes'] and r['total_s'] and r['bandwidth_mibps']]

    return {'precopy': _fit(points('precopy')), 'postcopy': _fit(points('postcopy'))}


def pending_runs(params):
    """wa_benchmark_plan's one call: the runs still to do, from its module parameters; raises BadInput."""
    unknown = sorted(set(params['methods']) - set(ALL_METHODS))
    if unknown:
        raise BadInput('unknown methods: %s; known: %s' % (', '.join(unknown), ', '.join(ALL_METHODS)))
    bounds.check_bounds(params)
    if not params['bandwidths_mibps']:
        raise BadInput('bandwidths_mibps must name at least one bandwidth')
    for bandwidth in params['bandwidths_mibps']:
        if bounds.bound_problems(dict(bandwidth_mibps=bandwidth)):
            raise BadInput('each of bandwidths_mibps must be %s, got %s'
                           % (bounds.range_text('bandwidth_mibps'), bandwidth))
    for cell in params['cells']:
        if not cell.get('workload') or not isinstance(cell.get('memory_mib'), int) or cell['memory_mib'] <= 0:
            raise BadInput('each cell needs a workload and a positive integer memory_mib, got %s' % (cell,))
        own = cell.get('methods')
        if own is not None and (not isinstance(own, list) or not set(own) & set(params['methods'])):
            raise BadInput('a cell\'s methods must list some of %s, got %s' % (', '.join(params['methods']), cell))
        if own and set(own) - set(ALL_METHODS):
            raise BadInput('unknown methods in cell %s; known: %s' % (cell, ', '.join(ALL_METHODS)))
        if not cell.get('postcopy_allowed', True) and set(own or params['methods']) & set(('postcopy', 'hybrid')):
            raise BadInput('a cell without post-copy cannot run postcopy or hybrid: %s' % (cell,))
        if not isinstance(cell.get('postcopy_allowed', True), bool):
            raise BadInput('a cell\'s postcopy_allowed must be true or false, got %s' % (cell,))
        at = cell.get('bandwidths_mibps')
        if at is not None and (not isinstance(at, list) or not at or set(at) - set(params['bandwidths_mibps'])):
            raise BadInput('a cell\'s bandwidths_mibps must list some of %s, got %s'
                           % (', '.join(str(b) for b in params['bandwidths_mibps']), cell))
    try:
        done = set(run_key(r) for r in read_runs(params['results_file']))
    except (IOError, OSError, KeyError, ValueError) as err:
        raise BadInput('cannot read %s: %s' % (params['results_file'], err))
    everything = plan_runs(params['cells'], list(params['methods']), params['repetitions'],
                           params['bandwidths_mibps'])
    pending = [dict(run, index=index + 1) for index, run in enumerate(everything) if run_key(run) not in done]
    return dict(changed=False, pending=pending, total=len(everything), done=len(everything) - len(pending))
