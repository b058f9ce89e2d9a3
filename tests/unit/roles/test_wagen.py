# -*- coding: utf-8 -*-
"""The benchmark guests' health check must see corruption: run the workload
generator natively, corrupt one page of its working set from outside the
process (through /proc/PID/mem, as a faulty migration would), and check that
its next reports say so; and that, left alone, it stays healthy."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import time

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import guest_health

SOURCE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'benchmark_vms', 'files', 'src', 'wagen.c')
PAGE = 4096


@pytest.fixture(scope='module')
def wagen(tmp_path_factory):
    binary = str(tmp_path_factory.mktemp('wagen') / 'wagen')
    subprocess.check_call(['gcc', '-O2', '-Wall', '-Werror', '-o', binary, SOURCE])
    return binary


class Generator:
    def __init__(self, binary, mode, *args):
        self.proc = subprocess.Popen([binary, mode, '-m', '4', '-v', '0.2', '-i', '0.2'] + list(args),
                                     stdout=subprocess.PIPE, universal_newlines=True)
        start = self.proc.stdout.readline()
        match = re.search(r'wss_addr=(0x[0-9a-f]+)', start)
        assert match, start
        self.wss_addr = int(match.group(1), 16)

    def next_reports(self, count):
        found = []
        deadline = time.monotonic() + 10
        while len(found) < count and time.monotonic() < deadline:
            report = guest_health.parse_report(self.proc.stdout.readline())
            if report is not None:
                found.append(report)
        assert len(found) == count, 'generator stopped reporting'
        return found

    def corrupt(self, page, offset=200):
        with open('/proc/%d/mem' % self.proc.pid, 'r+b', buffering=0) as mem:
            mem.seek(self.wss_addr + page * PAGE + offset)
            old = mem.read(1)
            mem.seek(self.wss_addr + page * PAGE + offset)
            mem.write(bytes([old[0] ^ 0xFF]))

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.mark.parametrize('mode, args', [('write', ['-r', '8']), ('read', ['-r', '50']), ('idle', [])])
def test_detects_a_page_corrupted_from_outside(wagen, mode, args):
    gen = Generator(wagen, mode, *args)
    try:
        before = gen.next_reports(2)
        assert all(r.healthy and r.errors == 0 for r in before)
        gen.corrupt(page=5)
        after = gen.next_reports(3)  # 0.6 s: the whole 4 MiB is re-verified every 0.2 s
        assert not after[-1].healthy
        assert after[-1].errors >= 1
        assert after[-1].bad_page == 5
        assert after[-1].seq == before[-1].seq + 3
    finally:
        gen.stop()


def test_stays_healthy_and_reports_its_work_rate(wagen):
    gen = Generator(wagen, 'write', '-r', '8')
    try:
        reports = gen.next_reports(6)
        assert [r.seq for r in reports] == list(range(reports[0].seq, reports[0].seq + 6))
        assert all(r.healthy for r in reports)
        # 8 MiB/s asked for; the generator reports what it achieved.
        assert 6.0 < reports[-1].work < 10.0
        assert reports[-1].unit == 'MiB/s'
    finally:
        gen.stop()
