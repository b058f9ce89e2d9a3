# -*- coding: utf-8 -*-
"""A VM writing 40 MiB/s migrates live between the two test-bed hosts by
pre-copy, post-copy and hybrid, with plain libvirt-python, and its memory
verification still passes on the destination after each move."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt
import pytest

from libvirt_migration import ensure_event_loop, migrate
from testbed_helpers import HOSTS, assert_healthy_after, current_host, latest_seq, other_host, reports_after, where_is

VM = 'wa-write'
BANDWIDTH_MIBPS = 80
POSTCOPY_EVENT = (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY)


@pytest.fixture(autouse=True, scope='module')
def libvirt_events():
    # Before any connection is opened, so that every connection can deliver events.
    ensure_event_loop()


@pytest.mark.parametrize('method', ['precopy', 'postcopy', 'hybrid'])
def test_migrates_a_writing_vm_and_it_stays_healthy(testbed, method):
    source = current_host(VM)
    dest = other_host(source)
    before = reports_after(VM, latest_seq(VM), 2)
    assert all(r.healthy for r in before)
    assert before[-1].work >= 30, 'the generator must dirty at least 30 MiB/s'

    conn = libvirt.open(HOSTS[source].uri)
    try:
        record = migrate(conn, VM, HOSTS[dest].migration_uri, method, BANDWIDTH_MIBPS)
    finally:
        conn.close()
    print('%s %s->%s events: %s stats: %s' % (method, source, dest, record.events, record.job_stats))

    assert where_is(VM) == {dest: libvirt.VIR_DOMAIN_RUNNING}
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

    # Every page is re-verified every 2 s: 8 fresh reports cover the working set 3 times.
    assert_healthy_after(VM, before[-1].seq, min_work=30)
