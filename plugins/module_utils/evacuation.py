# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry out an evacuation plan: its moves in order, `concurrency` at a time,
in one process, so no VM waits on anything but its own migration.  Each move
is vm_move's per-VM workflow, as wa_migrate runs it; every planned VM ends in
exactly one of moved, skipped (already there), left behind (or, in check
mode, would move).

A move holds its slot until the destination says its guest runs there
(arrival.py), not until libvirt's call returns: the source's QEMU exiting and
libvirt's confirm (1.4-1.6 s a migration on the test bed) overlap the next
migration instead of delaying it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import time

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _events, _libvirt, host_load, learning, lease, migration_uri, preflight, settings, vm_move)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import names, planner
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import rates as rates_mod
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput, WaError

METHODS = ('precopy', 'postcopy', 'hybrid')
# The source's libvirtd lost mid-run (a restart): how long to wait for it to answer again, and then for
# libvirt to settle each VM (an out-going pre-copy cancelled, the guest running whole on the source again).
SOURCE_BACK_S = 60.0
SETTLE_S = 30.0
# What libvirt's RPC says when the daemon at the other end of a connection went away (not QEMU's migration
# stream, whose failures say "Unable to write to socket" and are the migration's own).
CONNECTION_LOST = ('end of file while reading data', 'client socket is closed', 'cannot recv data',
                   'cannot write data', 'failed to connect socket', 'cannot connect to libvirt')


def _whole(state):
    """Whether a (state, reason) from Evacuation._state is a guest running whole (not paused, not split)."""
    return state not in (False, (None, None)) and state[0] == preflight.RUNNING and not preflight.in_postcopy(*state)


def error_text(err):
    """An operator's message for one of our errors or a libvirt error."""
    if isinstance(err, libvirt.libvirtError):
        return 'libvirt: %s' % (err.get_error_message() or err)
    return str(err)


def check_plan(moves, destinations, transport=None):
    """Refuse a plan that cannot be carried out (BadInput); returns the targets of Evacuation.

    `transport`: the migration streams' (plain is refused towards a destination that is not loopback)."""
    targets = {}
    for name, target in sorted(destinations.items()):
        if not isinstance(target, dict) or not target.get('uri'):
            raise BadInput('destination %s: needs a uri' % name)
        migration_uri.parse(target['uri'], 'destination %s uri' % name)
        migration_uri.check_transport(target['uri'], transport, 'destination %s uri' % name)
        targets[name] = {'uri': target['uri'], 'control_uri': target.get('control_uri') or target['uri'],
                         'postcopy_capable': boolean(target.get('postcopy_capable', False), strict=False)}
        if target.get('postcopy_recoverable') is not None:
            targets[name]['postcopy_recoverable'] = boolean(target['postcopy_recoverable'], strict=False)
    seen = set()
    for move in moves:
        missing = [key for key in ('vm', 'destination', 'method') if key not in move]
        if missing or move['destination'] not in targets:
            raise BadInput('bad move %r: needs vm, destination and method, and a known destination' % (move,))
        names.check_domain_name(move['vm'], 'move vm')
        if move['method'] not in METHODS:
            raise BadInput('move of %s: method must be one of %s, got %s'
                           % (move['vm'], ', '.join(METHODS), move['method']))
        if move['vm'] in seen:
            raise BadInput('%s is planned twice' % move['vm'])
        seen.add(move['vm'])
    return targets


# The most a move's slot waits, after its VM runs on the destination, for what the move taught to be learned.
LEARN_AT_ARRIVAL_S = 0.5


class Slot:
    """One migration's place among the `concurrency` that run at once, given back once.

    Given back when the destination says the VM runs there, or when its move ends
    (failed, skipped, check mode, no arrival event): whichever comes first.
    """

    def __init__(self, semaphore):
        self._semaphore = semaphore
        self._lock = threading.Lock()
        self._released = False

    def release(self):
        with self._lock:
            if self._released:
                return
            self._released = True
        self._semaphore.release()


