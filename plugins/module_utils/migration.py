# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One VM's move from start to verified end, shared by wa_migrate and wa_evacuate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _events, _libvirt, arrival, preflight, profiler, recovery, runner, stats_polling)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    assessment, migration_monitor, policy)
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError


class NoMethod(WaError):
    """`auto` found no method to use; `details` has the profile and predictions."""


def plan_method(source, dom, method, profile_window_s, rates, max_downtime_ms, postcopy_possible,
                tolerance=policy.DEFAULT_TOLERANCE, postcopy_recoverable=True, auto_converge=False):
    """(method, reason, profile, assessment) before a migration; profile and assessment may be None.

    `rates`: decisions.rates.Rates for this pair (learning.rates_for).

    `auto` profiles the VM and takes the cost model's recommendation; a given
    method is kept, with what the model predicted for it when the VM was profiled.
    Raises NoMethod when `auto` cannot choose, profiler.ProfileError for an unknown VM.
    """
    if profile_window_s == 0:
        return method, 'method %s given; not profiled' % method, None, None
    profile = profiler.profile_host(source, [dom.name()], profile_window_s)[dom.name()]
    if not profile.get('complete'):
        if method == 'auto':
            raise NoMethod('cannot profile %s to choose a method: %s' % (dom.name(), '; '.join(profile['errors'])),
                           dict(profile=profile))
        return method, 'method %s given; profile incomplete' % method, profile, None
    assessed = assessment.assess(profile, rates, max_downtime_ms, policy.allowed_methods(postcopy_possible),
                                 tolerance, postcopy_recoverable=postcopy_recoverable, auto_converge=auto_converge)
    if method == 'auto':
        if assessed['recommended_method'] is None:
            raise NoMethod('%s: %s' % (dom.name(), assessed['reason']),
                           dict(profile=profile, predictions=assessed['predictions']))
        return assessed['recommended_method'], assessed['reason'], profile, assessed
    return method, 'method %s given; the model predicted: %s' % (method, assessed['reason']), profile, assessed


def locate(source, destination, name):
    """{'source': state, 'destination': state}, None where the VM is absent.

    A host that cannot be asked (its libvirtd died) is 'unknown: <why>', never absent.
    """
    where = {}
    for side, conn in (('source', source), ('destination', destination)):
        try:
            dom, state = preflight.find(conn, name)
        except libvirt.libvirtError as err:
            where[side] = 'unknown: %s' % err.get_error_message()
            continue
        where[side] = preflight.describe_state(*state) if dom is not None else None
    return where


def where_text(where):
    return ', '.join('%s on the %s' % (state, side) for side, state in sorted(where.items()) if state) or 'nowhere'


def budget_basis(predictions):
    """build_options' predicted_precopy_s and first_pass_s from the cost model's predictions (None: unknown)."""
    if not predictions:
        return {}
    # Post-copy sends everything once: its time is one full pass.
    return dict(predicted_precopy_s=predictions['precopy']['total_s'], first_pass_s=predictions['postcopy']['total_s'])


def build_options(method, dest_uri, postcopy_possible, bandwidth_mibps=0, max_downtime_ms=300, downtime_target_ms=None,
                  time_budget_s=900,
                  precopy_budget_s=0, predicted_precopy_s=None, first_pass_s=60.0, auto_converge='auto',
                  compression=False, parallel_connections=0, tls=False, progress_file=None, stop_file=None,
                  link_timeout_s=migration_monitor.DEFAULT_LINK_TIMEOUT_S,
                  recovery_budget_s=recovery.DEFAULT_BUDGET_S, postcopy_recoverable=None, auto_converge_initial=None):
    """MigrationOptions with the collection's defaults and rules.

    The pre-copy budget, unless given, is twice the predicted pre-copy time (or
    twice a first pass when pre-copy is predicted not to converge).
    Auto-converge 'auto' is on when post-copy cannot be the fallback; it starts from
    `auto_converge_initial` % (None: QEMU's default).
    QEMU is given `downtime_target_ms` (the operator's `max_downtime_ms` unless given:
    see decisions.rates.downtime_target_ms); results are judged against `max_downtime_ms`.
    """
    budget = precopy_budget_s or migration_monitor.precopy_budget(predicted_precopy_s, first_pass_s)
    return runner.MigrationOptions(
        method=method, dest_uri=dest_uri, bandwidth_mibps=bandwidth_mibps,
        max_downtime_ms=downtime_target_ms or max_downtime_ms, downtime_limit_ms=max_downtime_ms,
        precopy_budget_s=budget, time_budget_s=time_budget_s, postcopy_possible=postcopy_possible,
        auto_converge=assessment.auto_converge_on(auto_converge, postcopy_possible),
        compression=compression, parallel_connections=parallel_connections, tls=tls, persistent=True,
        progress_file=progress_file, stop_file=stop_file, link_timeout_s=link_timeout_s,
        recovery_budget_s=recovery_budget_s, postcopy_recoverable=postcopy_recoverable,
        auto_converge_initial=auto_converge_initial)


