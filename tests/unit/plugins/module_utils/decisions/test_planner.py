# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import re

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import planner
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.planner import Destination, VmToMove
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput


def vm(name, seconds, memory=256, method='precopy', precopy_s=None, vcpus=1):
    return VmToMove(name, memory, vcpus, method, seconds, precopy_s if precopy_s is not None else seconds, 'why')


def host(name, memory=4096, vcpus=8, postcopy=True, storage='nfs://a'):
    return Destination(name, memory, vcpus, postcopy, storage)


def test_shortest_first_and_safe_times_add_up_on_one_link():
    result = planner.plan_evacuation([vm('slow', 9.0), vm('fast', 1.0), vm('mid', 3.0)], [host('hv2')], 'nfs://a')
    assert [m['vm'] for m in result['moves']] == ['fast', 'mid', 'slow']
    assert [m['predicted_safe_at_s'] for m in result['moves']] == [1.0, 4.0, 13.0]
    assert [m['order'] for m in result['moves']] == [1, 2, 3]
    assert result['predicted_total_s'] == 13.0
    assert result['left_behind'] == []


def test_concurrent_migrations_share_the_link():
    result = planner.plan_evacuation([vm('a', 2.0), vm('b', 2.0)], [host('hv2')], 'nfs://a', at_once=2)
    assert [m['predicted_safe_at_s'] for m in result['moves']] == [4.0, 4.0]


def test_a_vm_is_safe_and_the_next_starts_when_it_runs_on_the_destination_not_when_libvirt_returns():
    # 3 s migrations whose last 1.5 s is the source's QEMU exiting and libvirt's confirm.
    vms = [VmToMove('a', 256, 1, 'precopy', 3.0, 3.0, 'why', tail_s=1.5),
           VmToMove('b', 256, 1, 'precopy', 3.0, 3.0, 'why', tail_s=1.5), vm('c', 3.0)]
    result = planner.plan_evacuation(vms, [host('hv2')], 'nfs://a')
    assert [m['predicted_safe_at_s'] for m in result['moves']] == [1.5, 3.0, 6.0]
    assert planner.until_safe_s({'predicted_s': 1.0, 'tail_s': 2.0}) == 0.0
    assert planner.until_safe_s({'predicted_s': None}) == planner.UNKNOWN_DURATION_S
    # Re-planned after a: b sends 100 MiB at the measured 100 MiB/s plus 2 s, the last 1 s of it after it runs there.
    rest = [dict(result['moves'][1], predicted_sent_mib=100.0), result['moves'][2]]
    replanned = planner.replan(rest, {'b': planner.Measured(100.0, 2.0, 'learned', 1.0)}, 1.5)
    assert [(m['vm'], m['predicted_safe_at_s']) for m in replanned] == [('b', 3.5), ('c', 6.5)]


def test_worst_fit_spreads_the_load():
    vms = [vm('v%d' % i, 1.0 + i, memory=1024) for i in range(4)]
    result = planner.plan_evacuation(vms, [host('hv2', memory=4096), host('hv3', memory=4096)], 'nfs://a',
                                     headroom_mib=0)
    placed = [m['destination'] for m in result['moves']]
    assert placed.count('hv2') == 2 and placed.count('hv3') == 2


def test_only_hosts_with_the_same_storage_and_room_take_a_vm():
    result = planner.plan_evacuation(
        [vm('big', 1.0, memory=8192), vm('small', 2.0)],
        [host('other-storage', memory=65536, storage='nfs://b'), host('hv2', memory=4096)], 'nfs://a')
    assert [m['vm'] for m in result['moves']] == ['small']
    assert result['moves'][0]['destination'] == 'hv2'
    assert result['left_behind'][0]['vm'] == 'big'
    assert 'same storage' in result['left_behind'][0]['reason']


def test_headroom_and_vcpus_count():
    assert not planner.plan_evacuation([vm('a', 1.0, memory=3900)], [host('hv2', memory=4096)], 'nfs://a')['moves']
    assert not planner.plan_evacuation([vm('a', 1.0, vcpus=4)], [host('hv2', vcpus=2)], 'nfs://a')['moves']
    overcommitted = planner.plan_evacuation([vm('a', 1.0, vcpus=4)], [host('hv2', vcpus=2)], 'nfs://a', vcpu_ratio=2.0)
    assert overcommitted['moves']


