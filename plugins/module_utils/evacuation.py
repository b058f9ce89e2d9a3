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
    _libvirt, lease, migration, preflight)
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError


def error_text(err):
    """An operator's message for one of our errors or a libvirt error."""
    if isinstance(err, libvirt.libvirtError):
        return 'libvirt: %s' % (err.get_error_message() or err)
    return str(err)


class Evacuation:
    """`moves` from planner.plan_evacuation; `targets` maps a destination name to
    {'uri': for the source host, 'control_uri': for us, 'postcopy_capable': bool};
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
                stop_file=self.stop_file,
                **dict((k, v) for k, v in self.settings.items() if k != 'postcopy_allowed'))
            result = migration.migrate_vm(source, destination, dom, options)
            self._record(self.moved, {
                'vm': name, 'destination': move['destination'], 'method': result['method_used'],
                'total_time_s': result['total_time_s'], 'downtime_ms': result['downtime_ms'],
                'bytes_transferred': result['bytes_transferred'],
                'safe_at_s': round(self.clock() - self.start, 2), 'state': 'running on %s' % move['destination'],
            })
        except (WaError, libvirt.libvirtError) as err:
            # The one error boundary of a move: the VM is left behind, with where it is.
            self._record(self.left_behind, {'vm': name, 'reason': error_text(err),
                                            'vm_location': self._where(err, source, destination, name)})
        finally:
            for conn in (source, destination):
                if conn is not None:
                    conn.close()
            if held is not None:
                held.release()

    @staticmethod
    def _where(err, source, destination, name):
        where = getattr(err, 'details', {}).get('vm_location')
        if where is None and source is not None and destination is not None:
            where = migration.locate(source, destination, name)
        return where

    def _worker(self, queue):
        while True:
            with self.lock:
                if not queue:
                    return
                move = queue.pop(0)
            self._move(move)

    def _unaccounted(self):
        """Planned VMs in none of moved, skipped, left behind (a worker that died of a bug)."""
        seen = set(entry['vm'] for bucket in (self.moved, self.skipped, self.left_behind) for entry in bucket)
        return [move['vm'] for move in self.moves if move['vm'] not in seen]

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
        for name in self._unaccounted():
            self.left_behind.append({'vm': name, 'reason': 'its move ended without a result (an unexpected error '
                                                           'in the evacuation; see the module\'s log)',
                                     'vm_location': None})
        order = dict((move['vm'], move['order']) for move in self.moves)
        return {
            'moved': sorted(self.moved, key=lambda m: m['safe_at_s']),
            'skipped': self.skipped,
            'left_behind': sorted(self.left_behind, key=lambda m: order.get(m['vm'], 0)),
            'total_s': round(self.clock() - self.start, 2),
        }
