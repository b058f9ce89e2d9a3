# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What people run today, as policies for the migration runner, with their shipped defaults.

Pure Python, no libvirt.  Each baseline is a policy of the shape the runner asks
while pre-copy runs (see migration_monitor.CollectionPolicy), plus the flags it
migrates with.  The benchmark drives them through the same runner as the
collection's own methods, under the same bandwidth cap, so that only the policy
differs.  Each reacts only as often as its own monitor looks.

* libvirt-default: plain live pre-copy; QEMU's downtime limit; no time limit.
* kubevirt: KubeVirt's migration monitor (virt-launcher) with allowPostCopy:
  pre-copy, switch to post-copy once completionTimeoutPerGiB (150 s per GiB of
  guest memory) has passed, abort when remaining data made no new low for
  progressTimeout (150 s); looks every 400 ms.
* ovirt-postcopy: oVirt's "Post-copy migration" policy as vdsm runs it: auto-
  converge, downtime 100 ms, raised to 150 and 200 ms on later passes, then
  post-copy; vdsm's monitor looks every 10 s and takes one step per new pass.
* proxmox (the evacuation benchmark's): Proxmox VE's online migration (qemu-server
  QemuMigrate.pm phase2): auto-converge and xbzrle on, downtime 100 ms, doubled when
  remaining memory grew (or was zero) on more than 5 of its 1 s looks; no time limit.
* nova-postcopy: Nova with live_migration_permit_post_copy and
  live_migration_timeout_action=force_complete: downtime stepped from 50 to
  500 ms over 10 steps of 75 s per GiB, switch to post-copy after
  live_migration_completion_timeout (800 s per GiB); Nova counts at least 2 GiB.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.migration_monitor import (
    ABORT, SWITCH_TO_POSTCOPY, SetDowntime)

GIB_MIB = 1024.0


class _Baseline:
    name = None
    postcopy = False          # migrates with VIR_MIGRATE_POSTCOPY (may switch)
    auto_converge = False
    compression = False       # xbzrle
    initial_downtime_ms = None  # None: QEMU's default (300 ms)
    poll_s = 0.0              # the product's own monitor interval

    def __init__(self, memory_mib):
        self.memory_gib = memory_mib / GIB_MIB
        self._next_look_s = self.poll_s

    def _looks_now(self, elapsed_s):
        """True once per the product's monitor interval, the first an interval after the start."""
        if elapsed_s < self._next_look_s:
            return False
        self._next_look_s = elapsed_s + self.poll_s
        return True

    def precopy_action(self, elapsed_s, history):
        if not self._looks_now(elapsed_s):
            return None, None
        return self._decide(elapsed_s, history)

    def _decide(self, elapsed_s, history):
        return None, None


class LibvirtDefault(_Baseline):
    name = 'libvirt-default'


class KubeVirt(_Baseline):
    name = 'kubevirt'
    postcopy = True
    poll_s = 0.4
    COMPLETION_TIMEOUT_PER_GIB_S = 150.0
    PROGRESS_TIMEOUT_S = 150.0

    def __init__(self, memory_mib):
        super(KubeVirt, self).__init__(memory_mib)
        self.acceptable_completion_s = self.COMPLETION_TIMEOUT_PER_GIB_S * self.memory_gib
        self._watermark = None
        self._last_progress_s = 0.0

    def _decide(self, elapsed_s, history):
        remaining = [s.remaining_mib for s in history if s.remaining_mib is not None]
        if remaining and (self._watermark is None or remaining[-1] < self._watermark):
            self._watermark = remaining[-1]
            self._last_progress_s = elapsed_s
        if elapsed_s - self._last_progress_s > self.PROGRESS_TIMEOUT_S:
            return ABORT, 'kubevirt: no progress for %.0f s (progressTimeout)' % self.PROGRESS_TIMEOUT_S
        if elapsed_s > self.acceptable_completion_s:
            return SWITCH_TO_POSTCOPY, ('kubevirt: %.0f s of completionTimeoutPerGiB passed; switching to post-copy'
                                        % self.acceptable_completion_s)
        return None, None


class OVirtPostcopy(_Baseline):
    name = 'ovirt-postcopy'
    postcopy = True
    auto_converge = True
    initial_downtime_ms = 100
    poll_s = 10.0
    # vdsm's convergence schedule: (stalling limit in passes, action); the engine's
    # last items (post-copy, then abort) come with no limit.
    SCHEDULE = ((1, SetDowntime(150)), (2, SetDowntime(200)), (-1, SWITCH_TO_POSTCOPY), (-1, ABORT))

    def __init__(self, memory_mib):
        super(OVirtPostcopy, self).__init__(memory_mib)
        self._schedule = list(self.SCHEDULE)
        self._initial_pass = None
        self._last_pass = None

    def _decide(self, elapsed_s, history):
        if not history or not self._schedule:
            return None, None
        current = history[-1].iteration
        if self._initial_pass is None:
            # vdsm counts passes from the first it sees.
            self._initial_pass = self._last_pass = current
        if current <= self._last_pass:
            return None, None
        self._last_pass = current
        stalling = current - self._initial_pass
        limit, action = self._schedule[0]
        if limit >= stalling:
            return None, None
        self._schedule.pop(0)
        if isinstance(action, SetDowntime):
            return action, 'ovirt: %d passes, downtime %d ms' % (stalling, action.ms)
        if action == SWITCH_TO_POSTCOPY:
            return action, 'ovirt: %d passes and the schedule is spent; switching to post-copy' % stalling
        return action, 'ovirt: post-copy did not start; aborting'


class Proxmox(_Baseline):
    name = 'proxmox'
    auto_converge = True
    compression = True
    initial_downtime_ms = 100
    poll_s = 1.0
    # QemuMigrate.pm: a look where remaining memory grew, or is zero, counts; the 6th doubles the downtime.
    COUNT_LIMIT = 5
    MAX_DOWNTIME_MS = 2000 * 1000 * 1000

    def __init__(self, memory_mib):
        super(Proxmox, self).__init__(memory_mib)
        self._downtime_ms = self.initial_downtime_ms
        self._last_remaining = None
        self._count = 0

    def _decide(self, elapsed_s, history):
        remaining = [s.remaining_mib for s in history if s.remaining_mib is not None]
        if not remaining:
            return None, None
        latest, last = remaining[-1], self._last_remaining
        self._last_remaining = latest
        if (last and latest > last) or latest == 0:
            self._count += 1
        if self._count <= self.COUNT_LIMIT:
            return None, None
        self._count = 0
        self._downtime_ms = min(self.MAX_DOWNTIME_MS, self._downtime_ms * 2)
        return SetDowntime(self._downtime_ms), 'proxmox: remaining grew on 6 looks; downtime %d ms' % self._downtime_ms


class NovaPostcopy(_Baseline):
    name = 'nova-postcopy'
    postcopy = True
    poll_s = 0.5
    DOWNTIME_MS = 500
    DOWNTIME_STEPS = 10
    DOWNTIME_DELAY_PER_GIB_S = 75
    COMPLETION_TIMEOUT_PER_GIB_S = 800
    MIN_DATA_GIB = 2.0

    def __init__(self, memory_mib):
        super(NovaPostcopy, self).__init__(memory_mib)
        data_gib = max(self.MIN_DATA_GIB, self.memory_gib)
        self.completion_timeout_s = int(self.COMPLETION_TIMEOUT_PER_GIB_S * data_gib)
        self.downtime_steps = self.steps(data_gib)
        self.initial_downtime_ms = self.downtime_steps[0][1]
        self._step = 0

    @classmethod
    def steps(cls, data_gib):
        """[(from elapsed s, downtime ms)], as nova.virt.libvirt.migration.downtime_steps."""
        delay = int(cls.DOWNTIME_DELAY_PER_GIB_S * data_gib)
        base = cls.DOWNTIME_MS / cls.DOWNTIME_STEPS
        offset = (cls.DOWNTIME_MS - base) / cls.DOWNTIME_STEPS
        return [(delay * i, int(base + offset * i)) for i in range(cls.DOWNTIME_STEPS + 1)]

    def _decide(self, elapsed_s, history):
        if elapsed_s > self.completion_timeout_s:
            return SWITCH_TO_POSTCOPY, ('nova: live_migration_completion_timeout (%d s) passed; force_complete '
                                        'switches to post-copy' % self.completion_timeout_s)
        due = [i for i, (start, _ms) in enumerate(self.downtime_steps) if elapsed_s >= start]
        if due and due[-1] > self._step:
            self._step = due[-1]
            ms = self.downtime_steps[self._step][1]
            return SetDowntime(ms), 'nova: %.0f s in, downtime step %d: %d ms' % (elapsed_s, self._step, ms)
        return None, None


BASELINES = dict((cls.name, cls) for cls in (LibvirtDefault, KubeVirt, OVirtPostcopy, NovaPostcopy, Proxmox))


def baseline(name, memory_mib):
    """The policy of baseline `name` for a VM of `memory_mib`."""
    try:
        return BASELINES[name](memory_mib)
    except KeyError:
        raise ValueError('unknown baseline %r; known: %s' % (name, ', '.join(sorted(BASELINES))))
