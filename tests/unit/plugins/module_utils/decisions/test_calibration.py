# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import calibration
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.calibration import Sample


def test_rate_and_fixed_cost_are_told_apart_by_migrations_of_different_sizes():
    # 0.35 s fixed, 200 MiB/s: the runs of 100, 200 and 400 MiB.
    learned = calibration.fit([Sample(100, 0.85, 30), Sample(200, 1.35, 40), Sample(400, 2.35, 300)])
    assert learned['rate_mibps'] == pytest.approx(200.0)
    assert learned['fixed_s'] == pytest.approx(0.35)
    assert learned['samples'] == 3
    # The pause is taken high: the 90th percentile, here the worst of three.
    assert learned['pause_ms'] == 300


def test_nothing_is_learned_from_too_few_or_too_alike_migrations():
    assert calibration.fit([]) is None
    assert calibration.fit([Sample(100, 0.85, 30)]) is None
    # 100 and 120 MiB cannot separate a fixed cost from a rate.
    assert calibration.fit([Sample(100, 0.85, 30), Sample(120, 0.95, 30)]) is None
    # Failed runs (nothing sent) do not count.
    assert calibration.fit([Sample(0, 0.5, None), Sample(100, 0.85, 30)]) is None


def test_a_fit_without_physical_sense_is_no_fit():
    # Bigger migrations faster: no positive rate.
    assert calibration.fit([Sample(100, 2.0, 30), Sample(400, 1.0, 30)]) is None
    # A negative fixed cost.
    assert calibration.fit([Sample(100, 0.1, 30), Sample(400, 1.9, 30)]) is None


def test_percentile_is_the_nearest_rank():
    assert calibration.percentile([], 0.9) is None
    assert calibration.percentile([5], 0.9) == 5
    assert calibration.percentile(list(range(1, 11)), 0.9) == 9
    assert calibration.percentile(list(range(1, 11)), 0.5) == 5


def test_a_migration_that_overlapped_others_does_not_teach_the_finish_where_lone_ones_can():
    # An evacuation's migration shares the host while others run: its finish took 4 s, alone 2.2 s.
    alone = [Sample(size, 0.35 + size / 150 + 2.2, 100, 0, 'precopy', 240, 0.35 + size / 150, 0.4 + size / 150)
             for size in (82.0, 161.0)]
    shared = [Sample(size, 0.35 + size / 150 + 4.0, 100, 0, 'precopy', 240, 0.35 + size / 150, 0.4 + size / 150,
                     True) for size in (82.0, 161.0)]
    learned = calibration.learn(alone + shared, 0.35)
    assert learned['fixed_s'] == pytest.approx(0.35 + 2.2)
    assert calibration.tail_s(alone + shared)['tail_s'] == pytest.approx(2.15)
    # With nothing else to go by, the overlapped ones still teach the fixed cost, never the tail.
    assert calibration.learn(shared, 0.35)['fixed_s'] == pytest.approx(0.35 + 4.0)
    assert calibration.tail_s(shared) is None


def test_a_migration_that_overlapped_others_does_not_teach_the_rate_where_lone_ones_can():
    # Alone a stream moved 500 MiB/s; six at once shared the host and each moved 120 MiB/s.
    alone = [Sample(size, 0.35 + size / 500 + 1.0, 100, 0, 'precopy', 0, 0.35 + size / 500, 0.4 + size / 500)
             for size in (80.0, 160.0)]
    shared = [Sample(size, 0.35 + size / 120 + 1.0, 100, 0, 'precopy', 0, 0.35 + size / 120, 0.4 + size / 120,
                     True) for size in (80.0, 120.0, 160.0, 200.0)]
    assert calibration.learn(alone + shared, 0.35)['rate_mibps'] == pytest.approx(500.0)
    assert calibration.learn(alone + shared, 0.35)['samples'] == 2
    # Only overlapped ones: they are all there is to go by.
    assert calibration.learn(shared, 0.35)['rate_mibps'] == pytest.approx(120.0)


def loaded(rate, streams, busy, sizes=(80.0, 160.0)):
    """Migrations that moved `rate` MiB/s with `streams` at once from a source `busy` (0-1) before they began."""
    return [Sample(size, 0.35 + size / rate + 1.0, 100, 0, 'precopy', 0, 0.35 + size / rate, 0.4 + size / rate,
                   streams > 1, streams, busy) for size in sizes]


