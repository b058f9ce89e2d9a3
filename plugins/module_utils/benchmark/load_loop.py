# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every application guest's load shares: the record of its requests, its pace, its loop.

A load (kv_load, web_load, job_load) makes one request at a time: `step()` returns the request's
record line (RECORD_FIELDS), whatever happened; an error (refused, reset, timed out, a bad reply)
is recorded and counted, the connection is opened afresh, and the load goes on.  `run` paces the
requests to a rate (no catch-up bursts after a stall) and writes every line at once, flushed, so
that load_summary.py reads the figures before, during and after a migration from one record.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

# One line of a record: t (when the request was sent, seconds since the epoch), lat_ms (until its
# reply, or until it failed), op (what it asked), key (of what), ver (a version, where the load has
# them), ok (a reply that is not an error), data_ok (what came back is what it must be: True,
# False, or null where nothing was checked), err (why not ok or not data_ok; absent when both are fine).
RECORD_FIELDS = ('t', 'lat_ms', 'op', 'key', 'ver', 'ok', 'data_ok', 'err')


class Recorder:
    """A load's totals and the start and end of each of its record lines (the loads derive from it)."""

    def __init__(self, clock=time.time, monotonic=time.monotonic):
        self.clock, self.monotonic = clock, monotonic
        self.conn = None
        self.totals = {'requests': 0, 'failed_requests': 0, 'data_errors': 0, 'connections': 0}

    def begin(self, op, key, version=None):
        """A record line for a request about to be sent, and when it began (monotonic)."""
        return {'t': round(self.clock(), 6), 'op': op, 'key': key, 'ver': version, 'ok': False,
                'data_ok': None}, self.monotonic()

    def end(self, line, began):
        """The line with its latency, counted in the totals; returns it."""
        line['lat_ms'] = round((self.monotonic() - began) * 1000.0, 3)
        self.totals['requests'] += 1
        if not line['ok']:
            self.totals['failed_requests'] += 1
        if line['data_ok'] is False:
            self.totals['data_errors'] += 1
        return line

    def drop_connection(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except (OSError, IOError):
                pass
            self.conn = None

    def close(self):
        self.drop_connection()


class Pacer:
    """Send times `1/rate` apart; after a stall the schedule starts again from now (no burst)."""

    def __init__(self, rate, clock):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.due = None

    def wait(self, sleep):
        now = self.clock()
        if self.due is None or now > self.due + self.interval:
            self.due = now
        elif now < self.due:
            sleep(self.due - now)
        self.due += self.interval


def run(load, record, duration_s, rate, stop, sleep=time.sleep):
    """Make requests until `duration_s` passed or `stop` (a threading.Event) is set; each one a line of
    `record` (a file), flushed at once.  Returns the totals."""
    pacer = Pacer(rate, load.monotonic)
    end = load.monotonic() + duration_s
    while not stop.is_set() and load.monotonic() < end:
        pacer.wait(sleep)
        line = load.step()
        record.write(json.dumps(line, sort_keys=True) + '\n')
        record.flush()
        if not line['ok'] and load.conn is None:
            # The guest did not answer: do not spin on a refused connection.
            stop.wait(0.05)
    load.close()
    return dict(load.totals)


def wait_ready(probe, what, timeout_s, clock=time.monotonic, sleep=time.sleep):
    """Call `probe()` until it returns something (not None) and return that; RuntimeError naming `what`
    and the last error at the timeout.  `probe` raises OSError (or returns None) while not ready."""
    deadline = clock() + timeout_s
    last = None
    while clock() < deadline:
        try:
            found = probe()
            if found is not None:
                return found
        except (OSError, IOError, ValueError) as err:
            last = err
        sleep(0.5)
    raise RuntimeError('%s did not answer within %d s: %s' % (what, timeout_s, last))


def stop_when_exists(path, stop, poll_s=0.2, exists=os.path.exists):
    """Set `stop` (a threading.Event) once `path` exists, or return when `stop` is set otherwise."""
    while not stop.is_set():
        if exists(path):
            stop.set()
            return
        stop.wait(poll_s)
