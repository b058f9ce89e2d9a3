# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import concurrency, planner
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.planner import (
    Destination, VmToMove)

LEARNED = 'learned from 3 migrations of hv1 -> hv2 (uncapped)'


def test_one_at_a_time_until_every_rate_is_measured():
    chosen, why = concurrency.choose(10000.0, [(300.0, LEARNED), (300.0, 'default for kvm (nothing learned yet)')])
    assert chosen == 1 and 'not every rate is measured' in why and 'default for kvm' in why


def test_one_at_a_time_where_one_migration_fills_the_link():
    chosen, why = concurrency.choose(50.0, [(46.0, LEARNED)])
    assert chosen == 1 and 'fills the link (46 of 50 MiB/s)' in why


def test_as_many_as_the_link_holds_where_one_cannot_fill_it():
    # 25 GbE is about 2980 MiB/s; the fastest stream, learned at 1000 MiB/s, leaves room for two.
    chosen, why = concurrency.choose(2980.0, [(1000.0, LEARNED), (900.0, LEARNED)])
    assert chosen == 2 and why.startswith('2 at a time') and '1000 MiB/s (measured) of a 2980 MiB/s link' in why
    assert concurrency.choose(11920.0, [(1000.0, LEARNED)] * 4)[0] == concurrency.LIMIT == 2
    assert concurrency.choose(11920.0, [(1000.0, LEARNED)] * 12, limit=8)[0] == 8
    # Never more at once than there are moves.
    assert concurrency.choose(11920.0, [(1000.0, LEARNED)] * 3, limit=8)[0] == 3
    assert concurrency.choose(11920.0, [(1000.0, LEARNED)]) == (1, 'one at a time: one VM to move')


@pytest.mark.parametrize('link', [None, 0.0])
def test_an_unknown_link_means_one(link):
    assert concurrency.choose(link, [(250.0, LEARNED)]) == (1, 'one at a time: the link speed is unknown')


def test_nothing_to_move_is_one():
    assert concurrency.choose(1192.0, [])[0] == 1


def test_migrations_share_the_link_only_where_together_they_exceed_it():
    assert concurrency.share(1, 500.0, 100.0) == 1.0
    assert concurrency.share(2, 400.0, 1192.0) == 1.0
    assert concurrency.share(4, 400.0, 1192.0) == pytest.approx(1600.0 / 1192.0)
    assert concurrency.share(3, None, 1192.0) == 3.0


def profile(rate, source=LEARNED):
    return {'profile': {'memory_mib': 256, 'vcpus': 1}, 'recommended_method': 'precopy', 'bandwidth_mibps': rate,
            'predictions': {'precopy': {'total_s': 2.0, 'sent_mib': 400.0}},
            'inputs': {'sources': {'rate_mibps': source}}}


def test_the_plan_chooses_how_many_at_once_and_predicts_with_it():
    vms = [planner.vm_to_move(name, profile(200.0)) for name in ('a', 'b', 'c', 'd')]
    hosts = [Destination('hv2', 8192, 16, True, 'nfs')]
    serial = planner.plan_evacuation(vms, hosts, 'nfs', None, link_mibps=200.0)
    parallel = planner.plan_evacuation(vms, hosts, 'nfs', None, link_mibps=1192.0)
    assert serial['concurrency'] == 1 and parallel['concurrency'] == 2
    assert serial['predicted_total_s'] == pytest.approx(8.0)
    # Two at 200 MiB/s fit in the link together: each takes as long as alone.
    assert parallel['predicted_total_s'] == pytest.approx(4.0)
    fixed = planner.plan_evacuation(vms, hosts, 'nfs', 2)
    assert fixed['concurrency'] == 2 and fixed['concurrency_reason'] == '2 at a time: set by the operator'
    # Without the link, two at once each run twice as slow: no gain promised.
    assert fixed['predicted_total_s'] == pytest.approx(8.0)


