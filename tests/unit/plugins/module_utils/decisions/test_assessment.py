# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import assessment, policy, rates
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.calibration import Sample

WRITER = {'domain_type': 'qemu', 'memory_mib': 256.0, 'memory_used_mib': 124.3, 'transfer_mib': 174.4,
          'wws_mib': 124.3, 'cpu_util': 0.08, 'dirty_rate_mibps': 38.0, 'net_rx_mibps': 0.0, 'net_tx_mibps': 0.0}
IDLE = dict(WRITER, dirty_rate_mibps=0.0, wws_mib=0.0)


def at(rate, fixed=0.35, switchover=10.0, overshoot=1.0):
    return rates.Rates(rate, fixed, switchover, overshoot, {'rate_mibps': 'test', 'fixed_s': 'test',
                                                            'switchover_ms': 'test', 'overshoot': 'test'})


def test_a_writer_on_a_capped_link_goes_by_postcopy():
    result = assessment.assess(WRITER, at(50.0), 300, policy.allowed_methods())
    assert result['bandwidth_mibps'] == 50.0
    assert result['classification']['access'] == 'write-intensive'
    assert result['recommended_method'] == 'postcopy'
    assert result['predictions']['precopy']['total_s'] > result['predictions']['postcopy']['total_s']
    assert 'rate 50 MiB/s (test)' in result['reason']


def test_the_rates_fixed_cost_and_switchover_are_what_the_prediction_uses():
    result = assessment.assess(IDLE, at(100.0, fixed=1.0, switchover=40.0), 300, policy.allowed_methods())
    post = result['predictions']['postcopy']
    assert post['total_s'] == pytest.approx(1.0 + 0.04 + 174.4 / 100.0, abs=1e-3)
    assert post['downtime_ms'] == 40.0
    assert result['inputs']['rate_mibps'] == 100.0 and result['inputs']['downtime_limit_ms'] == 300


def test_precopy_is_aimed_below_the_limit_by_the_overshoot_and_its_pause_predicted_with_it():
    result = assessment.assess(WRITER, at(200.0, overshoot=1.5), 300, ['precopy'])
    assert result['inputs']['downtime_target_ms'] == 200
    pre = result['predictions']['precopy']
    assert pre['converges'] and pre['downtime_ms'] <= 300
    # The model stopped within QEMU's 200 ms target; the pause it predicts is that times 1.5.
    assert pre['downtime_ms'] > 200 * 0.5


def test_the_rate_comes_from_what_was_learned_not_the_link():
    learned = {rates.pair_key('a', 'b', 'qemu'): [Sample(100, 1.35, 8, 0, 'postcopy'), Sample(300, 3.35, 8, 0, 'postcopy')]}
    result = assessment.assess(IDLE, rates.migration_rates(learned, 'a', 'b', 'qemu', 0, 1192), 300, ['precopy'])
    assert result['bandwidth_mibps'] == pytest.approx(100.0)
    assert 'learned from 2 migrations of this pair' in result['reason']


def test_no_safe_method_is_reported_not_raised():
    hot = dict(WRITER, dirty_rate_mibps=400.0, wws_mib=174.4)
    result = assessment.assess(hot, at(50.0), 300, ['precopy'])
    assert result['recommended_method'] is None
    assert 'does not converge' in result['reason']


def test_without_postcopy_a_writer_above_the_link_is_moved_by_a_throttled_precopy_not_left_behind():
    above = dict(WRITER, dirty_rate_mibps=80.0, wws_mib=96.0)
    assert assessment.assess(above, at(50.0), 300, ['precopy'])['recommended_method'] is None
    assert assessment.auto_converge_on('auto', postcopy_possible=False)
    assert not assessment.auto_converge_on('auto', postcopy_possible=True)
    assert assessment.auto_converge_on('always', True) and not assessment.auto_converge_on('never', False)
    result = assessment.assess(above, at(50.0), 300, ['precopy'], auto_converge=True)
    assert result['recommended_method'] == 'precopy'
    assert 'auto-converge throttles the guest' in result['reason']
    assert result['predictions']['precopy']['slowdown'] > 0


def test_the_dirty_rate_carries_its_spread():
    assert assessment.dirty_rate_interval([]) is None and assessment.dirty_rate_interval([40.0]) is None
    low, high = assessment.dirty_rate_interval([30.0, 50.0, 40.0, 40.0])
    assert low < 40.0 < high and high - 40.0 == pytest.approx(40.0 - low)
    assert assessment.dirty_rate_interval([0.0, 0.0, 3.0])[0] == 0.0


def test_where_the_choice_flips_within_the_spread_the_high_end_decides_and_says_so():
    # 44 MiB/s on a 50 MiB/s link: pre-copy converges at the mean; at the high end it does not.
    near = dict(WRITER, dirty_rate_mibps=44.0, wws_mib=124.3, dirty_rate_samples=[30.0, 58.0, 44.0, 30.0, 58.0])
    steady = dict(near, dirty_rate_samples=[44.0, 44.0, 44.0, 44.0])
    assert assessment.assess(steady, at(50.0), 300, ['precopy'])['recommended_method'] == 'precopy'
    result = assessment.assess(near, at(50.0), 300, ['precopy'])
    assert result['recommended_method'] is None
    assert 'flips within the dirty rate\'s spread' in result['reason']
    assert result['inputs']['dirty_rate_interval_mibps'][1] > 50.0


def test_hybrid_pauses_for_the_late_switch_and_postcopy_for_the_early_one():
    result = assessment.assess(IDLE, at(100.0)._replace(late_switchover_ms=170.0), 300, policy.allowed_methods())
    assert result['predictions']['hybrid']['downtime_ms'] == 170.0
    assert result['predictions']['postcopy']['downtime_ms'] == 10.0


def test_a_method_with_its_own_measured_rate_is_predicted_and_reported_at_it():
    base = at(100.0)
    own = base._replace(method_rates={'postcopy': 50.0},
                        sources=dict(base.sources, **{'rate_mibps.postcopy': 'postcopy migrations only: test'}))
    result = assessment.assess(WRITER, own, 300, ['postcopy'])
    post = result['predictions']['postcopy']
    assert post['total_s'] == pytest.approx(0.35 + 0.01 + 174.4 / 50.0, rel=0.05)
    assert result['recommended_method'] == 'postcopy'
    assert 'rate 50 MiB/s (postcopy migrations only: test)' in result['reason']
    # A method without its own rate is predicted, and reported, at the rate of all.
    pre = assessment.assess(IDLE, own, 300, ['precopy'])
    assert 'rate 100 MiB/s (test)' in pre['reason']
