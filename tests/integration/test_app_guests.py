# -*- coding: utf-8 -*-
"""An application in a guest: the kv guest (Debian's memcached in a real QEMU guest, brought up by
benchmark_vms through the provisioning playbook) under the host's write-heavy load (kv_load, from
the test bed's network namespace, over the bridge), moved by wa_migrate by post-copy and back by
pre-copy while the load runs.  Every read is checked against the versions its key may hold: no
data may be lost or corrupted, no request may fail, and requests must be answered after each move.  Each migration's
user-facing figures (load_summary) are printed; the VM is removed whatever happens."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import libvirt
import pytest

from testbed_helpers import (HOSTS, NETNS, REPO, assert_healthy_after, console_log, current_host, latest_seq,
                             other_host, remove_everywhere, run_module, run_playbook, where_is)
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import open_connection
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark.load_summary import (
    read_record, summarise)

VM = 'wa-kv'
KV_VM = dict(name=VM, workload='kv', memory_mib=256, wss_mib=64)
# The load: 16 KiB values over 2048 keys (32 MiB of memcached's 64), four writes in five requests.
LOAD = ['--rate', '300', '--keys', '2048', '--value-size', '16384', '--write-ratio', '0.8', '--timeout', '5']
NFS_EXPORT = '/srv/wa-nfs'
SETTLE_S = 5.0  # load before the first migration, and after each (the figures' margins)
BANDWIDTH_MIBPS = 80
RUNNING = libvirt.VIR_DOMAIN_RUNNING


@pytest.fixture
def kv_vm(testbed):
    """The kv guest booted on hv1 by the provisioning playbook; (address on the bridge); removed afterwards."""
    try:
        began = time.monotonic()
        run_playbook('provision_testbed.yml', '-l', 'hv1', '-e', json.dumps({'benchmark_vms_list': [KV_VM]}))
        print('KV GUEST up in %.1f s' % (time.monotonic() - began))
        yield guest_address(current_host(VM))
    finally:
        remove_everywhere(VM)
        for path in (os.path.join(NFS_EXPORT, VM + '.qcow2'), console_log(VM)):
            if os.path.exists(path):
                os.remove(path)


def guest_address(host):
    """The guest's address on the bridge, from its kernel command line (wa.ip=ADDR/PREFIX)."""
    conn = open_connection(HOSTS[host].uri)
    try:
        xml = conn.lookupByName(VM).XMLDesc(0)
    finally:
        conn.close()
    return re.search(r'wa\.ip=([0-9.]+)/', xml).group(1)


class Window:
    """When a migration ran, as the source's libvirt saw it: from its job's start to the source gone
    (for post-copy: every page moved).  Polled every 20 ms in a thread."""

    def __init__(self, vm, source):
        self.vm, self.source = vm, source
        self.start = self.end = None
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        conn = open_connection(HOSTS[self.source].uri)
        try:
            dom = conn.lookupByName(self.vm)
            deadline = time.time() + 300
            while time.time() < deadline:
                now = time.time()
                try:
                    if not dom.isActive():
                        break
                    if self.start is None and dom.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE:
                        self.start = now
                except libvirt.libvirtError:
                    break  # undefined on the source: moved
                time.sleep(0.02)
            self.end = time.time()
        finally:
            conn.close()

    def wait(self):
        self.thread.join(310)
        assert self.start is not None and self.end is not None, 'no migration job seen on %s' % self.source
        return self.start, self.end


def start_load(address, record):
    """scripts/kv_load.py in the test bed's network namespace (where the bridge is), this checkout's."""
    command = ['ip', 'netns', 'exec', NETNS, sys.executable, os.path.join(REPO, 'scripts', 'kv_load.py'),
               address, '--record', record, '--wait-ready', '60'] + LOAD
    return subprocess.Popen(command, stdout=subprocess.PIPE, universal_newlines=True, start_new_session=True)


def wait_for_requests(record, count, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(record) and len(read_record(record)) >= count:
            return
        time.sleep(0.5)
    raise AssertionError('the load made fewer than %d requests in %d s' % (count, timeout))


def read_back_after(records, start, end):
    """Reads after `end` (within SETTLE_S) that returned, intact, a version written before `start`."""
    written = dict(((r['key'], r['ver']), r['t']) for r in records if r['op'] == 'set' and r['ok'])
    return [r for r in records if r['op'] == 'get' and end < r['t'] <= end + SETTLE_S and r['data_ok']
            and r['ver'] is not None and written.get((r['key'], r['ver']), end) < start]


def test_the_kv_guest_keeps_its_data_through_postcopy_and_precopy(kv_vm, tmp_path):
    address = kv_vm
    home = current_host(VM)
    record = str(tmp_path / 'kv-load.jsonl')
    seq = latest_seq(VM)
    load = start_load(address, record)
    moves = []
    try:
        wait_for_requests(record, 50)
        time.sleep(SETTLE_S)
        for method, source, dest in (('postcopy', home, other_host(home)), ('precopy', other_host(home), home)):
            window = Window(VM, source)
            result = run_module(source, 'wa_migrate', dict(
                name=VM, uri=HOSTS[source].uri, dest_uri=HOSTS[dest].migration_uri,
                dest_control_uri=HOSTS[dest].uri, bandwidth_mibps=BANDWIDTH_MIBPS, method=method))
            start, end = window.wait()
            assert not result.get('failed'), result.get('msg')
            assert result['method_used'] == method
            assert where_is(VM) == {dest: RUNNING}
            moves.append((method, result, start, end))
            time.sleep(SETTLE_S)
    finally:
        if load.poll() is None:
            os.killpg(load.pid, signal.SIGTERM)
        output = load.communicate(timeout=30)[0]
    print('KV LOAD totals: %s' % output.strip())
    assert load.returncode == 0 and output.strip(), 'the load generator failed (exit %s)' % load.returncode
    totals = json.loads(output.strip().splitlines()[-1])
    records = read_record(record)
    assert totals['requests'] == len(records)
    assert totals['data_errors'] == 0, [r for r in records if r.get('data_ok') is False][:5]
    assert sum(1 for r in records if r['op'] == 'get' and r['data_ok'] and r['ver'] is not None) > 100
    for method, result, start, end in moves:
        figures = summarise(records, start, end, margin_s=SETTLE_S)
        print('RESULT kv %s: %.2f s (libvirt %.2f s), downtime %s ms, %s' % (
            method, end - start, result['total_time_s'], result['downtime_ms'],
            ', '.join('%s=%s' % item for item in sorted(figures.items()))))
        assert figures['data_errors'] == 0
        # The connection outlived the move (a request waits at most 5 s): no request failed.
        assert figures['failed_requests'] == 0, [r for r in records if not r['ok']][:5]
        # Answered after the move, and what was written before it read back intact from the destination.
        assert figures['rps_after'] > 0, figures
        assert sum(1 for r in records if r['ok'] and end < r['t'] <= end + SETTLE_S) > 100, figures
        assert len(read_back_after(records, start, end)) >= 10, figures
    # The guest's own heartbeat (wagen idle beside memcached) stayed healthy through both moves.
    assert_healthy_after(VM, seq)