def test_a_plan_whose_rates_are_defaults_runs_one_at_a_time():
    vms = [VmToMove('a', 256, 1, 'precopy', 2.0, 2.0, 'why'), VmToMove('b', 256, 1, 'precopy', 2.0, 2.0, 'why')]
    plan = planner.plan_evacuation(vms, [Destination('hv2', 8192, 16, True, 'nfs')], 'nfs', None,
                                   link_mibps=1192.0)
    assert plan['concurrency'] == 1 and 'the plan' in plan['concurrency_reason']


def test_the_measured_number_whose_last_vm_is_safe_soonest_wins():
    # {at once: (last VM safe, mean time until safe)} predicted with the rates learned so.
    plans = {1: (3.4, 2.55), 2: (2.5, 2.5), 6: (1.9, 1.8)}
    chosen, why = concurrency.best(plans, {1: (0, 6), 2: (0, 4), 6: (0, 6)}, '2 at a time: link')
    assert chosen == 6 and why.startswith('6 at a time: link; measured at this load: 1 at a time, the last VM safe '
                                          'after 3.40 s, one after 2.55 s on average')
    assert concurrency.best({1: (3.4, 2.55), 2: (4.6, 4.6)}, {}, '2 at a time: link') == (
        1, 'one at a time: measured at this load: 1 at a time, the last VM safe after 3.40 s, one after 2.55 s on '
           'average; 2 at a time, the last VM safe after 4.60 s, one after 4.60 s on average')
    # A tie on the last VM goes to the lesser mean, then to fewer at once.
    assert concurrency.best({1: (3.0, 2.0), 2: (3.0, 1.5)}, {}, '2 at a time: link')[0] == 2
    assert concurrency.best({1: (3.0, 2.0), 2: (3.0, 2.0)}, {}, '2 at a time: link')[0] == 1


def test_more_than_two_at_once_only_where_their_pauses_held_as_well_as_one_at_a_times():
    plans = {1: (8.0, 5.0), 2: (6.0, 4.0), 6: (3.0, 2.5)}
    chosen, why = concurrency.best(plans, {1: (1, 6), 2: (1, 4), 6: (3, 6)}, '2 at a time: link')
    assert chosen == 2
    assert why.endswith("; not 6 at a time: their migrations' pauses were not known or went over the limit more "
                        "often (3 of 6) than one at a time's (1 of 6)")
    assert concurrency.best(plans, {1: (1, 6), 6: (1, 6)}, '2 at a time: link')[0] == 6
    # Pauses not known (none recorded, or not given) are no evidence: more than two is refused.
    assert concurrency.best(plans, {1: (1, 6), 6: (0, 0)}, '2 at a time: link')[0] == 2
    assert concurrency.best(plans, {1: (1, 6)}, '2 at a time: link')[0] == 2
    # Two at once is KubeVirt's default and the rule's own: its pauses do not hold it back.
    assert concurrency.best({1: (8.0, 5.0), 2: (6.0, 4.0)}, {1: (0, 6), 2: (2, 4)}, 'x: link')[0] == 2


def test_the_link_rules_number_not_measured_stands_where_nothing_measured_above_one_wins():
    plans = {1: (3.0, 2.0), 3: (4.0, 3.0)}
    held = {1: (0, 6), 3: (0, 6)}
    assert concurrency.best(plans, held, '2 at a time: link', unmeasured=2) == (
        2, '2 at a time: link; measured at this load: 1 at a time, the last VM safe after 3.00 s, one after 2.00 s '
           'on average; 3 at a time, the last VM safe after 4.00 s, one after 3.00 s on average; 2 at a time not '
           'measured')
    # A measured number that wins is taken whatever was not measured.
    assert concurrency.best({1: (3.0, 2.0), 3: (2.0, 1.5)}, held, '2 at a time: link', unmeasured=2)[0] == 3


def test_a_share_of_pauses_over_the_limit_is_zero_where_none_is_known():
    assert concurrency.pause_share(None) == 0.0 and concurrency.pause_share((0, 0)) == 0.0
    assert concurrency.pause_share((1, 4)) == 0.25
