# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    live_prediction as live)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.migration_monitor import Progress

MIB = 1024 * 1024


def bps(mibps):
    return mibps * MIB


def pages(mibps):
    """A dirty rate in 4 KiB pages per second."""
    return mibps * 256


def test_a_converging_writer_needs_a_pass_more_than_postcopy():
    # 100 MiB left at 50 MiB/s: 2 s; dirtied meanwhile 10 MiB/s x 2 s = 20 MiB (0.4 s, over the
    # 300 ms limit): one more pass; then 4 MiB, 0.08 s: stop-and-copy.
    p = live.repredict(100.0, bps(50), pages(10), 2, 300)
    assert p.precopy_s == pytest.approx(2.0 + 0.4 + 0.08)
    assert p.precopy_passes == 1
    assert p.postcopy_s == pytest.approx(2.0)
    assert (p.rate_mibps, p.dirty_mibps, p.remaining_mib, p.iteration) == (50.0, 10.0, 100.0, 2)


def test_a_writer_faster_than_the_link_does_not_converge():
    p = live.repredict(100.0, bps(50), pages(60), 3, 300)
    assert p.precopy_s is None and p.precopy_passes is None
    assert p.postcopy_s == pytest.approx(2.0)
    assert p.dirty_mibps == 60.0


def test_a_writer_as_fast_as_the_link_does_not_converge():
    assert live.repredict(100.0, bps(50), pages(50), 3, 300).precopy_s is None


def test_a_fast_writer_whose_dirty_set_fits_the_downtime_converges():
    # What a pass sends bounds what the next can hold: 10 MiB at 50 MiB/s is 0.2 s.
    p = live.repredict(10.0, bps(50), pages(60), 3, 300)
    assert p.precopy_s == pytest.approx(0.2 + 0.2)
    assert p.precopy_passes == 0


def test_a_dirty_set_that_just_fits_the_downtime_converges():
    # 7.5 MiB/s x 2 s = 15 MiB, exactly 300 ms at 50 MiB/s.
    p = live.repredict(100.0, bps(50), pages(7.5), 2, 300)
    assert p.precopy_passes == 0
    assert p.precopy_s == pytest.approx(2.3)
    assert live.repredict(100.0, bps(50), pages(7.6), 2, 300).precopy_passes == 1


def test_too_many_passes_do_not_converge():
    # Each pass 99 % of the one before: far more than 30 passes to get from 100 MiB to 15.
    assert live.repredict(100.0, bps(50), pages(49.5), 2, 300).precopy_s is None
    assert live.repredict(100.0, bps(50), pages(49.5), 2, 300, max_passes=1000).precopy_s is not None


def test_no_rate_or_no_remainder_is_no_prediction():
    assert live.repredict(100.0, 0, pages(10), 2, 300) is None
    assert live.repredict(100.0, None, pages(10), 2, 300) is None
    assert live.repredict(None, bps(50), pages(10), 2, 300) is None
    assert live.repredict(100.0, bps(50), pages(10), 2, None) is None


def test_an_unknown_dirty_rate_counts_as_none_and_nothing_left_is_done():
    p = live.repredict(100.0, bps(50), None, 2, 300)
    assert p.precopy_s == pytest.approx(2.0) and p.dirty_mibps == 0.0
    p = live.repredict(0.0, bps(50), pages(10), 2, 300)
    assert (p.precopy_s, p.postcopy_s) == (0.0, 0.0)


def test_the_pass_under_way_counts_whole_and_postcopy_resends_what_it_redirtied():
    # Half of a 100 MiB pass sent (1 s); 10 MiB of it dirtied again meanwhile.
    p = live.repredict(50.0, bps(50), pages(10), 2, 300, pass_mib=100.0)
    assert p.postcopy_s == pytest.approx((50.0 + 10.0) / 50)
    # The next pass holds what the whole 2 s pass left dirty: 20 MiB, then 4 MiB.
    assert p.precopy_s == pytest.approx(1.0 + 0.4 + 0.08)


def test_page_size_scales_the_dirty_rate():
    assert live.dirty_mibps(5, 2 * MIB) == 10.0
    assert live.dirty_mibps(2560) == 10.0
    assert live.dirty_mibps(None) is None


def samples(rates, iteration=2, remaining=100.0, dirty=pages(10), start=0.0, step=0.25):
    return [Progress(start + i * step, iteration, remaining, i * 10.0, rate, dirty, 4096)
            for i, rate in enumerate(rates)]


def test_from_history_needs_a_measured_dirty_rate_and_enough_samples():
    assert live.from_history(samples([bps(50)] * 8, iteration=1), 300) is None       # pass 1: dirty rate is 0
    assert live.from_history(samples([bps(50)] * 3), 300) is None                    # too few samples
    assert live.from_history(samples([bps(50)] * 4), 300) is None                    # 0.75 s: too short
    assert live.from_history(samples([bps(50)] * 5), 300) is not None
    assert live.from_history(samples([None, 0] * 4), 300) is None                     # no rate measured
    assert live.from_history([Progress(t, 2, 100.0, t) for t in range(8)], 300) is None  # no live fields


def test_from_history_takes_the_median_rate_and_the_pass_size():
    history = samples([bps(40), bps(50), bps(50), bps(50), bps(1000)])
    history.insert(0, Progress(0.0, 2, 150.0, 0.0))
    p = live.from_history(history, 300)
    assert p.rate_mibps == 50.0
    assert p.remaining_mib == 100.0
    # The pass was 150 MiB: 50 MiB sent and 10 MiB of them dirtied again.
    assert p.postcopy_s == pytest.approx(110.0 / 50)


def test_postcopy_sooner_by_the_margin_and_the_gain():
    def prediction(precopy_s, postcopy_s):
        return live.LivePrediction(precopy_s, 1, postcopy_s, 50.0, 10.0, 100.0, 2)

    assert live.postcopy_sooner(prediction(None, 3.0), 0.05, 1.0)
    assert live.postcopy_sooner(prediction(41.0, 3.1), 0.05, 1.0)
    assert not live.postcopy_sooner(prediction(30.0, 29.0), 0.05, 1.0)   # within 5 %
    assert live.postcopy_sooner(prediction(31.0, 29.0), 0.05, 1.0)
    assert not live.postcopy_sooner(prediction(1.5, 0.5), 0.05, 1.0)     # 3 times as long, but only 1 s
    assert not live.postcopy_sooner(prediction(4.0, 3.0), 0.5, 0.0)      # the wider margin


def test_describe_and_as_dict_carry_the_rates():
    p = live.LivePrediction(41.04, 12, 3.14, 45.0, 38.0, 140.0, 3)
    assert live.describe(p) == 'pre-copy 41.0 s more (dirty 38 MiB/s vs 45 MiB/s sent), post-copy 3.1 s'
    assert live.describe(p._replace(precopy_s=None)).startswith('pre-copy does not converge (dirty 38')
    assert live.as_dict(p) == {'precopy_s': 41.04, 'precopy_passes': 12, 'postcopy_s': 3.14, 'rate_mibps': 45.0,
                               'dirty_mibps': 38.0, 'remaining_mib': 140.0, 'pass': 3}
    assert live.as_dict(None) is None
