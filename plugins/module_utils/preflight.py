# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a VM is, and whether a destination can take it: checked before
anything is touched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import etree, libvirt
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError

RUNNING = 1   # libvirt.VIR_DOMAIN_RUNNING (libvirt may be missing at import time)
STATE_NAMES = {
    0: 'no state', 1: 'running', 2: 'blocked', 3: 'paused', 4: 'shutdown', 5: 'shut off', 6: 'crashed',
    7: 'pmsuspended',
}
# Reasons worth naming to an operator, per state (numbers: libvirt may be missing when
# this module is imported; the module then fails with the import error).
STATE_REASONS = {
    1: {10: 'post-copy', 11: 'post-copy failed'},                    # running: an incoming post-copy
    3: {2: 'migration', 12: 'post-copy', 13: 'post-copy failed'},    # paused
}


class PreflightError(WaError):
    """The migration must not start; nothing was touched."""


def describe_state(state, reason):
    name = STATE_NAMES.get(state, str(state))
    reason_name = STATE_REASONS.get(state, {}).get(reason)
    return '%s (%s)' % (name, reason_name) if reason_name else name


def in_postcopy(state, reason):
    """Whether this (state, reason) is either side of a running or failed post-copy migration."""
    return reason in STATE_REASONS.get(state, {}) and 'post-copy' in STATE_REASONS[state][reason]


def active_job(dom):
    """The source-side job type of `dom` (VIR_DOMAIN_JOB_NONE when none).

    Only for a VM that is not in post-copy: libvirt has no job statistics for
    the destination side of a migration.
    """
    return dom.jobInfo()[0]


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
    if state not in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED) or in_postcopy(state, reason):
        raise PreflightError('%s is %s on the source; only a running VM can be live-migrated'
                             % (name, describe_state(state, reason)))
    if active_job(dom) != libvirt.VIR_DOMAIN_JOB_NONE:
        raise PreflightError('a migration (or another job) of %s is already in progress' % name)
    needed = dom.info()[1] * 1024
    free = destination.getFreeMemory()
    if free < needed:
        raise PreflightError('the destination has %d MiB free, %s needs %d MiB'
                             % (free // 2 ** 20, name, needed // 2 ** 20))
    if need_postcopy and not destination_postcopy_capable:
        raise PreflightError('post-copy was asked for, but the destination cannot do post-copy (no userfaultfd)')
