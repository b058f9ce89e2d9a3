# -*- coding: utf-8 -*-
"""The web guest's load: the manifest, the body checks, and the whole load against a small HTTP
server on loopback that can corrupt, refuse and cut: each fault must show in the record as a data
error or a failed request, and the load must go on after it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from load_runs import run_until
from ansible.module_utils.six.moves import BaseHTTPServer
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import load_loop, web_load

SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..', 'scripts', 'app_load.py')
FILES = dict(('/f%d' % i, os.urandom(4096 + i)) for i in range(8))
MANIFEST = ''.join('%s  %s\n' % (hashlib.sha256(body).hexdigest(), path[1:]) for path, body in sorted(FILES.items()))


class Server(BaseHTTPServer.HTTPServer):
    """Serves FILES and their manifest; `faults` maps the Nth request for a file (from 1) to what goes
    wrong: corrupt (one byte flipped), error (a 500), cut (the connection closed without a reply)."""

    def __init__(self, **faults):
        BaseHTTPServer.HTTPServer.__init__(self, ('127.0.0.1', 0), Handler)
        self.faults = faults
        self.requests = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever)
        self.thread.daemon = True
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        if self.path == '/manifest':
            return self.reply(200, MANIFEST.encode('ascii'))
        if self.path not in FILES:
            return self.reply(404, b'')
        with server.lock:
            server.requests += 1
            fault = [name for name, nth in server.faults.items() if nth == server.requests]
        body = FILES[self.path]
        if 'cut' in fault:
            self.close_connection = True
            return None
        if 'error' in fault:
            return self.reply(500, b'oops')
        if 'corrupt' in fault:
            body = body[:100] + bytes(bytearray([body[100] ^ 1])) + body[101:]
        return self.reply(200, body)

    def reply(self, status, body):
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_manifest_is_sha256sums_output():
    parsed = web_load.parse_manifest(MANIFEST)
    assert sorted(parsed) == sorted(FILES)
    assert parsed['/f3'] == hashlib.sha256(FILES['/f3']).hexdigest()
    for bad in ('', 'abc  f0\n', 'f0\n', ('0' * 64) + '\n'):
        with pytest.raises(ValueError):
            web_load.parse_manifest(bad)


def test_a_body_is_checked_against_its_manifest_entry():
    body = FILES['/f1']
    assert web_load.check_body(hashlib.sha256(body).hexdigest(), body) == (True, None)
    ok, why = web_load.check_body(hashlib.sha256(body).hexdigest(), body[:-1])
    assert ok is False and 'corrupted' in why and str(len(body) - 1) in why


def run_load(requests=200, **faults):
    server = Server(**faults)
    try:
        host, port = server.server_address
        manifest = web_load.wait_ready(host, port, 5)
        assert manifest == web_load.parse_manifest(MANIFEST)
        load = web_load.Load(host, manifest, port, timeout_s=1.0, seed=1)
        return run_until(load, requests)
    finally:
        server.stop()


def test_an_honest_server_gives_no_errors_over_one_kept_alive_connection():
    totals, lines = run_load()
    assert totals == {'requests': 200, 'failed_requests': 0, 'data_errors': 0, 'connections': 1}
    assert all(line['ok'] and line['data_ok'] is True and line['op'] == 'get' for line in lines)
    assert len(set(line['key'] for line in lines)) == len(FILES)  # every file asked for
    assert all(set(line) >= set(load_loop.RECORD_FIELDS) - {'err'} for line in lines)


def test_a_corrupted_body_is_a_data_error():
    totals, lines = run_load(corrupt=7)
    assert totals['data_errors'] == 1 and totals['failed_requests'] == 0
    assert [line['data_ok'] for line in lines].index(False) == 6
    assert 'corrupted' in lines[6]['err']


@pytest.mark.parametrize('fault', ['error', 'cut'])
def test_an_error_or_a_cut_connection_is_a_failed_request_and_the_load_goes_on(fault):
    totals, lines = run_load(**{fault: 20})
    assert totals['failed_requests'] == 1 and totals['data_errors'] == 0
    assert [line['ok'] for line in lines].index(False) == 19
    assert lines[19]['err'] == 'HTTP 500' if fault == 'error' else lines[19]['err']
    assert all(line['ok'] for line in lines[20:]) and len(lines) == 200
    # A cut connection is opened afresh; an error status keeps it.
    assert totals['connections'] == (2 if fault == 'cut' else 1)


def test_nothing_listening_is_a_failed_request_and_not_ready():
    server = Server()
    host, port = server.server_address
    server.stop()
    load = web_load.Load(host, {'/f0': '0' * 64}, port, timeout_s=0.2)
    assert [load.step()['ok'] for _i in range(2)] == [False, False]
    assert load.totals['failed_requests'] == 2
    with pytest.raises(RuntimeError, match='nginx at'):
        web_load.wait_ready(host, port, 0.6)


def test_the_command_paces_records_and_stops_cleanly_at_sigterm(tmp_path):
    server = Server()
    try:
        host, port = server.server_address
        record = tmp_path / 'record.jsonl'
        process = subprocess.Popen([sys.executable, SCRIPT, 'web', host, '--port', str(port), '--record', str(record),
                                    '--rate', '100'], stdout=subprocess.PIPE, universal_newlines=True)
        time.sleep(2.0)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=10)[0]
        assert process.returncode == 0
        totals = json.loads(output)
        lines = [json.loads(line) for line in record.read_text().splitlines()]
        assert totals['requests'] == len(lines) > 50 and totals['server'] == 'nginx serving 8 files'
        assert totals['failed_requests'] == 0 and totals['data_errors'] == 0
        sent = [line['t'] for line in lines]
        gaps = sorted(b - a for a, b in zip(sent, sent[1:]))
        assert 0.008 < gaps[len(gaps) // 2] < 0.012
    finally:
        server.stop()
