# -*- coding: utf-8 -*-
"""Applications in guests, brought up by benchmark_vms through the provisioning playbook in real QEMU
guests, each under its host-side load (scripts/app_load.py, from the test bed's network namespace,
over the bridge) while wa_migrate moves it:

- the kv guest (Debian's memcached) under a write-heavy load, by post-copy and back by pre-copy:
  every read is checked against the versions its key may hold;
- the web guest (Debian's nginx) under GETs of its files, every body checked against the
  manifest, and the job guest (CPU-bound jobs, every result checked), each by post-copy (the
  method that leaves no copy behind; kv goes both ways).

No data may be lost or corrupted, no request may fail, and requests must be answered after each
move; before it, wa_vm_facts must classify the web guest as network-intensive and the job guest as
CPU-intensive from live measurements (the kv guest's profile is printed: not yet steady on this bed).  Each migration's user-facing
figures (load_summary) are printed; the VMs are removed whatever happens."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
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
WEB_VM = dict(name='wa-web', workload='web', memory_mib=256, wss_mib=8)
JOB_VM = dict(name='wa-job', workload='job', memory_mib=256, wss_mib=1)
# The benchmark's loads (playbooks/benchmark.yml): 150 GETs a second of 64 KiB files; jobs back to back.
LOADS = {'web': ['--rate', '150', '--timeout', '5'], 'job': ['--rate', '0', '--timeout', '30']}
NFS_EXPORT = '/srv/wa-nfs'
SETTLE_S = 5.0  # load before the first migration, and after each (the figures' margins)
BANDWIDTH_MIBPS = 80
RUNNING = libvirt.VIR_DOMAIN_RUNNING


@contextlib.contextmanager
def guests_on_hv1(vms):
    """Boot `vms` on hv1 by the provisioning playbook; yields {name: address on the bridge}; removes them afterwards."""
    try:
        began = time.monotonic()
        run_playbook('provision_testbed.yml', '-l', 'hv1', '-e', json.dumps({'benchmark_vms_list': vms}))
        print('GUESTS %s up in %.1f s' % (', '.join(vm['name'] for vm in vms), time.monotonic() - began))
        yield dict((vm['name'], guest_address(vm['name'], current_host(vm['name']))) for vm in vms)
    finally:
        for vm in vms:
            remove_everywhere(vm['name'])
            for path in (os.path.join(NFS_EXPORT, vm['name'] + '.qcow2'), console_log(vm['name'])):
                if os.path.exists(path):
                    os.remove(path)


@pytest.fixture(scope='module')
def app_vms(testbed):
    """The kv, web and job guests booted on hv1 by one provisioning run, for every test of this module
    (each moves its own guest; the others idle meanwhile); {name: address on the bridge}."""
    with guests_on_hv1([KV_VM, WEB_VM, JOB_VM]) as addresses:
        yield addresses


def guest_address(vm, host):
    """The guest's address on the bridge, from its kernel command line (wa.ip=ADDR/PREFIX)."""
    conn = open_connection(HOSTS[host].uri)
    try:
        xml = conn.lookupByName(vm).XMLDesc(0)
    finally:
        conn.close()
    return re.search(r'wa\.ip=([0-9.]+)/', xml).group(1)


# What wa_vm_facts must see in each application under its load, from live measurements alone (issue #16).
# Not the kv guest's yet: on this crowded bed (each vCPU gets a third of a CPU) its write load and the
# page-sampled dirty rate vary too much (5.0 MiB/s dirtied in one run, 1.3 in the next, over 3 s;
# docs/profiling_and_cost_model.md): it is profiled and printed, not asserted.
EXPECTED_CLASS = {'web': 'network-intensive', 'job': 'cpu-intensive'}


def assert_classified(vm, app, host):
    """wa_vm_facts profiles the VM under its load and classifies it as its application's type (where this
    bed lets it be told: EXPECTED_CLASS)."""
    result = run_module(host, 'wa_vm_facts', dict(uri=HOSTS[host].uri, names=[vm], window_s=3,
                                                  bandwidth_mibps=BANDWIDTH_MIBPS))
    assert not result.get('failed'), result.get('msg')
    facts = result['ansible_facts']['wa_vm_profiles'][vm]
    profile, classification = facts['profile'], facts['classification']
    print('PROFILE %s: %s; %s' % (app, classification['explanation'], dict(
        (key, profile.get(key)) for key in ('cpu_demand', 'cpu_util', 'dirty_rate_mibps', 'net_rx_mibps',
                                            'net_tx_mibps', 'memory_used_mib'))))
    if app in EXPECTED_CLASS:
        assert classification['workload'] == EXPECTED_CLASS[app], classification['explanation']


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


