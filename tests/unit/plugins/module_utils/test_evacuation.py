# -*- coding: utf-8 -*-
"""The evacuation's bookkeeping: every planned VM ends in exactly one of moved,
skipped, left behind, whatever its move raises."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading

import libvirt
import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _libvirt, evacuation, settings, vm_move
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput


class DaemonGoingDown:
    """A connection to a failing host's daemon: every call raises a libvirtError."""

    def __getattr__(self, call):
        def fails(*_args):
            raise libvirt.libvirtError('internal error: client socket is closed (%s)' % call)
        return fails

    def close(self):
        pass


def moves(*names):
    return [dict(order=i + 1, vm=name, destination='hv2', method='precopy', predicted_s=1.0)
            for i, name in enumerate(names)]


def test_a_move_that_raises_a_libvirt_error_leaves_its_vm_behind_and_the_others_still_run(monkeypatch, tmp_path):
    monkeypatch.setattr(_libvirt, 'open_connection', lambda uri, read_only=False: DaemonGoingDown())
    planned = ['vm-a', 'vm-b', 'vm-c']
    targets = {'hv2': dict(uri='qemu+tcp://127.0.2.1/system', control_uri='qemu+tcp://127.0.2.1/system',
                           postcopy_capable=True)}
    result = evacuation.Evacuation('qemu+tcp://127.0.1.1/system', moves(*planned), targets, settings.defaults(),
                                   concurrency=1, lock_dir=str(tmp_path)).run()
    buckets = [entry['vm'] for key in ('moved', 'skipped', 'left_behind') for entry in result[key]]
    assert sorted(buckets) == planned, result
    assert [entry['vm'] for entry in result['left_behind']] == planned
    assert all('client socket is closed' in entry['reason'] for entry in result['left_behind'])
    assert os.listdir(str(tmp_path)) == [], 'a lock file was left behind'


@pytest.mark.filterwarnings('ignore::pytest.PytestUnhandledThreadExceptionWarning')
def test_a_worker_that_dies_of_a_bug_still_accounts_for_every_planned_vm(monkeypatch, tmp_path):
    def broken(_self, move, _slot=None):
        raise RuntimeError('a bug while moving %s' % move['vm'])
    monkeypatch.setattr(evacuation.Evacuation, '_move', broken)
    result = evacuation.Evacuation('qemu+tcp://127.0.1.1/system', moves('vm-a', 'vm-b'), {}, settings.defaults(),
                                   lock_dir=str(tmp_path)).run()
    assert [entry['vm'] for entry in result['left_behind']] == ['vm-a', 'vm-b']
    assert not result['moved'] and not result['skipped']
    assert all('without a result' in entry['reason'] for entry in result['left_behind'])


def test_the_next_move_starts_when_the_previous_vm_runs_on_its_destination_not_when_its_move_ends(tmp_path):
    # The source's QEMU exiting and libvirt's confirm (1.4-1.6 s a migration on the bed) overlap the next one.
    events = []
    b_started = threading.Event()

    class Overlapping(evacuation.Evacuation):
        def _move(self, move, slot=None):
            events.append('start ' + move['vm'])
            if move['vm'] == 'vm-a':
                slot.release()   # what the destination's arrival event does
                assert b_started.wait(5), 'vm-b did not start while vm-a was finishing'
            else:
                b_started.set()
            events.append('end ' + move['vm'])
            self._record(self.skipped, {'vm': move['vm'], 'reason': 'test'})

    result = Overlapping('qemu+tcp://127.0.1.1/system', moves('vm-a', 'vm-b'), {}, settings.defaults(),
                         concurrency=1, lock_dir=str(tmp_path)).run()
    assert events.index('start vm-b') < events.index('end vm-a'), events
    assert sorted(e['vm'] for e in result['skipped']) == ['vm-a', 'vm-b']


def test_without_an_arrival_the_next_move_waits_for_the_previous_to_end(tmp_path):
    events = []

    class Serial(evacuation.Evacuation):
        def _move(self, move, slot=None):
            events.append('start ' + move['vm'])
            events.append('end ' + move['vm'])

    Serial('qemu+tcp://127.0.1.1/system', moves('vm-a', 'vm-b', 'vm-c'), {}, settings.defaults(), concurrency=1,
           lock_dir=str(tmp_path)).run()
    assert events == ['start vm-a', 'end vm-a', 'start vm-b', 'end vm-b', 'start vm-c', 'end vm-c']


def test_a_slot_is_given_back_once_whoever_gives_it_back():
    free = threading.Semaphore(1)
    free.acquire()
    slot = evacuation.Slot(free)
    slot.release()
    slot.release()
    assert free.acquire(blocking=False) and not free.acquire(blocking=False)


TARGETS = {'hv2': dict(uri='qemu+tcp://127.0.2.1/system', postcopy_capable='False')}