def test_postcopy_vms_prefer_capable_hosts_and_fall_back_to_precopy():
    capable = planner.plan_evacuation([vm('w', 2.0, method='postcopy', precopy_s=9.0)],
                                      [host('plain', memory=65536, postcopy=False), host('uffd', memory=2048)],
                                      'nfs://a')
    assert capable['moves'][0]['destination'] == 'uffd' and capable['moves'][0]['method'] == 'postcopy'
    fallback = planner.plan_evacuation([vm('w', 2.0, method='postcopy', precopy_s=9.0)],
                                       [host('plain', postcopy=False)], 'nfs://a')
    assert fallback['moves'][0]['method'] == 'precopy' and fallback['moves'][0]['predicted_s'] == 9.0
    stuck = planner.plan_evacuation([VmToMove('hot', 256, 1, 'postcopy', 2.0, None, 'x')],
                                    [host('plain', postcopy=False)], 'nfs://a')
    assert stuck['left_behind'][0]['vm'] == 'hot'


def test_unprofiled_or_unmovable_vms_are_reported_not_fatal():
    result = planner.plan_evacuation([VmToMove('odd', 256, 1, None, None, None, 'profile incomplete: gone'),
                                      vm('ok', 1.0)], [host('hv2')], 'nfs://a')
    assert [m['vm'] for m in result['moves']] == ['ok']
    assert result['left_behind'] == [{'vm': 'odd', 'reason': 'profile incomplete: gone'}]
    with pytest.raises(ValueError):
        planner.plan_evacuation([], [host('hv2')], 'nfs://a', at_once=0)


@pytest.mark.parametrize('seed', range(5))
def test_plans_fleets_of_ten_hosts_and_fifty_vms_within_capacity(seed):
    rng = random.Random(seed)
    vms = [vm('vm%02d' % i, rng.uniform(0.5, 60), memory=rng.choice([512, 1024, 2048, 4096]),
              method=rng.choice(['precopy', 'postcopy', 'hybrid']), vcpus=rng.choice([1, 2, 4])) for i in range(50)]
    hosts = [host('hv%02d' % i, memory=rng.choice([16384, 32768]), vcpus=32, postcopy=rng.random() < 0.7)
             for i in range(9)]
    result = planner.plan_evacuation(vms, hosts, 'nfs://a')
    assert len(result['moves']) + len(result['left_behind']) == 50
    by_host = {}
    for move in result['moves']:
        by_host[move['destination']] = by_host.get(move['destination'], 0) + next(
            v.memory_mib for v in vms if v.name == move['vm'])
    for h in hosts:
        assert by_host.get(h.name, 0) <= h.free_memory_mib
    assert [m['order'] for m in result['moves']] == list(range(1, len(result['moves']) + 1))
    safe = [m['predicted_safe_at_s'] for m in result['moves']]
    assert safe == sorted(safe)


@pytest.mark.parametrize('params, message', [
    (dict(profiles={'../x': {}}), "profiles key '../x' cannot be a libvirt domain name"),
    (dict(profiles={'vm': 'junk'}), 'profiles entry vm must be a dict'),
    (dict(profiles={'vm': {'rates_at_once': {'2': {'rate_mibps': 90.0}}}}),
     'profiles entry vm is not an entry of the wa_vm_profiles fact'),
    (dict(vcpu_ratio=0), 'vcpu_ratio must be from 0.1 to 64'),
    (dict(concurrency=0), 'concurrency must be from 1 to 16'),
    (dict(destinations=[dict(name='hv2', free_memory_mib=-1, free_vcpus=4, postcopy_capable=True,
                             storage='shared')]), 'must not be negative'),
])
def test_an_evacuation_plan_request_that_cannot_be_right_is_refused(params, message):
    request = dict(profiles={}, destinations=[], storage='shared', concurrency=1, headroom_mib=256, vcpu_ratio=1.0)
    request.update(params)
    with pytest.raises(BadInput, match=re.escape(message)):
        planner.evacuation_plan(request)