# libvirt 11.3 cannot pause an incoming post-copy (virDomainAbortJobFlags(POSTCOPY) takes only an outgoing one,
# qemuDomainAbortJobFlags), nor pass QEMU a command during it (the incoming job allows no query job).
UNAWARE = ('the destination has not seen the failure (running (post-copy)): libvirt cannot pause an incoming '
           'post-copy, and the source\'s first migration job waits for the destination\'s to end, so libvirt '
           'refuses a resume until the destination\'s QEMU notices, at the guest\'s next page request')


def destination_unaware(destination, name):
    """Why a resume may be refused for a while: UNAWARE where the destination still runs its post-copy as if
    nothing failed (the source's socket was reset, the destination's was not); else None."""
    ddom, state = preflight.find(destination, name)
    if ddom is None or state != (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_POSTCOPY):
        return None
    return UNAWARE


def failed_job_stats(dom, timeout_s=5.0):
    """The source's job statistics of a failed post-copy (its QEMU's counters at the failure), or None."""
    stats = {}

    def ask():
        stats.update(dom.jobStats())

    returned, error = recovery.call_within(ask, timeout_s)
    return stats if returned and error is None else None


class CompletedJob:
    """`with CompletedJob(conn, dom) as completed:` ... `completed.wait()`: the statistics libvirt sends
    with the domain's job-completed event (the source's, before the domain leaves it), or None."""

    def __init__(self, conn, dom):
        self.conn, self.dom = conn, dom
        self.stats = None
        self.done = threading.Event()
        self._subscription = None
        self._ids = []

    def _on_completed(self, _conn, _dom, stats, _opaque):
        self.stats = stats
        self.done.set()

    def __enter__(self):
        self._subscription = _events.subscribed(
            self.conn, self.dom, [(libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, self._on_completed)], optional=True)
        self._ids = self._subscription.__enter__()
        return self

    def wait(self, timeout_s=5.0):
        if self._ids:
            self.done.wait(timeout_s)
        return self.stats

    def __exit__(self, *exc):
        return self._subscription.__exit__(*exc)


def resume_split(source, destination, dom, options, details=None):
    """Resume a VM split by a failed post-copy; returns the details, or raises MigrationFailed with the steps."""
    name = dom.name()
    details = dict(details or {}, postcopy_failed=True)
    blocker = recovery.resume_blocker(source.getLibVersion(), destination.getLibVersion(),
                                      options.postcopy_recoverable)
    attempts = []
    if blocker is None:
        details['destination_unaware'] = destination_unaware(destination, name)
        at_failure = failed_job_stats(dom)
        with CompletedJob(source, dom) as completed:
            resumed, attempts = recovery.resume(dom, options,
                                                hopeless=lambda: destination_gone(source, destination, name))
            details['recovery_attempts'] = attempts
            if resumed:
                details['recovered'] = True
                details['resend'] = recovery.resend_figures(at_failure, completed.wait())
                return details
    where = locate(source, destination, name)
    if recovery.destination_discarded(where):
        raise discarded(source, dom, options, where, details)
    source_uri = source.getURI()
    steps = recovery.operator_steps(name, source_uri, options.dest_uri, blocker)
    details.update(vm_location=where, destination_state=where['destination'], recovered=False,
                   recovery_blocker=blocker, operator_steps=steps)
    if blocker:
        why = 'not tried: %s' % blocker
    else:
        why = '%d attempts over %.0f s failed, the last: %s%s' % (
            len(attempts), options.recovery_budget_s, attempts[-1] if attempts else 'none',
            '; %s' % details['destination_unaware'] if details.get('destination_unaware') else '')
    raise runner.MigrationFailed(
        '%s: post-copy failed and the VM is split (%s); resuming it: %s. What to do: %s'
        % (name, recovery.describe_split(where), why, recovery.numbered(steps)), details)


def _asked(call, default=None):
    """What a libvirt call answers, `default` where it fails (a report must not fail on a dying daemon)."""
    try:
        return call()
    except libvirt.libvirtError:
        return default


def discarded(source, dom, options, where, details):
    """The MigrationFailed for a failed post-copy whose destination copy is gone (recovery.DISCARDED)."""
    name = dom.name()
    steps = recovery.discarded_steps(name, _asked(source.getURI), options.dest_uri,
                                     _asked(lambda: bool(dom.isPersistent())))
    details = dict(details, postcopy_failed=True, vm_location=where, destination_state=None, recovered=False,
                   recovery_blocker=recovery.DISCARDED, operator_steps=steps)
    details.setdefault('recovery_attempts', [])
    return runner.MigrationFailed(
        '%s: post-copy failed (%s) and cannot be resumed (%s): %s. What to do: %s'
        % (name, details.get('error') or 'no error text', recovery.describe_split(where), recovery.DISCARDED,
           recovery.numbered(steps)), details)


def destination_gone(source, destination, name, timeout_s=5.0):
    """Whether the destination's copy of a failed post-copy is gone for good (recovery.destination_discarded); False
    where the hosts do not answer within `timeout_s` (the resume's budget is not spent waiting on them)."""
    found = {}

    def ask():
        found['where'] = locate(source, destination, name)

    returned, _error = recovery.call_within(ask, timeout_s)
    return bool(returned and found.get('where') and recovery.destination_discarded(found['where']))


