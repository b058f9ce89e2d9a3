# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a VM is, and whether a destination can take it: checked before
anything is touched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import etree, libvirt

STATE_NAMES = {
    0: 'no state', 1: 'running', 2: 'blocked', 3: 'paused', 4: 'shutdown', 5: 'shut off', 6: 'crashed',
    7: 'pmsuspended',
}
# Reasons for VIR_DOMAIN_PAUSED worth naming to an operator (numbers: libvirt may be
# missing when this module is imported; the module then fails with the import error).
PAUSED_REASONS = {2: 'migration', 12: 'post-copy', 13: 'post-copy failed'}


class PreflightError(Exception):
    """The migration must not start; nothing was touched."""


def describe_state(state, reason):
    name = STATE_NAMES.get(state, str(state))
    if state == libvirt.VIR_DOMAIN_PAUSED and reason in PAUSED_REASONS:
        name += ' (%s)' % PAUSED_REASONS[reason]
    return name


def find(conn, name):
    """(domain, (state, reason)) on this connection, or (None, None)."""
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None, None
        raise
    return dom, tuple(dom.state())


def host_uuid(conn):
    caps = etree.fromstring(conn.getCapabilities().encode('utf-8'))
    return caps.findtext('host/uuid')


def domain_type(dom):
    return etree.fromstring(dom.XMLDesc(0).encode('utf-8')).get('type')


def check_distinct_hosts(source, destination):
    """Raise PreflightError when both connections reach the same host (same host UUID)."""
    uuid = host_uuid(source)
    if uuid == host_uuid(destination):
        raise PreflightError('the destination is the source host itself (host UUID %s)' % uuid)


def check_can_migrate(source, destination, dom, need_postcopy, destination_postcopy_capable):
    """Raise PreflightError unless `dom` on `source` can go to `destination` now."""
    name = dom.name()
    state, reason = dom.state()
    in_postcopy = reason in (libvirt.VIR_DOMAIN_PAUSED_POSTCOPY, libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)
    if state not in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED) or in_postcopy:
        raise PreflightError('%s is %s on the source; only a running VM can be live-migrated'
                             % (name, describe_state(state, reason)))
    if dom.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE:
        raise PreflightError('a migration (or another job) of %s is already in progress' % name)
    needed = dom.info()[1] * 1024
    free = destination.getFreeMemory()
    if free < needed:
        raise PreflightError('the destination has %d MiB free, %s needs %d MiB'
                             % (free // 2 ** 20, name, needed // 2 ** 20))
    if need_postcopy and not destination_postcopy_capable:
        raise PreflightError('post-copy was asked for, but the destination cannot do post-copy (no userfaultfd)')
