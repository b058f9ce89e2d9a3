# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One benchmark run: the guest's health before, one migration by a method or a baseline, health after.

The migration goes through the same per-VM workflow as wa_migrate (vm_move.VmMove:
checks, lease, migration, verification); a baseline differs only in the policy
that watches pre-copy and the flags it migrates with.  Before and after, the guest's own reports (see
guest_health) say how much work it did and whether its memory stayed intact.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    guest_health, learning, migration, preflight, runner, vm_move)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import (
    baselines, evaluation, load_summary)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import assessment, rates
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError

# Reports after a migration: the generator re-verifies its whole working set
# every 2 s, so three fresh reports include at least one full verification.
REPORTS_AFTER = 3


class BenchmarkError(WaError):
    """The run could not be made (the guest is not reporting, or is unhealthy before it)."""


def _reports(console_log):
    return guest_health.reports(guest_health.read_console_tail(console_log, max_bytes=262144))


def wait_for_reports(console_log, after_seq, count, timeout_s, clock=time.monotonic, sleep=time.sleep):
    """At least `count` reports with seq > after_seq, oldest first; fewer if the guest stops reporting."""
    deadline = clock() + timeout_s
    while True:
        fresh = [r for r in _reports(console_log) if r.seq > after_seq]
        if len(fresh) >= count or clock() > deadline:
            return fresh
        sleep(0.25)


def healthy_before(console_log, timeout_s=30, fresh_s=2.0):
    """The guest's last reports before a run; BenchmarkError unless it reports, and healthy."""
    reports = _reports(console_log)
    if not reports or time.time() - os.path.getmtime(console_log) > fresh_s:
        # Not a report in the last seconds: wait for one, to be sure the guest still runs.
        if not wait_for_reports(console_log, reports[-1].seq if reports else 0, 1, timeout_s):
            raise BenchmarkError('the guest has not reported within %d s (%s)' % (timeout_s, console_log))
        reports = _reports(console_log)
    if not reports[-1].healthy:
        raise BenchmarkError('the guest reports corruption before the run: %s' % (reports[-1].fields,))
    return reports


def healthy_since(console_log, after_seq, count=REPORTS_AFTER, timeout_s=30):
    """Whether every report of the guest after `after_seq` says healthy, `count` more from now included."""
    reports = _reports(console_log)
    now_seq = reports[-1].seq if reports else after_seq
    after = wait_for_reports(console_log, now_seq, count, timeout_s)
    since = [r for r in _reports(console_log) if r.seq > after_seq]
    return len(after) >= count and all(r.healthy for r in since)


def move_for(name, method, dest_uri, params, memory_mib, predictions, auto_converge_initial=None):
    """The vm_move.VmMove of one run, its method already chosen: a baseline brings its pre-copy policy
    and flags; the collection's methods may use post-copy unless the run forbids it (`postcopy_allowed`,
    a cell as for a destination without post-copy), as in the benchmark's design.  `auto_converge_initial`:
    the throttle auto chose to start auto-converge from (None: QEMU's default)."""
    run_params = dict(params, profile_window_s=0)
    if method in evaluation.BASELINE_METHODS:
        policy = baselines.baseline(method, memory_mib)
        run_params['postcopy_allowed'] = policy.postcopy and params['postcopy_allowed']
        return vm_move.VmMove(name, dest_uri, 'precopy', run_params, option_overrides=dict(
            precopy_budget_s=params['time_budget_s'], auto_converge='always' if policy.auto_converge else 'never'),
            precopy_policy=policy)
    overrides = migration.budget_basis(predictions)
    if auto_converge_initial:
        overrides['auto_converge_initial'] = auto_converge_initial
    return vm_move.VmMove(name, dest_uri, method, run_params, option_overrides=overrides)


