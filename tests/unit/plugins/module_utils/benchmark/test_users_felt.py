# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import load_summary, measure


def record(path, requests):
    with open(path, 'w') as handle:
        for request in requests:
            handle.write(json.dumps(request) + '\n')


def steady(start, end, every=0.1, lat_ms=2.0):
    t, found = start, []
    while t < end:
        found.append(dict(t=round(t, 3), lat_ms=lat_ms, ok=True, data_ok=True, op='get'))
        t += every
    return found


def test_the_runs_user_facing_figures_come_from_the_load_record_around_the_migration(tmp_path):
    path = str(tmp_path / 'kv.jsonl')
    # Ten replies a second, a 2 s stall inside the migration (from 1010 to 1014), one request lost in it.
    requests = steady(1000.0, 1011.0) + [dict(t=1011.0, lat_ms=5000.0, ok=False, data_ok=None, op='set')] + \
        steady(1013.0, 1025.0)
    record(path, requests)
    waited = []
    felt, points = measure.users_felt(path, 1010.0, 1014.0, 5.0, sleep=waited.append)
    assert waited == [5.0]
    assert sorted(felt) == sorted(load_summary.FIGURES)
    assert felt['failed_requests'] == 1 and felt['data_errors'] == 0
    assert felt['rps_before'] == pytest.approx(10.0, abs=0.5) and felt['rps_after'] == pytest.approx(10.0, abs=0.5)
    assert felt['max_latency_ms'] == 5000.0
    assert felt['longest_stall_ms'] == pytest.approx(2000.0, abs=150)
    # The plot's series spans the settle seconds on both sides.
    assert points[0][0] == -5.0 and points[-1][0] >= 8.5


def test_a_load_that_recorded_nothing_around_the_migration_is_an_error_not_a_perfect_score(tmp_path):
    path = str(tmp_path / 'kv.jsonl')
    record(path, steady(0.0, 10.0))
    with pytest.raises(measure.BenchmarkError, match='recorded no request around the migration'):
        measure.users_felt(path, 1010.0, 1014.0, 5.0, sleep=lambda _s: None)
    with pytest.raises(measure.BenchmarkError, match='cannot be read'):
        measure.users_felt(str(tmp_path / 'none.jsonl'), 1010.0, 1014.0, 5.0, sleep=lambda _s: None)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_a_run_waits_until_the_load_runs_and_gives_up_on_a_silent_one(tmp_path):
    path = str(tmp_path / 'kv.jsonl')
    record(path, steady(1000.0, 1010.0))
    clock = Clock(1010.5)
    assert measure.wait_for_load(path, clock=clock, sleep=clock.sleep) == pytest.approx(1009.902)
    # A record that stopped long ago (or no record yet) is a load that does not run.
    clock = Clock(1100.0)
    with pytest.raises(measure.BenchmarkError, match='has had no request end for 60 s'):
        measure.wait_for_load(path, clock=clock, sleep=clock.sleep)
    assert clock.now >= 1160.0
    # A job that takes 3 s is written when it ends: fresh by its end, not by when it was sent.
    slow = str(tmp_path / 'job.jsonl')
    record(slow, [dict(t=1000.0 + 3 * i, lat_ms=3000.0, ok=True, data_ok=True) for i in range(4)])
    clock = Clock(1012.5)
    assert measure.wait_for_load(slow, clock=clock, sleep=clock.sleep) == pytest.approx(1012.0)
    clock = Clock(1100.0)
    with pytest.raises(measure.BenchmarkError, match='is it running'):
        measure.wait_for_load(str(tmp_path / 'none.jsonl'), timeout_s=3, clock=clock, sleep=clock.sleep)
