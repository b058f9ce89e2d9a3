# -*- coding: utf-8 -*-
"""The job guest's load: the expected result, the reply, and the whole load against a job server
on loopback that can corrupt, garble, refuse and stall: each fault must show in the record as a
data error or a failed request, and the load must go on after it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
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
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import job_load

SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..', 'scripts', 'app_load.py')
LINES = 3000


def test_the_expected_result_is_the_sha256_of_seq():
    text = ''.join('%d\n' % i for i in range(1, 25001)).encode('ascii')
    assert job_load.expected_sha256(25000) == hashlib.sha256(text).hexdigest()
    # `seq 1 150000 | sha256sum` on the build host (the job guests' default input).
    assert job_load.expected_sha256(150000) == '771c3995129ed087c7336651f32a510b009e3c9d2190f13bda69d91dd91a257e'


def test_a_reply_is_lines_and_a_sha256():
    assert job_load.parse_reply(b'3000 ' + b'a' * 64 + b'\n') == (3000, 'a' * 64)
    for bad in (b'', b'3000\n', b'x ' + b'a' * 64, b'3000 abc'):
        with pytest.raises(ValueError):
            job_load.parse_reply(bad)


class Server(socketserver.ThreadingTCPServer):
    """Answers each connection as /bin/wa-job does; `faults` maps the Nth job (from 1) to what goes wrong:
    corrupt (a wrong sha256), other_lines (the sha256 of another seq), fail (wa-job's ERR), garble (no reply of
    the form), stall (no reply for `stall_s`)."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, stall_s=2.0, **faults):
        socketserver.ThreadingTCPServer.__init__(self, ('127.0.0.1', 0), Handler)
        self.faults, self.stall_s = faults, stall_s
        self.jobs = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever)
        self.thread.daemon = True
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        server = self.server
        with server.lock:
            server.jobs += 1
            fault = [name for name, nth in server.faults.items() if nth == server.jobs]
        lines = LINES + 1 if 'other_lines' in fault else LINES
        sha = job_load.expected_sha256(lines)
        if 'stall' in fault:
            time.sleep(server.stall_s)
        if 'corrupt' in fault:
            sha = hashlib.sha256(b'other').hexdigest()
        reply = ('%d %s\n' % (lines, sha)).encode('ascii')
        if 'garble' in fault:
            reply = b'garbage\n'
        if 'fail' in fault:
            reply = b'ERR gzip exited 1\n'
        self.wfile.write(reply)


def run_load(jobs=60, timeout_s=1.0, **faults):
    server = Server(**faults)
    try:
        host, port = server.server_address
        assert job_load.wait_ready(host, port, 5) == LINES
        load = job_load.Load(host, LINES, port, timeout_s=timeout_s)
        return run_until(load, jobs)
    finally:
        server.stop()


def test_honest_jobs_give_no_errors():
    totals, lines = run_load()
    assert totals['requests'] == 60 and totals['failed_requests'] == 0 and totals['data_errors'] == 0
    assert [line['key'] for line in lines] == [str(i) for i in range(1, 61)]
    assert all(line['op'] == 'job' and line['data_ok'] is True for line in lines)


@pytest.mark.parametrize('fault, why', [('corrupt', 'gave sha256'), ('other_lines', 'not 1 %d' % LINES)])
def test_a_wrong_result_or_another_input_is_a_data_error(fault, why):
    totals, lines = run_load(**{fault: 11})  # the first job was wait_ready's
    assert totals['data_errors'] == 1 and totals['failed_requests'] == 0
    assert lines[9]['data_ok'] is False and why in lines[9]['err']


def test_a_job_whose_step_failed_is_a_failed_request_not_a_data_error():
    totals, lines = run_load(fail=11)
    assert totals['failed_requests'] == 1 and totals['data_errors'] == 0
    assert 'not a job reply' in lines[9]['err']


@pytest.mark.parametrize('fault', ['garble', 'stall'])
def test_a_garbled_or_late_reply_is_a_failed_request_and_the_load_goes_on(fault):
    totals, lines = run_load(**{fault: 21})
    assert totals['failed_requests'] == 1 and totals['data_errors'] == 0
    assert [line['ok'] for line in lines].index(False) == 19
    assert ('not a job reply' if fault == 'garble' else 'within') in lines[19]['err']
    if fault == 'stall':
        assert lines[19]['lat_ms'] >= 950
    assert all(line['ok'] for line in lines[20:])


def test_nothing_listening_is_a_failed_request_and_not_ready():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    load = job_load.Load('127.0.0.1', LINES, port, timeout_s=0.2)
    assert [load.step()['ok'] for _i in range(2)] == [False, False]
    with pytest.raises(RuntimeError, match='job server'):
        job_load.wait_ready('127.0.0.1', port, 0.6)


def test_the_command_runs_jobs_back_to_back_and_stops_cleanly_at_sigterm(tmp_path):
    server = Server()
    try:
        host, port = server.server_address
        record = tmp_path / 'record.jsonl'
        process = subprocess.Popen([sys.executable, SCRIPT, 'job', host, '--port', str(port), '--record', str(record),
                                    '--rate', '0'], stdout=subprocess.PIPE, universal_newlines=True)
        time.sleep(1.5)
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=10)[0]
        assert process.returncode == 0
        totals = json.loads(output)
        assert totals['requests'] == len(record.read_text().splitlines()) > 20
        assert totals['failed_requests'] == 0 and totals['data_errors'] == 0
        assert totals['server'] == 'jobs over seq 1 %d' % LINES
    finally:
        server.stop()