def test_replan_re_predicts_with_the_measured_rate_and_puts_the_shortest_first_again():
    remaining = [{'vm': 'big', 'predicted_s': 2.0, 'predicted_sent_mib': 300.0},
                 {'vm': 'small', 'predicted_s': 3.0, 'predicted_sent_mib': 100.0},
                 {'vm': 'unknown', 'predicted_s': 1.0}]
    measured = dict((vm, planner.Measured(50.0, 0.5, 'learned')) for vm in ('big', 'small', 'unknown'))
    again = planner.replan(remaining, measured, now_s=10.0)
    assert [m['vm'] for m in again] == ['unknown', 'small', 'big']
    small, big = again[1], again[2]
    assert small['predicted_s'] == 2.5 and big['predicted_s'] == 6.5
    assert small['rate_source'] == 'learned' and 'rate_source' not in again[0]
    # Safe-at times count on from now, one after the other.
    assert [m['predicted_safe_at_s'] for m in again] == [11.0, 13.5, 20.0]
    # The input is not changed.
    assert remaining[0]['predicted_s'] == 2.0


def test_a_plan_carries_what_each_move_will_send_for_the_replan():
    entry = {'profile': {'memory_mib': 256, 'vcpus': 1, 'domain_type': 'qemu'}, 'recommended_method': 'postcopy',
             'predictions': {'postcopy': {'total_s': 2.0, 'sent_mib': 90.0}, 'precopy': {'total_s': 3.0}}}
    move = planner.plan_evacuation([planner.vm_to_move('a', entry)], [host('hv2')], 'nfs://a')['moves'][0]
    assert move['predicted_sent_mib'] == 90.0 and move['hypervisor'] == 'qemu'


def test_a_move_whose_destination_failed_goes_to_the_least_loaded_live_one():
    targets = {'hv2': {'postcopy_capable': True}, 'hv3': {'postcopy_capable': True}, 'hv4': {'postcopy_capable': False}}
    move = {'vm': 'a', 'destination': 'hv3', 'method': 'precopy'}
    assert planner.reassign(move, targets, {'hv3'}, {'hv2': 3, 'hv4': 1})[:2] == ('hv4', 'precopy')
    # A post-copy move prefers a destination that can do it; where none is left, it goes by pre-copy.
    postcopy = dict(move, method='postcopy')
    assert planner.reassign(postcopy, targets, {'hv3'}, {'hv2': 3, 'hv4': 1})[:2] == ('hv2', 'postcopy')
    chosen, method, why = planner.reassign(postcopy, targets, {'hv2', 'hv3'}, {})
    assert (chosen, method) == ('hv4', 'precopy') and 'no other can do post-copy' in why
    assert planner.reassign(move, targets, {'hv2', 'hv3', 'hv4'}, {})[:2] == (None, None)


def test_most_at_risk_first_moves_the_heaviest_writers_first_and_the_plan_says_what_each_order_costs():
    vms = [VmToMove('idle', 256, 1, 'precopy', 1.0, 1.0, 'why', risk=0.0),
           VmToMove('writer', 256, 1, 'postcopy', 4.0, None, 'why', risk=0.8),
           VmToMove('reader', 256, 1, 'precopy', 2.0, 2.0, 'why', risk=0.1)]
    shortest = planner.plan_evacuation(vms, [host('hv2')], 'nfs://a')
    assert [m['vm'] for m in shortest['moves']] == ['idle', 'reader', 'writer']
    risky = planner.plan_evacuation(vms, [host('hv2')], 'nfs://a', order='most-at-risk-first')
    assert [m['vm'] for m in risky['moves']] == ['writer', 'reader', 'idle'] and risky['order'] == 'most-at-risk-first'
    costs = shortest['orders']
    assert costs == risky['orders']
    # One link: the last VM is safe at the same time; shortest-first has the least mean, risk-first the least risk.
    assert costs['shortest-first']['last_safe_s'] == costs['most-at-risk-first']['last_safe_s'] == 7.0
    assert costs['shortest-first']['mean_safe_s'] == round((1 + 3 + 7) / 3.0, 2)
    assert costs['most-at-risk-first']['mean_safe_s'] == round((4 + 6 + 7) / 3.0, 2)
    assert costs['most-at-risk-first']['risk_weighted_wait_s'] == round(0.8 * 4 + 0.1 * 6, 2)
    assert costs['shortest-first']['risk_weighted_wait_s'] == round(0.1 * 3 + 0.8 * 7, 2)
    with pytest.raises(ValueError, match='order must be one of'):
        planner.plan_evacuation(vms, [host('hv2')], 'nfs://a', order='alphabetical')
    # The re-plan keeps the order.
    rest = planner.replan(risky['moves'][1:], {}, 4.0, order='most-at-risk-first')
    assert [m['vm'] for m in rest] == ['reader', 'idle']


