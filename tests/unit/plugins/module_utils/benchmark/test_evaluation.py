# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import evaluation
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput
from ansible_collections.workload_aware.live_migration.plugins.module_utils.guest_health import HealthReport


def run(method, total, workload='write-above', success=True, repetition=1, **extra):
    row = dict(workload=workload, memory_mib=256, dirty_rate_mbps=80.0, bandwidth_mibps=50, method=method,
               chosen_method='', repetition=repetition, predicted_total_s=None, total_s=total, downtime_ms=5,
               bytes=None, rounds=2, work_ratio=1.0, success=success, healthy=True, cut_off=False,
               time_budget_s=45, transfer_mib=175.0, floor_s=3.5)
    row.update(extra)
    return row


def report(seq, work):
    return HealthReport(seq, 'write', float(seq), True, 0, -1, work, 'MiB/s', {})


def test_runs_round_trip_through_the_csv_with_types(tmp_path):
    path = str(tmp_path / 'runs.csv')
    assert evaluation.read_runs(path) == []
    evaluation.append_run(path, run('auto', 2.5, chosen_method='postcopy', predicted_total_s=3.9, note='a, b'))
    evaluation.append_run(path, run('libvirt-default', 45.0, success=False, cut_off=True))
    with open(path) as handle:
        assert handle.read().count('workload,memory_mib') == 1
    first, second = evaluation.read_runs(path)
    assert first['total_s'] == 2.5 and first['memory_mib'] == 256 and first['success'] is True
    assert first['note'] == 'a, b' and first['chosen_method'] == 'postcopy'
    assert second['cut_off'] is True and second['success'] is False and second['bytes'] is None


def test_a_row_with_an_unknown_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match='not benchmark columns: speed'):
        evaluation.append_run(str(tmp_path / 'runs.csv'), dict(run('auto', 1.0), speed=3))


def test_an_application_guests_user_facing_figures_round_trip_and_stay_empty_for_wagen_guests(tmp_path):
    path = str(tmp_path / 'runs.csv')
    evaluation.append_run(path, run('postcopy', 5.4, workload='kv', rps_before=262.0, rps_during=165.0,
                                    rps_after=288.0, p50_ms=2.1, p99_ms=41.0, max_latency_ms=854.0,
                                    longest_stall_ms=854.0, failed_requests=0, data_errors=0))
    evaluation.append_run(path, run('postcopy', 2.0))
    kv, wagen = evaluation.read_runs(path)
    assert kv['p99_ms'] == 41 and kv['failed_requests'] == 0 and kv['data_errors'] == 0
    assert all(wagen[name] is None for name in ('rps_before', 'p99_ms', 'longest_stall_ms', 'data_errors'))


def test_a_results_file_written_with_other_columns_is_not_appended_to(tmp_path):
    path = tmp_path / 'runs.csv'
    path.write_text('workload,memory_mib,method\nidle,256,precopy\n')
    with pytest.raises(ValueError, match='was written with other benchmark columns'):
        evaluation.append_run(str(path), run('auto', 1.0))
    assert path.read_text() == 'workload,memory_mib,method\nidle,256,precopy\n'


def test_a_run_is_known_by_its_key_whatever_the_number_spelling():
    assert evaluation.run_key(run('auto', 1.0)) == evaluation.run_key(
        dict(workload='write-above', memory_mib='256', bandwidth_mibps='50.0', method='auto', repetition='1'))
    assert evaluation.run_key(run('auto', 1.0)) != evaluation.run_key(run('auto', 1.0, repetition=2))


def test_the_plan_covers_the_matrix_and_rotates_the_methods():
    cells = [dict(workload='cpu', memory_mib=256), dict(workload='write-above', memory_mib=512)]
    runs = evaluation.plan_runs(cells, ['precopy', 'postcopy', 'auto'], 3, [50, 100])
    assert len(runs) == 2 * 2 * 3 * 3
    assert len(set(evaluation.run_key(r) for r in runs)) == len(runs)
    first_methods = [r['method'] for r in runs[:9:3]]
    assert first_methods == ['precopy', 'postcopy', 'auto']


