# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import recovery


def test_libvirt_version_numbers_split_into_major_minor_micro():
    assert recovery.version_tuple(11003000) == (11, 3, 0)
    assert recovery.version_tuple(10010002) == (10, 10, 2)


def test_resume_is_not_tried_when_either_host_runs_a_release_that_crashes_on_it():
    assert 'segfault' in recovery.resume_blocker(11003000, 11003000)
    assert 'segfault' in recovery.resume_blocker(10000000, 11003004)
    assert '11.4.0' in recovery.resume_blocker(11002001, 10000000)
    assert recovery.resume_blocker(10000000, 11004000) is None


def test_resume_is_not_tried_before_libvirt_8_5_which_has_none():
    assert 'older than 8.5' in recovery.resume_blocker(8004000, 10000000)
    assert 'destination runs libvirt 9.0' not in recovery.resume_blocker(10000000, 8000000)
    assert 'destination runs libvirt 8.0' in recovery.resume_blocker(10000000, 8000000)
    assert recovery.resume_blocker(8005000, 8005000) is None


def test_what_the_hosts_are_known_to_do_overrides_the_version_rule():
    # A crashing release with the upstream fix built in (the libvirt_host role's fact) resumes.
    assert recovery.resume_blocker(11003000, 11003000, recoverable=True) is None
    # A host recorded as unable is not tried, whatever its version says.
    assert 'postcopy_recoverable: false' in recovery.resume_blocker(11004000, 11004000, recoverable=False)


def test_a_split_vm_is_one_whose_source_says_post_copy_failed_and_that_exists_on_the_destination():
    assert recovery.is_split({'source': 'paused (post-copy failed)', 'destination': 'running (post-copy failed)'})
    assert not recovery.is_split({'source': 'paused (post-copy failed)', 'destination': None})
    assert not recovery.is_split({'source': 'running', 'destination': None})
    assert not recovery.is_split({'source': None, 'destination': 'running'})


def test_a_discarded_destination_is_a_failed_post_copy_the_destination_no_longer_holds():
    assert recovery.destination_discarded({'source': 'paused (post-copy failed)', 'destination': None})
    # Split (the destination holds the CPUs), whole on one host, or a destination that cannot be asked: not it.
    assert not recovery.destination_discarded({'source': 'paused (post-copy failed)',
                                               'destination': 'paused (migration)'})
    assert not recovery.destination_discarded({'source': 'paused (post-copy failed)',
                                               'destination': 'unknown: libvirtd is gone'})
    assert not recovery.destination_discarded({'source': 'running', 'destination': None})
    assert not recovery.destination_discarded({'source': None, 'destination': None})


def test_a_discarded_vm_is_cold_booted_on_the_source_after_checking_the_destination():
    steps = recovery.discarded_steps('vm1', 'qemu:///system', 'qemu+tcp://hv2/system', persistent=True)
    assert 'virsh -c qemu+tcp://hv2/system domstate vm1' in steps[0]
    assert steps[1].endswith('virsh -c qemu:///system destroy vm1, then virsh -c qemu:///system start vm1.')
    # A transient VM has no definition left once destroyed: its XML is saved first, then created.
    transient = recovery.discarded_steps('vm1', 'qemu:///system', 'qemu+tcp://hv2/system', persistent=False)[1]
    assert transient.index('dumpxml vm1 > vm1.xml') < transient.index('destroy vm1') < transient.index('create vm1.xml')


def test_operator_steps_forbid_destroying_either_side_and_end_with_the_resume_command():
    steps = recovery.operator_steps('vm1', 'qemu:///system', 'qemu+tcp://hv2/system', blocker='libvirt 11.3 crashes')
    assert steps[0].startswith('Do not destroy')
    assert any('Upgrade libvirt' in step and 'libvirt 11.3 crashes' in step for step in steps)
    assert steps[-1].endswith('--postcopy-resume vm1 qemu+tcp://hv2/system')
    assert not any('Upgrade' in step for step in recovery.operator_steps('vm1', 'a', 'b'))


