# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live profiles of the running VMs of one libvirt host.

All VMs are measured over the same window at once, so profiling a host costs
the window, not the window times the number of VMs:

* domain statistics (CPU time, interface and block bytes, balloon) are read
  before and after the window, and turned into rates;
* the page dirty rate comes from libvirt's dirty-rate calculation, started on
  every VM together, in page-sampling mode: the dirty-bitmap and dirty-ring
  modes need KVM's dirty logging, and dirty-bitmap crashed a TCG guest's QEMU
  on the test bed.  It is never started on a VM with a job (a migration) in
  progress: that fails or stalls the migration.

One VM's failure (it vanished, the calculation is unsupported) is reported in
that VM's profile and never fails the others.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import preflight
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError

MIB = 1024.0 * 1024.0
PAGE_SAMPLING = 'page-sampling'
# Dirty-rate modes that need KVM's dirty logging.
KVM_ONLY_MODES = ('dirty-bitmap', 'dirty-ring')
# How long past its period a dirty-rate calculation may take before we give up on it.
DIRTY_RATE_GRACE_S = 5.0


class ProfileError(WaError):
    """The request cannot be profiled at all (e.g. an unknown VM)."""


def choose_dirty_rate_mode(domain_type, requested='auto'):
    """The dirty-rate mode to use for a domain of this type ('kvm' or 'qemu')."""
    if requested in ('auto', PAGE_SAMPLING):
        return PAGE_SAMPLING
    if requested in KVM_ONLY_MODES:
        if domain_type != 'kvm':
            raise ProfileError('dirty-rate mode %s needs KVM; this domain runs under %s' % (requested, domain_type))
        return requested
    raise ProfileError('unknown dirty-rate mode %r' % (requested,))


def _rate(before, after, key, elapsed_s):
    if key not in before or key not in after or elapsed_s <= 0:
        return 0.0
    return max(0.0, (after[key] - before[key]) / elapsed_s)


def _sum_rate(before, after, prefix, count_key, suffix, elapsed_s):
    count = int(after.get(count_key, 0))
    return sum(_rate(before, after, '%s.%d.%s' % (prefix, i, suffix), elapsed_s) for i in range(count))


def cpu_demand(before, after, elapsed_s, vcpus):
    """Fraction of its vCPUs' time the VM wanted: ran, or waited for a host CPU.

    On a busy host what a vCPU gets understates what it wants; the scheduler's
    run-queue delay (vcpu.N.delay) adds back the difference.  None when the
    host does not report it.
    """
    if 'vcpu.0.delay' not in after:
        return None
    wanted_ns = sum(_rate(before, after, 'vcpu.%d.time' % i, elapsed_s) + _rate(before, after, 'vcpu.%d.delay' % i, elapsed_s)
                    for i in range(vcpus))
    return round(min(1.0, wanted_ns / 1e9 / max(1, vcpus)), 3)


def rates_from_stats(before, after, elapsed_s, vcpus):
    """CPU utilisation and demand, and I/O rates, from two domain-stats snapshots taken elapsed_s apart."""
    cpu_ns = _rate(before, after, 'cpu.time', elapsed_s)
    return {
        'cpu_util': round(min(1.0, cpu_ns / 1e9 / max(1, vcpus)), 3),
        'cpu_demand': cpu_demand(before, after, elapsed_s, vcpus),
        'net_rx_mibps': round(_sum_rate(before, after, 'net', 'net.count', 'rx.bytes', elapsed_s) / MIB, 3),
        'net_tx_mibps': round(_sum_rate(before, after, 'net', 'net.count', 'tx.bytes', elapsed_s) / MIB, 3),
        'block_rd_mibps': round(_sum_rate(before, after, 'block', 'block.count', 'rd.bytes', elapsed_s) / MIB, 3),
        'block_wr_mibps': round(_sum_rate(before, after, 'block', 'block.count', 'wr.bytes', elapsed_s) / MIB, 3),
    }


def memory_from_stats(stats, memory_mib):
    """Memory in use and what a migration must send.

    Guest view from the balloon driver: used = available - unused. The guest
    kernel keeps (memory - available) outside its allocator (its image,
    reserved ranges); that is non-zero too.  QEMU skips zero pages, which are
    the guest's never-touched free pages, so what must cross the link is about
    used + (memory - available).  Without balloon statistics nothing better
    than the whole memory is known.
    """
    available = stats.get('balloon.available')
    unused = stats.get('balloon.unused')
    rss = stats.get('balloon.rss')
    result = {
        'memory_used_mib': None,
        'memory_rss_mib': round(rss / 1024.0, 1) if rss else None,
        'transfer_mib': float(memory_mib),
        'transfer_basis': 'configured memory (no balloon statistics)',
    }
    if available and unused is not None:
        used = (available - unused) / 1024.0
        outside = max(0.0, memory_mib - available / 1024.0)
        result['memory_used_mib'] = round(used, 1)
        result['transfer_mib'] = round(min(float(memory_mib), used + outside), 1)
        result['transfer_basis'] = 'guest-used memory plus memory outside the guest allocator'
    return result


def _stats(conn, dom, flags):
    return conn.domainListGetStats([dom], flags)[0][1]


def _job_active(dom):
    # A post-copy VM has a migration job on one side and no job statistics on the other.
    return preflight.in_postcopy(*dom.state()) or preflight.active_job(dom) != libvirt.VIR_DOMAIN_JOB_NONE


