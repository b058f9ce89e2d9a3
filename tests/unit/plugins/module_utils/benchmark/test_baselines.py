# -*- coding: utf-8 -*-
"""The baselines act as their products do, at their products' pace."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import baselines
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.migration_monitor import (
    ABORT, SWITCH_TO_POSTCOPY, Progress, SetDowntime)


def run(policy, history_at, until_s, step_s=0.25):
    """Ask the policy every step_s, as the runner does; returns [(elapsed, action)] of what it did."""
    acted = []
    t = step_s
    while t <= until_s:
        action, why = policy.precopy_action(t, history_at(t))
        if action is not None:
            assert why
            acted.append((t, action))
        t = round(t + step_s, 3)
    return acted


def stuck(t):
    """A pre-copy that never gets below 96 MiB: a pass every 2 s."""
    return [Progress(s / 4.0, 1 + int(s / 8), 96.0, s * 12.5) for s in range(int(t * 4) + 1)]


def shrinking(t):
    return [Progress(s / 4.0, 1 + int(s / 8), 200.0 / (1 + s), s * 12.5) for s in range(int(t * 4) + 1)]


def test_libvirt_default_never_acts():
    policy = baselines.baseline('libvirt-default', 256)
    assert policy.initial_downtime_ms is None and not policy.postcopy and not policy.auto_converge
    assert run(policy, stuck, 300) == []


def test_kubevirt_switches_after_150_s_per_gib():
    policy = baselines.baseline('kubevirt', 512)
    assert policy.postcopy and policy.acceptable_completion_s == 75.0
    acted = run(policy, shrinking, 80)
    assert acted and acted[0][1] == SWITCH_TO_POSTCOPY
    assert 75.0 < acted[0][0] <= 75.5


def test_kubevirt_aborts_when_remaining_makes_no_new_low_for_150_s():
    policy = baselines.KubeVirt(8192)  # completion timeout 1200 s: the progress timeout comes first
    acted = run(policy, stuck, 200, step_s=1.0)
    assert acted[0][1] == ABORT
    assert 150.0 < acted[0][0] <= 152.0


def test_ovirt_raises_downtime_per_new_pass_every_10_s_then_switches():
    policy = baselines.baseline('ovirt-postcopy', 256)
    assert policy.initial_downtime_ms == 100 and policy.auto_converge and policy.postcopy
    acted = run(policy, stuck, 60)
    # First look at 10 s (pass 6, counted from), then one step per look with a new pass.
    assert [a for _t, a in acted] == [SetDowntime(150), SetDowntime(200), SWITCH_TO_POSTCOPY, ABORT]
    assert [t for t, _a in acted] == [20.0, 30.0, 40.0, 50.0]


def test_ovirt_takes_no_step_without_a_new_pass():
    def one_pass(t):
        return [Progress(t, 1, 96.0, t)]

    assert run(baselines.OVirtPostcopy(256), one_pass, 60) == []


def test_nova_steps_downtime_from_50_ms_and_counts_at_least_2_gib():
    policy = baselines.baseline('nova-postcopy', 256)
    assert policy.completion_timeout_s == 1600
    assert policy.initial_downtime_ms == 50
    assert policy.downtime_steps[:3] == [(0, 50), (150, 95), (300, 140)]
    assert policy.downtime_steps[-1] == (1500, 500)
    acted = run(policy, lambda t: [], 1700, step_s=0.5)
    downtimes = [a.ms for _t, a in acted if isinstance(a, SetDowntime)]
    assert downtimes == [95, 140, 185, 230, 275, 320, 365, 410, 455, 500]
    switches = [t for t, a in acted if a == SWITCH_TO_POSTCOPY]
    assert switches and 1600.0 < switches[0] <= 1600.5


def test_nova_scales_with_memory_above_2_gib():
    policy = baselines.NovaPostcopy(4096)
    assert policy.completion_timeout_s == 3200
    assert policy.downtime_steps[1] == (300, 95)


def test_an_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match='unknown baseline'):
        baselines.baseline('vmware', 256)