def test_steps_are_numbered_in_order_in_one_line():
    assert recovery.numbered(['Check it.', 'Boot it.']) == '1. Check it. 2. Boot it.'
    assert recovery.numbered([]) == ''


class Options:
    def __init__(self, budget):
        self.recovery_budget_s = budget
        self.dest_uri = 'qemu+tcp://hv2/system'
        self.method = 'postcopy'
        self.bandwidth_mibps = 0
        self.max_downtime_ms = 300
        self.postcopy_possible = True
        self.auto_converge = False
        self.compression = False
        self.parallel_connections = 0
        self.tls = False
        self.persistent = True


class Domain:
    """A source domain whose resume fails `failures` times, then works, or never returns (hang)."""

    def __init__(self, failures=0, hang=False):
        self.failures = failures
        self.hang = threading.Event() if hang else None
        self.calls = 0

    def migrateToURI3(self, _uri, _params, flags):
        assert flags & recovery.libvirt.VIR_MIGRATE_POSTCOPY_RESUME
        self.calls += 1
        if self.hang is not None:
            self.hang.wait(30)
        if self.calls <= self.failures:
            raise recovery.libvirt.libvirtError('connection refused (%d)' % self.calls)


def test_resume_retries_until_the_link_is_back():
    resumed, attempts = recovery.resume(Domain(failures=2), Options(60), interval_s=0.01)
    assert resumed and attempts == ['connection refused (1)', 'connection refused (2)']


def test_resume_gives_up_when_the_budget_is_spent():
    dom = Domain(failures=1000)
    resumed, attempts = recovery.resume(dom, Options(0.05), interval_s=0.02)
    assert not resumed and attempts and dom.calls == len(attempts)


def test_resume_stops_at_the_first_failure_once_no_try_can_work():
    dom = Domain(failures=1000)
    asked = []
    resumed, attempts = recovery.resume(dom, Options(60), interval_s=0.01,
                                        hopeless=lambda: asked.append(1) or len(asked) >= 2)
    assert not resumed and dom.calls == 2 and len(attempts) == 2


def test_a_resume_call_that_never_returns_does_not_hold_the_module_past_its_budget():
    dom = Domain(hang=True)
    started = time.monotonic()
    resumed, attempts = recovery.resume(dom, Options(0.2), min_call_s=0.2)
    dom.hang.set()
    assert not resumed and attempts == [recovery.HUNG]
    assert time.monotonic() - started < 5


MIB = 1024 * 1024
PAGE = 4096


def stats(pages, zero_pages=0, remaining_mib=None):
    found = dict(memory_normal=pages, memory_constant=zero_pages, memory_page_size=PAGE)
    if remaining_mib is not None:
        found['memory_remaining'] = remaining_mib * MIB
    return found


def test_what_a_resume_sent_again_is_what_it_sent_beyond_what_was_still_to_send():
    # 60 MiB left at the failure; 70 MiB of pages (zero pages count: they were still to send) after the resume.
    figures = recovery.resend_figures(stats(20000, 5600, remaining_mib=60), stats(35000, 8520))
    assert figures == dict(remaining_at_failure_bytes=60 * MIB, sent_after_resume_bytes=70 * MIB,
                           resent_bytes=10 * MIB)


def test_a_resume_that_sent_less_than_was_left_resent_nothing():
    figures = recovery.resend_figures(stats(20000, remaining_mib=60), stats(20000 + 50 * 256))
    assert figures['sent_after_resume_bytes'] == 50 * MIB and figures['resent_bytes'] == 0


def test_resend_figures_are_unknown_without_both_jobs_statistics():
    assert recovery.resend_figures(None, stats(1))['resent_bytes'] is None
    assert recovery.resend_figures(stats(5, remaining_mib=1), {})['sent_after_resume_bytes'] is None
    # Counters that went backwards belong to another QEMU: nothing to compare.
    assert recovery.resend_figures(stats(5, remaining_mib=1), stats(4))['resent_bytes'] is None