def test_a_condition_learns_only_from_migrations_taken_so():
    # Seen on the bed: alone on an idle host 514 MiB/s; two at once from six busy guests on two cores 65-113.
    samples = loaded(500.0, 1, 0.3) + loaded(90.0, 2, 0.95) + loaded(300.0, 2, 0.3)
    busy_two = calibration.learn(samples, 0.35, streams=2, source_busy=0.9)
    assert busy_two['rate_mibps'] == pytest.approx(90.0)
    assert busy_two['how'].endswith('; 2 at once, the source 90 % busy')
    assert calibration.learn(samples, 0.35, streams=2, source_busy=0.35)['rate_mibps'] == pytest.approx(300.0)
    assert calibration.learn(samples, 0.35, streams=1, source_busy=0.2)['rate_mibps'] == pytest.approx(500.0)
    # A load not seen within LOAD_TOLERANCE, or a count never run: nothing (the caller falls back).
    assert calibration.learn(samples, 0.35, streams=1, source_busy=0.9) is None
    assert calibration.learn(samples, 0.35, streams=3) is None
    # An unknown load now takes the count's migrations at any load; without a condition, lone ones as before.
    assert calibration.learn(samples, 0.35, streams=1)['rate_mibps'] == pytest.approx(500.0)
    assert calibration.learn(samples, 0.35)['rate_mibps'] == pytest.approx(500.0)


def test_entries_older_than_the_condition_read_as_alone_unless_they_overlapped():
    old_alone = Sample(80.0, 3.0, 100, 0, 'precopy', 0, 1.0, 1.2, False)
    old_shared = Sample(80.0, 3.0, 100, 0, 'precopy', 0, 1.0, 1.2, True)
    assert calibration.streams_of(old_alone) == 1 and calibration.streams_of(old_shared) is None
    assert calibration.alike([old_alone, old_shared], 1) == [old_alone]
    # With a load to match, a sample that did not measure one does not match.
    assert calibration.alike([old_alone], 1, 0.5) == []


def test_under_a_condition_the_finish_still_comes_from_lone_jobs():
    # An evacuation's jobs end together (the source's confirms): 3 s after their transfers, alone 1 s.
    lone = loaded(500.0, 1, 0.3)
    evacuation = [s._replace(total_s=s.transfer_s + 3.0) for s in loaded(90.0, 2, 0.95)]
    learned = calibration.learn(lone + evacuation, 0.35, streams=2, source_busy=0.95)
    assert learned['rate_mibps'] == pytest.approx(90.0) and learned['fixed_s'] == pytest.approx(0.35 + 1.0)
    # With no lone job to go by, the condition's own.
    assert calibration.learn(evacuation, 0.35, streams=2, source_busy=0.95)['fixed_s'] == pytest.approx(0.35 + 3.0)


def test_a_rate_holding_fixed_costs_takes_the_set_up_off_transfers_and_the_fixed_cost_off_old_jobs():
    with_transfer = [Sample(100.0, 4.0, 10, transfer_s=1.5), Sample(300.0, 6.0, 10, transfer_s=3.5)]
    held = calibration.rate_holding(with_transfer, 0.5, 2.5)
    assert held['rate_mibps'] == pytest.approx(100.0) and held['samples'] == 2
    assert held['how'] == 'its set-up held at 0.50 s'
    # Entries of early stores know libvirt's job alone: the fixed cost comes off it.
    old = [Sample(100.0, 3.5, 10), Sample(300.0, 5.5, 10)]
    assert calibration.rate_holding(old, 0.5, 2.5)['rate_mibps'] == pytest.approx(100.0)
    # A transfer no longer than the set-up tells no rate.
    assert calibration.rate_holding([Sample(100.0, 2.0, 10, transfer_s=0.5)], 0.5, 2.5) is None
    assert calibration.rate_holding([], 0.5, 2.5) is None


def test_a_rate_is_taken_from_the_migrations_of_its_condition_else_those_that_ran_alone():
    alone, overlapped = Sample(100.0, 3.5, 10, streams=1), Sample(100.0, 5.0, 10, overlapped=True, streams=2)
    assert calibration.taken([alone, overlapped]) == [alone]
    assert calibration.taken([overlapped]) == [overlapped]
    assert calibration.taken([alone, overlapped], 2) == [overlapped]
    assert calibration.taken([alone], 2) == []