class _Subject:
    """One VM being profiled, with everything collected about it so far."""

    def __init__(self, dom):
        self.dom = dom
        self.name = dom.name()
        self.errors = []
        self.dirty_samples = []
        self.dirty_mode = None
        self.before = None
        self.after = None
        self.info = None
        self.domain_type = None

    def fail(self, what, err):
        self.errors.append('%s: %s' % (what, err.get_error_message() if hasattr(err, 'get_error_message') else err))


def _stat_flags():
    return (libvirt.VIR_DOMAIN_STATS_CPU_TOTAL | libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_INTERFACE
            | libvirt.VIR_DOMAIN_STATS_BLOCK | libvirt.VIR_DOMAIN_STATS_BALLOON)


def select_domains(conn, names=None):
    """Running domains of the host, or the named ones; an unknown name is an error before anything runs."""
    running = dict((dom.name(), dom) for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
    if not names:
        return [running[name] for name in sorted(running)]
    missing = [name for name in names if name not in running]
    if missing:
        raise ProfileError('no running VM named %s on %s; running: %s'
                           % (', '.join(missing), conn.getURI(), ', '.join(sorted(running)) or 'none'))
    return [running[name] for name in names]


def _measure_dirty_rate(conn, subjects, period_s):
    """One dirty-rate calculation on every eligible subject at once."""
    started = []
    for subject in subjects:
        if subject.dirty_mode is None:
            continue
        try:
            if _job_active(subject.dom):
                subject.errors.append('dirty rate: a job (migration) is running on this VM; not measured')
                subject.dirty_mode = None
                continue
            subject.dom.startDirtyRateCalc(period_s, libvirt.VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING)
            started.append(subject)
        except libvirt.libvirtError as err:
            subject.fail('dirty rate', err)
            subject.dirty_mode = None
    time.sleep(period_s)
    deadline = time.monotonic() + DIRTY_RATE_GRACE_S
    pending = list(started)
    while pending:
        for subject in list(pending):
            try:
                stats = _stats(conn, subject.dom, libvirt.VIR_DOMAIN_STATS_DIRTYRATE)
            except libvirt.libvirtError as err:
                subject.fail('dirty rate', err)
                pending.remove(subject)
                continue
            if stats.get('dirtyrate.calc_status') == libvirt.VIR_DOMAIN_DIRTYRATE_MEASURED:
                subject.dirty_samples.append(float(stats.get('dirtyrate.megabytes_per_second', 0)))
                pending.remove(subject)
        if pending and time.monotonic() > deadline:
            for subject in pending:
                subject.errors.append('dirty rate: no result within %.0f s' % (period_s + DIRTY_RATE_GRACE_S))
            break
        if pending:
            time.sleep(0.1)


def profile_host(conn, names=None, window_s=2.0, dirty_rate_mode='auto'):
    """Profiles of the running (or named) VMs, keyed by name.

    The dirty rate is the mean of one-second calculations filling the window:
    page sampling looks at only 512 pages per GiB, and averaging keeps its
    error down, while one-second periods keep a bounded working set from
    capping what is seen.
    """
    if window_s < 1:
        raise ProfileError('window_s must be at least 1 second, got %r' % (window_s,))
    subjects = [_Subject(dom) for dom in select_domains(conn, names)]
    flags = _stat_flags()
    for subject in subjects:
        try:
            subject.info = subject.dom.info()
            subject.domain_type = preflight.domain_type(subject.dom)
            subject.dirty_mode = choose_dirty_rate_mode(subject.domain_type, dirty_rate_mode)
            subject.before = _stats(conn, subject.dom, flags)
        except libvirt.libvirtError as err:
            subject.fail('statistics', err)
        except ProfileError as err:
            subject.errors.append(str(err))
    start = time.monotonic()
    for _sample in range(max(1, int(window_s))):
        _measure_dirty_rate(conn, [s for s in subjects if s.before is not None], 1)
    elapsed = time.monotonic() - start
    for subject in subjects:
        if subject.before is None:
            continue
        try:
            subject.after = _stats(conn, subject.dom, flags)
        except libvirt.libvirtError as err:
            subject.fail('statistics', err)
    return dict((s.name, _build_profile(s, elapsed)) for s in subjects)


def _build_profile(subject, elapsed_s):
    profile = {'name': subject.name, 'errors': subject.errors, 'window_s': round(elapsed_s, 2)}
    if subject.info is None or subject.after is None:
        profile['complete'] = False
        return profile
    memory_mib = subject.info[1] / 1024.0
    vcpus = subject.info[3]
    dirty = subject.dirty_samples
    profile.update({
        'complete': bool(dirty),
        'domain_type': subject.domain_type,
        'memory_mib': round(memory_mib, 1),
        'vcpus': vcpus,
        'dirty_rate_mibps': round(sum(dirty) / len(dirty), 2) if dirty else None,
        'dirty_rate_samples': dirty,
        'dirty_rate_mode': subject.dirty_mode,
    })
    profile.update(rates_from_stats(subject.before, subject.after, elapsed_s, vcpus))
    profile.update(memory_from_stats(subject.after, memory_mib))
    # Anything the guest writes it has allocated: used memory bounds the
    # writable working set from above.
    profile['wws_mib'] = profile['memory_used_mib'] if profile['memory_used_mib'] is not None else profile['transfer_mib']
    return profile
