# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stop QEMU polling the balloon's memory statistics while a VM may be in post-copy.

QEMU's main thread polls the virtio balloon's statistics every `period`
seconds (libvirt's <memballoon><stats period='N'/>; Nova sets 10 s, the test
bed 1 s), reading a buffer in guest memory.  On a post-copy destination
whose link has failed, a poll that touches a page not yet copied blocks the
main thread in userfaultfd - and with it QEMU's monitor, through which
libvirt sends `migrate-recover` (QEMU allows it out-of-band, libvirt sends it
in-band).  The resume then hangs in the destination's libvirtd and the VM
cannot be recovered.  Seen on the test bed: the destination libvirtd held
its state lock in MigratePrepare3Params for ten minutes while QEMU's main
thread sat in handle_userfault.  So the collection turns the polling off
for the migration and back on, as the VM's definition has it, where the VM
runs afterwards (a VM left split keeps it off until it is resumed).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import etree, libvirt


def period_of(domain_xml):
    """The balloon statistics period (seconds) of a domain XML; 0 when there is none."""
    stats = etree.fromstring(domain_xml.encode() if isinstance(domain_xml, str) else domain_xml).find(
        'devices/memballoon/stats')
    if stats is None:
        return 0
    try:
        return int(stats.get('period', '0'))
    except ValueError:
        return 0


def needs_pause(method, postcopy_possible):
    """Whether a migration may run in post-copy: by its method, or as the fallback of a stalled pre-copy."""
    return method in ('postcopy', 'hybrid') or bool(postcopy_possible)


def pause(dom):
    """Turn the running VM's statistics polling off (best effort: the migration goes on either way);
    returns the period it had (0: it was off, or could not be turned off)."""
    try:
        period = period_of(dom.XMLDesc(0))
        if period:
            dom.setMemoryStatsPeriod(0, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    except libvirt.libvirtError:
        return 0
    return period


def restore(dom):
    """Turn the polling back on as the VM's definition has it, if it is off (best effort: the VM runs either way).

    Returns what was done or why not, for the result; None when there was nothing to do.
    """
    try:
        period = period_of(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        if not period or period_of(dom.XMLDesc(0)):
            return None
        dom.setMemoryStatsPeriod(period, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    except libvirt.libvirtError as err:
        return 'balloon statistics left off: %s' % err.get_error_message()
    return 'balloon statistics back on (every %d s)' % period
