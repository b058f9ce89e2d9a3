# -*- coding: utf-8 -*-
"""Faults during real migrations on the test bed: the link drops in pre-copy and
in post-copy, the destination's libvirtd dies, the destination cannot take the
VM, two runs race for one VM, and the controller is killed mid-migration.  Each
ends with the VM's own memory check passing where the VM runs, and counts VMs
lost: none."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import time

import libvirt
from lxml import etree

from testbed_helpers import (
    HOSTS, LinkDown, assert_healthy_after, console_log, current_host, latest_seq, libvirtd_pid, module_result,
    other_host as other, start_libvirtd, start_module, wait_for_phase, where_is)
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import open_connection

RUNNING = libvirt.VIR_DOMAIN_RUNNING


def request(vm, source, dest, **args):
    values = dict(name=vm, uri=HOSTS[source].uri, dest_uri=HOSTS[dest].migration_uri,
                  dest_control_uri=HOSTS[dest].uri, bandwidth_mibps=80, link_timeout_s=5)
    values.update(args)
    return values


def start_migration(vm, source, dest, tmp_path, **args):
    progress = str(tmp_path / ('%s.progress' % vm))
    return start_module(source, 'wa_migrate', request(vm, source, dest, progress_file=progress, **args)), progress


def migrate(vm, source, dest, **args):
    return module_result(start_module(source, 'wa_migrate', request(vm, source, dest, **args)))


def lost(vms):
    """The VMs that run on no host."""
    return [vm for vm in vms if RUNNING not in where_is(vm).values()]


def test_link_drop_in_precopy_aborts_and_the_vm_stays_then_a_retry_moves_it(testbed, tmp_path):
    home = current_host('wa-read')
    seq = latest_seq('wa-read')
    # 20 MiB/s: the pass takes seconds, so the cut lands inside it.  Post-copy is allowed: a
    # dead link must not be taken for a workload that does not converge.
    process, progress = start_migration('wa-read', home, other(home), tmp_path, method='precopy', bandwidth_mibps=20)
    wait_for_phase(progress, 'pre-copy')
    with LinkDown(other(home)):
        result = module_result(process)
    assert result.get('failed'), result
    assert 'carried no data for 5 s' in result['aborted']
    assert result['switch'] is None
    assert result['vm_location'] == {'source': 'running', 'destination': None}
    assert where_is('wa-read') == {home: RUNNING}
    assert_healthy_after('wa-read', seq)

    seq = latest_seq('wa-read')
    retry = migrate('wa-read', home, other(home), method='precopy')
    assert not retry.get('failed'), retry.get('msg')
    assert where_is('wa-read') == {other(home): RUNNING}
    assert_healthy_after('wa-read', seq)
    assert lost(['wa-read']) == []


def restart_where_defined(vm, home):
    """Destroy the VM on every host, undefine it where post-copy defined it, and boot it again on `home`."""
    for host in HOSTS:
        conn = open_connection(HOSTS[host].uri)
        try:
            dom = conn.lookupByName(vm)
        except libvirt.libvirtError:
            conn.close()
            continue
        try:
            if dom.isActive():
                dom.destroy()
            if host != home and dom.isPersistent():
                dom.undefine()
        finally:
            conn.close()
    open(console_log(vm), 'w').close()
    conn = open_connection(HOSTS[home].uri)
    try:
        conn.lookupByName(vm).create()
    finally:
        conn.close()


def test_link_drop_in_postcopy_resumes_or_reports_the_exact_split_and_the_steps(testbed, tmp_path):
    home = current_host('wa-write')
    daemons = dict((host, libvirtd_pid(host)) for host in HOSTS)
    process, progress = start_migration('wa-write', home, other(home), tmp_path, method='postcopy',
                                        bandwidth_mibps=20, recovery_budget_s=30)
    wait_for_phase(progress, 'post-copy')
    with LinkDown(other(home), reject=True):
        time.sleep(3)
        if process.poll() is None:
            time.sleep(2)
    result = module_result(process)
    print('RESULT post-copy link drop: %s' % result.get('msg'))
    assert result.get('postcopy_failed') is True, result
    # No libvirtd died of what the collection did.
    assert dict((host, libvirtd_pid(host)) for host in HOSTS) == daemons
    assert all(os.path.exists('/proc/%d' % pid) for pid in daemons.values())
    if result.get('recovered'):
        assert not result.get('failed'), result.get('msg')
        assert where_is('wa-write') == {other(home): RUNNING}
        assert_healthy_after('wa-write', 0)
        return
    # Not resumed: the exact split and what to do, in the error.
    assert result.get('failed')
    assert result['vm_location']['source'] == 'paused (post-copy failed)'
    assert 'post-copy' in result['vm_location']['destination']
    assert 'source: paused (post-copy failed)' in result['msg']
    assert result['operator_steps'][0].startswith('Do not destroy')
    assert '--postcopy-resume wa-write' in result['operator_steps'][-1]
    if result['recovery_blocker']:
        assert 'libvirt 11.3' in result['recovery_blocker']
    # A re-run finds the split and does not touch it either way it can't resume.
    again = migrate('wa-write', home, other(home), method='postcopy', recovery_budget_s=5)
    assert again.get('failed') and again['vm_location'] == result['vm_location'] or again.get('recovered'), again
    # The test bed needs the VM back: this restarts it (its memory is gone: on this libvirt it is lost).
    restart_where_defined('wa-write', home)
    assert where_is('wa-write') == {home: RUNNING}
    assert_healthy_after('wa-write', 0)


def test_killed_destination_libvirtd_in_precopy_leaves_the_source_running(testbed, tmp_path):
    home = current_host('wa-read')
    seq = latest_seq('wa-read')
    process, progress = start_migration('wa-read', home, other(home), tmp_path, method='precopy', bandwidth_mibps=20)
    wait_for_phase(progress, 'pre-copy')
    os.kill(libvirtd_pid(other(home)), signal.SIGKILL)
    result = module_result(process)
    start_libvirtd(other(home))
    assert result.get('failed'), result
    assert result['vm_location']['source'] == 'running'
    assert_healthy_after('wa-read', seq)
    # The restarted daemon has dropped the half-made incoming VM.
    deadline = time.monotonic() + 30
    while where_is('wa-read') != {home: RUNNING} and time.monotonic() < deadline:
        time.sleep(1)
    assert where_is('wa-read') == {home: RUNNING}
    retry = migrate('wa-read', home, other(home), method='precopy')
    assert not retry.get('failed'), retry.get('msg')
    assert where_is('wa-read') == {other(home): RUNNING}


def test_auto_never_picks_postcopy_for_a_destination_without_userfaultfd(testbed):
    home = current_host('wa-write')
    # 20 MiB/s for a 40 MiB/s writer: with post-copy possible the model picks it.
    able = module_result(start_module(home, 'wa_migrate', request('wa-write', home, other(home), bandwidth_mibps=20),
                                      check=True))
    unable = module_result(start_module(home, 'wa_migrate', request(
        'wa-write', home, other(home), bandwidth_mibps=20, destination_postcopy_capable=False), check=True))
    assert able.get('method_chosen') in ('postcopy', 'hybrid'), able
    assert unable.get('method_chosen') not in ('postcopy', 'hybrid'), unable
    assert where_is('wa-write') == {home: RUNNING}


def test_a_destination_without_the_vms_storage_refuses_it_and_the_vm_stays(testbed):
    """A VM whose disk is a file only its host has (each test-bed host has its own /var/lib/libvirt)."""
    home = current_host('wa-idle')
    conn = open_connection(HOSTS[home].uri)
    try:
        xml = etree.fromstring(conn.lookupByName('wa-idle').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
        for path in ('uuid', 'devices/interface'):
            for node in xml.findall(path):
                node.getparent().remove(node)
        xml.find('name').text = 'wa-local'
        disk = xml.find("devices/disk[@device='disk']")
        disk.set('type', 'file')
        for child in list(disk):
            if child.tag in ('source', 'driver'):
                disk.remove(child)
        etree.SubElement(disk, 'driver', name='qemu', type='raw', cache='none')
        etree.SubElement(disk, 'source', file='/var/lib/libvirt/images/wa-local.img')
        xml.find('devices/serial/source').set('path', console_log('wa-local'))
        images = '/var/lib/wa-testbed/%s/lib/images' % home
        if not os.path.isdir(images):
            os.makedirs(images)
        with open(os.path.join(images, 'wa-local.img'), 'wb') as image:
            image.truncate(16 * 1024 * 1024)
        dom = conn.defineXML(etree.tostring(xml).decode())
        dom.create()
    finally:
        conn.close()
    try:
        seq = 0
        result = migrate('wa-local', home, other(home), method='precopy')
        assert result.get('failed'), result
        # libvirt refuses a disk on storage the destination does not share, before any memory moves.
        assert 'without shared storage' in result['msg'], result['msg']
        assert result['vm_location'] == {'source': 'running', 'destination': None}
        assert where_is('wa-local') == {home: RUNNING}
        assert_healthy_after('wa-local', seq)
    finally:
        conn = open_connection(HOSTS[home].uri)
        try:
            dom = conn.lookupByName('wa-local')
            dom.destroy()
            dom.undefine()
        finally:
            conn.close()


def test_two_runs_for_one_vm_one_moves_it_and_the_other_is_refused(testbed):
    home = current_host('wa-idle')
    seq = latest_seq('wa-idle')
    first = start_module(home, 'wa_migrate', request('wa-idle', home, other(home), method='precopy',
                                                     bandwidth_mibps=20))
    second = start_module(home, 'wa_migrate', request('wa-idle', home, other(home), method='precopy',
                                                      bandwidth_mibps=20))
    results = [module_result(first), module_result(second)]
    moved = [r for r in results if not r.get('failed') and r.get('changed')]
    refused = [r for r in results if r.get('failed')]
    assert len(moved) == 1, results
    assert len(refused) == 1, results
    assert 'another run (pid' in refused[0]['msg'] or 'in progress' in refused[0]['msg'], refused[0]['msg']
    assert where_is('wa-idle') == {other(home): RUNNING}
    assert_healthy_after('wa-idle', seq)


def test_a_killed_controller_leaves_a_known_state_and_a_rerun_finishes(testbed, tmp_path):
    home = current_host('wa-write')
    seq = latest_seq('wa-write')
    # A pre-copy that never converges and may not switch: it would run until its controller stops it.
    process, progress = start_migration('wa-write', home, other(home), tmp_path, method='precopy',
                                        bandwidth_mibps=20, postcopy_allowed=False, auto_converge='never',
                                        precopy_budget_s=600, time_budget_s=600)
    wait_for_phase(progress, 'pre-copy')
    # The whole run dies: the controller, and the module process on the host (it would
    # otherwise carry on without its controller), whose pid is in the VM's lock file.
    with open('/run/lock/wa-live-migration/wa-write.lock') as lock:
        module_pid = int(lock.read().strip())
    os.killpg(process.pid, signal.SIGKILL)
    os.kill(module_pid, signal.SIGKILL)
    process.wait()
    # Known state: running on the source; its migration job goes on in libvirt, with the
    # destination's incoming copy paused until it ends.
    where = where_is('wa-write')
    assert where[home] == RUNNING and where.get(other(home)) in (None, libvirt.VIR_DOMAIN_PAUSED), where
    rerun = migrate('wa-write', home, other(home), method='postcopy')
    assert not rerun.get('failed'), rerun.get('msg')
    assert 'aborted it' in rerun['earlier_run']
    assert where_is('wa-write') == {other(home): RUNNING}
    assert_healthy_after('wa-write', seq)
