# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A post-copy migration whose link failed: resume it, or say exactly what to do.

After a post-copy failure the VM is split: its CPUs are on the destination
(running or paused, "post-copy failed") and the pages not yet sent are only on
the source (paused, "post-copy failed").  Destroying either side loses the VM.
libvirt resumes the same migration (VIR_MIGRATE_POSTCOPY_RESUME) once the link
is back; until then, and where libvirt cannot do it, the operator must know the
state and the steps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import runner
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt

# libvirt releases (major, minor) whose post-copy resume must not be called, and why.
RESUME_BROKEN = {
    (11, 2): 'libvirt 11.2 crashes the destination libvirtd (NULL fd in qemuMigrationDstPrepareResume) on every '
             'post-copy resume; fixed in libvirt 11.4.0',
    (11, 3): 'libvirt 11.3 crashes the destination libvirtd (segfault in qemuProcessIncomingDefNew) on every '
             'post-copy resume, measured with 11.3.0-2~bpo12+1 on the test bed; fixed in libvirt 11.4.0',
}
# VIR_MIGRATE_POSTCOPY_RESUME came with libvirt 8.5.
RESUME_SINCE = (8, 5)

POSTCOPY_FAILED = 'post-copy failed'

# Seconds a failed post-copy is retried before the operator is told.
DEFAULT_BUDGET_S = 120