def test_a_vms_risk_is_its_dirty_rate_over_its_rate():
    entry = {'profile': {'memory_mib': 256, 'vcpus': 1, 'dirty_rate_mibps': 40.0}, 'bandwidth_mibps': 50.0,
             'recommended_method': 'postcopy', 'predictions': {'postcopy': {'total_s': 4.0, 'sent_mib': 175.0}}}
    assert planner.vm_to_move('w', entry).risk == pytest.approx(0.8)
    assert planner.vm_to_move('w', dict(entry, bandwidth_mibps=None)).risk == 0.0


def test_a_plan_takes_the_rate_learned_at_the_number_it_runs_at_once():
    # Lone migrations taught 500 MiB/s, so two at once are chosen; two at once from this busy source moved 90.
    entry = {'profile': {'memory_mib': 256, 'vcpus': 1, 'domain_type': 'qemu'}, 'recommended_method': 'precopy',
             'predictions': {'precopy': {'total_s': 1.2, 'sent_mib': 180.0}}, 'bandwidth_mibps': 500.0,
             'inputs': {'sources': {'rate_mibps': 'learned from 4 migrations of this pair at no cap'}},
             'rates_at_once': {'2': {'rate_mibps': 90.0, 'fixed_s': 1.0, 'tail_s': 0.5,
                                     'source': 'learned (...; 2 at once, the source 95 % busy)'}}}
    vms = [planner.vm_to_move(name, entry) for name in ('a', 'b')]
    plan = planner.plan_evacuation(vms, [host('hv2')], 'nfs://a', at_once=None, link_mibps=1192)
    assert plan['concurrency'] == 2
    for move in plan['moves']:
        assert move['predicted_s'] == 3.0 and move['rate_mibps'] == 90.0 and move['tail_s'] == 0.5
        assert move['rate_source'].endswith('2 at once, the source 95 % busy)')
    # One at a time (the operator's number) keeps the lone prediction: nothing was learned at one.
    alone = planner.plan_evacuation(vms, [host('hv2')], 'nfs://a', at_once=1, link_mibps=1192)
    assert [m['predicted_s'] for m in alone['moves']] == [1.2, 1.2]


def test_more_at_once_is_kept_only_where_the_rates_measured_so_have_vms_safe_sooner():
    # Two VMs of 180 MiB; one at a time on this busy source moved 150 MiB/s, each of two at once `together`.
    def entry(together):
        return {'profile': {'memory_mib': 256, 'vcpus': 1, 'domain_type': 'qemu'}, 'recommended_method': 'precopy',
                'predictions': {'precopy': {'total_s': 2.2, 'sent_mib': 180.0}}, 'bandwidth_mibps': 150.0,
                'inputs': {'sources': {'rate_mibps': 'learned (...; alone, the source 100 % busy)'}},
                'rates_at_once': {'1': {'rate_mibps': 150.0, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'learned, 1'},
                                  '2': {'rate_mibps': together, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'learned, 2'}}}

    def plan(together):
        return planner.plan_evacuation([planner.vm_to_move(n, entry(together)) for n in ('a', 'b')], [host('hv2')],
                                       'nfs://a', at_once=None, link_mibps=1192)
    # One at a time: safe at 1.7 and 3.4 s (mean 2.55); two at 90 MiB/s each: both at 2.5 s.
    faster = plan(90.0)
    assert faster['concurrency'] == 2 and 'measured at this load' in faster['concurrency_reason']
    assert [m['predicted_safe_at_s'] for m in faster['moves']] == [2.5, 2.5]
    # Two at 50 MiB/s each: both at 4.1 s, the last VM later than one at a time's 3.4 s.
    slower = plan(50.0)
    assert slower['concurrency'] == 1 and slower['concurrency_reason'].startswith('one at a time: measured')
    assert [m['predicted_safe_at_s'] for m in slower['moves']] == [1.7, 3.4]
    # Two at 70 MiB/s each: both at 3.07 s, later on average (2.55 s) but the last VM sooner: the last VM decides.
    assert plan(70.0)['concurrency'] == 2
    # One VM runs alone, at the lone rate, whatever was learned at two.
    alone = planner.plan_evacuation([planner.vm_to_move('a', entry(90.0))], [host('hv2')], 'nfs://a',
                                    at_once=None, link_mibps=1192)
    assert alone['concurrency'] == 1 and alone['concurrency_reason'] == 'one at a time: one VM to move'
    assert alone['moves'][0]['predicted_s'] == 2.2