def settle_orphan(source, destination, dom, timeout_s=60, poll_s=0.5):
    """End a migration job left running by a controller that is gone.

    A pre-copy is aborted (the VM keeps running on the source) and waited for;
    a running post-copy cannot be aborted and is left to finish.  Returns what
    was found, for the result.
    """
    state, reason = dom.state()
    if preflight.in_postcopy(state, reason) or preflight.active_job(dom) == libvirt.VIR_DOMAIN_JOB_NONE:
        return None
    found = 'a pre-copy migration job left by a controller that is gone; aborted it'
    try:
        dom.abortJob()
    except libvirt.libvirtError as err:
        found += ' (abort: %s)' % err.get_error_message()
    deadline = time.monotonic() + timeout_s
    # Over when the source has no job and the destination has dropped its incoming VM.
    while (preflight.active_job(dom) != libvirt.VIR_DOMAIN_JOB_NONE or
           preflight.find(destination, dom.name())[0] is not None):
        if time.monotonic() > deadline:
            raise runner.MigrationFailed('%s: the orphaned migration job did not end within %d s'
                                         % (dom.name(), timeout_s), {})
        time.sleep(poll_s)
    return found


def restore_polling(source, destination, name, where):
    """Balloon statistics back on where the VM runs alone (stats_polling); a note for the result, or None."""
    for side, conn in (('destination', destination), ('source', source)):
        if where.get(side) == 'running' and not where.get('source' if side == 'destination' else 'destination'):
            dom, _state = preflight.find(conn, name)
            return stats_polling.restore(dom) if dom is not None else None
    return None


def migrate_vm(source, destination, dom, options, precopy_policy=None, on_arrival=None, dest_control_uri=None):
    """Run the migration and check the VM runs on the destination.

    `on_arrival()` is called once, in the event loop's thread, when the destination's libvirt
    says the guest runs there with all its memory (arrival.ArrivalWatch), before the source
    has finished; the result's `running_on_destination_s` says when (seconds since the
    migration started; None when the event was not seen).

    A post-copy that fails on its link is resumed within the recovery budget.
    Where post-copy may run, the balloon's statistics polling is off for the
    migration (stats_polling says why) and back on where the VM ends.
    `precopy_policy` watches pre-copy (the collection's own unless given).
    Returns the runner's result with `vm_location` and `destination_state`;
    raises runner.MigrationFailed (details include where the VM is) otherwise.
    """
    name = dom.name()
    if stats_polling.needs_pause(options.method, options.postcopy_possible):
        stats_polling.pause(dom)
    job = runner.MigrationRunner(source, dom, options, policy=precopy_policy)
    fresh = None
    try:
        try:
            with arrival.ArrivalWatch(destination, name, on_arrival, clock=job.clock) as watch:
                result = job.run()
            result['running_on_destination_s'] = None if watch.at is None else round(watch.at - job.start, 3)
        except runner.MigrationFailed as err:
            where = locate(source, destination, name)
            if dest_control_uri and recovery.is_split(where) and not _libvirt.alive(destination):
                # Only a split VM needs the destination back: anything else is whole on one side already.
                fresh = reconnect_destination(dest_control_uri, options.recovery_budget_s, err.details)
                if fresh is not None:
                    destination = fresh
                    where = locate(source, destination, name)
            if recovery.is_split(where):
                result = resume_split(source, destination, dom, options, err.details)
            elif recovery.destination_discarded(where):
                raise discarded(source, dom, options, where, err.details)
            else:
                err.details.update(vm_location=where, destination_state=where['destination'],
                                   stats_polling=restore_polling(source, destination, name, where))
                raise runner.MigrationFailed('%s; the VM is %s' % (err, where_text(where)), err.details)
        where = locate(source, destination, name)
        result.update(vm_location=where, destination_state=where['destination'],
                      stats_polling=restore_polling(source, destination, name, where))
        if where['destination'] != 'running':
            raise runner.MigrationFailed('%s: the migration returned, but the VM is %s' % (name, where_text(where)),
                                         result)
        return result
    finally:
        if fresh is not None:
            fresh.close()


def reconnect_destination(uri, wait_s, details):
    """A new connection to a destination whose libvirtd went away during the migration (killed, restarted),
    waited for up to `wait_s`; None when it did not come back.  `details` says which."""
    began = time.monotonic()
    try:
        conn = _libvirt.reconnect(uri, wait_s)
    except _libvirt.LibvirtUnavailable as err:
        details['destination_reconnected'] = 'no: %s' % err
        return None
    details['destination_reconnected'] = 'after %.1f s: its libvirtd went away during the migration' % (
        time.monotonic() - began)
    return conn


def wait_for_postcopy(source, destination, name, timeout_s, poll_s=1.0):
    """Wait for a running post-copy (left by a controller that is gone) to finish; returns where the VM is."""
    deadline = time.monotonic() + timeout_s
    while True:
        where = locate(source, destination, name)
        if where['source'] is None or recovery.is_split(where) or time.monotonic() > deadline:
            return where
        time.sleep(poll_s)
