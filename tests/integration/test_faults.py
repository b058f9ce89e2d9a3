# -*- coding: utf-8 -*-
"""Faults during real migrations on the test bed: the link drops in pre-copy and
in post-copy (reset or silent, back within the recovery budget or after it, in the
switch-over), the destination's libvirtd dies, the destination cannot take the VM, two
runs race for one VM, and the controller is killed mid-migration.  Each ends with
the VM's own memory check passing where the VM runs, and counts VMs lost: none.

Each test gives the test bed back one healthy copy of its VM whatever happened
(the `bed` fixture), so one failure never cascades into the tests after it; a
test that cuts the link inside post-copy waits until post-copy runs on both
hosts, not for one side's progress line."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import os
import signal
import time

import libvirt
import pytest
from lxml import etree

from testbed_helpers import (
    HOSTS, LinkDown, assert_healthy_after, console_log, current_host, give_back, kill_libvirtd, latest_seq, libvirtd_pid,
    longest_report_gap_s, module_result, other_host as other, postcopy_recoverable, remove_everywhere, start_libvirtd,
    start_module, states, wait_for_phase, wait_for_postcopy_on_both, wait_for_states, where_is)
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import open_connection
from ansible_collections.workload_aware.live_migration.plugins.module_utils.recovery import DISCARDED, HUNG

RUNNING = libvirt.VIR_DOMAIN_RUNNING
# The post-copy fault tests' recovery budget. A resume that gets through does so within about 10 s of the
# link coming back (docs/fault-tolerance.md); a refused one is refused until the budget ends, which the
# test then waits out. 30 s was tried (session 12): a CI run then met a VM stuck by an earlier fault that
# the next post-copy test's migration could not get past (#17's order-dependence), which the runs at 60 s
# had not met, so the budget stays 60 s until the stuck state is understood.
BUDGET_S = 60
# The namespace of benchmark_vms' metadata in a domain XML (roles/benchmark_vms/templates/domain.xml.j2).
WA_METADATA_NS = 'https://workload-aware.example/live-migration/1'


def request(vm, source, dest, **args):
    # The test bed's libvirt_host role built the upstream resume fix into its libvirt 11.3 and says so.
    values = dict(name=vm, uri=HOSTS[source].uri, dest_uri=HOSTS[dest].migration_uri,
                  dest_control_uri=HOSTS[dest].uri, bandwidth_mibps=80, link_timeout_s=5,
                  postcopy_recoverable=postcopy_recoverable())
    values.update(args)
    return values


def start_migration(vm, source, dest, tmp_path, **args):
    progress = str(tmp_path / ('%s.progress' % vm))
    return start_module(source, 'wa_migrate', request(vm, source, dest, progress_file=progress, **args)), progress


def migrate(vm, source, dest, check=False, **args):
    return module_result(start_module(source, 'wa_migrate', request(vm, source, dest, **args), check=check))


def lost(vms):
    """The VMs that run on no host."""
    return [vm for vm in vms if RUNNING not in where_is(vm).values()]


# The post-copy fault tests' own VMs: wa-write's guest (40 MiB/s writer, every page verified) without the
# NIC and the disk it does not use, a fresh one per test under a name of its own, so that a VM a fault
# leaves stuck (a libvirt job that never ends) cannot reach into the next test.
PC_VMS = itertools.count(1)


@pytest.fixture
def pc_vm(testbed):
    """A fresh copy of wa-write's guest, booted on the host that runs wa-write; removed afterwards."""
    vm = 'wa-pcfault%d' % next(PC_VMS)
    home = current_host('wa-write')
    conn = open_connection(HOSTS[home].uri)
    try:
        xml = etree.fromstring(conn.lookupByName('wa-write').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
        for path in ('uuid', 'devices/interface', 'devices/disk'):
            for node in xml.findall(path):
                node.getparent().remove(node)
        xml.find('name').text = vm
        # At the normal CPU priority, as every fault test was written for (the test bed runs wa-write at the
        # lowest, docs/testbed.md): there, a cut in the switch-over once found the destination's QEMU gone.
        for marks in xml.iterfind('metadata/{%s}benchmark' % WA_METADATA_NS):
            marks.set('cpu_priority', 'normal')
        xml.find('devices/serial/source').set('path', console_log(vm))
        open(console_log(vm), 'w').close()
        conn.defineXML(etree.tostring(xml).decode()).create()
    finally:
        conn.close()
    assert_healthy_after(vm, 0)
    yield vm
    remove_everywhere(vm)


@pytest.fixture
def bed(testbed):
    """`home = bed(vm)`: the host the VM runs on now; after the test, one healthy copy of it runs again."""
    taken = []

    def take(vm):
        home = current_host(vm)
        taken.append((vm, home))
        return home

    yield take
    # A test may have killed a daemon: every host's libvirtd runs again first (a no-op where it runs).
    for host in HOSTS:
        start_libvirtd(host)
    for vm, home in taken:
        print('GIVE BACK %s: %s' % (vm, give_back(vm, home)))


def test_link_drop_in_precopy_aborts_and_the_vm_stays_then_a_retry_moves_it(bed, tmp_path):
    home = bed('wa-read')
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


def test_the_test_bed_runs_a_libvirt_that_can_resume_post_copy(testbed):
    # The libvirt_host role's fact; the resumes below prove the fix is really in.
    assert postcopy_recoverable() is True


def cut_postcopy(vm, tmp_path, reject, down_s=None, while_down=None, **args):
    """Start a post-copy of `vm` at 20 MiB/s, and once it runs on both hosts, cut the link (reset connections,
    or drop packets silently) for `down_s` seconds, or while `while_down(vm, home, dest)` runs.  Returns
    (result, home, seq before)."""
    home = current_host(vm)
    seq = latest_seq(vm)
    process, _progress = start_migration(vm, home, other(home), tmp_path, method='postcopy',
                                         bandwidth_mibps=20, **args)
    wait_for_postcopy_on_both(vm, home, other(home))
    with LinkDown(other(home), reject=reject):
        if while_down is None:
            time.sleep(down_s)
        else:
            while_down(vm, home, other(home))
    return module_result(process), home, seq


def assert_resumed_or_reported(vm, result, home, seq, what):
    """A post-copy whose link failed ends resumed, healthy on the destination; or, where libvirt's resume
    cannot get through (its migrate-recover waits on a destination QEMU whose main thread waits for a page
    still on the source: docs/fault-tolerance.md), the module says so within its budget, with the exact
    split and the operator's steps.  Never a silent or endless run."""
    print('POST-COPY FAULT %s: %s' % (what, dict((k, result.get(k)) for k in (
        'recovered', 'recovery_attempts', 'wall_time_s', 'msg'))))
    assert result['postcopy_failed'] is True, result
    if result.get('recovered'):
        assert not result.get('failed'), result.get('msg')
        assert result['vm_location'] == {'source': None, 'destination': 'running'}
        assert where_is(vm) == {other(home): RUNNING}
        # Every page verified on the destination, several times over.
        assert_healthy_after(vm, seq)
        print('GUEST STALL %s: longest gap between health reports %.1f s'
              % (what, longest_report_gap_s(vm, seq)))
        resend = result['resend']
        print('RESENT %s: %s' % (what, dict((k, None if v is None else round(v / 1048576.0, 2))
                                            for k, v in resend.items())))
        # libvirt's statistics of both jobs came: what the resume sent covers what was still to send.
        assert resend['sent_after_resume_bytes'] is not None and resend['resent_bytes'] >= 0, resend
        return True
    assert result.get('failed') and result['recovery_attempts'], result
    assert result['vm_location']['source'] == 'paused (post-copy failed)', result['vm_location']
    # The destination holds the guest's CPUs: in post-copy, or (a cut in the switch-over) still
    # `paused (migration)`.
    assert result['vm_location']['destination'] in (
        'running (post-copy)', 'running (post-copy failed)', 'paused (post-copy)', 'paused (post-copy failed)',
        'paused (migration)'), result['vm_location']
    assert result['operator_steps'][0].startswith('Do not destroy')
    print('NOT RESUMED %s: %s' % (what, 'the resume call hung' if result['recovery_attempts'][-1] == HUNG
                                  else result['recovery_attempts'][-1]))
    return False


def assert_discarded_then_cold_booted(vm, result, home, what):
    """The cut landed before the source's libvirt saw post-copy begin: libvirt stopped the destination's copy and
    QEMU will not restart the source (recovery.DISCARDED, docs/fault-tolerance.md).  The module says so without
    spending its budget, with the steps; done as written (by libvirt's API here), they boot the guest again on
    the source, where every page then checks out."""
    assert result.get('failed') and result['recovered'] is False and result['recovery_blocker'] == DISCARDED, result
    assert result['vm_location'] == {'source': 'paused (post-copy failed)', 'destination': None}
    assert where_is(vm) == {home: libvirt.VIR_DOMAIN_PAUSED}
    assert len(result['recovery_attempts']) <= 3, result['recovery_attempts']  # of the 30 its budget allows
    assert 'domstate %s' % vm in result['operator_steps'][0]
    assert 'destroy %s, then' % vm in result['operator_steps'][1] and 'start %s' % vm in result['operator_steps'][1]
    conn = open_connection(HOSTS[home].uri)
    try:
        dom = conn.lookupByName(vm)
        dom.destroy()
        open(console_log(vm), 'w').close()
        dom.create()
    finally:
        conn.close()
    assert_healthy_after(vm, 0)
    print('DISCARDED %s: reported in %s s; cold-booted on the source, healthy' % (what, result.get('wall_time_s')))


def test_link_reset_in_postcopy_is_resumed_and_the_vm_ends_healthy_on_the_destination(pc_vm, tmp_path):
    vm = pc_vm
    daemons = dict((host, libvirtd_pid(host)) for host in HOSTS)
    started = time.monotonic()
    result, home, seq = cut_postcopy(vm, tmp_path, reject=True, down_s=5, recovery_budget_s=BUDGET_S)
    assert_resumed_or_reported(vm, result, home, seq, 'after a reset link')
    assert time.monotonic() - started < BUDGET_S + 60, 'the module must answer within its recovery budget'
    # No libvirtd died of what the collection did (libvirt 11.3 unfixed kills the destination's here).
    assert dict((host, libvirtd_pid(host)) for host in HOSTS) == daemons


def test_silent_link_in_postcopy_is_paused_by_the_collection_then_resumed(pc_vm, tmp_path):
    vm = pc_vm
    # Dropped packets: no error ever reaches QEMU; the collection sees no byte move for 5 s and pauses it.
    result, home, seq = cut_postcopy(vm, tmp_path, reject=False, down_s=12, recovery_budget_s=BUDGET_S + 30)
    assert any(event['event'] in ('postcopy-paused', 'postcopy-pause-failed') for event in result['events']), \
        result['events']
    assert_resumed_or_reported(vm, result, home, seq, 'after a silent link')


def test_link_cut_in_the_switch_over_window_ends_resumed_or_reported(pc_vm, tmp_path):
    """The cut comes the moment the source pauses for post-copy, while the destination may not have run
    the guest yet (`paused (migration)`): whichever side of that moment it lands, the VM ends running on
    exactly one host with every page verified, or split and reported as the other post-copy faults, or (the
    cut before the source's libvirt saw post-copy begin) discarded on the destination by libvirt, reported
    at once, and cold-booted on the source by the operator's steps."""
    vm = pc_vm
    home = current_host(vm)
    dest = other(home)
    seq = latest_seq(vm)
    process, _progress = start_migration(vm, home, dest, tmp_path, method='postcopy', bandwidth_mibps=20,
                                         recovery_budget_s=BUDGET_S)
    at_cut = wait_for_states(vm, {home: (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_POSTCOPY)})
    with LinkDown(dest, reject=True):
        time.sleep(3)
    result = module_result(process)
    print('SWITCH-OVER CUT: destination was %s at the cut; recovered %s; %s' % (
        at_cut.get(dest), result.get('recovered'), result.get('msg') or result.get('vm_location')))
    if result.get('postcopy_failed'):
        if result.get('recovery_blocker') == DISCARDED:
            assert_discarded_then_cold_booted(vm, result, home, 'in the switch-over')
        else:
            assert_resumed_or_reported(vm, result, home, seq, 'in the switch-over')
        return
    where = where_is(vm)
    if result.get('failed'):
        # A migration that never reached post-copy on the destination fails: the source, which has every
        # page, runs on.
        assert where == {home: RUNNING} and result['vm_location']['source'] == 'running', result
    else:
        assert where == {dest: RUNNING} and result['vm_location'] == {'source': None, 'destination': 'running'}
    assert_healthy_after(vm, seq)


def test_the_destinations_libvirtd_restarted_while_the_vm_is_split_ends_resumed_or_reported(pc_vm, tmp_path):
    """The link resets in post-copy, and while the VM is split the destination's libvirtd is killed and started
    again: the restarted daemon finds the split VM's QEMU, and the module's resume gets through once the link
    is back, or says why within its budget."""
    def restart_destination(vm, home, dest):
        wait_for_states(vm, {home: (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)})
        kill_libvirtd(dest)
        start_libvirtd(dest)
        print('DESTINATION RESTARTED while split: %s' % states(vm))
        time.sleep(2)

    result, home, seq = cut_postcopy(pc_vm, tmp_path, reject=True, while_down=restart_destination,
                                     recovery_budget_s=BUDGET_S + 30)
    assert_resumed_or_reported(pc_vm, result, home, seq, 'after the destination libvirtd restarted')


def test_link_back_after_the_recovery_budget_fails_with_the_split_and_a_rerun_resumes_it(pc_vm, tmp_path):
    vm = pc_vm
    home = current_host(vm)
    seq = latest_seq(vm)
    process, _progress = start_migration(vm, home, other(home), tmp_path, method='postcopy',
                                         bandwidth_mibps=20, recovery_budget_s=6)
    wait_for_postcopy_on_both(vm, home, other(home))
    with LinkDown(other(home), reject=True):
        result = module_result(process)
    assert result.get('failed') and result['postcopy_failed'] is True and result['recovered'] is False, result
    assert result['vm_location']['source'] == 'paused (post-copy failed)'
    assert 'post-copy' in result['vm_location']['destination']
    assert 'source: paused (post-copy failed)' in result['msg'] and 'attempts over 6 s failed' in result['msg']
    assert result['operator_steps'][0].startswith('Do not destroy')
    assert '--postcopy-resume %s' % vm in result['operator_steps'][-1]
    assert result['recovery_blocker'] is None
    # The link is back: a re-run finds the split and resumes it (or says, within its budget, why it cannot).
    again = migrate(vm, home, other(home), method='postcopy', recovery_budget_s=BUDGET_S)
    if assert_resumed_or_reported(vm, dict(again, postcopy_failed=True), home, seq, 'by a re-run after the budget'):
        assert 'resumed' in again['reason']


def test_killed_destination_libvirtd_in_precopy_leaves_the_source_running(bed, tmp_path):
    home = bed('wa-read')
    seq = latest_seq('wa-read')
    process, progress = start_migration('wa-read', home, other(home), tmp_path, method='precopy', bandwidth_mibps=20)
    wait_for_phase(progress, 'pre-copy')
    kill_libvirtd(other(home))
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


def test_a_destination_killed_mid_evacuation_has_its_vms_moved_to_the_other_one(bed, tmp_path):
    # wa-read is in pre-copy to `dead` when its libvirtd is killed, wa-idle waits to go there too:
    # both go to `live` instead, as wa-cpu was planned to; none is lost, all end healthy.
    vms = ['wa-read', 'wa-idle', 'wa-cpu']
    home = bed(vms[0])
    for vm in vms[1:]:
        bed(vm)
        if current_host(vm) != home:
            assert not migrate(vm, current_host(vm), home, method='precopy', profile_window_s=0).get('failed')
    dead, live = sorted(host for host in HOSTS if host != home)
    seqs = dict((vm, latest_seq(vm)) for vm in vms)
    progress = str(tmp_path / 'evacuation.progress')
    moves = [dict(order=1, vm='wa-read', destination=dead, method='precopy', predicted_s=9.0),
             dict(order=2, vm='wa-idle', destination=dead, method='precopy', predicted_s=5.0),
             dict(order=3, vm='wa-cpu', destination=live, method='precopy', predicted_s=5.0)]
    destinations = dict((host, dict(uri=HOSTS[host].migration_uri, control_uri=HOSTS[host].uri,
                                    postcopy_capable=True)) for host in (dead, live))
    process = start_module(home, 'wa_evacuate', dict(uri=HOSTS[home].uri, moves=moves, destinations=destinations,
                                                     bandwidth_mibps=20, link_timeout_s=5, progress_file=progress))
    wait_for_phase(progress, 'pre-copy')
    kill_libvirtd(dead)
    result = module_result(process)
    start_libvirtd(dead)
    assert not result.get('failed'), result.get('msg')
    assert sorted((m['vm'], m['destination']) for m in result['moved']) == sorted((vm, live) for vm in vms), result
    [failure] = result['destination_failures']
    assert failure['destination'] == dead
    assert sorted(entry['vm'] for entry in failure['re_planned']) == ['wa-idle', 'wa-read'], failure
    assert not result['left_behind'], result['left_behind']
    # libvirt says where each runs, once the restarted daemon has dropped the half-made incoming wa-read.
    deadline = time.monotonic() + 30
    while any(where_is(vm) != {live: RUNNING} for vm in vms) and time.monotonic() < deadline:
        time.sleep(1)
    assert dict((vm, where_is(vm)) for vm in vms) == dict((vm, {live: RUNNING}) for vm in vms)
    assert lost(vms) == []
    for vm in vms:
        assert_healthy_after(vm, seqs[vm])


def test_the_sources_libvirtd_restarted_mid_evacuation_has_the_cut_move_made_again(bed, tmp_path):
    # wa-read is in pre-copy when the source's libvirtd is killed and started again: the restarted daemon cancels
    # the out-going migration and runs the guest whole on the source; the evacuation waits for that, moves it again,
    # then wa-idle. None is lost, all end healthy, and the result says what happened.
    vms = ['wa-read', 'wa-idle']
    home = bed(vms[0])
    bed(vms[1])
    if current_host(vms[1]) != home:
        assert not migrate(vms[1], current_host(vms[1]), home, method='precopy', profile_window_s=0).get('failed')
    dest = other(home)
    seqs = dict((vm, latest_seq(vm)) for vm in vms)
    progress = str(tmp_path / 'evacuation.progress')
    moves = [dict(order=1, vm='wa-read', destination=dest, method='precopy', predicted_s=9.0),
             dict(order=2, vm='wa-idle', destination=dest, method='precopy', predicted_s=5.0)]
    destinations = {dest: dict(uri=HOSTS[dest].migration_uri, control_uri=HOSTS[dest].uri, postcopy_capable=True)}
    process = start_module(home, 'wa_evacuate', dict(uri=HOSTS[home].uri, moves=moves, destinations=destinations,
                                                     bandwidth_mibps=20, link_timeout_s=5, progress_file=progress))
    wait_for_phase(progress, 'pre-copy')
    kill_libvirtd(home)
    time.sleep(2)
    start_libvirtd(home)
    result = module_result(process)
    assert not result.get('failed'), result.get('msg')
    assert sorted((m['vm'], m['destination']) for m in result['moved']) == sorted((vm, dest) for vm in vms), result
    assert not result['left_behind'], result['left_behind']
    [failure] = result['source_failures']
    assert failure['vm'] == 'wa-read' and failure['made_again'], failure
    assert dict((vm, where_is(vm)) for vm in vms) == dict((vm, {dest: RUNNING}) for vm in vms)
    assert lost(vms) == []
    for vm in vms:
        assert_healthy_after(vm, seqs[vm])


def test_the_stop_file_during_a_postcopy_of_an_evacuation_lets_it_finish_and_starts_nothing_more(
        bed, pc_vm, tmp_path):
    # A post-copy has no copy left to go back to: it finishes; the move waiting behind it does not start.
    vm = pc_vm
    home = current_host(vm)
    bed('wa-idle')
    if current_host('wa-idle') != home:
        assert not migrate('wa-idle', current_host('wa-idle'), home, method='precopy', profile_window_s=0).get('failed')
    dest = other(home)
    seqs = dict((name, latest_seq(name)) for name in (vm, 'wa-idle'))
    progress, stop = str(tmp_path / 'evacuation.progress'), str(tmp_path / 'stop')
    moves = [dict(order=1, vm=vm, destination=dest, method='postcopy', predicted_s=9.0),
             dict(order=2, vm='wa-idle', destination=dest, method='precopy', predicted_s=5.0)]
    destinations = {dest: dict(uri=HOSTS[dest].migration_uri, control_uri=HOSTS[dest].uri, postcopy_capable=True)}
    process = start_module(home, 'wa_evacuate', dict(uri=HOSTS[home].uri, moves=moves, destinations=destinations,
                                                     bandwidth_mibps=20, progress_file=progress, stop_file=stop))
    wait_for_phase(progress, 'post-copy')
    open(stop, 'w').close()
    result = module_result(process)
    assert not result.get('failed'), result.get('msg')
    assert [(m['vm'], m['destination']) for m in result['moved']] == [(vm, dest)], result
    assert [(m['vm'], m['reason']) for m in result['left_behind']] == [
        ('wa-idle', 'stopped by the operator before it started')], result['left_behind']
    assert where_is(vm) == {dest: RUNNING} and where_is('wa-idle') == {home: RUNNING}
    assert lost([vm, 'wa-idle']) == []
    for name in (vm, 'wa-idle'):
        assert_healthy_after(name, seqs[name])


def test_auto_never_picks_postcopy_for_a_destination_without_userfaultfd(bed):
    home = bed('wa-write')
    # 20 MiB/s for a 40 MiB/s writer: with post-copy possible the model picks it.
    able = module_result(start_module(home, 'wa_migrate', request('wa-write', home, other(home), bandwidth_mibps=20),
                                      check=True))
    unable = module_result(start_module(home, 'wa_migrate', request(
        'wa-write', home, other(home), bandwidth_mibps=20, destination_postcopy_capable=False), check=True))
    assert able.get('method_chosen') in ('postcopy', 'hybrid'), able
    assert unable.get('method_chosen') not in ('postcopy', 'hybrid'), unable
    assert where_is('wa-write') == {home: RUNNING}


def test_a_destination_without_the_vms_storage_refuses_it_and_the_vm_stays(bed):
    """A VM whose disk is a file only its host has (each test-bed host has its own /var/lib/libvirt)."""
    home = bed('wa-idle')
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


def test_two_runs_for_one_vm_one_moves_it_and_the_other_is_refused(bed):
    home = bed('wa-idle')
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


def test_a_killed_controller_leaves_a_known_state_and_a_rerun_finishes(bed, tmp_path):
    home = bed('wa-write')
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