class Evacuation:
    """`moves` from planner.plan_evacuation; `targets` maps a destination name to
    {'uri': for the source host, 'control_uri': for us, 'postcopy_capable': bool, optionally
    'postcopy_recoverable': bool or None (None: judged by libvirt's version)};
    `params` are the shared migration settings (settings.MIGRATION_ARGUMENT_SPEC)."""

    def __init__(self, source_uri, moves, targets, params, concurrency=1, stop_file=None, clock=time.monotonic,
                 lock_dir=lease.DEFAULT_LOCK_DIR, check_mode=False, policy_for=None, source_busy=None):
        self.source_uri = source_uri
        # The source's load before the first move (host_load): with the migrations at once, the condition
        # each move's rates are learned for and its sample records.
        self.source_busy = source_busy
        self.moves = list(moves)
        self.targets = targets
        self.params = dict(params, profile_window_s=0)   # the plan chose each method
        self.concurrency = concurrency
        self.stop_file = stop_file
        self.clock = clock
        self.lock_dir = lock_dir
        self.check_mode = check_mode
        # The benchmark's baselines: move -> {precopy_policy, postcopy_allowed, auto_converge} (None: the collection's).
        self.policy_for = policy_for
        # Guards the lists and the queue; moves that end notify the dispatcher (run) waiting on it.
        self.lock = threading.Condition(threading.Lock())
        self.in_flight = 0
        self.start = None
        self.moved = []
        self.left_behind = []
        self.skipped = []
        self.would_move = []
        # What this run's migrations measured ({pair key: [samples]}), the store entries they make,
        # and each re-plan they caused.
        self.learned = {}
        self.samples = []
        self.replans = []
        self.queue = []
        # When each move ran: {vm: [started, finished or None]} (a sample of a move that overlapped others says so).
        self.spans = {}
        # Destinations whose libvirt was lost during the run: {name: {destination, at_s, why, re_planned}}.
        self.down = {}
        # Moves that failed because the source's libvirt was lost, and whether each was made again.
        self.source_failures = []
        # What a move taught as its VM arrived ({vm: (key, sample)}), until its finished sample replaces it;
        # the moves whose libvirt call has returned.
        self.provisional = {}
        self.finished = set()

    def _stopped(self):
        return bool(self.stop_file) and os.path.exists(self.stop_file)

    def _record(self, bucket, entry):
        with self.lock:
            bucket.append(entry)

    def _move(self, move, slot=None):
        name, target = move['vm'], self.targets[move['destination']]
        started_at = self.clock()
        span = [started_at, None, None]
        with self.lock:
            self.spans[name] = span
        arrived = []

        def on_arrival():
            # In the event loop's thread: note the time (one list item stored: no lock taken here) and leave the
            # learning to a thread of its own, which gives the slot back once it has re-planned, so that the next
            # move starts with what this one taught; at the latest after LEARN_AT_ARRIVAL_S.
            arrived.append(self.clock())
            span[2] = arrived[0]
            if source is None or self.check_mode:
                if slot is not None:
                    slot.release()
                return
            if slot is not None:
                guard = threading.Timer(LEARN_AT_ARRIVAL_S, slot.release)
                guard.daemon = True
                guard.start()
            learner = threading.Thread(target=self._learn_at_arrival, args=(move, source, slot),
                                       name='arrival-%s' % name)
            learner.daemon = True
            learner.start()

        if self._stopped():
            self._record(self.left_behind, {'vm': name, 'reason': 'stopped by the operator before it started'})
            return
        source = destination = None
        try:
            source = _libvirt.open_connection(self.source_uri)
            destination = _libvirt.open_connection(target['control_uri'])
            params, overrides, policy = self.params, dict(
                predicted_precopy_s=move.get('predicted_s'), stop_file=self.stop_file,
                postcopy_recoverable=target.get('postcopy_recoverable', self.params.get('postcopy_recoverable'))), None
            if self.policy_for is not None:
                chosen = self.policy_for(move)
                params = dict(params, postcopy_allowed=chosen['postcopy_allowed'])
                overrides.update(auto_converge=chosen['auto_converge'], compression=chosen.get('compression', False),
                                 precopy_budget_s=params['time_budget_s'])
                policy = chosen['precopy_policy']
            result = vm_move.VmMove(
                name, target['uri'], move['method'], params, destination_postcopy_capable=target['postcopy_capable'],
                check_mode=self.check_mode, lock_dir=self.lock_dir, option_overrides=overrides, precopy_policy=policy,
                learned=self._learned, on_arrival=on_arrival, streams=self.concurrency, source_busy=self.source_busy,
            ).run(source, destination, self.source_uri, target['control_uri'])
            sample = result.pop('calibration_sample', None)
            self._record_result(move, result, started_at, arrived[0] if arrived else None)
            self._learn(name, sample)
        except (WaError, libvirt.libvirtError) as err:
            # The one error boundary of a move: the VM is moved elsewhere if its destination failed and it still
            # runs untouched on the source, else left behind, with where it is.
            for conn in (source, destination):
                if conn is not None:
                    conn.close()
            source = destination = None
            if not self._elsewhere(move, err) and not self._again_after_source_loss(move, err):
                self._record(self.left_behind, {'vm': name, 'reason': error_text(err),
                                                'vm_location': getattr(err, 'details', {}).get('vm_location')})
        finally:
            for conn in (source, destination):
                if conn is not None:
                    conn.close()
            with self.lock:
                if self.spans.get(name) and self.spans[name][1] is None:
                    self.spans[name][1] = self.clock()

    def _reachable(self, uri):
        try:
            _libvirt.open_connection(uri).close()
            return True
        except (WaError, libvirt.libvirtError):
            return False

    def _runs_on_source(self, name):
        """Whether the source's libvirt says `name` runs there, whole (not paused, not split by a post-copy)."""
        return _whole(self._state(self.source_uri, name))

    def _state(self, uri, name):
        """(state, reason) of `name` on the host at `uri`; (None, None) where it has none; False: no answer."""
        try:
            conn = _libvirt.open_connection(uri)
        except (WaError, libvirt.libvirtError):
            return False
        try:
            return preflight.find(conn, name)[1] or (None, None)
        except libvirt.libvirtError:
            return False
        finally:
            conn.close()

    def _wait(self, ready, limit_s):
        """Poll `ready()` every second for up to `limit_s`: its last answer (None: stop at once)."""
        deadline = self.clock() + limit_s
        while True:
            answer = ready()
            if answer or answer is None or self.clock() >= deadline:
                return bool(answer)
            time.sleep(1.0)

    def _again_after_source_loss(self, move, err):
        """After a move that failed on a lost connection while its destination still answers (the source's
        libvirtd restarted, say): once the source answers again (SOURCE_BACK_S) and libvirt has settled the VM
        (SETTLE_S) - running whole on the source, no copy of it on the destination - queue the move again,
        first, once.  Returns whether it was queued; each such failure is in the result's source_failures."""
        text = error_text(err).lower()
        if (self.check_mode or move.get('after_source_loss') or move['destination'] in self.down
                or not any(sign in text for sign in CONNECTION_LOST)):
            return False
        failure = {'vm': move['vm'], 'at_s': round(self.clock() - self.start, 2), 'why': error_text(err),
                   'made_again': False}
        with self.lock:
            self.source_failures.append(failure)
        if not self._wait(lambda: self._reachable(self.source_uri), SOURCE_BACK_S):
            failure['why'] += "; the source's libvirt did not answer again within %d s" % SOURCE_BACK_S
            return False

        def settled():
            here = self._state(self.source_uri, move['vm'])
            if here is False or here == (None, None):
                return None     # no answer, or the VM is not there: nothing to wait for
            there = self._state(self.targets[move['destination']]['control_uri'], move['vm'])
            return _whole(here) and there == (None, None)
        if not self._wait(settled, SETTLE_S):
            failure['why'] += '; it did not run whole on the source alone within %d s' % SETTLE_S
            return False
        failure['made_again'] = True
        with self.lock:
            self.queue.insert(0, dict(move, after_source_loss=True))
        return True

    def _elsewhere(self, move, err):
        """After a failed move: when its destination's libvirt is gone, mark it failed, send the moves not yet
        started to the other destinations, and this one too if its VM still runs whole on the source (once).
        Returns whether this move was queued again."""
        dead = move['destination']
        if self.check_mode or self._reachable(self.targets[dead]['control_uri']):
            return False
        whole = not move.get('moved_from') and self._runs_on_source(move['vm'])
        with self.lock:
            if dead not in self.down:
                self.down[dead] = {'destination': dead, 'at_s': round(self.clock() - self.start, 2),
                                   'why': error_text(err), 're_planned': []}
                for queued in list(self.queue):
                    if queued['destination'] == dead:
                        self.queue.remove(queued)
                        self._queue_elsewhere(queued, at_front=False)
            if whole:
                return self._queue_elsewhere(move, at_front=True)
        return False

    def _queue_elsewhere(self, move, at_front):
        """(With the lock held.)  Queue `move` for another destination (planner.reassign); False if none."""
        load = {}
        for planned in self.queue + self.moved:
            load[planned['destination']] = load.get(planned['destination'], 0) + 1
        destination, method, why = planner.reassign(move, self.targets, self.down, load)
        if destination is None:
            self.left_behind.append({'vm': move['vm'], 'reason': '%s failed and %s' % (move['destination'], why),
                                     'vm_location': None})
            return False
        self.down[move['destination']]['re_planned'].append({'vm': move['vm'], 'destination': destination,
                                                             'method': method, 'why': why})
        again = dict(move, destination=destination, method=method, moved_from=move['destination'])
        if at_front:
            self.queue.insert(0, again)
        else:
            self.queue.append(again)
        return True

    def _learned(self):
        with self.lock:
            return dict((key, list(samples)) for key, samples in self.learned.items())

    def _learn_at_arrival(self, move, source, slot=None):
        """As a VM runs on its destination: learn from its source job's statistics (learning.arrival_entry)
        and re-plan, before libvirt's call returns (the source's confirms here all end together, after the
        later moves have started); then give the slot back.  Best effort: what cannot be read is learned
        when the call returns."""
        try:
            self._learn_from_stats(move, source)
        except libvirt.libvirtError:
            pass
        finally:
            if slot is not None:
                slot.release()

    def _learn_from_stats(self, move, source):
        name = move['vm']
        stats = source.lookupByName(name).jobStats()
        target = self.targets[move['destination']]['uri']
        with self.lock:
            finish = learning.rates_for(self.params, self.source_uri, target, move.get('hypervisor'), self.learned,
                                        self.concurrency, self.source_busy).tail_s
            span = self.spans.get(name) or [self.clock(), None, self.clock()]
            streams = most_at_once(transfer(span), [transfer(o) for vm, o in self.spans.items() if vm != name])
        entry = learning.arrival_entry(self.source_uri, target, move.get('hypervisor'), stats,
                                       self.params.get('bandwidth_mibps'), move['method'], finish, streams,
                                       self.source_busy, learning.transport_of(self.params))
        if entry is None:
            return
        key, sample = learning.entry_sample(entry)
        with self.lock:
            if name in self.finished:
                return   # the finished migration's own sample is in already
            self.provisional[name] = (key, sample)
            self.learned.setdefault(key, []).append(sample)
            self._replan(name, 'arrival')

    def _learn(self, name, entry):
        """Keep what a finished migration measured, and re-plan the moves not yet started with it."""
        with self.lock:
            self.finished.add(name)
            earlier = self.provisional.pop(name, None)
            if earlier is not None:
                self.learned[earlier[0]].remove(earlier[1])
        if not entry:
            return
        with self.lock:
            end = self.clock()
            span = self.spans.setdefault(name, [end, None, None])
            span[1] = end
            others = [other for vm, other in self.spans.items() if vm != name]
            # Its job overlapped others' (libvirt's finish included: its finish and tail are not one migration's
            # alone); its transfer (to the guest running on the destination) ran beside this many others'.
            entry = dict(entry, overlapped=most_at_once(span[:2], [o[:2] for o in others]) > 1,
                         streams=most_at_once(transfer(span), [transfer(o) for o in others]))
        key, sample = learning.entry_sample(entry)
        with self.lock:
            self.samples.append(entry)
            self.learned.setdefault(key, []).append(sample)
            self._replan(name, 'finish')

    def _replan(self, name, when):
        """Re-predict the moves not yet started with what has been learned (self.lock held)."""
        if self.queue:
            rates_by_vm = {}
            for move in self.queue:
                rates = learning.rates_for(self.params, self.source_uri, self.targets[move['destination']]['uri'],
                                           move.get('hypervisor'), self.learned, self.concurrency, self.source_busy)
                rate, source = rates_mod.rate_and_source(rates, move.get('method'))
                streams = self.concurrency if rates.condition is not None else None
                rates_by_vm[move['vm']] = planner.Measured(rate, rates.fixed_s, source, rates.tail_s, streams)
            before = [m['vm'] for m in self.queue]
            self.queue[:] = planner.replan(self.queue, rates_by_vm, self.clock() - self.start, self.concurrency,
                                           self.params.get('order') or 'shortest-first')
            self.replans.append({
                'after': name,
                'when': when,
                'at_s': round(self.clock() - self.start, 2),
                'order_before': before,
                'moves': [dict((k, m.get(k)) for k in ('vm', 'predicted_s', 'predicted_safe_at_s', 'rate_source'))
                          for m in self.queue],
            })

    def _record_result(self, move, result, started_at, arrived_at=None):
        """Record a move's result; `arrived_at`: when the destination said the guest runs there (clock)."""
        name = move['vm']
        now = self.clock()
        if result['outcome'] == vm_move.ALREADY_THERE:
            self._record(self.skipped, {'vm': name, 'reason': 'already runs on %s' % move['destination']})
        elif result['outcome'] in (vm_move.WOULD_MOVE, vm_move.WOULD_FINISH_EARLIER_RUN):
            self._record(self.would_move, {'vm': name, 'destination': move['destination'],
                                           'method': result.get('method_chosen') or move['method'],
                                           'reason': result['reason']})
        else:
            measured = result.get('wall_time_s') or result.get('total_time_s')
            safe_at = arrived_at if arrived_at is not None else now
            # What the evacuation waits for, and what the plan predicts: the time until the VM runs on its
            # destination (its job's end is shared with the migrations that overlap it).
            predicted = None if move.get('predicted_s') is None else round(planner.until_safe_s(move), 2)
            until_safe = round(safe_at - started_at, 2)
            self._record(self.moved, {
                'vm': name, 'destination': move['destination'],
                'method': result.get('method_used') or result.get('method_chosen') or move['method'],
                'total_time_s': measured, 'transfer_time_s': result.get('total_time_s'),
                'downtime_ms': result.get('downtime_ms'),
                'predicted_s': move.get('predicted_s'), 'rate_source': move.get('rate_source', 'the plan'),
                'predicted_until_safe_s': predicted, 'until_safe_s': until_safe,
                'prediction_error': vm_move.relative_error(predicted, until_safe),
                'downtime_limit_ms': result.get('downtime_limit_ms'),
                'downtime_breach': bool(result.get('downtime_breach')),
                'bytes_transferred': result.get('bytes_transferred'),
                'started_at_s': round(started_at - self.start, 2), 're_planned_from': move.get('moved_from'),
                # Safe when libvirt on the destination said it runs there; else when the move ended.
                'safe_at_s': round(safe_at - self.start, 2),
                'finished_at_s': round(now - self.start, 2),
                'state': 'running on %s' % move['destination'],
            })

    def _move_in(self, move, slot):
        try:
            self._move(move, slot)
        finally:
            slot.release()
            with self.lock:
                self.in_flight -= 1
                self.lock.notify_all()

    def _unaccounted(self):
        """Planned VMs in no list (a worker that died of a bug)."""
        seen = set(entry['vm'] for bucket in (self.moved, self.skipped, self.left_behind, self.would_move)
                   for entry in bucket)
        return [move['vm'] for move in self.moves if move['vm'] not in seen]

    def run(self):
        """Run every move; returns {'moved', 'skipped', 'left_behind', 'would_move', 'total_s', 'last_safe_s',
        'downtime_breaches', 'replans', 'calibration_samples'}.

        After each migration that finished, the moves not yet started are re-predicted with
        the rates measured so far and put shortest first again (planner.replan)."""
        self.start = self.clock()
        self.queue = list(self.moves)
        free = threading.Semaphore(max(1, self.concurrency))
        workers = []
        while True:
            free.acquire()
            with self.lock:
                # A move in flight may still queue one again (its destination failed): wait for it to end.
                while not self.queue and self.in_flight:
                    self.lock.wait()
                move = self.queue.pop(0) if self.queue else None
                if move is not None:
                    self.in_flight += 1
            if move is None:
                free.release()
                break
            worker = threading.Thread(target=self._move_in, args=(move, Slot(free)), name='evacuate-%s' % move['vm'])
            worker.daemon = True
            worker.start()
            workers.append(worker)
        for worker in workers:
            worker.join()
        for name in self._unaccounted():
            self.left_behind.append({'vm': name, 'reason': 'its move ended without a result (an unexpected error '
                                                           'in the evacuation; see the module\'s log)',
                                     'vm_location': None})
        order = dict((move['vm'], move['order']) for move in self.moves)
        return {
            'moved': sorted(self.moved, key=lambda m: m['safe_at_s']),
            'skipped': self.skipped,
            'left_behind': sorted(self.left_behind, key=lambda m: order.get(m['vm'], 0)),
            'would_move': sorted(self.would_move, key=lambda m: order.get(m['vm'], 0)),
            'total_s': round(self.clock() - self.start, 2),
            'last_safe_s': max([m['safe_at_s'] for m in self.moved] or [0.0]),
            'downtime_breaches': [m['vm'] for m in self.moved if m['downtime_breach']],
            'replans': self.replans,
            'destination_failures': [self.down[name] for name in sorted(self.down)],
            'source_failures': self.source_failures,
            'calibration_samples': self.samples,
        }


