# -*- coding: utf-8 -*-
"""A VM writing 40 MiB/s migrates live between the two test-bed hosts by
pre-copy, post-copy and hybrid, with plain libvirt-python, and its memory
verification still passes on the destination after each move."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import libvirt
import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import guest_health

from libvirt_migration import ensure_event_loop, migrate
from testbed_helpers import console_log

VM = 'wa-it-write'
BANDWIDTH_MIBPS = 80
POSTCOPY_EVENT = (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY)


def wait_for_reports(after_seq, count, timeout=60):
    """Reports with seq > after_seq, at least `count` of them."""
    path = console_log(VM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [r for r in guest_health.reports(guest_health.read_console_tail(path)) if r.seq > after_seq]
        if len(fresh) >= count:
            return fresh
        time.sleep(0.5)
    pytest.fail('%s: fewer than %d reports after seq %d within %ds: the guest stopped' % (VM, count, after_seq, timeout))


@pytest.fixture(autouse=True, scope='module')
def libvirt_events():
    # Before any connection is opened, so that every connection can deliver events.
    ensure_event_loop()


def where_is(hosts):
    found = {}
    for host in hosts.values():
        conn = libvirt.open(host.uri)
        try:
            dom = conn.lookupByName(VM)
            found[host.name] = dom.state()[0]
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    return found


@pytest.mark.parametrize('method, source, dest', [
    ('precopy', 'hv1', 'hv2'),
    ('postcopy', 'hv2', 'hv1'),
    ('hybrid', 'hv1', 'hv2'),
])
def test_migrates_a_writing_vm_and_it_stays_healthy(testbed, method, source, dest):
    assert where_is(testbed) == {source: libvirt.VIR_DOMAIN_RUNNING}
    last = guest_health.latest_report_in_file(console_log(VM))
    before = wait_for_reports(last.seq if last else 0, 2)
    assert all(r.healthy for r in before)
    assert before[-1].work >= 30, 'the generator must dirty at least 30 MiB/s'

    conn = libvirt.open(testbed[source].uri)
    try:
        record = migrate(conn, VM, testbed[dest].migration_uri, method, BANDWIDTH_MIBPS)
    finally:
        conn.close()
    print('%s %s->%s events: %s stats: %s' % (method, source, dest, record.events, record.job_stats))

    assert where_is(testbed) == {dest: libvirt.VIR_DOMAIN_RUNNING}
    lifecycle = record.values('lifecycle')
    iterations = record.iterations()
    if method == 'precopy':
        assert POSTCOPY_EVENT not in lifecycle
        assert record.switched_at is None
    else:
        assert POSTCOPY_EVENT in lifecycle, 'the source never entered post-copy'
    if method == 'hybrid':
        # Switched once the first full pass was done: iteration 2 had begun, and not before.
        assert 2 in record.values('iteration', before='postcopy-switch')
    if method == 'postcopy':
        assert iterations and iterations[0] == 1
        assert max(record.values('iteration', before='postcopy-switch')) == 1, 'post-copy switches during pass 1'

    # Every page is re-verified within 2 s: 5 fresh reports cover the whole working set twice.
    after = wait_for_reports(before[-1].seq, 8)
    assert all(r.healthy for r in after), [r for r in after if not r.healthy][:1]
    assert after[-1].work >= 30, 'the generator runs at full speed again on the destination'