def test_a_cell_may_run_some_methods_only_and_forbid_postcopy():
    cells = [dict(workload='cpu', memory_mib=256),
             dict(workload='write-above-no-postcopy', memory_mib=256, postcopy_allowed=False,
                  methods=['auto', 'precopy', 'kubevirt'])]
    runs = evaluation.plan_runs(cells, ['precopy', 'postcopy', 'hybrid', 'auto'], 1, [50])
    assert [r['method'] for r in runs] == ['precopy', 'postcopy', 'hybrid', 'auto', 'precopy', 'auto']
    assert [r.get('postcopy_allowed', True) for r in runs] == [True] * 4 + [False] * 2


def test_a_cell_may_run_at_some_bandwidths_only():
    cells = [dict(workload='cpu', memory_mib=256), dict(workload='kv', memory_mib=256, bandwidths_mibps=[0, 50])]
    runs = evaluation.plan_runs(cells, ['precopy'], 1, [0, 50, 100])
    assert [(r['workload'], r['bandwidth_mibps']) for r in runs] == [
        ('cpu', 0), ('cpu', 50), ('cpu', 100), ('kv', 0), ('kv', 50)]


def test_a_cells_bandwidths_must_be_some_of_the_plans(tmp_path):
    params = dict(cells=[dict(workload='kv', memory_mib=256, bandwidths_mibps=[20])], methods=['precopy'],
                  repetitions=1, bandwidths_mibps=[0, 50], results_file=str(tmp_path / 'runs.csv'))
    with pytest.raises(BadInput, match="a cell's bandwidths_mibps must list some of 0, 50"):
        evaluation.pending_runs(params)


def test_work_ratio_is_the_rate_during_over_the_rate_before():
    before = [report(1, 100.0), report(2, 40.0), report(3, 40.0), report(4, 40.0)]
    assert evaluation.work_ratio(before, [report(5, 20.0), report(6, 40.0)]) == 0.75
    assert evaluation.work_ratio([report(1, 0.0)], [report(2, 0.0)]) is None  # no work to compare with
    assert evaluation.work_ratio(before, []) is None


def test_the_floor_is_the_memory_to_move_at_the_bandwidth_limit():
    assert evaluation.floor_s(175.0, 50) == 3.5
    assert evaluation.floor_s(None, 50) is None


def test_the_summary_compares_auto_with_the_best_fixed_method_that_never_failed():
    runs = [
        run('precopy', 1.0, success=False), run('precopy', 1.2, repetition=2),
        run('postcopy', 2.6), run('postcopy', 2.8, repetition=2),
        run('hybrid', 4.0), run('hybrid', 4.2, repetition=2),
        run('auto', 2.6, chosen_method='postcopy', predicted_total_s=3.0),
        run('auto', 2.8, repetition=2, chosen_method='postcopy', predicted_total_s=2.8),
        run('libvirt-default', 45.0, success=False, cut_off=True),
        run('libvirt-default', 45.0, repetition=2, success=False, cut_off=True),
    ]
    cell, = evaluation.summarise(runs)
    assert cell['best_fixed'] == 'postcopy'  # precopy is faster but failed once
    assert cell['auto_vs_best'] == pytest.approx(1.0)
    assert cell['auto_within_target'] is True
    assert cell['stats']['auto']['chosen'] == ['postcopy']
    assert cell['model_error_max'] == pytest.approx(0.4 / 2.6)
    assert cell['model_within_target'] is True
    baseline = cell['baselines']['libvirt-default']
    assert baseline['time_ratio'] == pytest.approx(2.7 / 45.0)
    assert baseline['success_ratio'] is None and baseline['baseline_cut_off'] == 2
    assert cell['stats']['libvirt-default']['success_ratio'] == 0.0
    assert cell['stats']['postcopy']['median_floor_ratio'] == pytest.approx(2.7 / 3.5)