def version_tuple(number):
    """libvirt's version number (major * 1,000,000 + minor * 1,000 + micro) as a tuple."""
    return (number // 1000000, number // 1000 % 1000, number % 1000)


def resume_blocker(source_version, dest_version, recoverable=None):
    """Why a failed post-copy between hosts with these libvirt versions (numbers) cannot be resumed, or None.

    `recoverable` is what the hosts are known to do (the libvirt_host role records it as
    ansible_local.wa_libvirt.postcopy_resume, true where it built the upstream fix into an
    affected release): True trusts them, False says they cannot, None judges by version.
    """
    if recoverable is True:
        return None
    if recoverable is False:
        return 'the destination is recorded as unable to resume a failed post-copy (postcopy_recoverable: false)'
    for side, number in (('source', source_version), ('destination', dest_version)):
        release = version_tuple(number)[:2]
        if release < RESUME_SINCE:
            return 'the %s runs libvirt %d.%d, older than %d.%d, which has no post-copy resume' % (
                (side,) + release + RESUME_SINCE)
        why = RESUME_BROKEN.get(release)
        if why:
            return why
    return None


def is_split(where):
    """Whether locate()'s answer is a VM split by a failed post-copy."""
    return bool(where.get('source')) and POSTCOPY_FAILED in where['source'] and bool(where.get('destination'))


def destination_discarded(where):
    """Whether locate()'s answer is a failed post-copy whose destination copy is gone: the source paused
    ("post-copy failed"), the destination without the VM.  Nothing can resume such a VM (DISCARDED)."""
    return POSTCOPY_FAILED in (where.get('source') or '') and where.get('destination') is None


DISCARDED = ("the destination has no copy of the VM left and the source cannot be restarted (QEMU refuses to "
             "restart a source once post-copy began: 'Postcopy migration in progress, cannot cancel'), so the VM's "
             "memory can be resumed nowhere; the likely cause is a link cut in the switch-over, before the source's "
             "libvirt saw post-copy begin: libvirt then takes the migration for failed and stops the incoming VM "
             "(libvirt 11.3, qemuMigrationDstFinishActive); a destination QEMU that died or was destroyed ends "
             "the same")


def discarded_steps(name, source_uri, dest_uri, persistent):
    """What an operator must do for a VM whose failed post-copy left it paused on the source only (DISCARDED):
    a cold boot from its disk, which holds every write the guest made.  `persistent`: whether the VM is defined
    on the source (None: unknown, both ways are given)."""
    source = 'virsh -c %s' % source_uri if source_uri else 'virsh (on the source)'
    if persistent:
        restart = '%s destroy %s, then %s start %s' % (source, name, source, name)
    elif persistent is None:
        restart = ('%s dumpxml %s > %s.xml, %s destroy %s, then %s start %s (where it is not defined there: %s '
                   'create %s.xml)' % (source, name, name, source, name, source, name, source, name))
    else:
        restart = ('%s dumpxml %s > %s.xml (it is not defined on the source), %s destroy %s, then %s create %s.xml'
                   % (source, name, name, source, name, source, name))
    return [
        'Check that %s runs nowhere else: virsh -c %s domstate %s must answer that there is no such domain.'
        % (name, dest_uri, name),
        'Start %s again from its disk on the source, a cold boot (what the guest held in memory only is lost, '
        'as in a crash of its host): %s.' % (name, restart),
    ]


def operator_steps(name, source_uri, dest_uri, blocker=None):
    """What an operator must do for a VM split by a failed post-copy, in order."""
    steps = [
        'Do not destroy, undefine or restart %s on either host: the destination has its CPU state, the '
        'source the memory not yet copied; either alone is not the VM.' % name,
        'Restore the migration link from the source to the destination (QEMU migration ports, 49152-49215 '
        'by default).',
    ]
    if blocker:
        steps.append('Upgrade libvirt on both hosts to a release whose post-copy resume works (%s).' % blocker)
    steps.append('Resume the migration: re-run workload_aware.live_migration.wa_migrate for %s with the same '
                 'destination, or run on the source: virsh -c %s migrate --live --p2p --persistent '
                 '--undefinesource --postcopy --postcopy-resume %s %s' % (name, source_uri, name, dest_uri))
    return steps


HUNG = ('the resume call did not return within the recovery budget: libvirt waits for the destination QEMU, '
        'whose monitor does not answer while its main thread waits for a page that is still on the source '
        '(QEMU takes migrate-recover out-of-band, libvirt sends it in-band)')


def call_within(call, timeout_s):
    """Run `call` in a thread of its own; (returned, libvirt error text or None).

    returned is False when the call is still running after timeout_s: a libvirt
    call that waits on a QEMU that never answers would otherwise hold the module
    (and an evacuation) for good.
    """
    outcome = {}

    def run():
        try:
            call()
        except libvirt.libvirtError as err:
            outcome['error'] = err.get_error_message() or str(err)

    worker = threading.Thread(target=run, name='postcopy-resume')
    worker.daemon = True
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        return False, None
    return True, outcome.get('error')


def resume(dom, options, interval_s=2.0, clock=time.monotonic, sleep=time.sleep, min_call_s=5.0, hopeless=None):
    """Try to resume the failed post-copy migration of `dom` (source side) until it works,
    `options.recovery_budget_s` ends, or `hopeless()` (asked after each failed try) says no try can work;
    no call is waited for past the budget (at least `min_call_s`).

    Returns (resumed, attempts): attempts lists the error of each failed try, HUNG for a call that never
    returned.
    """
    flags, params = runner.migration_flags(options)
    flags |= libvirt.VIR_MIGRATE_POSTCOPY | libvirt.VIR_MIGRATE_POSTCOPY_RESUME
    deadline = clock() + options.recovery_budget_s
    attempts = []
    while True:
        returned, error = call_within(lambda: dom.migrateToURI3(options.dest_uri, params, flags),
                                      max(min_call_s, deadline - clock()))
        if not returned:
            attempts.append(HUNG)
            return False, attempts
        if error is None:
            return True, attempts
        attempts.append(error)
        if clock() + interval_s > deadline or (hopeless is not None and hopeless()):
            return False, attempts
        sleep(interval_s)


def _pages_sent(stats):
    """Pages QEMU has sent, zero pages included (libvirt's memory_normal + memory_constant), or None."""
    if (stats or {}).get('memory_normal') is None:
        return None
    return stats['memory_normal'] + stats.get('memory_constant', 0)


def resend_figures(at_failure, completed):
    """What a resumed post-copy sent again, from libvirt's job statistics, in bytes of guest memory (pages times
    the page size, zero pages included); None where unknown.

    `at_failure`: the source's statistics of the failed job (its QEMU counts on across the resume),
    `completed`: those of the job the resume completed.  After the resume the source sends the pages the
    destination had not received: those still to send at the failure, plus those in flight when the link
    failed (sent, never received), which is what it sends again.
    """
    at_failure, completed = at_failure or {}, completed or {}
    remaining = at_failure.get('memory_remaining')
    page = completed.get('memory_page_size') or at_failure.get('memory_page_size')
    before, total = _pages_sent(at_failure), _pages_sent(completed)
    if None in (remaining, page, before, total) or total < before:
        return dict(remaining_at_failure_bytes=remaining, sent_after_resume_bytes=None, resent_bytes=None)
    after = (total - before) * page
    return dict(remaining_at_failure_bytes=remaining, sent_after_resume_bytes=after,
                resent_bytes=max(0, after - remaining))


def describe_split(where):
    return 'source: %s, destination: %s' % (where.get('source'), where.get('destination'))


def numbered(steps):
    """The operator's steps in one line of a message: '1. ... 2. ...'."""
    return ' '.join('%d. %s' % (i + 1, step) for i, step in enumerate(steps))
