# -*- coding: utf-8 -*-
"""The kv guest's load generator: its values, memcached's text protocol, what each key may hold,
and the whole load against a memcached stand-in that can lose, corrupt, cut and stall: each fault
must show in the record as a data error or a failed request, and the load must go on after it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

import pytest

from load_runs import run_until
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import kv_load, load_loop
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark.kv_load import (
    Expected, Load, Plan, ProtocolError, check_get, get_request, key_name, parse_reply, set_request,
    value_for)

SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..', 'scripts', 'app_load.py')


def test_a_value_is_a_function_of_key_and_version():
    assert value_for('wa000001', 7, 100) == value_for('wa000001', 7, 100)
    assert len(value_for('wa000001', 7, 100)) == 100 and len(value_for('wa000001', 7, 5000)) == 5000
    assert value_for('wa000001', 7, 100) != value_for('wa000001', 8, 100)
    assert value_for('wa000001', 7, 100) != value_for('wa000002', 7, 100)


def test_requests_in_memcached_text_protocol():
    assert set_request('wa000003', 42, b'abc') == b'set wa000003 42 0 3\r\nabc\r\n'
    assert get_request('wa000003') == b'get wa000003\r\n'


def test_replies_parsed_whole_and_never_before_they_are_complete():
    value = b'x\r\nEND\r\ny'  # a value may hold the protocol's own words
    reply = b'VALUE wa000001 9 %d\r\n%s\r\nEND\r\nSTORED\r\n' % (len(value), value)
    for cut in range(len(reply) - len(b'STORED\r\n')):
        assert parse_reply('get', reply[:cut]) is None, cut
    parsed, used = parse_reply('get', reply)
    assert parsed == ('value', 'wa000001', 9, value)
    assert reply[used:] == b'STORED\r\n'
    assert parse_reply('set', b'STORED\r\n') == (('stored',), 8)
    assert parse_reply('get', b'END\r\n') == (('miss',), 5)
    assert parse_reply('set', b'SERVER_ERROR out of memory storing object\r\n')[0] == (
        'error', 'SERVER_ERROR out of memory storing object')
    assert parse_reply('set', b'NOT_STORED\r\n')[0] == ('error', 'NOT_STORED')


@pytest.mark.parametrize('op, data', [('set', b'VALUE a 0 1\r\n'), ('get', b'STORED\r\n'),
                                      ('get', b'VALUE a 0 1\r\nxy\r\nEND\r\n')])
def test_a_reply_out_of_step_is_a_protocol_error(op, data):
    with pytest.raises(ProtocolError):
        parse_reply(op, data)


def test_what_a_key_may_hold():
    expected = Expected()
    assert expected.may_hold('k') == {None}
    expected.stored('k', 3)
    assert expected.may_hold('k') == {3}
    expected.unknown('k', 5)  # a write whose reply was lost
    assert expected.may_hold('k') == {3, 5}
    expected.stored('k', 6)
    assert expected.may_hold('k') == {6}
    expected.refused('k')  # memcached unlinks the old value of a set it refuses
    assert expected.may_hold('k') == {None, 6}


def value(key, version, size=64):
    return ('value', key, version, value_for(key, version, size))


@pytest.mark.parametrize('may_hold, reply, ok, why', [
    ({None}, ('miss',), True, None),
    ({3}, ('miss',), False, 'missing: expected version 3'),
    ({3}, value('k', 3), True, None),
    ({3, 5}, value('k', 5), True, None),
    ({5}, value('k', 3), False, 'version 3, expected 5'),
    ({None, 5}, value('k', 5), True, None),
    ({3}, ('value', 'k', 3, value_for('k', 3, 64)[:-1] + b'?'), False, 'corrupted'),
    ({3}, ('value', 'k', 3, value_for('k', 4, 64)), False, 'corrupted'),
    ({3}, value('j', 3), False, 'asked for k, got j'),
])
def test_a_read_is_checked_against_every_version_the_key_may_hold(may_hold, reply, ok, why):
    data_ok, _version, reason = check_get(frozenset(may_hold), 'k', reply, 64)
    assert data_ok is ok
    assert (reason is None) if why is None else (why in reason)


def test_the_plan_writes_round_the_keys_and_reads_at_random_the_same_way_each_time():
    plan, again = Plan(10, 0.75, seed=4), Plan(10, 0.75, seed=4)
    ops = [plan.next() for _i in range(2000)]
    assert ops == [again.next() for _i in range(2000)]
    writes = [op for op in ops if op[0] == 'set']
    assert 0.7 < len(writes) / 2000.0 < 0.8
    assert [w[1] for w in writes[:12]] == [key_name(i % 10) for i in range(12)]
    assert [w[2] for w in writes] == list(range(1, len(writes) + 1))
    assert set(op[1] for op in ops if op[0] == 'get') == set(key_name(i) for i in range(10))
    with pytest.raises(ValueError):
        Plan(0, 0.5)


def test_the_pacer_keeps_the_rate_and_does_not_burst_after_a_stall():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = load_loop.Pacer(10, lambda: now[0])
    pacer.wait(sleep)
    now[0] += 0.02
    pacer.wait(sleep)
    assert slept == [0.08]
    now[0] += 3.0  # a stall
    pacer.wait(sleep)
    pacer.wait(sleep)
    assert slept == [0.08, 0.1]


class StandIn(socketserver.ThreadingTCPServer):
    """memcached's set and get, with faults: `lose` forgets the Nth set after storing it, `refuse`
    answers it with an error (and unlinks the old value, as memcached does), `corrupt`
    flips a byte of the Nth set's value, `cut` closes the connection at the Nth request, `stall`
    holds the Nth request's reply for `stall_s`."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, **faults):
        socketserver.ThreadingTCPServer.__init__(self, ('127.0.0.1', 0), Handler)
        self.items = {}
        self.requests = 0
        self.sets = 0
        self.faults = faults
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        server = self.server
        while True:
            line = self.rfile.readline()
            if not line:
                return
            words = line.split()
            if words[0] == b'version':
                self.wfile.write(b'VERSION stand-in\r\n')
                continue
            with server.lock:
                server.requests += 1
                count = server.requests
            if server.faults.get('cut') == count:
                return
            if server.faults.get('stall') == count:
                time.sleep(server.faults.get('stall_s', 1.0))
            if words[0] == b'set':
                data = self.rfile.read(int(words[4]) + 2)[:-2]
                with server.lock:
                    server.sets += 1
                    if server.faults.get('refuse') == server.sets:
                        # What memcached does when it cannot store a set: unlink the old value, say so.
                        server.items.pop(words[1], None)
                        self.wfile.write(b'SERVER_ERROR out of memory storing object\r\n')
                        continue
                    if server.faults.get('corrupt') == server.sets:
                        data = data[:10] + bytes([data[10] ^ 1]) + data[11:]
                    if server.faults.get('lose') != server.sets:
                        server.items[words[1]] = (int(words[2]), data)
                self.wfile.write(b'STORED\r\n')
            elif words[0] == b'get':
                item = server.items.get(words[1])
                if item:
                    self.wfile.write(b'VALUE %s %d %d\r\n%s\r\nEND\r\n' % (words[1], item[0], len(item[1]), item[1]))
                else:
                    self.wfile.write(b'END\r\n')