@pytest.mark.parametrize('plan, message', [
    ([dict(vm='a/b', destination='hv2', method='precopy')], "move vm 'a/b' cannot be a libvirt domain name"),
    ([dict(vm='a', destination='hv9', method='precopy')], 'a known destination'),
    ([dict(vm='a', destination='hv2')], 'needs vm, destination and method'),
    ([dict(vm='a', destination='hv2', method='teleport')], 'method must be one of precopy, postcopy, hybrid'),
    ([dict(vm='a', destination='hv2', method='precopy')] * 2, 'a is planned twice'),
])
def test_a_plan_that_cannot_be_carried_out_is_refused(plan, message):
    with pytest.raises(BadInput, match=message):
        evacuation.check_plan(plan, TARGETS)


def test_destinations_are_checked_and_their_flags_read_as_ansible_does():
    with pytest.raises(BadInput, match="destination hv2 uri 'bogus' is not a libvirt URI"):
        evacuation.check_plan([], {'hv2': dict(uri='bogus')})
    targets = evacuation.check_plan([], TARGETS)
    assert targets == {'hv2': dict(uri='qemu+tcp://127.0.2.1/system', control_uri='qemu+tcp://127.0.2.1/system',
                                   postcopy_capable=False)}


def test_a_destination_lost_mid_evacuation_sends_its_moves_to_the_others(monkeypatch, tmp_path):
    class Conn:
        def close(self):
            pass

    def open_connection(uri, read_only=False):
        if '127.0.3.1' in uri:
            raise _libvirt.LibvirtUnavailable('cannot connect to libvirt at %s: no such file' % uri)
        return Conn()

    went = []

    def run(self, _source, _destination, _source_uri, _dest_control_uri=None):
        went.append((self.name, self.dest_uri, self.method))
        return dict(outcome=vm_move.MOVED, changed=True, method_used=self.method, wall_time_s=1.0, total_time_s=0.5)

    class Evacuation(evacuation.Evacuation):
        def _runs_on_source(self, name):
            return True

    monkeypatch.setattr(_libvirt, 'open_connection', open_connection)
    monkeypatch.setattr(vm_move.VmMove, 'run', run)
    targets = dict((name, dict(uri='qemu+tcp://%s/system' % address, control_uri='qemu+tcp://%s/system' % address,
                               postcopy_capable=True)) for name, address in (('hv2', '127.0.2.1'), ('hv3', '127.0.3.1')))
    plan = [dict(order=1, vm='a', destination='hv3', method='postcopy', predicted_s=1.0),
            dict(order=2, vm='b', destination='hv2', method='precopy', predicted_s=1.0),
            dict(order=3, vm='c', destination='hv3', method='precopy', predicted_s=1.0)]
    result = Evacuation('qemu+tcp://127.0.1.1/system', plan, targets, settings.defaults(), lock_dir=str(tmp_path)).run()
    assert sorted((m['vm'], m['destination']) for m in result['moved']) == [('a', 'hv2'), ('b', 'hv2'), ('c', 'hv2')]
    assert all(uri == 'qemu+tcp://127.0.2.1/system' for _vm, uri, _method in went), went
    assert ('a', 'qemu+tcp://127.0.2.1/system', 'postcopy') in went
    [failure] = result['destination_failures']
    assert failure['destination'] == 'hv3' and 'no such file' in failure['why']
    assert sorted(entry['vm'] for entry in failure['re_planned']) == ['a', 'c']
    assert dict((m['vm'], m['re_planned_from']) for m in result['moved']) == {'a': 'hv3', 'b': None, 'c': 'hv3'}
    assert not result['left_behind']


def test_a_move_whose_destination_is_lost_and_whose_vm_is_not_whole_on_the_source_stays(monkeypatch, tmp_path):
    monkeypatch.setattr(_libvirt, 'open_connection', lambda uri, read_only=False: DaemonGoingDown())

    class Evacuation(evacuation.Evacuation):
        def _reachable(self, uri):
            return '127.0.3.1' not in uri

        def _runs_on_source(self, name):
            return False   # paused in a post-copy, say: only its own destination can take it

    targets = {'hv2': dict(uri='qemu+tcp://127.0.2.1/system', control_uri='qemu+tcp://127.0.2.1/system',
                           postcopy_capable=True),
               'hv3': dict(uri='qemu+tcp://127.0.3.1/system', control_uri='qemu+tcp://127.0.3.1/system',
                           postcopy_capable=True)}
    plan = [dict(order=1, vm='a', destination='hv3', method='postcopy', predicted_s=1.0)]
    result = Evacuation('qemu+tcp://127.0.1.1/system', plan, targets, settings.defaults(), lock_dir=str(tmp_path)).run()
    assert [entry['vm'] for entry in result['left_behind']] == ['a']
    assert result['destination_failures'][0]['re_planned'] == []