def test_more_than_two_at_once_where_measured_so_the_last_vm_is_safe_soonest():
    # Four VMs of 180 MiB: one at a time 150 MiB/s, two at once 90 each, four at once `four_rate` each (1 s fixed).
    def entry(four_over, four_rate):
        return {'profile': {'memory_mib': 256, 'vcpus': 1, 'domain_type': 'qemu'}, 'recommended_method': 'precopy',
                'predictions': {'precopy': {'total_s': 2.2, 'sent_mib': 180.0}}, 'bandwidth_mibps': 150.0,
                'inputs': {'sources': {'rate_mibps': 'learned (...; alone, the source 100 % busy)'}},
                'rates_at_once': {
                    '1': {'rate_mibps': 150.0, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'l1', 'pauses_over': [1, 6]},
                    '2': {'rate_mibps': 90.0, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'l2', 'pauses_over': [0, 4]},
                    '4': {'rate_mibps': four_rate, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'l4',
                          'pauses_over': four_over},
                    '8': {'rate_mibps': 40.0, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'l8', 'pauses_over': [0, 8]}}}

    def plan(four_over, link=1192, four_rate=60.0):
        return planner.plan_evacuation([planner.vm_to_move(n, entry(four_over, four_rate)) for n in 'abcd'],
                                       [host('hv2')], 'nfs://a', at_once=None, link_mibps=link)
    # One at a time: the last at 6.8 s; two at once: 5.0 s; four at once: all at 3.5 s (eight: more than the VMs).
    four = plan([1, 6])
    assert four['concurrency'] == 4 and four['concurrency_reason'].startswith('4 at a time: ')
    assert [m['predicted_safe_at_s'] for m in four['moves']] == [3.5] * 4
    assert all(m['rate_source'] == 'l4' for m in four['moves'])
    assert 'not 4' not in four['concurrency_reason'] and '8 at a time' not in four['concurrency_reason']
    # Where four at once paused more VMs over the limit than one at a time, two.
    held = plan([3, 6])
    assert held['concurrency'] == 2 and 'not 4 at a time' in held['concurrency_reason']
    # The lone rate's bound (two 150 MiB/s streams in 300) does not hold back four measured at 60 each ...
    assert plan([1, 6], link=300)['concurrency'] == 4
    # ... but four at 80 each do not fit in 300 MiB/s together: not a candidate.
    crowded = plan([1, 6], link=300, four_rate=80.0)
    assert crowded['concurrency'] == 2 and '4 at a time' not in crowded['concurrency_reason']
    # Four at once's pauses not recorded: no evidence that they held, so two.
    assert plan(None)['concurrency'] == 2