def run_load(tmp_path, requests=400, write_ratio=0.5, **faults):
    server = StandIn(**faults)
    try:
        host, port = server.server_address
        assert kv_load.wait_ready(host, port, 5) == 'VERSION stand-in'
        load = Load(host, port, keys=16, value_size=256, write_ratio=write_ratio, timeout_s=0.5, seed=1)
        path = tmp_path / 'record.jsonl'
        totals, lines = run_until(load, requests)
        path.write_text(''.join(json.dumps(line) + '\n' for line in lines))
        return totals, lines
    finally:
        server.stop()


def test_an_honest_server_gives_no_errors_and_every_read_is_checked(tmp_path):
    totals, lines = run_load(tmp_path)
    assert totals['requests'] == 400 and totals['failed_requests'] == 0 and totals['data_errors'] == 0
    assert totals['connections'] == 1
    gets = [line for line in lines if line['op'] == 'get']
    assert all(line['data_ok'] is True for line in gets)
    assert sum(1 for line in gets if line['ver'] is not None) > 100  # reads that found a value and checked it
    assert all(set(line) >= {'t', 'lat_ms', 'op', 'key', 'ver', 'ok', 'data_ok'} for line in lines)
    assert all(line['lat_ms'] >= 0 for line in lines)


@pytest.mark.parametrize('fault', ['lose', 'corrupt'])
def test_a_lost_or_corrupted_value_is_a_data_error(tmp_path, fault):
    # Mostly reads: the damaged key is read before it is written again.
    totals, lines = run_load(tmp_path, write_ratio=0.1, **{fault: 5})
    assert totals['failed_requests'] == 0
    assert totals['data_errors'] >= 1
    bad = [line for line in lines if line['data_ok'] is False]
    assert len(bad) == totals['data_errors']
    assert ('missing' if fault == 'lose' else 'corrupted') in bad[0]['err']
    # The fifth write's key, and only that one (until it is written again).
    fifth = [line for line in lines if line['op'] == 'set'][4]
    assert set(line['key'] for line in bad) == {fifth['key']}


