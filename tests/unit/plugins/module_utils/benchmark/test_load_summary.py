# -*- coding: utf-8 -*-
"""What users felt around a migration, from a load generator's record: rates before, during and
after, latency while the migration ran, the longest time without a reply, failures, data errors."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark.load_summary import (
    FIGURES, longest_stall_s, pace_s, percentile, read_record, series, summarise, with_omitted)


def steady(start, end, every_s=0.01, lat_ms=2.0):
    """A request every `every_s` from start to end, each answered after lat_ms."""
    count = int(round((end - start) / every_s))
    return [dict(t=start + i * every_s, lat_ms=lat_ms, ok=True, op='set') for i in range(count)]


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    values = list(range(1, 101))
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99 and percentile(values, 100) == 100


def test_a_migration_that_users_did_not_feel():
    record = steady(0.0, 30.0)
    figures = summarise(record, 10.0, 20.0)
    assert set(FIGURES) <= set(figures)
    assert figures['rps_before'] == pytest.approx(100, abs=1)
    assert figures['rps_during'] == pytest.approx(100, abs=1)
    assert figures['rps_after'] == pytest.approx(100, abs=1)
    assert figures['p50_ms'] == figures['p99_ms'] == figures['max_latency_ms'] == 2.0
    assert figures['longest_stall_ms'] == pytest.approx(10.0)
    assert figures['failed_requests'] == 0 and figures['data_errors'] == 0
    assert figures['requests'] == 3000


def test_a_stall_during_the_switch_over_shows_in_latency_stall_and_rate():
    record = steady(0.0, 10.0) + steady(10.0, 11.0)  # before, and the migration's first second
    record.append(dict(t=11.0, lat_ms=1500.0, ok=True, op='get', data_ok=True))  # stuck in the switch-over
    record += steady(12.5, 14.0) + steady(14.0, 24.0)  # the rest of the migration (to 14 s), after
    figures = summarise(record, 10.0, 14.0)
    assert figures['max_latency_ms'] == 1500.0
    # 252 requests waited during it, one of them stuck: under 1 % of those sent. But at its pace (10 ms) the
    # load would have sent 149 more while it waited, whose users waited 1490, 1480, ... 10 ms: p99 counts them.
    assert figures['p50_ms'] == 2.0 and figures['p99_ms'] == 1460.0
    # From the last reply before it (10.992 s) to its own (12.5 s).
    assert figures['longest_stall_ms'] == pytest.approx(1508.0, abs=0.01)
    assert figures['rps_during'] == pytest.approx((100 + 1 + 150) / 4.0, abs=0.5)
    assert figures['rps_before'] == pytest.approx(100, abs=1) and figures['rps_after'] == pytest.approx(100, abs=1)


def test_failures_and_data_errors_are_counted_and_a_failed_wait_is_latency():
    record = steady(0.0, 5.0)
    record.append(dict(t=5.0, lat_ms=5000.0, ok=False, op='get', data_ok=None, err='timed out'))
    record += steady(10.0, 15.0)
    record[-1].update(op='get', data_ok=False, err='corrupted')
    figures = summarise(record, 5.0, 8.0)
    assert figures['failed_requests'] == 1
    assert figures['data_errors'] == 1
    assert figures['max_latency_ms'] == 5000.0
    # No reply from 4.992 s (the last before) to 10.002 s (the first after the reconnect).
    assert figures['longest_stall_ms'] == pytest.approx(5010.0, abs=0.01)
    assert figures['rps_during'] == 0.0


def test_a_load_that_never_answered_again_stalls_until_the_record_ends():
    record = steady(0.0, 5.0) + [dict(t=5.0 + i, lat_ms=1000.0, ok=False, op='set') for i in range(5)]
    figures = summarise(record, 6.0, 7.0)
    assert figures['longest_stall_ms'] == pytest.approx(10000.0 - 4.99 * 1000 - 2.0, abs=1)
    assert figures['rps_after'] == 0.0 and figures['failed_requests'] == 5
    assert longest_stall_s([], 0, 1) == 0.0


def test_margins_take_only_the_requests_around_the_migration():
    record = steady(0.0, 100.0)
    record[10].update(ok=False)  # at 0.1 s: outside the margins
    record[5010].update(data_ok=False)  # at 50.1 s: inside
    figures = summarise(record, 50.0, 55.0, margin_s=5.0)
    assert figures['requests'] == pytest.approx(1500, abs=2)
    assert figures['failed_requests'] == 0 and figures['data_errors'] == 1
    assert figures['rps_before'] == pytest.approx(100, abs=1) and figures['rps_after'] == pytest.approx(100, abs=1)


def test_an_empty_record_and_a_window_backwards():
    figures = summarise([], 1.0, 2.0)
    assert figures['requests'] == 0 and figures['rps_during'] is None and figures['failed_requests'] == 0
    with pytest.raises(ValueError):
        summarise([], 2.0, 1.0)


def test_a_record_cut_short_by_a_kill_is_read_up_to_its_last_whole_line(tmp_path):
    path = tmp_path / 'record.jsonl'
    lines = [json.dumps(line) for line in steady(0.0, 0.05)]
    path.write_text('\n'.join(lines) + '\n' + lines[0][:12])
    assert len(read_record(str(path))) == 5


def test_the_latency_series_shows_the_stall_around_the_migration():
    requests = [dict(t=100.0 + i * 0.1, lat_ms=2.0, ok=True) for i in range(100)]
    requests = [r for r in requests if not 104.0 <= r['t'] < 106.0]
    requests.append(dict(t=104.0, lat_ms=2000.0, ok=True))
    requests.append(dict(t=104.1, lat_ms=5000.0, ok=False))
    points = series(requests, 103.0, 107.0, 2.0, bin_s=0.5)
    assert [p[0] for p in points][:3] == [-2.0, -1.5, -1.0] and len(points) == 16
    by_time = dict((p[0], p) for p in points)
    # The requests sent at 104 s waited 2 s (replied) and 5 s (failed); nothing was sent until 106 s.
    assert by_time[1.0][2] == 5000.0 and by_time[1.0][3] == 1
    assert by_time[1.5][2] is None and by_time[1.5][1] == 0
    assert by_time[-2.0][1] == 5 and by_time[-2.0][2] == 2.0
    assert by_time[3.0][1] == 5 + 1  # five of its own, and the one sent at 104 s that replied at 106 s


def test_the_users_a_one_at_a_time_load_did_not_send_while_it_waited_are_counted_at_its_pace():
    record = steady(0.0, 10.0, every_s=0.1)
    assert pace_s(record, 5.0) == pytest.approx(0.1)
    assert pace_s(record[:1], 5.0) is None
    # A 450 ms reply at a 100 ms pace: the users of 350, 250 and 150 ms were not sent for; faster ones add nothing.
    assert with_omitted([450.0, 2.0], 0.1) == pytest.approx([450.0, 350.0, 250.0, 150.0, 2.0])
    assert with_omitted([450.0], None) == [450.0]