def test_the_link_rules_number_stands_where_it_was_not_measured_and_nothing_measured_above_one_wins():
    # One at a time 150 MiB/s and three at once 30 each were learned (three VMs); two at once never ran.
    entry = {'profile': {'memory_mib': 256, 'vcpus': 1, 'domain_type': 'qemu'}, 'recommended_method': 'precopy',
             'predictions': {'precopy': {'total_s': 2.2, 'sent_mib': 180.0}}, 'bandwidth_mibps': 150.0,
             'inputs': {'sources': {'rate_mibps': 'learned (...; alone, the source 100 % busy)'}},
             'rates_at_once': {
                 '1': {'rate_mibps': 150.0, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'l1', 'pauses_over': [0, 6]},
                 '3': {'rate_mibps': 30.0, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'l3', 'pauses_over': [0, 6]}}}
    plan = planner.plan_evacuation([planner.vm_to_move(n, entry) for n in 'abc'], [host('hv2')], 'nfs://a',
                                   at_once=None, link_mibps=1192)
    assert plan['concurrency'] == 2
    assert plan['concurrency_reason'].startswith('2 at a time: one migration moves 150 MiB/s (measured)')
    assert plan['concurrency_reason'].endswith('; 2 at a time not measured')


def test_a_rate_learned_that_many_at_once_is_not_shared_again():
    # Two at once each moved 1192 MiB/s of transfer (a fit dominated by its set-up): sharing the link is in it.
    moves = [{'vm': name, 'predicted_s': 3.0, 'predicted_sent_mib': 100.0, 'tail_s': 1.0} for name in ('a', 'b')]
    learned = dict((m['vm'], planner.Measured(1192.0, 2.0, 'learned; 2 at once', 1.0, 2)) for m in moves)
    again = planner.replan(moves, learned, 0.0, at_once=2, link_mibps=1192)
    assert [m['rate_streams'] for m in again] == [2, 2]
    assert [m['predicted_safe_at_s'] for m in again] == [1.08, 1.08]
    # The same rate learned alone: two at once would exceed the link, each twice as slow.
    alone = dict((vm, rates._replace(streams=None)) for vm, rates in learned.items())
    assert [m['predicted_safe_at_s'] for m in planner.replan(moves, alone, 0.0, 2, link_mibps=1192)] == [2.16, 2.16]


def test_a_move_is_planned_and_re_planned_at_its_methods_own_rate_where_one_was_learned():
    own = 'learned from 3 postcopy migrations of this pair at no cap'
    entry = {'profile': {'memory_mib': 256, 'vcpus': 1, 'domain_type': 'qemu'}, 'recommended_method': 'postcopy',
             'predictions': {'postcopy': {'total_s': 2.0, 'sent_mib': 180.0}}, 'bandwidth_mibps': 150.0,
             'inputs': {'method_rates': {'postcopy': 100.0},
                        'sources': {'rate_mibps': 'learned from 9 migrations', 'rate_mibps.postcopy': own}},
             'rates_at_once': {'2': {'rate_mibps': 90.0, 'fixed_s': 1.0, 'tail_s': 0.5, 'source': 'all, 2 at once',
                                     'method_rates': {'postcopy': [60.0, 'postcopy, 2 at once']}}}}
    vm = planner.vm_to_move('a', entry)
    assert vm.rate_mibps == 100.0 and vm.rate_source == own
    together = planner.plan_evacuation([vm, planner.vm_to_move('b', entry)], [host('hv2')], 'nfs://a', at_once=2,
                                       link_mibps=1192)
    for move in together['moves']:
        assert move['predicted_s'] == 4.0 and move['rate_mibps'] == 60.0 and move['rate_source'] == 'postcopy, 2 at once'
    # A re-plan given the method's own rate takes it; given the rate of all only, that.
    again = planner.replan([{'vm': 'a', 'method': 'postcopy', 'predicted_s': 2.0, 'predicted_sent_mib': 180.0}],
                           {'a': planner.Measured(150.0, 0.5, 'all', method_rates={'postcopy': (90.0, 'postcopy only')})}, now_s=0.0)
    assert again[0]['predicted_s'] == 2.5 and again[0]['rate_source'] == 'postcopy only'
    plain = planner.replan([{'vm': 'a', 'method': 'postcopy', 'predicted_s': 2.0, 'predicted_sent_mib': 180.0}],
                           {'a': planner.Measured(150.0, 0.5, 'all')}, now_s=0.0)
    assert plain[0]['predicted_s'] == 1.7 and plain[0]['rate_source'] == 'all'
