# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _libvirt


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def daemon_back_after(clock, seconds):
    def open_connection(uri):
        if clock() < seconds:
            raise _libvirt.LibvirtUnavailable('cannot connect to libvirt at %s: Connection refused' % uri)
        return 'connection to %s' % uri
    return open_connection


def test_a_restarted_libvirtd_is_connected_to_again_once_it_listens(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(_libvirt, 'open_connection', daemon_back_after(clock, 4.5))
    assert _libvirt.reconnect('qemu+tls://hv2/system', 30, clock=clock, sleep=clock.sleep) == \
        'connection to qemu+tls://hv2/system'
    assert clock() == 5.0


def test_a_libvirtd_that_does_not_come_back_within_the_wait_is_reported_unavailable(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(_libvirt, 'open_connection', daemon_back_after(clock, 1000))
    with pytest.raises(_libvirt.LibvirtUnavailable, match='Connection refused'):
        _libvirt.reconnect('qemu+tls://hv2/system', 10, clock=clock, sleep=clock.sleep)
    assert clock() <= 10


class Conn:
    def __init__(self, alive=None, error=False):
        self._alive, self.error = alive, error

    def isAlive(self):
        if self.error:
            raise _libvirt.libvirt.libvirtError('client socket is closed')
        return self._alive


def test_a_connection_whose_daemon_went_away_is_not_alive():
    assert _libvirt.alive(Conn(alive=1)) is True
    assert _libvirt.alive(Conn(alive=0)) is False
    assert _libvirt.alive(Conn(error=True)) is False
