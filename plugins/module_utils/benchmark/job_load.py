# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job guest's load: CPU-bound jobs, one after another, every result checked.

Each connection to the guest runs one job there (busybox nc runs /bin/wa-job): it compresses and
decompresses `seq 1 N` and replies "N SHA256" of what came out (or "ERR ..." where a step of it
failed).  The load learns N from the first job (wait_ready) and checks every later reply against
it: another N, or a sha256 that is not that of `seq 1 N` (expected_sha256), is a data error; no
reply by the timeout, a refused or reset connection, or a reply that is no "N SHA256" is a failed
request.  The jobs'
progress (replies a second) and how long each took are the users' figures; the load sends the
next job once the last replied (run it at rate 0) or at a pace.  Paced and recorded by
load_loop.py: op `job`, key the job's number.

The command is `scripts/app_load.py job` (run where the guest's address is reachable: on the
test bed, inside its network namespace).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import socket
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import load_loop

PORT = 7000
_EXPECTED = {}


def expected_sha256(lines):
    """The sha256 of `seq 1 lines`' output (kept per `lines`)."""
    if lines not in _EXPECTED:
        digest = hashlib.sha256()
        step = 10000
        for first in range(1, lines + 1, step):
            digest.update(''.join('%d\n' % i for i in range(first, min(lines, first + step - 1) + 1)).encode('ascii'))
        _EXPECTED[lines] = digest.hexdigest()
    return _EXPECTED[lines]


def parse_reply(data):
    """(lines, sha256) of a job's reply; ValueError for anything else."""
    parts = data.decode('ascii', 'replace').split()
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[1]) != 64:
        raise ValueError('not a job reply: %r' % data[:100])
    return int(parts[0]), parts[1]


def check_reply(expected_lines, lines, sha256):
    """(data_ok, why not) of a job's result, for a guest whose jobs run over `seq 1 expected_lines`."""
    if lines != expected_lines:
        return False, 'corrupted: a job over seq 1 %d, not 1 %d' % (lines, expected_lines)
    if sha256 == expected_sha256(lines):
        return True, None
    return False, 'corrupted: the job over seq 1 %d gave sha256 %s..., not %s...' % (
        lines, sha256[:12], expected_sha256(lines)[:12])


def run_job(host, port, timeout_s, connect=socket.create_connection, monotonic=time.monotonic):
    """One job: connect, read the reply until the guest closes; the reply's bytes."""
    deadline = monotonic() + timeout_s
    sock = connect((host, port), timeout_s)
    try:
        sock.shutdown(socket.SHUT_WR)  # nothing to send: the connection is the request
        data = b''
        while True:
            left = deadline - monotonic()
            if left <= 0:
                raise socket.timeout('no whole reply within %.1f s' % timeout_s)
            sock.settimeout(left)
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                raise socket.timeout('no whole reply within %.1f s' % timeout_s)
            if not chunk:
                return data
            data += chunk
            if len(data) > 4096:
                raise ValueError('a reply of over 4096 bytes')
    finally:
        sock.close()


class Load(load_loop.Recorder):
    """One job per step, each over a connection of its own, over `seq 1 lines` (what wait_ready found)."""

    def __init__(self, host, lines, port=PORT, timeout_s=30.0, connect=socket.create_connection, clock=time.time,
                 monotonic=time.monotonic):
        super(Load, self).__init__(clock, monotonic)
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.lines = lines
        expected_sha256(lines)  # once, before the first job is timed
        self.connect = connect
        self.jobs = 0

    def step(self):
        """Run the next job; returns its record line (a dict)."""
        self.jobs += 1
        line, began = self.begin('job', str(self.jobs))
        try:
            self.totals['connections'] += 1
            lines, sha256 = parse_reply(run_job(self.host, self.port, self.timeout_s, self.connect, self.monotonic))
        except (OSError, IOError, socket.timeout, ValueError) as err:
            line['err'] = '%s: %s' % (type(err).__name__, err)
        else:
            line['ok'] = True
            line['data_ok'], why = check_reply(self.lines, lines, sha256)
            if why:
                line['err'] = why
        return self.end(line, began)


MAX_LINES = 10 ** 8  # seq 1 N of the job guests is wss_mib x 150000: far below


def wait_ready(host, port, timeout_s, connect=socket.create_connection, clock=time.monotonic, sleep=time.sleep):
    """Wait until a job replies; returns its N, the lines of the guest's jobs (RuntimeError at the timeout, or
    for an N no job guest has)."""
    def probe():
        lines, _sha = parse_reply(run_job(host, port, 60.0, connect))
        if not 0 < lines <= MAX_LINES:
            raise ValueError('a job over seq 1 %d: no job guest has that' % lines)
        return lines
    return load_loop.wait_ready(probe, 'the job server at %s:%d' % (host, port), timeout_s, clock, sleep)
