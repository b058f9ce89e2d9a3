# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kv guest's load: a write-heavy memcached client that proves the data it reads.

Every value is a function of its key and version (value_for); memcached's flags carry the
version, so a read says which write it returns.  Writes go round the key space in order (each
overwrites the oldest value: the guest's whole item memory is rewritten, as a memory-write-heavy
application does); reads take a random key and check what comes back against every version the
key may hold (Expected): the last write memcached confirmed, plus any write whose reply was lost
(it may or may not have been stored).  A miss for a key memcached confirmed, an older version or a
value that is not its version's is a data error.

One request at a time over one TCP connection, paced and recorded by load_loop.py (one JSON line
per request: op set or get, key, ver: set: the version written; get: the version read, null for a
miss or a failure); an error (refused, reset, timed out, a server error) is recorded and counted,
the connection is opened afresh, and the load goes on.  load_summary.py makes the figures.

The command is `scripts/app_load.py kv` (run where the guest's address is reachable: on the test
bed, inside its network namespace).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import random
import socket
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import load_loop

PORT = 11211


class ProtocolError(Exception):
    """A reply that memcached's text protocol does not allow here: the connection is out of step."""


def key_name(index):
    return 'wa%06d' % index


def value_for(key, version, size):
    """The value of `key` at `version`: `size` bytes, a repeated hash of both."""
    digest = hashlib.sha256(('%s:%d' % (key, version)).encode('ascii')).hexdigest().encode('ascii')
    return (digest * (size // len(digest) + 1))[:size]


def set_request(key, version, value):
    """memcached's `set`, the version in the flags; no expiry."""
    return b'set ' + key.encode('ascii') + (' %d 0 %d\r\n' % (version, len(value))).encode('ascii') + value + b'\r\n'


def get_request(key):
    return b'get ' + key.encode('ascii') + b'\r\n'


def parse_reply(op, buf):
    """(reply, bytes used) for the reply to `op` at the start of `buf`, or None while it is incomplete.

    reply: ('stored',), ('miss',), ('value', key, flags, data) or ('error', line).  Anything else
    raises ProtocolError.
    """
    end = buf.find(b'\r\n')
    if end < 0:
        return None
    line = buf[:end]
    used = end + 2
    if line in (b'ERROR',) or line.startswith((b'SERVER_ERROR', b'CLIENT_ERROR')):
        return ('error', line.decode('ascii', 'replace')), used
    if op == 'set':
        if line == b'STORED':
            return ('stored',), used
        if line in (b'NOT_STORED', b'EXISTS', b'NOT_FOUND'):
            return ('error', line.decode('ascii')), used
        raise ProtocolError('unexpected reply to set: %r' % line[:80])
    if line == b'END':
        return ('miss',), used
    parts = line.split()
    if len(parts) != 4 or parts[0] != b'VALUE' or not parts[2].isdigit() or not parts[3].isdigit():
        raise ProtocolError('unexpected reply to get: %r' % line[:80])
    size = int(parts[3])
    if len(buf) < used + size + 2 + 5:
        return None
    data = buf[used:used + size]
    if buf[used + size:used + size + 7] != b'\r\nEND\r\n':
        raise ProtocolError('value of %d bytes not followed by END' % size)
    return ('value', parts[1].decode('ascii', 'replace'), int(parts[2]), data), used + size + 7


class Expected:
    """Per key, the versions it may hold: None (never written), the last write memcached
    confirmed, and every later write whose reply was lost."""

    def __init__(self):
        self.versions = {}

    def may_hold(self, key):
        return self.versions.get(key, frozenset([None]))

    def stored(self, key, version):
        self.versions[key] = frozenset([version])

    def unknown(self, key, version):
        """A write was sent but its reply lost: it may or may not have been stored."""
        self.versions[key] = self.may_hold(key) | frozenset([version])

    def refused(self, key):
        """memcached refused a write (an error reply): it stored nothing, but a failed `set` unlinks the
        key's old value (so that no stale value outlives it), so the key may now hold nothing."""
        self.versions[key] = self.may_hold(key) | frozenset([None])


def check_get(may_hold, key, reply, size):
    """(data_ok, version read, why not) of a get's reply against the versions the key may hold."""
    if reply[0] == 'miss':
        if None in may_hold:
            return True, None, None
        return False, None, 'missing: expected version %s' % _versions(may_hold)
    _kind, got_key, version, data = reply
    if got_key != key:
        return False, version, 'asked for %s, got %s' % (key, got_key)
    if data != value_for(key, version, size):
        return False, version, 'corrupted: the value is not version %d of %s' % (version, key)
    if version not in may_hold:
        return False, version, 'version %d, expected %s' % (version, _versions(may_hold))
    return True, version, None


def _versions(may_hold):
    return '/'.join('none' if v is None else str(v) for v in sorted(may_hold, key=lambda v: -1 if v is None else v))


class Plan:
    """Which request comes next: writes (a share of `write_ratio`) round the key space in order,
    reads of a random key; the same seed, the same sequence."""

    def __init__(self, keys, write_ratio, seed=0):
        if keys < 1 or not 0.0 <= write_ratio <= 1.0:
            raise ValueError('keys must be at least 1 and write_ratio from 0 to 1')
        self.keys = keys
        self.write_ratio = write_ratio
        self.random = random.Random(seed)
        self.next_write = 0
        self.version = 0

    def next(self):
        """('set', key, version) or ('get', key, None); versions grow by one per write."""
        if self.random.random() < self.write_ratio:
            key = key_name(self.next_write % self.keys)
            self.next_write += 1
            self.version += 1
            return 'set', key, self.version
        return 'get', key_name(self.random.randrange(self.keys)), None


class Connection:
    """One TCP connection to memcached: send a request, read its reply by a deadline."""

    def __init__(self, host, port, timeout_s, connect=socket.create_connection, clock=time.monotonic):
        self.sock = connect((host, port), timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''
        self.clock = clock
        self.timeout_s = timeout_s

    def request(self, op, data):
        deadline = self.clock() + self.timeout_s
        self.sock.settimeout(self.timeout_s)
        self.sock.sendall(data)
        while True:
            parsed = parse_reply(op, self.buf)
            if parsed is not None:
                reply, used = parsed
                self.buf = self.buf[used:]
                return reply
            left = deadline - self.clock()
            if left <= 0:
                raise socket.timeout('no reply within %.1f s' % self.timeout_s)
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError('connection closed by the server')
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except (OSError, socket.error):
            pass


class Load(load_loop.Recorder):
    """The load's state: the plan, what each key may hold, the totals; `step` makes one request."""

    def __init__(self, host, port=PORT, keys=4096, value_size=4096, write_ratio=0.8, timeout_s=5.0, seed=0,
                 connect=socket.create_connection, clock=time.time, monotonic=time.monotonic):
        super(Load, self).__init__(clock, monotonic)
        self.host, self.port = host, port
        self.value_size = value_size
        self.timeout_s = timeout_s
        self.plan = Plan(keys, write_ratio, seed)
        self.expected = Expected()
        self.connect = connect

    def _connection(self):
        if self.conn is None:
            self.conn = Connection(self.host, self.port, self.timeout_s, self.connect, self.monotonic)
            self.totals['connections'] += 1
        return self.conn

    def step(self):
        """Make the next request; returns its record line (a dict)."""
        op, key, version = self.plan.next()
        line, began = self.begin(op, key, version)
        may_hold = self.expected.may_hold(key)
        try:
            conn = self._connection()
            if op == 'set':
                reply = conn.request(op, set_request(key, version, value_for(key, version, self.value_size)))
            else:
                reply = conn.request(op, get_request(key))
        except (OSError, socket.error, socket.timeout, ProtocolError) as err:
            # Whatever happened to the connection, a write may have been stored: both versions are possible.
            if op == 'set':
                self.expected.unknown(key, version)
            line['err'] = '%s: %s' % (type(err).__name__, err)
            self.drop_connection()
        else:
            if reply[0] == 'error':
                line['err'] = reply[1]
                if op == 'set':
                    self.expected.refused(key)
            elif op == 'set':
                line['ok'] = True
                self.expected.stored(key, version)
            else:
                line['ok'] = True
                line['data_ok'], line['ver'], why = check_get(may_hold, key, reply, self.value_size)
                if why:
                    line['err'] = why
        return self.end(line, began)


def wait_ready(host, port, timeout_s, connect=socket.create_connection, clock=time.monotonic, sleep=time.sleep):
    """Wait until memcached answers `version`; returns its version line (RuntimeError at the timeout)."""
    def probe():
        sock = connect((host, port), 2.0)
        try:
            sock.settimeout(2.0)
            sock.sendall(b'version\r\n')
            answer = sock.recv(100)
        finally:
            sock.close()
        if not answer.startswith(b'VERSION '):
            raise ValueError('answered %r' % answer[:80])
        return answer.decode('ascii', 'replace').strip()
    return load_loop.wait_ready(probe, 'memcached at %s:%d' % (host, port), timeout_s, clock, sleep)
