# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry out an evacuation plan: its moves in order, `concurrency` at a time,
in one process, so no VM waits on anything but its own migration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _libvirt, lease, migration, preflight, runner)


class Evacuation:
    """`moves` from planner.plan_evacuation; `targets` maps a destination name to
    {'uri': for the source host, 'control_uri': for us, 'postcopy_capable': bool, 'postcopy_recoverable':
    bool or None (judge by version)};
    `settings` are keyword arguments of migration.build_options."""

    def __init__(self, source_uri, moves, targets, settings, concurrency=1, stop_file=None, clock=time.monotonic,
                 lock_dir=lease.DEFAULT_LOCK_DIR):
        self.source_uri = source_uri
        self.moves = list(moves)
        self.targets = targets
        self.settings = settings
        self.concurrency = concurrency
        self.stop_file = stop_file
        self.clock = clock
        self.lock_dir = lock_dir
        self.lock = threading.Lock()
        self.start = None
        self.moved = []
        self.left_behind = []
        self.skipped = []

    def _stopped(self):
        return bool(self.stop_file) and os.path.exists(self.stop_file)

    def _record(self, bucket, entry):
        with self.lock:
            bucket.append(entry)

    def _move(self, move):
        name, target = move['vm'], self.targets[move['destination']]
        if self._stopped():
            self._record(self.left_behind, {'vm': name, 'reason': 'stopped by the operator before it started'})
            return
        source = destination = held = None
        try:
            held = lease.VmLease(name, self.lock_dir).acquire()
            source = _libvirt.open_connection(self.source_uri)
            destination = _libvirt.open_connection(target['control_uri'])
            where = migration.locate(source, destination, name)
            if where['source'] is None and where['destination'] == 'running':
                self._record(self.skipped, {'vm': name, 'reason': 'already runs on %s' % move['destination']})
                return
            dom, _state = preflight.find(source, name)
            if dom is None:
                self._record(self.left_behind, {'vm': name, 'reason': 'no longer on the source (%s)'
                                                % migration.where_text(where)})
                return
            postcopy_possible = self.settings.get('postcopy_allowed', True) and target['postcopy_capable']
            preflight.check_can_migrate(source, destination, dom, move['method'] in ('postcopy', 'hybrid'),
                                        target['postcopy_capable'])
            options = migration.build_options(
                move['method'], target['uri'], postcopy_possible, predicted_precopy_s=move.get('predicted_s'),
                stop_file=self.stop_file, postcopy_recoverable=target.get('postcopy_recoverable'),
                **dict((k, v) for k, v in self.settings.items() if k != 'postcopy_allowed'))
            result = migration.migrate_vm(source, destination, dom, options)
            self._record(self.moved, {
                'vm': name, 'destination': move['destination'], 'method': result['method_used'],
                'total_time_s': result['total_time_s'], 'downtime_ms': result['downtime_ms'],
                'bytes_transferred': result['bytes_transferred'],
                'safe_at_s': round(self.clock() - self.start, 2), 'state': 'running on %s' % move['destination'],
            })
        except (_libvirt.LibvirtUnavailable, lease.LeaseHeld) as err:
            self._record(self.left_behind, {'vm': name, 'reason': str(err)})
        except (preflight.PreflightError, runner.MigrationFailed) as err:
            details = getattr(err, 'details', {})
            self._record(self.left_behind, {'vm': name, 'reason': str(err),
                                            'vm_location': details.get('vm_location')})
        finally:
            for conn in (source, destination):
                if conn is not None:
                    conn.close()
            if held is not None:
                held.release()

    def _worker(self, queue):
        while True:
            with self.lock:
                if not queue:
                    return
                move = queue.pop(0)
            self._move(move)

    def run(self):
        """Run every move; returns {'moved', 'skipped', 'left_behind', 'total_s'}."""
        self.start = self.clock()
        queue = list(self.moves)
        workers = [threading.Thread(target=self._worker, args=(queue,), name='evacuate-%d' % i)
                   for i in range(max(1, self.concurrency))]
        for worker in workers:
            worker.daemon = True
            worker.start()
        for worker in workers:
            worker.join()
        order = dict((move['vm'], move['order']) for move in self.moves)
        return {
            'moved': sorted(self.moved, key=lambda m: m['safe_at_s']),
            'skipped': self.skipped,
            'left_behind': sorted(self.left_behind, key=lambda m: order.get(m['vm'], 0)),
            'total_s': round(self.clock() - self.start, 2),
        }
