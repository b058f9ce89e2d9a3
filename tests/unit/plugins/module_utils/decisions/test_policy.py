# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import policy
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.cost_model import Prediction

ALL = policy.allowed_methods()


def prediction(method, total, downtime=5.0, converges=True, exposure=0.0):
    return Prediction(method, converges, total if converges else None, downtime if converges else None,
                      100.0, 1, exposure, 0.0, 0.0)


def predictions(pre, hyb, post, pre_downtime=100.0, pre_converges=True):
    return {
        'precopy': prediction('precopy', pre, pre_downtime, pre_converges),
        'hybrid': prediction('hybrid', hyb, exposure=1.0),
        'postcopy': prediction('postcopy', post, exposure=2.0),
    }


def test_fastest_wins_when_the_others_are_clearly_slower():
    method, reason = policy.choose(predictions(13.4, 6.4, 3.9), 300, ALL)
    assert method == 'postcopy'
    assert reason.startswith('postcopy: predicted 3.9 s')
    assert 'precopy 13.4 s' in reason and 'hybrid 6.4 s' in reason


def test_less_exposed_method_within_tolerance_is_preferred():
    assert policy.choose(predictions(2.04, 2.05, 2.0), 300, ALL)[0] == 'precopy'  # 2 % slower
    assert policy.choose(predictions(2.2, 2.05, 2.0), 300, ALL)[0] == 'hybrid'    # precopy 10 % slower
    method, reason = policy.choose(predictions(2.11, 2.2, 2.0), 300, ALL)           # 5.5 %: outside
    assert method == 'postcopy'


def test_tolerance_is_a_parameter():
    assert policy.choose(predictions(2.2, 2.3, 2.0), 300, ALL, tolerance=0.15)[0] == 'precopy'
    assert policy.choose(predictions(2.2, 2.3, 2.0), 300, ALL, tolerance=0.0)[0] == 'postcopy'
    with pytest.raises(ValueError):
        policy.choose(predictions(1, 1, 1), 300, ALL, tolerance=-0.1)


def test_downtime_over_the_limit_rules_a_method_out():
    method, reason = policy.choose(predictions(2.0, 3.0, 4.0, pre_downtime=400.0), 300, ALL)
    assert method == 'hybrid'
    assert 'precopy downtime 400 ms over the 300 ms limit' in reason


def test_without_postcopy_only_precopy_is_allowed():
    assert policy.allowed_methods(postcopy_allowed=False) == ['precopy']
    assert policy.allowed_methods(destination_postcopy_capable=False) == ['precopy']
    method, reason = policy.choose(predictions(13.4, 6.4, 3.9), 300, ['precopy'])
    assert method == 'precopy'
    assert 'postcopy not allowed' in reason


def test_no_safe_method_is_an_explicit_error():
    with pytest.raises(policy.NoSafeMethod) as err:
        policy.choose(predictions(0, 6.4, 3.9, pre_converges=False), 300, ['precopy'])
    assert 'precopy does not converge' in str(err.value)


def test_where_a_failed_post_copy_cannot_be_resumed_a_less_exposed_method_within_half_again_is_preferred():
    # pre-copy 40 % slower than post-copy: post-copy where its failure is a pause, pre-copy where it is a loss.
    assert policy.choose(predictions(2.8, 2.7, 2.0), 300, ALL)[0] == 'postcopy'
    method, reason = policy.choose(predictions(2.8, 2.7, 2.0), 300, ALL, postcopy_recoverable=False)
    assert method == 'precopy'
    assert 'within 50%' in reason and 'could not be resumed' in reason
    # Past 1.5 times, speed still wins, and pre-copy that cannot converge is never taken for safety.
    assert policy.choose(predictions(3.2, 3.1, 2.0), 300, ALL, postcopy_recoverable=False)[0] == 'postcopy'
    assert policy.choose(predictions(2.1, 2.7, 2.0, pre_converges=False), 300, ALL,
                         postcopy_recoverable=False)[0] == 'hybrid'