def run_once(source, destination, dom, request, params, source_uri):
    """Migrate `dom` once as `request` says; returns the benchmark row (see evaluation.COLUMNS).

    request: method, dest_uri, bandwidth_mibps, max_downtime_ms, time_budget_s, memory_mib,
    console_log, profile_window_s (auto), predictions (the cell's, for fixed methods) and
    transfer_mib (the cell's profile); params: the module's shared migration settings.
    """
    method = request['method']
    before = healthy_before(request['console_log'])
    start_seq = before[-1].seq
    predictions = request.get('predictions')
    chosen, predicted, note, auto_converge_initial = None, None, '', None
    if method == evaluation.AUTO:
        learned = learning.rates_for(params, source_uri, request['dest_uri'], preflight.domain_type(dom))
        chosen, reason, _profile, assessed = migration.plan_method(
            source, dom, 'auto', request['profile_window_s'], learned, request['max_downtime_ms'],
            params['postcopy_allowed'],
            auto_converge=assessment.auto_converge_on(params['auto_converge'], params['postcopy_allowed']))
        auto_converge_initial = assessed.get('auto_converge_initial_pct')
        predictions = assessed['predictions']
        predicted = predictions[chosen]['total_s']
        note = reason
        # The profile's own seconds come before the migration: the baseline reports must too.
        start_seq = _reports(request['console_log'])[-1].seq
    elif method in evaluation.OWN_METHODS and predictions:
        predicted = predictions[method]['total_s']
    move = move_for(dom.name(), chosen or method, request['dest_uri'], params, request['memory_mib'], predictions,
                    auto_converge_initial)
    load_record, settle_s = request.get('load_record'), request.get('load_settle_s') or 0
    if load_record:
        # The load's figures before the migration come from these seconds, once it runs; the guest's work
        # during the migration is counted from its end.
        wait_for_load(load_record)
        time.sleep(settle_s)
        start_seq = _reports(request['console_log'])[-1].seq
    began = time.time()
    try:
        result = move.run(source, destination, source_uri)
        success = True
    except runner.MigrationFailed as err:
        result = err.details
        success = False
        # Why it was aborted (the watch's reason), not only libvirt's "canceled by client".
        note = '%s (%s)' % (err, result['aborted']) if result.get('aborted') else str(err)
    ended = time.time()
    end_seq = _reports(request['console_log'])[-1].seq
    felt, points = {}, None
    if load_record:
        try:
            felt, points = users_felt(load_record, began, ended, settle_s)
        except BenchmarkError as err:
            # The migration happened: its row is kept, without the users' figures, and says why.
            note = '%s; %s' % (note, err) if note else str(err)
    cut_off = bool(result.get('aborted')) and 'time budget' in result['aborted']
    after = wait_for_reports(request['console_log'], end_seq, REPORTS_AFTER, timeout_s=30)
    during = [r for r in _reports(request['console_log']) if start_seq < r.seq <= end_seq + 1]
    healthy = len(after) >= REPORTS_AFTER and all(r.healthy for r in during + after)
    total = result.get('total_time_s')
    if cut_off:
        # Cut off at the budget: the time it would have needed is at least that.
        total = float(request['time_budget_s'])
    elif total is None:
        total = result.get('wall_time_s')
    row = {
        'method': method,
        'chosen_method': chosen or '',
        'predicted_total_s': predicted,
        'total_s': total,
        'downtime_ms': result.get('downtime_ms'),
        'bytes': result.get('bytes_transferred'),
        'rounds': result.get('precopy_rounds'),
        'work_ratio': evaluation.work_ratio(before, during),
        'success': success,
        'healthy': healthy,
        'cut_off': cut_off,
        'method_used': result.get('method_used') or '',
        'transfer_mib': request.get('transfer_mib'),
        'floor_s': evaluation.floor_s(request.get('transfer_mib'), request['bandwidth_mibps']),
        'postcopy_requests': result.get('postcopy_requests'),
        'time_budget_s': request['time_budget_s'],
        'note': note.replace('\n', ' ')[:300],
        'job_s': None if cut_off else result.get('wall_time_s'),
        'max_downtime_ms': request['max_downtime_ms'],
        'predicted_downtime_ms': (predictions or {}).get(chosen or method, {}).get('downtime_ms'),
        # Where the rate of the method predicted came from: its own where its migrations taught one.
        'rate_source': rates.reported_rate_and_source(result.get('inputs'), chosen or method)[1] or '',
        'calibration_sample': result.get('calibration_sample'),
    }
    row.update(felt)
    if points is not None:
        # For the report's latency plot: when the switch and the end came, in seconds since `began` (the switch
        # on the runner's clock, which starts with the migration call, a fraction of a second later).
        switch = result.get('switch') or {}
        row['load_series'] = dict(end_s=round(ended - began, 3), switch_s=switch.get('t'), points=points)
    return row


def wait_for_load(load_record, timeout_s=60, fresh_s=2.0, clock=time.time, sleep=time.sleep):
    """Return once the load generator's record holds a request that ended in the last `fresh_s` seconds (it runs;
    a request is written when it ends, and a CPU job may take longer than `fresh_s`); BenchmarkError after
    `timeout_s` (before the migration: nothing was touched)."""
    deadline = clock() + timeout_s
    while True:
        try:
            latest = max([load_summary.ended(r) for r in load_summary.read_record(load_record)] or [None])
        except (IOError, OSError):
            latest = None
        if latest is not None and latest >= clock() - fresh_s:
            return latest
        if clock() >= deadline:
            raise BenchmarkError('the load generator has had no request end for %d s (%s): is it running?'
                                 % (timeout_s, load_record), {})
        sleep(0.5)


def users_felt(load_record, began, ended, settle_s, sleep=time.sleep):
    """What an application's users felt around a migration from `began` to `ended` (epoch seconds): its load
    generator's record, `settle_s` after the migration waited for, summarised (load_summary.FIGURES), and its
    latency over time (load_summary.series); (figures, series)."""
    sleep(settle_s)
    try:
        requests = load_summary.read_record(load_record)
    except (IOError, OSError) as err:
        raise BenchmarkError('the load record %s cannot be read: %s' % (load_record, err), {})
    if not [r for r in requests if began - settle_s <= r['t'] <= ended + settle_s]:
        raise BenchmarkError('the load generator recorded no request around the migration in %s (is it running?)'
                             % load_record, {})
    figures = load_summary.summarise(requests, began, ended, margin_s=settle_s)
    return (dict((name, figures[name]) for name in load_summary.FIGURES),
            load_summary.series(requests, began, ended, settle_s))
