# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The calibration store: samples of finished migrations per source/destination
pair and hypervisor type, in one JSON file (decisions.calibration learns from them).

Format 1:

    {"format": 1,
     "pairs": {"<source>|<destination>|<hypervisor>":
               [{"sent_mib": 161.0, "total_s": 3.6, "pause_ms": 35, "cap_mibps": 0,
                 "method": "precopy", "downtime_target_ms": 250, "transfer_s": 0.9,
                 "arrival_s": 2.0, "overlapped": false, "streams": 1, "source_busy": 0.4,
                 "at": 1795770000.0}, ...]}}

(total_s is libvirt's whole job, transfer_s QEMU's part of it, arrival_s when the
destination said the guest runs there, streams how many migrations of the source ran at
once, source_busy the source's CPU time busy before it began; cap_mibps, method,
downtime_target_ms, transfer_s, arrival_s, overlapped, streams and source_busy were added
within format 1: an entry without them reads as uncapped pre-copy with no known target,
transfer, arrival or load, alone unless overlapped.)  The store lives on the
controller (the action plugins of the modules read and feed it), at DEFAULT_PATH
unless a module's calibration_store option says otherwise.

Safe against two writers at once (every change is made under an exclusive
flock on PATH.lock) and against a torn write (the new file is written beside
the old, flushed to disk, and renamed over it: a reader sees the old or the
new, never half).  A file of a format this code does not know is never
overwritten; one that does not parse (not written by this code) is moved
aside to PATH.corrupt and the store starts empty.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import tempfile
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import calibration, rates
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError

FORMAT = 1
DEFAULT_PATH = '~/.local/state/workload_aware/calibration.json'
# Samples kept per pair: the newest, so that a changed link is learned again.
KEEP = 50


class StoreError(WaError):
    """The store cannot be written (a format this code does not know, or the file system)."""


# The key of one source/destination pair and hypervisor type: defined once, in decisions.rates.
pair_key = rates.pair_key


def to_entry(sample):
    """A sample as the store (and a module's result) keeps it."""
    return {'sent_mib': float(sample.sent_mib), 'total_s': float(sample.total_s), 'pause_ms': sample.pause_ms,
            'cap_mibps': sample.cap_mibps or 0, 'method': sample.method,
            'downtime_target_ms': sample.downtime_target_ms, 'transfer_s': sample.transfer_s,
            'arrival_s': sample.arrival_s, 'overlapped': bool(sample.overlapped), 'streams': sample.streams,
            'source_busy': sample.source_busy}


def from_entry(entry):
    """A calibration.Sample from a stored entry (entries of earlier 0.3 builds lack the later fields)."""
    return calibration.Sample(float(entry['sent_mib']), float(entry['total_s']), entry.get('pause_ms'),
                              entry.get('cap_mibps') or 0, entry.get('method') or 'precopy',
                              entry.get('downtime_target_ms'), entry.get('transfer_s'), entry.get('arrival_s'),
                              bool(entry.get('overlapped')), entry.get('streams'), entry.get('source_busy'))


class CalibrationStore:
    """The store at `path` (DEFAULT_PATH unless given)."""

    def __init__(self, path=DEFAULT_PATH, keep=KEEP, clock=time.time):
        self.path = os.path.expanduser(path)
        self.keep = keep
        self.clock = clock

    def _load(self):
        """(data, problem): the file's content, or an empty store and why it is empty."""
        try:
            with open(self.path) as store:
                text = store.read()
        except IOError as err:
            if err.errno == errno.ENOENT:
                return {'format': FORMAT, 'pairs': {}}, None
            raise StoreError('cannot read the calibration store %s: %s' % (self.path, err))
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get('pairs', {}), dict):
                raise ValueError('not a calibration store')
        except ValueError as err:
            return None, 'the calibration store %s does not parse (%s)' % (self.path, err)
        if data.get('format') != FORMAT:
            return data, 'the calibration store %s has format %r; this collection reads format %d' % (
                self.path, data.get('format'), FORMAT)
        data.setdefault('pairs', {})
        return data, None

    def samples(self, key):
        """(samples of the pair, problem): [] for a pair never seen; problem says why the store was not read."""
        data, problem = self._load()
        if problem:
            return [], problem
        return [from_entry(entry) for entry in data['pairs'].get(key, [])], None

    def entries(self):
        """({key: [stored entries]} for every pair, problem): what the action plugins pass to the modules."""
        data, problem = self._load()
        if problem:
            return {}, problem
        return data['pairs'], None

    def learned(self, key):
        """(what decisions.calibration.fit learns for the pair or None, problem)."""
        samples, problem = self.samples(key)
        return calibration.fit(samples), problem

    def record(self, key, sample):
        """Add one finished migration's sample to the pair, keeping the newest `keep`."""
        directory = os.path.dirname(self.path) or '.'
        if not os.path.isdir(directory):
            os.makedirs(directory)
        with open(self.path + '.lock', 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data, problem = self._load()
            if problem and data is not None:
                raise StoreError('%s: not writing over it' % problem)
            if data is None:
                os.rename(self.path, self.path + '.corrupt')
                data = {'format': FORMAT, 'pairs': {}}
            entries = data['pairs'].setdefault(key, [])
            entry = to_entry(sample)
            entry['at'] = self.clock()
            entries.append(entry)
            del entries[:-self.keep]
            self._write(data, directory)

    def _write(self, data, directory):
        handle, temporary = tempfile.mkstemp(prefix='.calibration.', dir=directory)
        try:
            with os.fdopen(handle, 'w') as out:
                json.dump(data, out, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.rename(temporary, self.path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