class SourceRestarts(evacuation.Evacuation):
    """A source whose libvirtd restarts under the first move: down at the first look, back at the next,
    the VM running whole there again once libvirt settled it (the second look)."""

    def __init__(self, *args, **kwargs):
        evacuation.Evacuation.__init__(self, *args, **kwargs)
        self.looks = {'source': 0, 'state': 0}

    def _reachable(self, uri):
        if '127.0.1.1' not in uri:
            return True
        self.looks['source'] += 1
        return self.looks['source'] > 1

    def _state(self, uri, name):
        if '127.0.1.1' not in uri:
            return (None, None)
        self.looks['state'] += 1
        # Paused by the cancelled out-going migration, then running again.
        return (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_MIGRATION) if self.looks['state'] < 2 else (
            libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_UNPAUSED)


def evacuate_failing(monkeypatch, tmp_path, run, names, evacuation_class=SourceRestarts):
    """An evacuation of `names` from 127.0.1.1 to hv2 whose moves are `run` (VmMove.run)."""
    class Conn:
        def close(self):
            pass

    monkeypatch.setattr(_libvirt, 'open_connection', lambda uri, read_only=False: Conn())
    monkeypatch.setattr(vm_move.VmMove, 'run', run)
    targets = {'hv2': dict(uri='qemu+tcp://127.0.2.1/system', control_uri='qemu+tcp://127.0.2.1/system',
                           postcopy_capable=True)}
    return evacuation_class('qemu+tcp://127.0.1.1/system', moves(*names), targets, settings.defaults(),
                            lock_dir=str(tmp_path)).run()


def test_a_move_cut_by_a_restart_of_the_sources_libvirtd_is_made_again_once_the_vm_is_whole_there(
        monkeypatch, tmp_path):
    calls = []

    def run(self, _source, _destination, _source_uri, _dest_control_uri=None):
        calls.append(self.name)
        if len(calls) == 1:
            raise libvirt.libvirtError('End of file while reading data: Input/output error')
        return dict(outcome=vm_move.MOVED, changed=True, method_used=self.method, wall_time_s=1.0, total_time_s=0.5)

    result = evacuate_failing(monkeypatch, tmp_path, run, ['a', 'b'])
    assert calls == ['a', 'a', 'b']
    assert sorted(m['vm'] for m in result['moved']) == ['a', 'b'] and not result['left_behind']
    [failure] = result['source_failures']
    assert failure['vm'] == 'a' and failure['made_again'] and 'End of file' in failure['why']


def test_a_move_cut_by_a_lost_connection_is_made_again_only_once(monkeypatch, tmp_path):
    def run(self, _source, _destination, _source_uri, _dest_control_uri=None):
        raise libvirt.libvirtError('End of file while reading data: Input/output error')

    class Settled(SourceRestarts):
        def _state(self, uri, name):
            return (libvirt.VIR_DOMAIN_RUNNING, 1) if '127.0.1.1' in uri else (None, None)

    result = evacuate_failing(monkeypatch, tmp_path, run, ['a'], Settled)
    assert [entry['vm'] for entry in result['left_behind']] == ['a']
    assert [f['made_again'] for f in result['source_failures']] == [True]


def test_a_migration_stream_that_failed_is_not_taken_for_a_lost_source(monkeypatch, tmp_path):
    def run(self, _source, _destination, _source_uri, _dest_control_uri=None):
        raise libvirt.libvirtError("operation failed: job 'migration out' failed: Unable to write to socket: "
                                   "Broken pipe")

    result = evacuate_failing(monkeypatch, tmp_path, run, ['a'])
    assert [entry['vm'] for entry in result['left_behind']] == ['a'] and result['source_failures'] == []


def test_most_at_once_counts_the_migrations_that_ran_together_not_all_that_overlapped():
    # b overlapped a's start and c its end, never each other: two at once at most.
    assert evacuation.most_at_once([0.0, 10.0], [[-5.0, 2.0], [8.0, 12.0]]) == 2
    assert evacuation.most_at_once([0.0, 10.0], [[1.0, 9.0], [2.0, None]]) == 3
    assert evacuation.most_at_once([0.0, 10.0], [[10.0, 12.0], [-3.0, 0.0]]) == 1
    assert evacuation.most_at_once([0.0, 10.0], []) == 1