@pytest.mark.parametrize('fault', ['cut', 'stall'])
def test_a_cut_or_stalled_connection_is_a_failed_request_and_the_load_goes_on(tmp_path, fault):
    totals, lines = run_load(tmp_path, **{fault: 50, 'stall_s': 1.0})
    assert totals['failed_requests'] == 1
    assert totals['data_errors'] == 0  # a write whose reply was lost may hold either version
    assert totals['connections'] == 2
    failed = [line for line in lines if not line['ok']]
    assert failed == [lines[49]]
    assert ('Timeout' in failed[0]['err'] or 'timed out' in failed[0]['err']) if fault == 'stall' else True
    if fault == 'stall':
        assert failed[0]['lat_ms'] >= 450
    assert all(line['ok'] for line in lines[50:]) and len(lines) == 400


def test_a_refused_write_is_a_failed_request_and_its_key_may_be_gone(tmp_path):
    # On the second round of writes, so that the key held a value memcached then unlinked.
    totals, lines = run_load(tmp_path, write_ratio=0.1, refuse=20)
    assert totals['failed_requests'] == 1 and totals['data_errors'] == 0
    failed = [line for line in lines if not line['ok']]
    assert failed[0]['op'] == 'set' and failed[0]['err'].startswith('SERVER_ERROR')
    # The key was read as missing afterwards, and that was no data error.
    assert any(line['op'] == 'get' and line['key'] == failed[0]['key'] and line['ver'] is None and line['data_ok']
               for line in lines[lines.index(failed[0]):])


def test_a_refused_connection_is_counted_not_fatal(tmp_path):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    load = Load('127.0.0.1', port, keys=4, value_size=16, timeout_s=0.2)
    lines = [load.step() for _i in range(3)]
    assert [line['ok'] for line in lines] == [False] * 3
    assert load.totals['failed_requests'] == 3 and load.totals['data_errors'] == 0
    with pytest.raises(RuntimeError):
        kv_load.wait_ready('127.0.0.1', port, 0.6)


def test_the_command_paces_records_and_stops_cleanly_at_sigterm(tmp_path):
    """The command as the test bed runs it: paced to --rate, every request a line, SIGTERM a clean stop."""
    server = StandIn()
    try:
        host, port = server.server_address
        record = tmp_path / 'record.jsonl'
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, SCRIPT, 'kv', host, '--port', str(port), '--record', str(record),
             '--rate', '200', '--keys', '64', '--value-size', '512'],
            stdout=subprocess.PIPE, universal_newlines=True)
        time.sleep(2.0)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=10)[0]
        assert process.returncode == 0
        totals = json.loads(output)
        lines = [json.loads(line) for line in record.read_text().splitlines()]
        assert totals['requests'] == len(lines) and totals['server'] == 'VERSION stand-in'
        assert totals['failed_requests'] == 0 and totals['data_errors'] == 0
        elapsed = time.monotonic() - started
        # 200 a second while it ran (less the interpreter's start).
        assert 100 <= len(lines) <= 200 * elapsed + 1
        sent = [line['t'] for line in lines]
        gaps = sorted(b - a for a, b in zip(sent, sent[1:]))
        assert 0.004 < gaps[len(gaps) // 2] < 0.006  # a late request may be followed by one sooner
    finally:
        server.stop()


def test_the_load_stops_once_its_stop_file_exists():
    import threading
    stop = threading.Event()
    seen = iter([False, False, True])
    load_loop.stop_when_exists('/x/stop', stop, poll_s=0.001, exists=lambda _path: next(seen))
    assert stop.is_set()
