# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import recovery


def test_libvirt_version_numbers_split_into_major_minor_micro():
    assert recovery.version_tuple(11003000) == (11, 3, 0)
    assert recovery.version_tuple(10010002) == (10, 10, 2)


def test_resume_is_not_tried_when_either_host_runs_a_release_that_crashes_on_it():
    assert 'segfault' in recovery.resume_blocker(11003000, 11003000)
    assert 'segfault' in recovery.resume_blocker(10000000, 11003004)
    assert recovery.resume_blocker(10000000, 11004000) is None


def test_a_split_vm_is_one_whose_source_says_post_copy_failed_and_that_exists_on_the_destination():
    assert recovery.is_split({'source': 'paused (post-copy failed)', 'destination': 'running (post-copy failed)'})
    assert not recovery.is_split({'source': 'paused (post-copy failed)', 'destination': None})
    assert not recovery.is_split({'source': 'running', 'destination': None})
    assert not recovery.is_split({'source': None, 'destination': 'running'})


def test_operator_steps_forbid_destroying_either_side_and_end_with_the_resume_command():
    steps = recovery.operator_steps('vm1', 'qemu:///system', 'qemu+tcp://hv2/system', blocker='libvirt 11.3 crashes')
    assert steps[0].startswith('Do not destroy')
    assert any('Upgrade libvirt' in step and 'libvirt 11.3 crashes' in step for step in steps)
    assert steps[-1].endswith('--postcopy-resume vm1 qemu+tcp://hv2/system')
    assert not any('Upgrade' in step for step in recovery.operator_steps('vm1', 'a', 'b'))