def test_a_finished_move_records_how_many_ran_with_it_and_the_sources_load(tmp_path):
    run = evacuation.Evacuation('qemu+tcp://127.0.1.1/system', moves('vm-a', 'vm-b', 'vm-c'), {}, settings.defaults(),
                                concurrency=2, lock_dir=str(tmp_path), source_busy=0.9)
    # vm-a and vm-b transferred together; vm-c started as vm-a ran on its destination (1.5 s), while vm-a's
    # job (the source's QEMU exiting, libvirt's confirm) went on to 4 s.
    run.spans = {'vm-a': [0.0, None, 1.5], 'vm-b': [0.5, None, None], 'vm-c': [1.5, None, None]}
    run.clock = lambda: 4.0
    entry = {'key': 'qemu+tcp://127.0.1.1/system|qemu+tcp://127.0.2.1/system|qemu', 'sent_mib': 160.0,
             'total_s': 3.5, 'pause_ms': 20, 'cap_mibps': 0, 'method': 'precopy', 'transfer_s': 2.0,
             'streams': 2, 'source_busy': 0.9}
    run._learn('vm-a', dict(entry))
    assert run.samples[-1]['streams'] == 2 and run.samples[-1]['overlapped'] is True
    # vm-b ran on its destination at 5 s, ended at 6 s; vm-c's transfer overlapped vm-b's only.
    run.spans['vm-b'][1:] = [6.0, 5.0]
    run.spans['vm-c'][2] = 6.5
    run.clock = lambda: 8.0
    run._learn('vm-c', dict(entry))
    assert run.samples[-1]['streams'] == 2
    # A move alone in its transfer whose job overlapped another's end: one stream, but not a lone job.
    run.spans['vm-d'] = [9.0, None, 9.8]
    run.spans['vm-c'][1] = 9.5
    run.clock = lambda: 11.0
    run._learn('vm-d', dict(entry))
    assert run.samples[-1]['streams'] == 1 and run.samples[-1]['overlapped'] is True
    assert evacuation.transfer([1.0, 4.0, 2.0]) == [1.0, 2.0] and evacuation.transfer([1.0, None, None]) == [1.0, None]


def test_what_a_move_teaches_as_its_vm_arrives_re_plans_the_next_before_it_starts(monkeypatch, tmp_path):
    # The source's job statistics when the destination says the guest runs there (as measured on the bed:
    # unbounded job, 1.1 s elapsed, 160 MiB sent, nothing remaining); libvirt's call returns later.
    class Dom:
        def jobStats(self):
            return {'type': 2, 'time_elapsed': 1100, 'data_processed': 160 * 1024 * 1024, 'memory_remaining': 0,
                    'downtime': 40}

    class Conn:
        def lookupByName(self, _name):
            return Dom()

        def close(self):
            pass

    started, learned_at_start = set(), {}

    def run(self, _source, _destination, _source_uri, _dest_control_uri=None):
        started.add(self.name)
        learned_at_start[self.name] = sum(len(samples) for samples in self.learned().values())
        self.on_arrival()
        if self.name == 'vm-a':
            # vm-a's call returns only once vm-b has started: vm-b started on what vm-a's arrival taught.
            assert _wait_for(started, 'vm-b'), 'vm-b did not start after vm-a arrived'
        sample = {'key': 'qemu+tcp://127.0.1.1/system|qemu+tcp://127.0.2.1/system|qemu', 'sent_mib': 160.0,
                  'total_s': 3.0, 'pause_ms': 40, 'cap_mibps': 0, 'method': 'precopy', 'transfer_s': 1.1,
                  'arrival_s': 1.1}
        return dict(outcome=vm_move.MOVED, changed=True, method_used=self.method, wall_time_s=3.0, total_time_s=1.1,
                    calibration_sample=sample)

    monkeypatch.setattr(_libvirt, 'open_connection', lambda uri, read_only=False: Conn())
    monkeypatch.setattr(vm_move.VmMove, 'run', run)
    planned = [dict(move, predicted_sent_mib=100.0, hypervisor='qemu') for move in moves('vm-a', 'vm-b', 'vm-c')]
    targets = {'hv2': dict(uri='qemu+tcp://127.0.2.1/system', control_uri='qemu+tcp://127.0.2.1/system',
                           postcopy_capable=True)}
    result = evacuation.Evacuation('qemu+tcp://127.0.1.1/system', planned, targets, settings.defaults(),
                                   concurrency=1, lock_dir=str(tmp_path), source_busy=0.5).run()
    assert learned_at_start['vm-a'] == 0 and learned_at_start['vm-b'] >= 1, learned_at_start
    assert result['replans'][0]['when'] == 'arrival' and result['replans'][0]['after'] == 'vm-a'
    moved = dict((m['vm'], m) for m in result['moved'])
    assert moved['vm-b']['rate_source'].startswith('learned from 1 migration'), moved['vm-b']
    # What arrivals taught is replaced by what the finished migrations measured: one sample each.
    assert len(result['calibration_samples']) == 3


def _wait_for(started, name, timeout_s=5.0):
    """Whether `name` joins the set `started` within `timeout_s`."""
    tick = threading.Event()
    for _count in range(int(timeout_s / 0.01)):
        if name in started:
            return True
        tick.wait(0.01)
    return False