def test_auto_slower_than_the_best_misses_the_target():
    cell, = evaluation.summarise([run('precopy', 2.0),
                                  run('auto', 2.2, chosen_method='hybrid', predicted_total_s=3.0)])
    assert cell['auto_vs_best'] == pytest.approx(1.1)
    assert cell['auto_within_target'] is False
    assert cell['model_within_target'] is False


def test_calibration_recovers_setup_time_and_bandwidth_efficiency_per_way_of_moving():
    mib = 1048576
    precopy = [run(m, 0.2 + sent / (0.9 * 50), bytes=sent * mib, method_used='precopy')
               for m, sent in (('precopy', 100), ('auto', 160), ('hybrid', 250), ('precopy', 400))]
    postcopy = [run(m, 0.1 + sent / 50.0, bytes=sent * mib, method_used='postcopy')
                for m, sent in (('postcopy', 80), ('auto', 160), ('postcopy', 170))]
    ignored = [run('precopy', 99.0, success=False, bytes=mib, method_used='precopy'),
               run('ovirt-postcopy', 99.0, bytes=100 * mib, method_used='precopy'),
               run('hybrid', 99.0, bytes=100 * mib, method_used='hybrid')]
    fit = evaluation.calibrate(precopy + postcopy + ignored)
    assert fit['precopy']['setup_s'] == pytest.approx(0.2, abs=1e-3)
    assert fit['precopy']['bandwidth_efficiency'] == pytest.approx(0.9, abs=1e-3)
    assert fit['precopy']['runs'] == 4 and fit['precopy']['r2'] == pytest.approx(1.0)
    assert fit['postcopy']['setup_s'] == pytest.approx(0.1, abs=1e-3)
    assert fit['postcopy']['bandwidth_efficiency'] == pytest.approx(1.0, abs=1e-3)
    assert evaluation.calibrate(precopy[:2]) == {'precopy': None, 'postcopy': None}


@pytest.mark.parametrize('params, message', [
    (dict(methods=['teleport']), 'unknown methods: teleport'),
    (dict(bandwidths_mibps=[-1]), r'each of bandwidths_mibps must be 0 \(no limit\) or from 1 to 100000 MiB/s, got -1'),
    (dict(bandwidths_mibps=[]), 'bandwidths_mibps must name at least one bandwidth'),
    (dict(repetitions=0), 'repetitions must be from 1 to 100 runs, got 0'),
    (dict(cells=[dict(workload='w', memory_mib='256')]), 'a positive integer memory_mib'),
    (dict(cells=[dict(workload='w', memory_mib=256, methods=['auto'])]), "a cell's methods must list some of precopy"),
    (dict(methods=['precopy', 'postcopy'], cells=[dict(workload='w', memory_mib=256, postcopy_allowed=False)]),
     'a cell without post-copy cannot run postcopy or hybrid'),
    (dict(cells=[dict(workload='w', memory_mib=256, postcopy_allowed='no')]), 'must be true or false'),
])
def test_a_benchmark_plan_request_that_cannot_be_right_is_refused(tmp_path, params, message):
    request = dict(cells=[dict(workload='w', memory_mib=256)], methods=['precopy'], repetitions=1,
                   bandwidths_mibps=[50], results_file=str(tmp_path / 'runs.csv'))
    request.update(params)
    with pytest.raises(BadInput, match=message):
        evaluation.pending_runs(request)


def test_the_pending_runs_of_a_fresh_benchmark_are_all_of_them(tmp_path):
    result = evaluation.pending_runs(dict(cells=[dict(workload='w', memory_mib=256)], methods=['precopy', 'auto'],
                                          repetitions=2, bandwidths_mibps=[50], results_file=str(tmp_path / 'r.csv')))
    assert result['total'] == 4 and result['done'] == 0 and [r['index'] for r in result['pending']] == [1, 2, 3, 4]


