# -*- coding: utf-8 -*-
"""The benchmark's short mode on a real test bed: every method and baseline migrates
two workloads and an application (the kv guest under its load) for real, one row each; a host of two VMs is evacuated by the collection
and one at a time as Nova does, one row each; the report, plots and calibration are written;
an interrupted benchmark resumes with exactly the runs it lacked; a finished one
makes none. The test bed is torn down afterwards (keep it with WA_KEEP_TESTBED=1)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'integration'))

from testbed_helpers import INVENTORIES, leftovers, run_playbook as run_any_playbook  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import (  # noqa: E402
    evacuations, evaluation)

WORKLOADS = {'cpu', 'write-above', 'kv'}
BUDGET_S = 45


def run_playbook(name, *args):
    # The two-host test bed the benchmark is made for.
    return run_any_playbook(name, *args, inventories=INVENTORIES[:1])


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp('benchmark'))
    run_playbook('benchmark.yml', '-e', 'wa_benchmark_mode=short', '-e', 'wa_benchmark_dir=' + directory)
    yield directory
    if os.environ.get('WA_KEEP_TESTBED') != '1':
        run_playbook('teardown_testbed.yml')
        remaining = leftovers()
        assert not remaining, 'teardown left these behind: %s' % remaining


def runs_in(directory):
    return evaluation.read_runs(os.path.join(directory, 'runs.csv'))


def test_each_evacuation_strategy_emptied_the_host_once_and_every_guest_stayed_intact(results):
    rows = evacuations.read_rows(os.path.join(results, 'evacuations.csv'))
    assert sorted(r['strategy'] for r in rows) == ['auto', 'nova-serial'], rows
    for r in rows:
        print('EVACUATION %(strategy)s last_safe=%(last_safe_s)s floor=%(floor_s)s mean=%(mean_safe_s)s '
              'bound=%(shortest_first_bound_s)s left=%(left_behind)s healthy=%(healthy)s' % r)
        assert r['vms'] == '2' and r['bandwidth_mibps'] == '50' and r['healthy'] == 'true', r
        assert r['left_behind'] == '0' and float(r['last_safe_s']) >= float(r['floor_s']) > 0, r
        assert float(r['mean_safe_s']) >= float(r['shortest_first_bound_s']) > 0, r
        assert 0 <= int(r['paused_over_limit']) <= 2 and int(r['concurrency']) >= 1, r
    assert [r['concurrency'] for r in rows if r['strategy'] == 'nova-serial'] == ['1']
    with open(os.path.join(results, 'report.md')) as report:
        text = report.read()
    assert '## Evacuations' in text and '| 50 | nova-serial | 1 | 2 |' in text


def test_every_method_ran_once_on_each_workload(results):
    runs = runs_in(results)
    assert sorted((r['workload'], r['method']) for r in runs) == sorted(
        (w, m) for w in WORKLOADS for m in evaluation.ALL_METHODS)
    for r in runs:
        print('RUN %(workload)s %(method)s chosen=%(chosen_method)s used=%(method_used)s total=%(total_s)s '
              'predicted=%(predicted_total_s)s downtime=%(downtime_ms)s work=%(work_ratio)s cut_off=%(cut_off)s' % r)
        assert r['healthy'], r
        assert r['memory_mib'] == 256 and r['bandwidth_mibps'] == 50 and r['dirty_rate_mbps'] is not None


def test_the_collections_methods_all_succeed(results):
    for r in runs_in(results):
        if r['method'] in evaluation.OWN_METHODS + (evaluation.AUTO,):
            assert r['success'] and not r['cut_off'], r
            assert r['total_s'] > 0 and r['bytes'] > 0 and r['downtime_ms'] is not None, r
            if (r['workload'], r['method']) == ('write-above', 'precopy'):
                # The model sees that pre-copy cannot converge; the runner switched it to post-copy.
                assert r['predicted_total_s'] is None and r['method_used'] == 'precopy+postcopy', r
            else:
                assert r['predicted_total_s'] > 0, r
    auto = dict((r['workload'], r) for r in runs_in(results) if r['method'] == 'auto')
    assert set(auto) == WORKLOADS
    for r in auto.values():
        assert r['chosen_method'] in evaluation.OWN_METHODS
        assert r['note'].startswith(r['chosen_method'] + ':')
    # Pre-copy cannot converge when the guest writes faster than the link: the model must see that.
    assert auto['write-above']['chosen_method'] != 'precopy'


def test_the_applications_users_figures_are_recorded_and_the_collections_methods_lost_nothing(results):
    kv = [r for r in runs_in(results) if r['workload'] == 'kv']
    assert sorted(r['method'] for r in kv) == sorted(evaluation.ALL_METHODS)
    for r in kv:
        print('KV %(method)s total=%(total_s)s rps=%(rps_before)s/%(rps_during)s/%(rps_after)s p99=%(p99_ms)s '
              'stall=%(longest_stall_ms)s failed=%(failed_requests)s errors=%(data_errors)s' % r)
        assert r['rps_before'] > 0 and r['rps_after'] > 0 and r['p99_ms'] is not None, r
        assert r['longest_stall_ms'] is not None and r['data_errors'] == 0, r
        if r['method'] in evaluation.OWN_METHODS + (evaluation.AUTO,):
            assert r['failed_requests'] == 0, r
    # The wagen guests have no load: their columns stay empty.
    assert all(r['p99_ms'] is None for r in runs_in(results) if r['workload'] != 'kv')
    series = evaluation.read_series(evaluation.series_file(os.path.join(results, 'runs.csv')))
    assert sorted(line['method'] for line in series) == sorted(evaluation.ALL_METHODS)
    with open(os.path.join(results, 'report.md')) as report:
        text = report.read()
    assert '## Application guests' in text and '| kv | 50 | auto | 1/1 |' in text
    assert os.path.getsize(os.path.join(results, 'latency.png')) > 1000


def test_a_baseline_that_cannot_finish_is_cut_off_at_the_budget_and_the_vm_stays(results):
    runs = dict(((r['workload'], r['method']), r) for r in runs_in(results))
    # 80 MiB/s of writes over a 50 MiB/s link: plain pre-copy never converges, and Nova's
    # force-complete comes only after 1600 s.
    for method in ('libvirt-default', 'nova-postcopy'):
        r = runs[('write-above', method)]
        assert r['cut_off'] and not r['success'] and r['total_s'] == BUDGET_S, r
    # KubeVirt switches to post-copy after 150 s per GiB: 37.5 s for 256 MiB.
    kubevirt = runs[('write-above', 'kubevirt')]
    assert kubevirt['success'] and kubevirt['method_used'] == 'precopy+postcopy'
    assert 37.5 < kubevirt['total_s'] < BUDGET_S
    # On a guest that hardly writes, every baseline simply converges.
    for method in evaluation.BASELINE_METHODS:
        assert runs[('cpu', method)]['success'] and runs[('cpu', method)]['method_used'] == 'precopy'


def test_the_report_plots_and_calibration_are_written(results):
    for name in ('report.md', 'time.png', 'downtime.png', 'slowdown.png', 'predicted_vs_measured.png'):
        path = os.path.join(results, name)
        assert os.path.getsize(path) > 1000, name
    with open(os.path.join(results, 'time.png'), 'rb') as png:
        assert png.read(8) == b'\x89PNG\r\n\x1a\n'
    with open(os.path.join(results, 'report.md')) as report:
        text = report.read()
    assert 'wa_benchmark_mode=short' in text
    assert '## Targets' in text and '| write-above | 256 | 50 | auto | 1/1 |' in text
    with open(os.path.join(results, 'calibration.json')) as calibration:
        assert '"setup_s"' in calibration.read()


def test_an_interrupted_benchmark_makes_exactly_the_runs_it_lacks(results):
    path = os.path.join(results, 'runs.csv')
    with open(path) as handle:
        lines = handle.read().splitlines(True)
    kept = [line for line in lines if not line.startswith('cpu,') or ',auto,' not in line and ',hybrid,' not in line]
    assert len(kept) == len(lines) - 2
    with open(path, 'w') as handle:
        handle.writelines(kept)
    before = dict((evaluation.run_key(r), r['finished_at']) for r in runs_in(results))
    run_playbook('benchmark.yml', '-e', 'wa_benchmark_mode=short', '-e', 'wa_benchmark_dir=' + results)
    after = runs_in(results)
    assert len(after) == 24
    for r in after:
        key = evaluation.run_key(r)
        if r['workload'] == 'cpu' and r['method'] in ('auto', 'hybrid'):
            assert key not in before and r['success'] and r['healthy'], r
        else:
            assert before[key] == r['finished_at'], r
    # Finished: a further run makes no migration, and no evacuation.
    evacuated = evacuations.read_rows(os.path.join(results, 'evacuations.csv'))
    again = run_playbook('benchmark.yml', '-e', 'wa_benchmark_mode=short', '-e', 'wa_benchmark_dir=' + results)
    assert [(evaluation.run_key(r), r['finished_at']) for r in runs_in(results)] == [
        (evaluation.run_key(r), r['finished_at']) for r in after]
    assert evacuations.read_rows(os.path.join(results, 'evacuations.csv')) == evacuated
    assert 'Start the evacuation' not in again.stdout
