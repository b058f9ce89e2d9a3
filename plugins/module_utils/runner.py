# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive one live migration: start it, switch it, watch it, stop it, report it.

The blocking migrate call runs in its own thread; this thread watches the
migration through libvirt's events (passes, lifecycle, job completed) and job
statistics, and acts on what migration_monitor decides.  Every poll of pre-copy
re-predicts it from the live statistics (live_prediction.py); the last
re-prediction is in the result (`live_prediction`), what the runner believed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os
import threading
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _events
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    live_prediction, migration_monitor)
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError
from ansible_collections.workload_aware.live_migration.plugins.module_utils.libvirt_messages import explained

MIB = 1024.0 * 1024.0
# QEMU's downtime limit until one is set.
QEMU_DEFAULT_DOWNTIME_MS = 300

MigrationOptions = collections.namedtuple('MigrationOptions', [
    'method',                # precopy, postcopy or hybrid
    'dest_uri',              # as the source host reaches the destination (peer-to-peer)
    'bandwidth_mibps',       # 0: unlimited; applies to both phases
    'max_downtime_ms',       # the downtime limit QEMU is given (a target: see decisions.rates)
    'downtime_limit_ms',     # the operator's limit, what the measured pause is judged against
    'precopy_budget_s',      # pre-copy phase time before it counts as not converging
    'time_budget_s',         # whole migration; pre-copy past it is aborted
    'postcopy_possible',     # allowed and the destination can do it
    'auto_converge',
    'compression',
    'parallel_connections',  # 0: one connection
    'tls',
    'persistent',            # define on the destination, undefine on the source
    'progress_file',         # append a JSON line of progress about every second (None: don't)
    'stop_file',             # when it exists, a pre-copy is aborted (None: no such file)
    'link_timeout_s',        # no byte sent for this long: the link is down
    'recovery_budget_s',     # how long a failed post-copy is retried before the operator is told
    'postcopy_recoverable',  # True/False: the hosts can/cannot resume a failed post-copy; None: judge by version
    'auto_converge_initial',  # auto-converge's first throttle, % (None: QEMU's default, 20)
])
MigrationOptions.__new__.__defaults__ = (None,)


class MigrationFailed(WaError):
    """The migration did not complete; `details` says where the VM is."""


def migration_flags(options):
    """libvirt flags and typed parameters for these options."""
    flags = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
    params = {}
    if options.persistent:
        flags |= libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    if options.method in ('postcopy', 'hybrid') or options.postcopy_possible:
        # Also for pre-copy when post-copy is possible: it is the fallback.
        flags |= libvirt.VIR_MIGRATE_POSTCOPY
    if options.auto_converge:
        flags |= libvirt.VIR_MIGRATE_AUTO_CONVERGE
        if options.auto_converge_initial:
            params[libvirt.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL] = int(options.auto_converge_initial)
    if options.compression:
        flags |= libvirt.VIR_MIGRATE_COMPRESSED
    if options.tls:
        flags |= libvirt.VIR_MIGRATE_TLS
    if options.parallel_connections:
        flags |= libvirt.VIR_MIGRATE_PARALLEL
        params[libvirt.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS] = int(options.parallel_connections)
    if options.bandwidth_mibps:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = int(options.bandwidth_mibps)
        if flags & libvirt.VIR_MIGRATE_POSTCOPY:
            # libvirt leaves the post-copy phase uncapped otherwise.
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY] = int(options.bandwidth_mibps)
    return flags, params


