# -*- coding: utf-8 -*-
"""evacuate.yml empties a failing host of five VMs of mixed workloads onto
two other hosts; every VM runs elsewhere and reports healthy; check mode
moves nothing; the operator's stop file stops it before anything moves; a
second run is a no-op."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import libvirt

from testbed_helpers import (
    CALIBRATION_STORE, HOSTS, assert_healthy_after, current_host, latest_seq, run_module, run_playbook, where_is)

VMS = ['wa-idle', 'wa-cpu', 'wa-read', 'wa-write', 'wa-net']
STATUS_FILE = '/tmp/wa-evacuate-hv1.log'
STOP_FILE = '/tmp/wa-evacuate.stop'


def gather_on_hv1():
    """Bring every benchmark VM home to hv1 (earlier tests may have moved them)."""
    for vm in VMS:
        host = current_host(vm)
        if host != 'hv1':
            result = run_module(host, 'wa_migrate', dict(
                name=vm, uri=HOSTS[host].uri, dest_uri=HOSTS['hv1'].migration_uri, dest_control_uri=HOSTS['hv1'].uri,
                method='precopy', profile_window_s=0))
            assert not result.get('failed'), result.get('msg')
    assert all(current_host(vm) == 'hv1' for vm in VMS)


def test_evacuate_a_failing_host(testbed):
    gather_on_hv1()

    planned = run_playbook('evacuate.yml', '-l', 'hv1', '--check')
    assert 'wa-write -> hv' in planned.stdout, 'check mode shows the plan'
    assert all(current_host(vm) == 'hv1' for vm in VMS), 'check mode moved a VM'

    # The operator's stop file: no migration starts, every VM stays, the play says why and fails.
    with open(STOP_FILE, 'w'):
        pass
    try:
        stopped = run_playbook('evacuate.yml', '-l', 'hv1', check=False)
    finally:
        os.remove(STOP_FILE)
    assert stopped.returncode != 0
    assert stopped.stdout.count('stopped by the operator before it started') >= len(VMS)
    # The end state is read from hv1's libvirt: each VM still there, by name, with its state and why.
    assert re.search(r'%d\s+VM\(s\)\s+are\s+still\s+on\s+hv1' % len(VMS), stopped.stdout), stopped.stdout[-3000:]
    for vm in VMS:
        assert re.search(r'%s\s+\(running:\s+stopped\s+by\s+the\s+operator' % vm, stopped.stdout), vm
    assert all(current_host(vm) == 'hv1' for vm in VMS), 'a VM moved although the operator stopped'

    seqs = dict((vm, latest_seq(vm)) for vm in VMS)
    if os.path.exists(STATUS_FILE):
        os.remove(STATUS_FILE)
    moved = run_playbook('evacuate.yml', '-l', 'hv1')
    # Every prediction says where its rate came from: learned, or the default before anything was.
    assert len(re.findall(r'when\s+it\s+started,\s+from\s+(learned\s+from|default\s+for\s+qemu)', moved.stdout)) == len(VMS)
    # As many at once as the plan chose from what the earlier tests taught the store (one at a time while a
    # rate is a default): never more VMs on their way (started, not yet running on the destination) than that,
    # a move starting as one of them runs on its destination (libvirt's event there), not when the source has
    # finished with it: before the source's end at least once.
    chosen = re.search(r'msg:\s*["\']?(one|\d+) at a time: ', moved.stdout)
    assert chosen, moved.stdout[-3000:]
    at_once = 1 if chosen.group(1) == 'one' else int(chosen.group(1))
    assert 1 <= at_once <= 2
    times = sorted((float(a), float(b), float(c)) for a, b, c in re.findall(
        r'started\s+at\s+([\d.]+)\s+s,\s+safe\s+at\s+([\d.]+)\s+s\s+\(finished\s+at\s+([\d.]+)\s+s\)', moved.stdout))
    assert len(times) == len(VMS), moved.stdout[-3000:]
    for started, _safe, _finished in times:
        on_the_way = [t for t in times if t[0] <= started and t[1] > started + 0.05]
        assert len(on_the_way) <= at_once, (at_once, times)
    pairs = list(zip(times, times[1:]))
    assert any(later[0] < earlier[2] for earlier, later in pairs), times
    assert all(safe < finished for _started, safe, finished in times), times
    # It re-planned after each migration that finished while moves were still waiting to start (at most one
    # fewer: a move that finished between the last move leaving the queue and its start), and as VMs arrived
    # on their destinations while moves were waiting (at most one per VM).
    replans = re.search(r'replans: (\d+)', moved.stdout)
    waiting = len([t for t in times if t[2] < max(started for started, _safe, _finished in times)])
    count = int(replans.group(1)) if replans else None
    assert count is not None and waiting - 1 <= count <= waiting + len(VMS), (count, times)
    # Each move's sample says under what condition it ran: how many at once (from when each ran) and how busy
    # the source was before the first move.
    with open(CALIBRATION_STORE) as stored:
        samples = sorted((s for entries in json.load(stored)['pairs'].values() for s in entries), key=lambda s: s['at'])
    evacuated = samples[-len(VMS):]
    assert all(1 <= s['streams'] <= at_once and 0.0 <= s['source_busy'] <= 1.0 for s in evacuated), evacuated
    assert len(set(s['source_busy'] for s in evacuated)) == 1, evacuated
    if at_once == 2:
        assert any(s['streams'] == 2 for s in evacuated), evacuated
    last_safe = float(re.search(r'last_vm_safe_s: ([\d.]+)', moved.stdout).group(1))
    assert last_safe == max(safe for _started, safe, _finished in times)
    for vm in VMS:
        where = where_is(vm)
        assert list(where.values()) == [libvirt.VIR_DOMAIN_RUNNING] and list(where) != ['hv1'], '%s: %s' % (vm, where)
        assert_healthy_after(vm, seqs[vm])
    # Both destinations took VMs (worst-fit spreads them).
    assert set(current_host(vm) for vm in VMS) == {'hv2', 'hv3'}
    with open(STATUS_FILE) as status:
        progress = [json.loads(line) for line in status if line.strip()]
    assert set(line['vm'] for line in progress) <= set(VMS) and progress, 'progress was reported'
    assert all('remaining_mib' in line and 'phase' in line for line in progress)

    placement = dict((vm, current_host(vm)) for vm in VMS)
    again = run_playbook('evacuate.yml', '-l', 'hv1')
    assert re.search(r'hv1\s*:\s*ok=\d+\s+changed=0\s', again.stdout), 'a second evacuation changed something'
    assert dict((vm, current_host(vm)) for vm in VMS) == placement
