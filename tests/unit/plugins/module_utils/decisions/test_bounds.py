# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import settings
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import bounds
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput


@pytest.mark.parametrize('params, message', [
    (dict(profile_window_s=0.2), 'profile_window_s must be 0 (no profiling) or from 1 to 60 s, got 0.2'),
    (dict(profile_window_s=100000, time_budget_s=900), 'profile_window_s must be 0 (no profiling) or from 1 to 60 s'),
    (dict(profile_window_s=45, time_budget_s=30), 'profile_window_s (45 s) must not be longer than time_budget_s'),
    (dict(precopy_budget_s=60, time_budget_s=30), 'precopy_budget_s (60 s) must not be longer than time_budget_s'),
    (dict(tolerance=5000), 'tolerance must be from 0 to 1'),
    (dict(bandwidth_mibps=10 ** 12), 'bandwidth_mibps must be 0 (no limit) or from 1 to 100000 MiB/s'),
    (dict(parallel_connections=1), 'parallel_connections must be 0 (one connection) or from 2 to 64'),
    (dict(max_downtime_ms=0), 'max_downtime_ms must be from 1 to 60000 ms, got 0'),
    (dict(concurrency=100), 'concurrency must be from 1 to 16'),
])
def test_out_of_range_values_are_refused_with_the_range(params, message):
    with pytest.raises(BadInput) as err:
        bounds.check_bounds(params)
    assert message in str(err.value)


def test_every_problem_is_named_at_once():
    problems = bounds.bound_problems(dict(tolerance=5000, bandwidth_mibps=-1))
    assert [p.split()[0] for p in problems] == ['bandwidth_mibps', 'tolerance']


def test_zero_can_be_refused_where_it_has_no_meaning():
    assert bounds.bound_problems(dict(bandwidth_mibps=0)) == []
    assert bounds.bound_problems(dict(bandwidth_mibps=0), zero_refused=('bandwidth_mibps',)) == [
        'bandwidth_mibps must be from 1 to 100000 MiB/s, got 0']


def test_the_defaults_are_in_range():
    assert bounds.bound_problems(dict(settings.defaults(), profile_window_s=2, link_mibps=1192, tolerance=0.05)) == []


def test_one_constructor_makes_the_options_from_module_parameters():
    params = dict(settings.defaults(), bandwidth_mibps=80, transport='tls', postcopy_allowed=False)
    options = settings.migration_options(params, 'precopy', 'qemu+tls://hv2/system', False,
                                         predicted_precopy_s=20.0)
    assert options.bandwidth_mibps == 80 and options.tls and options.auto_converge
    assert options.precopy_budget_s == 40.0
    assert options.dest_uri == 'qemu+tls://hv2/system'
