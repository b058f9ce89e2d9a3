# -*- coding: utf-8 -*-
"""A failed post-copy whose destination copy is gone: what the module reports (migration.discarded), and the check
the resume loop asks after each failed try (migration.destination_gone).  Fake connections, no libvirt daemon."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.workload_aware.live_migration.plugins.module_utils import migration, recovery, runner
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt

PAUSED, POSTCOPY_FAILED = libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED


class NoDomain(libvirt.libvirtError):
    def get_error_code(self):
        return libvirt.VIR_ERR_NO_DOMAIN


class Domain:
    def __init__(self, name='vm1', state=(PAUSED, POSTCOPY_FAILED), persistent=True, dying=False):
        self._name, self._state, self.persistent, self.dying = name, state, persistent, dying

    def name(self):
        return self._name

    def state(self):
        return list(self._state)

    def isPersistent(self):
        if self.dying:
            raise libvirt.libvirtError('client socket is closed')
        return 1 if self.persistent else 0


class Conn:
    """A host holding `dom` (None: no such domain); `dying`: every remote call fails; `stall`: lookups wait."""

    def __init__(self, dom=None, dying=False, stall=None):
        self.dom, self.dying, self.stall = dom, dying, stall

    def getURI(self):
        if self.dying:
            raise libvirt.libvirtError('client socket is closed')
        return 'qemu:///system'

    def lookupByName(self, name):
        if self.stall is not None:
            self.stall.wait(30)
        if self.dom is None:
            raise NoDomain('Domain not found: no domain with matching name %r' % name)
        return self.dom


class Options:
    dest_uri = 'qemu+tls://hv2/system'


WHERE = {'source': 'paused (post-copy failed)', 'destination': None}


def test_the_report_keeps_the_migrations_error_and_gives_the_cold_boot_steps():
    dom = Domain()
    failure = migration.discarded(Conn(dom), dom, Options(), WHERE, {'error': 'Unable to write to socket'})
    assert isinstance(failure, runner.MigrationFailed)
    assert 'Unable to write to socket' in str(failure) and 'cannot be resumed' in str(failure)
    details = failure.details
    assert details['postcopy_failed'] is True and details['recovered'] is False
    assert details['recovery_blocker'] == recovery.DISCARDED and details['recovery_attempts'] == []
    assert details['vm_location'] == WHERE and details['destination_state'] is None
    assert details['operator_steps'][1].endswith('virsh -c qemu:///system start vm1.')


def test_a_source_daemon_dying_while_the_report_is_made_still_gives_both_ways_to_boot_it():
    dom = Domain(dying=True)
    details = migration.discarded(Conn(dom, dying=True), dom, Options(), WHERE, {'recovery_attempts': ['x']}).details
    steps = details['operator_steps'][1]
    assert 'virsh (on the source) start vm1' in steps and 'create vm1.xml' in steps
    assert details['recovery_attempts'] == ['x']


def test_the_destination_is_gone_only_where_it_answers_that_it_has_no_such_domain():
    assert migration.destination_gone(Conn(Domain()), Conn(None), 'vm1')
    assert not migration.destination_gone(Conn(Domain()), Conn(Domain(state=(PAUSED, POSTCOPY_FAILED))), 'vm1')
    # A destination that does not answer in time is not taken for gone: the resume goes on trying.
    stall = threading.Event()
    try:
        assert not migration.destination_gone(Conn(Domain()), Conn(None, stall=stall), 'vm1', timeout_s=0.2)
    finally:
        stall.set()