class MigrationRunner:
    """One migration of `dom` (on connection `conn`, opened after the event loop started).

    `policy` decides while pre-copy runs (migration_monitor.CollectionPolicy unless given).
    """

    def __init__(self, conn, dom, options, poll_s=0.25, clock=time.monotonic, policy=None):
        self.conn = conn
        self.dom = dom
        self.options = options
        self.policy = policy or migration_monitor.CollectionPolicy(options)
        self.poll_s = poll_s
        self.clock = clock
        self.start = None
        self.events = []
        self.history = []
        self.iteration = 0
        self.in_postcopy = False
        self.switched = None
        self.aborted = None
        self.job_stats = None
        self.completed = threading.Event()
        self.call_error = None
        self.call_done = threading.Event()
        # Set by the event thread when the method's switch is due; acted on at once by the switcher.
        self.switch_requested = threading.Event()
        self.switch_requested_at = None
        # Why the requested switch is due (None: not decided yet).
        self.switch_why = None
        # The downtime limit set, and the last re-prediction of pre-copy from the live statistics.
        self.downtime_ms = self.policy.initial_downtime_ms
        self.live_prediction = None
        self.last_progress = None
        self.postcopy_paused_at = None
        self.watch_over = threading.Event()

    # -- events (libvirt's event thread: record only) --------------------------------------------

    def _elapsed(self):
        return round(self.clock() - self.start, 3)

    def _on_iteration(self, _conn, _dom, iteration, _opaque):
        self.iteration = max(self.iteration, iteration)
        self.events.append({'t': self._elapsed(), 'event': 'pass', 'iteration': iteration})
        if self.switch_requested_at is None and migration_monitor.switch_due(self.options.method, iteration):
            self.switch_requested_at = iteration
            self.switch_requested.set()

    def _on_lifecycle(self, _conn, _dom, event, detail, _opaque):
        if (event, detail) == (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY):
            self.in_postcopy = True
        self.events.append({'t': self._elapsed(), 'event': 'lifecycle', 'type': event, 'detail': detail})

    def _on_job_completed(self, _conn, _dom, stats, _opaque):
        self.job_stats = stats
        self.completed.set()

    # -- actions (this thread) -------------------------------------------------------------------

    def _migrate(self, flags, params):
        try:
            self.dom.migrateToURI3(self.options.dest_uri, params, flags)
        except libvirt.libvirtError as err:
            self.call_error = err
        finally:
            self.call_done.set()

    def _note(self, event, **fields):
        fields.update({'t': self._elapsed(), 'event': event})
        self.events.append(fields)

    def _switch_to_postcopy(self, why, requested_at):
        try:
            self.dom.migrateStartPostCopy(0)
        except libvirt.libvirtError as err:
            # Too early ("before the start of migration") or already over: the caller retries.
            self._note('postcopy-switch-retry', error=err.get_error_message())
            return False
        self.switched = {'t': self._elapsed(), 'requested_at_pass': requested_at, 'pass': self.iteration, 'why': why}
        self._note('postcopy-switch', requested_at_pass=requested_at, iteration=self.iteration, why=why)
        return True

    def _switch_decided(self):
        """Whether the requested switch goes ahead; a hybrid re-predicts first.

        Hybrid decides when pass 2 begins, from one fresh look at the job statistics (the
        dirty rate QEMU measured as pass 1 ended is in no earlier sample) and those sampled
        before; without enough of them it switches.  When it keeps pre-copying, the request
        is withdrawn and the pre-copy watch (and its re-prediction) takes over.
        """
        if self.switch_why is not None:
            return True
        decide = getattr(self.policy, 'hybrid_decision', None)
        if self.options.method == 'hybrid' and decide is not None:
            self._sample_progress(report=False)
            switch, why = decide(self.history)
        else:
            switch, why = True, '%s switches when pass %d begins' % (self.options.method, self.switch_requested_at)
        if not switch:
            self._note('hybrid-keeps-precopy', iteration=self.iteration, why=why)
            self.switch_requested.clear()
            return False
        self.switch_why = why
        return True

    def _switcher(self):
        """Switch the moment the event thread says the method's pass has begun (hybrid: if it still should)."""
        while not (self.call_done.is_set() or self.watch_over.is_set()):
            if not self.switch_requested.wait(0.05) or self.switched:
                continue
            if not self._switch_decided():
                continue
            if not self._switch_to_postcopy(self.switch_why, self.switch_requested_at):
                time.sleep(0.05)

    def _set_downtime(self, downtime_ms, why):
        """Set QEMU's downtime limit; False when QEMU did not take it (yet)."""
        try:
            self.dom.migrateSetMaxDowntime(int(downtime_ms), 0)
        except libvirt.libvirtError as err:
            self._note('downtime-limit-retry', error=err.get_error_message())
            return False
        self.downtime_ms = int(downtime_ms)
        self._note('downtime-limit', ms=int(downtime_ms), why=why)
        return True

    def _abort(self, why):
        try:
            self.dom.abortJob()
            self.aborted = why
            self._note('abort', why=why)
        except libvirt.libvirtError as err:
            self._note('abort-failed', error=err.get_error_message())

    def _sample_progress(self, report=True):
        try:
            stats = self.dom.jobStats()
        except libvirt.libvirtError:
            return
        remaining = stats.get('memory_remaining')
        processed = stats.get('data_processed')
        self.history.append(migration_monitor.Progress(
            self._elapsed(), stats.get('memory_iteration', self.iteration),
            remaining / MIB if remaining is not None else None,
            processed / MIB if processed is not None else None,
            stats.get('memory_bps'), stats.get('memory_dirty_rate'), stats.get('memory_page_size'),
            stats.get('auto_converge_throttle')))
        if not (self.in_postcopy or self.switched):
            prediction = live_prediction.from_history(
                self.history, self.downtime_ms if self.downtime_ms is not None else QEMU_DEFAULT_DOWNTIME_MS)
            if prediction is not None:
                self.live_prediction = prediction
        if report:
            self._report_progress(stats)

    def _watch_postcopy(self):
        """Pause a post-copy whose link is down, so that it can be resumed when the link returns."""
        self._sample_progress()
        if self.postcopy_paused_at is not None or not migration_monitor.link_stalled(
                self.history, self.clock() - self.start, self.options.link_timeout_s):
            return
        try:
            # QEMU may wait for TCP to give up (many minutes) before it notices a dead link.
            self.dom.abortJobFlags(libvirt.VIR_DOMAIN_ABORT_JOB_POSTCOPY)
            self._note('postcopy-paused', why='the migration link carried no data for %.0f s'
                       % self.options.link_timeout_s)
        except libvirt.libvirtError as err:
            self._note('postcopy-pause-failed', error=err.get_error_message())
        self.postcopy_paused_at = self.clock()

    def _report_progress(self, stats):
        """One JSON line for operators (`tail -f`), at most once a second."""
        if not self.options.progress_file or (self.last_progress and self.clock() - self.last_progress < 1.0):
            return
        self.last_progress = self.clock()
        remaining = stats.get('memory_remaining')
        speed = stats.get('memory_bps') or 0
        line = {
            'time': time.strftime('%H:%M:%S'), 'vm': self.dom.name(), 'elapsed_s': self._elapsed(),
            'phase': 'post-copy' if (self.in_postcopy or self.switched) else 'pre-copy',
            'pass': stats.get('memory_iteration', self.iteration),
            'remaining_mib': round(remaining / MIB, 1) if remaining is not None else None,
            'eta_s': round(remaining / float(speed), 1) if remaining is not None and speed else None,
        }
        with open(self.options.progress_file, 'a') as progress:
            progress.write(json.dumps(line, sort_keys=True) + '\n')

    def _watch_tick(self, downtime_set):
        """One look at the running migration; returns whether the downtime limit is set."""
        if not downtime_set and self.iteration >= 1:
            # libvirt applies its own migration parameters when the job starts; set ours after.
            initial = self.policy.initial_downtime_ms
            downtime_set = initial is None or self._set_downtime(initial, '%s: initial limit' % self.policy.name)
        if self.in_postcopy or self.switched:
            self._watch_postcopy()
            return downtime_set
        if self.aborted or self.switch_requested.is_set():
            return downtime_set
        self._sample_progress()
        elapsed = self.clock() - self.start
        if self.options.stop_file and os.path.exists(self.options.stop_file):
            self._abort('the operator asked to stop (%s exists)' % self.options.stop_file)
            return downtime_set
        if elapsed >= self.options.time_budget_s:
            self._abort('pre-copy still running after the %.0f s time budget' % self.options.time_budget_s)
            return downtime_set
        action, why = self.policy.precopy_action(elapsed, self.history)
        if isinstance(action, migration_monitor.SetDowntime):
            self._set_downtime(action.ms, why)
        elif action == migration_monitor.SWITCH_TO_POSTCOPY and not self.options.postcopy_possible:
            # A policy's schedule (a baseline's) may ask for post-copy where it is forbidden: its next resort.
            self._abort('%s; post-copy is not possible, aborting (the VM keeps running on the source)' % why)
        elif action == migration_monitor.SWITCH_TO_POSTCOPY:
            self._switch_to_postcopy(why, self.iteration)
        elif action == migration_monitor.ABORT:
            self._abort(why)
        return downtime_set

    def run(self):
        """Migrate; return the result, or raise MigrationFailed."""
        flags, params = migration_flags(self.options)
        self.start = self.clock()
        with _events.subscribed(self.conn, self.dom, (
                (libvirt.VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, self._on_iteration),
                (libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle),
                (libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, self._on_job_completed))):
            worker = threading.Thread(target=self._migrate, args=(flags, params), name='migrate-call')
            worker.daemon = True
            worker.start()
            switcher = threading.Thread(target=self._switcher, name='postcopy-switcher')
            switcher.daemon = True
            switcher.start()
            downtime_set = False
            while not self.call_done.wait(self.poll_s):
                downtime_set = self._watch_tick(downtime_set)
                if self.postcopy_paused_at is not None and \
                        self.clock() - self.postcopy_paused_at > self.options.link_timeout_s:
                    # The call waits on a destination that has not noticed; the state says enough.
                    self._note('call-abandoned', why='no answer from the destination after the pause')
                    break
            self.watch_over.set()
            switcher.join()
            if self.call_done.is_set():
                # The completed-job statistics come with the event (the destination has none after post-copy).
                self.completed.wait(5.0)
        return self._result()

    def _method_used(self):
        if self.switched is None:
            # A hybrid (or even post-copy) request that converged before its switch was due.
            return 'precopy'
        return self.options.method if self.options.method != 'precopy' else 'precopy+postcopy'

    def _result(self):
        stats = self.job_stats or {}
        result = {
            'method_requested': self.options.method,
            'method_used': self._method_used(),
            'switch': self.switched,
            'live_prediction': live_prediction.as_dict(self.live_prediction),
            'aborted': self.aborted,
            'wall_time_s': self._elapsed(),
            'total_time_s': stats['time_elapsed'] / 1000.0 if 'time_elapsed' in stats else None,
            'downtime_ms': stats.get('downtime'),
            'bytes_transferred': stats.get('data_processed'),
            'memory_bytes_transferred': stats.get('memory_processed'),
            'precopy_rounds': stats.get('memory_iteration'),
            'postcopy_requests': stats.get('memory_postcopy_requests'),
            'events': self.events,
        }
        if self.call_error is not None or not self.call_done.is_set():
            result['error'] = (explained(self.call_error.get_error_message()) if self.call_error is not None else
                               'post-copy paused: the migration link carried no data for %.0f s'
                               % self.options.link_timeout_s)
            raise MigrationFailed('migration of %s failed: %s' % (self.dom.name(), result['error']), result)
        return result