def start_load(app, address, record, options):
    """scripts/app_load.py in the test bed's network namespace (where the bridge is), this checkout's."""
    command = ['ip', 'netns', 'exec', NETNS, sys.executable, os.path.join(REPO, 'scripts', 'app_load.py'), app,
               address, '--record', record, '--wait-ready', '60'] + options
    return subprocess.Popen(command, stdout=subprocess.PIPE, universal_newlines=True, start_new_session=True)


def stop_load(load, timeout):
    """SIGTERM the load (started by start_load) and wait up to `timeout` s for it; its output."""
    if load.poll() is None:
        os.killpg(load.pid, signal.SIGTERM)
    return load.communicate(timeout=timeout)[0]


def load_totals(app, load, output):
    """The totals a stopped load printed (it must have ended cleanly)."""
    print('%s LOAD totals: %s' % (app.upper(), output.strip()))
    assert load.returncode == 0 and output.strip(), 'the load generator failed (exit %s)' % load.returncode
    return json.loads(output.strip().splitlines()[-1])


def move(vm, source, dest, method):
    """wa_migrate moves `vm` from `source` to `dest` by `method`; it must run there alone after.
    (the module's result, when the source's job started, when the source was gone)."""
    window = Window(vm, source)
    result = run_module(source, 'wa_migrate', dict(
        name=vm, uri=HOSTS[source].uri, dest_uri=HOSTS[dest].migration_uri,
        dest_control_uri=HOSTS[dest].uri, bandwidth_mibps=BANDWIDTH_MIBPS, method=method))
    start, end = window.wait()
    assert not result.get('failed'), result.get('msg')
    assert result['method_used'] == method
    assert where_is(vm) == {dest: RUNNING}
    return result, start, end


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


def test_the_kv_guest_keeps_its_data_through_postcopy_and_precopy(app_vms, tmp_path):
    address = app_vms[VM]
    home = current_host(VM)
    record = str(tmp_path / 'kv-load.jsonl')
    seq = latest_seq(VM)
    load = start_load('kv', address, record, LOAD)
    moves = []
    try:
        wait_for_requests(record, 50)
        time.sleep(SETTLE_S)
        assert_classified(VM, 'kv', home)
        for method, source, dest in (('postcopy', home, other_host(home)), ('precopy', other_host(home), home)):
            moves.append((method,) + move(VM, source, dest, method))
            time.sleep(SETTLE_S)
    finally:
        output = stop_load(load, timeout=30)
    totals = load_totals('kv', load, output)
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


@pytest.mark.parametrize('vm', [WEB_VM, JOB_VM], ids=['web', 'job'])
def test_the_web_and_job_guests_keep_serving_through_postcopy(app_vms, vm, tmp_path):
    """Each guest under its own load (the others idle meanwhile), moved by post-copy."""
    name, app = vm['name'], vm['workload']
    source = current_host(name)
    dest = other_host(source)
    record = str(tmp_path / (app + '-load.jsonl'))
    seq = latest_seq(name)
    # A job takes about 1 s alone on a core, 3-7 s on the crowded test bed: its margins hold a few.
    settle_s = 20.0 if app == 'job' else SETTLE_S
    load = start_load(app, app_vms[name], record, LOADS[app])
    try:
        wait_for_requests(record, 3 if app == 'job' else 10)
        time.sleep(settle_s)
        assert_classified(name, app, source)
        result, start, end = move(name, source, dest, 'postcopy')
        time.sleep(settle_s)
    finally:
        output = stop_load(load, timeout=60)
    totals = load_totals(app, load, output)
    records = read_record(record)
    assert totals['requests'] == len(records)
    assert totals['data_errors'] == 0, [r for r in records if r.get('data_ok') is False][:5]
    # Every reply was checked (a body against the manifest, a job's result against seq's sha256).
    assert all(r['data_ok'] is True for r in records if r['ok'])
    figures = summarise(records, start, end, margin_s=settle_s)
    print('RESULT %s postcopy: %.2f s (libvirt %.2f s), downtime %s ms, %s' % (
        app, end - start, result['total_time_s'], result['downtime_ms'],
        ', '.join('%s=%s' % item for item in sorted(figures.items()))))
    assert figures['failed_requests'] == 0, [r for r in records if not r['ok']][:5]
    # Answered, checked, on the destination after the move, at half its pace before it at least: the
    # application kept working there.
    assert figures['rps_after'] > 0 and figures['rps_after'] >= figures['rps_before'] / 2.0, figures
    assert_healthy_after(name, seq)
