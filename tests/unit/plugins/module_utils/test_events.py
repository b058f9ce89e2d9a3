# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _events
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt

LIFECYCLE, JOB_COMPLETED = libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED


class Conn:
    """Registers events except `refused` ones; deregistering fails where `dead`."""

    def __init__(self, refused=(), dead=False):
        self.refused, self.dead = refused, dead
        self.registered = {}
        self.ids = iter(range(1, 100))

    def domainEventRegisterAny(self, dom, event_id, callback, opaque):
        if event_id in self.refused:
            raise libvirt.libvirtError('this libvirt has no such event')
        callback_id = next(self.ids)
        self.registered[callback_id] = (dom, event_id, callback)
        return callback_id

    def domainEventDeregisterAny(self, callback_id):
        if self.dead:
            raise libvirt.libvirtError('client socket is closed')
        del self.registered[callback_id]


def handler(*_args):
    return None


def test_the_callbacks_are_registered_within_the_block_only():
    conn = Conn()
    with _events.subscribed(conn, 'dom', [(LIFECYCLE, handler), (JOB_COMPLETED, handler)]) as ids:
        assert ids == [1, 2]
        assert sorted(event for _dom, event, _cb in conn.registered.values()) == sorted([LIFECYCLE, JOB_COMPLETED])
    assert conn.registered == {}


def test_an_error_in_the_block_still_deregisters_and_is_raised():
    conn = Conn()
    with pytest.raises(RuntimeError):
        with _events.subscribed(conn, None, [(LIFECYCLE, handler)]):
            raise RuntimeError('the migration failed')
    assert conn.registered == {}


def test_a_refused_event_raises_unless_optional_and_undoes_the_ones_made():
    conn = Conn(refused=(JOB_COMPLETED,))
    with pytest.raises(libvirt.libvirtError):
        with _events.subscribed(conn, 'dom', [(LIFECYCLE, handler), (JOB_COMPLETED, handler)]):
            pass
    assert conn.registered == {}
    with _events.subscribed(conn, 'dom', [(LIFECYCLE, handler), (JOB_COMPLETED, handler)], optional=True) as ids:
        assert len(ids) == 1 and conn.registered[ids[0]][1] == LIFECYCLE
    assert conn.registered == {}


def test_a_dead_connection_is_not_an_error_on_the_way_out():
    conn = Conn()
    with _events.subscribed(conn, 'dom', [(LIFECYCLE, handler)]):
        conn.dead = True
    assert len(conn.registered) == 1
