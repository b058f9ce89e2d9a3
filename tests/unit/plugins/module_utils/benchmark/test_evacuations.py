# -*- coding: utf-8 -*-
"""The benchmark's evacuations: the strategies, the floor and the bound, the records."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import evacuations


def test_the_floor_is_every_vms_memory_back_to_back_and_the_bound_is_shortest_first():
    assert evacuations.floor_s([100.0, 50.0, 150.0], 50.0) == 6.0
    # Shortest first: safe at 1, 3 and 6 s: a mean of 10 / 3.
    assert evacuations.shortest_first_bound_s([100.0, 50.0, 150.0], 50.0) == pytest.approx(10.0 / 3)
    assert evacuations.floor_s([], 50.0) is None and evacuations.shortest_first_bound_s([1.0], 0) is None


def test_each_strategy_runs_as_many_at_once_as_its_product_does():
    assert evacuations.concurrency('proxmox-all', 6) == 6
    assert evacuations.concurrency('kubevirt-drain', 6) == 2
    assert evacuations.concurrency('nova-serial', 6) == 1


def test_a_baseline_strategy_brings_its_products_policy_and_no_postcopy_by_default():
    assert evacuations.policy_for('auto', {}, False) is None
    settings = evacuations.policy_for('kubevirt-drain', {'a': 256}, postcopy_allowed=False)({'vm': 'a'})
    assert settings['precopy_policy'].name == 'kubevirt' and settings['postcopy_allowed'] is False
    assert settings['auto_converge'] == 'never'
    nova = evacuations.policy_for('nova-serial', {'a': 256}, postcopy_allowed=True)({'vm': 'a'})
    assert nova['precopy_policy'].name == 'nova-postcopy' and nova['postcopy_allowed'] is True


def test_a_row_says_when_the_last_vm_was_safe_and_an_evacuation_that_left_one_behind_has_no_time():
    result = {'moved': [{'safe_at_s': 2.0}, {'safe_at_s': 5.0}], 'left_behind': [], 'total_s': 6.5}
    row = evacuations.row('auto', 0, 1, result, [100.0, 100.0], 100.0, 'learned', True, 5.5)
    assert (row['last_safe_s'], row['mean_safe_s'], row['floor_s'], row['shortest_first_bound_s']) == (5.0, 3.5, 2.0, 1.5)
    assert row['healthy'] is True and row['left_behind'] == 0 and row['vms'] == 2
    partial = dict(result, left_behind=[{'vm': 'w'}])
    row = evacuations.row('nova-serial', 50, 1, partial, [100.0, 100.0, 100.0], 50.0, 'learned', True)
    assert row['last_safe_s'] is None and row['left_behind'] == 1 and row['healthy'] is True
    sick = evacuations.row('auto', 50, 1, result, [100.0, 100.0], 50.0, 'learned', False)
    assert sick['healthy'] is False and sick['last_safe_s'] == 5.0


def test_a_row_counts_the_vms_paused_over_the_limit_and_says_how_many_ran_at_once():
    result = {'moved': [{'safe_at_s': 2.0, 'downtime_breach': True}, {'safe_at_s': 3.0, 'downtime_breach': False},
                        {'safe_at_s': 5.0}], 'left_behind': [], 'total_s': 6.5}
    row = evacuations.row('proxmox-all', 0, 1, result, [100.0] * 3, 100.0, 'learned', True, at_once=3)
    assert row['paused_over_limit'] == 1 and row['concurrency'] == 3


def test_rows_are_appended_and_found_again(tmp_path):
    path = str(tmp_path / 'evacuations.csv')
    assert evacuations.recorded(path, 'auto', 0, 1) is None
    result = {'moved': [{'safe_at_s': 2.0}], 'left_behind': [], 'total_s': 3.0}
    evacuations.append_row(path, evacuations.row('auto', 0, 1, result, [100.0], 100.0, 'learned', True))
    evacuations.append_row(path, evacuations.row('auto', 50, 1, result, [100.0], 50.0, 'learned', True))
    assert evacuations.recorded(path, 'auto', 50, 1)['floor_s'] == '2'
    assert evacuations.recorded(path, 'auto', 0, 2) is None
    with open(path) as handle:
        assert handle.readline().startswith('strategy,bandwidth_mibps,vms,last_safe_s,floor_s,mean_safe_s,'
                                            'shortest_first_bound_s,left_behind,healthy')
    with pytest.raises(ValueError, match='not evacuation columns'):
        evacuations.append_row(path, {'strategy': 'auto', 'speed': 1})


def test_proxmox_doubles_its_downtime_when_remaining_grew_on_more_than_five_looks():
    from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import baselines
    from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.migration_monitor import (
        Progress, SetDowntime)
    policy = baselines.baseline('proxmox', 256)
    assert policy.initial_downtime_ms == 100 and policy.auto_converge and policy.compression
    history, actions = [], []
    for second, remaining in enumerate([100, 120, 130, 140, 150, 160, 170, 180, 60]):
        history.append(Progress(float(second + 1), 2, float(remaining), 0.0))
        actions.append(policy.precopy_action(second + 1.0, history)[0])
    # Grew on looks 2-7: the 6th growth doubles it once.
    assert [a for a in actions if a is not None] == [SetDowntime(200)]
    assert evacuations.policy_for('proxmox-all', {'a': 256}, False)({'vm': 'a'})['compression'] is True