def transfer(span):
    """The part of a move's span ([start, end or None, arrival or None]) that moved its memory: until the guest
    ran on the destination, else until it ended (or still running: None)."""
    return [span[0], span[2] if span[2] is not None else span[1]]


def most_at_once(span, others):
    """The most migrations that ran at once during `span` ([start, end]), itself included; `others`: the
    spans of the other migrations ([start, end or None: still running])."""
    begin, end = span
    overlapping = [(max(b, begin), end if f is None else min(f, end)) for b, f in others
                   if b < end and (f is None or f > begin)]
    # The count is highest at some overlap's start: count the spans running there.
    return 1 + max([sum(1 for b, f in overlapping if b <= start < f) for start, _end in overlapping] or [0])


def measure_load(uri):
    """The load of the host at `uri` now (host_load), None where it cannot be measured."""
    try:
        conn = _libvirt.open_connection(uri)
    except WaError:
        return None
    try:
        return host_load.Meter(conn).busy()
    finally:
        conn.close()


def evacuate(params, check_mode):
    """wa_evacuate: the whole run from its module parameters; returns the result or raises WaError."""
    settings.check_bounds(params)
    targets = check_plan(params['moves'], params['destinations'], params['transport'])
    if not params['moves']:
        return dict(changed=False, moved=[], skipped=[], left_behind=[], would_move=[], total_s=0.0, last_safe_s=0.0,
                    downtime_breaches=[], replans=[], destination_failures=[], source_failures=[],
                    calibration_samples=[])
    _events.ensure_event_loop()
    result = Evacuation(params['uri'], params['moves'], targets, params, params['concurrency'], params['stop_file'],
                        lock_dir=params['lock_dir'], check_mode=check_mode,
                        source_busy=measure_load(params['uri'])).run()
    result['changed'] = bool(result['moved'] or result['would_move'])
    return result