def kv(method, total, p99, failed=0, errors=0, chosen=''):
    return run(method, total, workload='kv', chosen_method=chosen, rps_before=250.0, rps_during=150.0,
               rps_after=260.0, p50_ms=2.0, p99_ms=p99, max_latency_ms=p99 * 2, longest_stall_ms=p99 * 3,
               failed_requests=failed, data_errors=errors)


def test_an_application_is_judged_by_time_and_by_what_its_users_felt():
    runs = [kv('precopy', 4.0, 17.0), kv('postcopy', 5.0, 41.0), kv('hybrid', 4.5, 30.0),
            kv('auto', 4.1, 19.0, chosen='precopy'), kv('kubevirt', 4.2, 20.0, failed=3), run('precopy', 2.0)]
    [cell] = evaluation.application_summary(runs)
    assert cell['workload'] == 'kv' and cell['best_fixed'] == 'precopy' and cell['best_fixed_p99'] == 'precopy'
    assert cell['auto_time_ratio'] == pytest.approx(4.1 / 4.0) and cell['auto_time_met'] is True
    assert cell['auto_p99_ratio'] == pytest.approx(19.0 / 17.0) and cell['auto_p99_met'] is True
    # A baseline's failed requests are reported, and do not make the collection's methods unclean.
    assert cell['stats']['kubevirt']['failed_requests'] == 3 and cell['clean'] is True


def test_autos_p99_is_held_against_the_best_fixed_method_by_p99_not_the_fastest():
    runs = [kv('precopy', 4.0, 40.0), kv('postcopy', 5.0, 10.0), kv('auto', 4.1, 20.0, chosen='precopy')]
    [cell] = evaluation.application_summary(runs)
    assert cell['best_fixed'] == 'precopy' and cell['best_fixed_p99'] == 'postcopy'
    assert cell['auto_p99_ratio'] == pytest.approx(2.0) and cell['auto_p99_met'] is False


def test_a_data_error_under_any_of_the_collections_methods_fails_the_application():
    runs = [kv('precopy', 4.0, 17.0), kv('auto', 4.1, 30.0, errors=1, chosen='precopy')]
    [cell] = evaluation.application_summary(runs)
    assert cell['clean'] is False and cell['auto_p99_met'] is False


def test_latency_series_round_trip_beside_the_runs(tmp_path):
    results = str(tmp_path / 'runs.csv')
    path = evaluation.series_file(results)
    assert path == str(tmp_path / 'load_series.jsonl') and evaluation.read_series(path) == []
    evaluation.append_series(path, kv('auto', 4.1, 19.0), dict(end_s=4.1, switch_s=None, points=[[-5.0, 60, 2.0, 0]]))
    [line] = evaluation.read_series(path)
    assert line['workload'] == 'kv' and line['method'] == 'auto' and line['points'] == [[-5.0, 60, 2.0, 0]]


def test_auto_is_set_against_precopy_and_hybrid_per_workload_type_as_walm_reports_it():
    runs = [run('precopy', 10.0, workload='cpu'), run('hybrid', 8.0, workload='cpu'), run('auto', 7.0, workload='cpu'),
            run('precopy', 4.0, workload='write-below'), run('hybrid', 5.0, workload='write-below'),
            run('auto', 3.0, workload='write-below'),
            run('precopy', 45.0, workload='write-above'), run('hybrid', 6.0, workload='write-above'),
            run('auto', 6.6, workload='write-above')]
    rows = dict((r['workload_type'], r) for r in evaluation.by_workload_type(runs))
    assert rows['CPU-intensive']['over_precopy'] == pytest.approx(0.30)
    assert rows['CPU-intensive']['over_hybrid'] == pytest.approx(0.125)
    # Two write-intensive cells: the median of their gains (0.25 and 0.853 over pre-copy; 0.4 and -0.1 over hybrid).
    writers = rows['memory, write-intensive']
    assert writers['cells'] == 2 and writers['over_precopy'] == pytest.approx((0.25 + (1 - 6.6 / 45.0)) / 2)
    assert writers['over_hybrid'] == pytest.approx((0.4 - 0.1) / 2)
    assert 'network-intensive' not in rows  # no net runs
