# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    migration_monitor as monitor)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.migration_monitor import Progress


def passes(*sizes):
    """A history of passes of the given sizes, sampled at the start and half way through each."""
    history = []
    sent = 0.0
    for i, size in enumerate(sizes):
        history.append(Progress(2.0 * i, i + 1, size, sent))
        sent += size / 2
        history.append(Progress(2.0 * i + 1, i + 1, size / 2, sent))
        sent += size / 2
    return history


def test_postcopy_switches_at_pass_one_and_hybrid_at_pass_two():
    assert not monitor.switch_due('postcopy', 0)
    assert monitor.switch_due('postcopy', 1)
    assert not monitor.switch_due('hybrid', 1)
    assert monitor.switch_due('hybrid', 2)
    assert not monitor.switch_due('precopy', 9)


def test_a_converging_precopy_is_left_alone():
    history = passes(160, 80, 40, 20, 10, 5, 3)
    assert not monitor.precopy_stalled(history)
    assert monitor.precopy_action(5.0, history, True, 30.0) == (None, None)


def test_passes_stuck_at_the_working_set_are_a_stall():
    # Dirty rate above bandwidth: every pass must resend the whole working set.
    history = passes(160, 96, 95, 96)
    assert monitor.precopy_stalled(history)
    action, why = monitor.precopy_action(12.0, history, True, 60.0)
    assert action == monitor.SWITCH_TO_POSTCOPY
    assert 'not converging' in why and 'switching to post-copy' in why
    assert monitor.precopy_stalled(history)


def test_too_few_passes_never_count_as_a_stall():
    assert not monitor.precopy_stalled(passes(160, 96, 96))


def test_slow_but_steady_shrinking_is_progress():
    # Dirty rate at 90 % of the bandwidth: each pass 10 % smaller.
    assert not monitor.precopy_stalled(passes(160, 144, 130, 117, 105, 95))


def test_wobble_within_five_percent_is_no_progress():
    assert monitor.precopy_stalled(passes(160, 96, 93, 95, 92))


def test_without_postcopy_a_stall_aborts():
    history = passes(160, 96, 96, 96)
    action, why = monitor.precopy_action(12.0, history, False, 60.0)
    assert action == monitor.ABORT
    assert 'keeps running on the source' in why


def test_the_precopy_budget_triggers_even_while_converging():
    action, why = monitor.precopy_action(31.0, passes(160, 80, 40), True, 30.0)
    assert action == monitor.SWITCH_TO_POSTCOPY
    assert '30 s budget' in why


def test_pass_size_is_the_most_remaining_seen_and_ignores_setup_and_unknowns():
    history = [Progress(0.1, 0, 256.0, 0.0), Progress(0.5, 1, 200.0, 56.0), Progress(0.9, 1, 150.0, 106.0),
               Progress(1.0, 2, None, None)]
    assert monitor.pass_sizes(history) == {1: 200.0}


def test_precopy_budget():
    assert monitor.precopy_budget(12.0, 4.0) == 24.0
    assert monitor.precopy_budget(2.0, 1.0) == 10.0      # never below the floor
    assert monitor.precopy_budget(None, 8.0) == 16.0     # predicted not to converge


def link(samples):
    """A history sampled once a second with these MiB sent so far."""
    return [Progress(float(t), 1, 100.0, sent) for t, sent in enumerate(samples)]


def test_a_link_that_sends_nothing_for_the_timeout_is_down():
    history = link([0, 10, 20, 30, 30, 30, 30])
    assert not monitor.link_stalled(history, 6.0, link_timeout_s=4.0)   # t=2..6: 20 -> 30, data moved
    assert monitor.link_stalled(history, 6.0, link_timeout_s=3.0)       # t=3..6: nothing after 30


def test_a_young_migration_or_unknown_counts_are_never_a_dead_link():
    assert not monitor.link_stalled(link([0, 0, 0]), 2.0, link_timeout_s=10.0)
    assert not monitor.link_stalled([Progress(0.0, 1, 100.0, None), Progress(20.0, 1, 100.0, None)], 20.0, 10.0)


def test_a_dead_link_aborts_precopy_even_when_postcopy_is_possible():
    action, why = monitor.precopy_action(12.0, link([0, 5] + [5] * 11), True, 60.0, link_timeout_s=10.0)
    assert action == monitor.ABORT
    assert 'carried no data for 10 s' in why
