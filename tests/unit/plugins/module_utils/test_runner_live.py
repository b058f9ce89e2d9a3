# -*- coding: utf-8 -*-
"""The runner's use of the live re-prediction, against a fake domain (no libvirt connection)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import runner
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import baselines

MIB = 1024 * 1024


def options(**overrides):
    values = dict(method='precopy', dest_uri='qemu+tcp://127.0.2.1/system', bandwidth_mibps=50, max_downtime_ms=300,
                  downtime_limit_ms=300,
                  precopy_budget_s=60, time_budget_s=900, postcopy_possible=True, auto_converge=False,
                  compression=False, parallel_connections=0, tls=False, persistent=True,
                  progress_file=None, stop_file=None, link_timeout_s=10, recovery_budget_s=120,
                  postcopy_recoverable=None)
    values.update(overrides)
    return runner.MigrationOptions(**values)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class FakeDom:
    """Job statistics as libvirt gives them, set by the test; records switches."""

    def __init__(self):
        self.stats = {}
        self.switches = 0
        self.sent = 0

    def set(self, iteration, remaining_mib, rate_mibps=50, dirty_mibps=0):
        """The statistics of the next poll, a quarter of a second of `rate_mibps` later."""
        self.sent += int(rate_mibps * MIB / 4)
        self.stats = {'memory_iteration': iteration, 'memory_remaining': int(remaining_mib * MIB),
                      'data_processed': self.sent, 'memory_bps': int(rate_mibps * MIB),
                      'memory_dirty_rate': int(dirty_mibps * 256) if iteration > 1 else 0,
                      'memory_page_size': 4096}

    def jobStats(self):
        return dict(self.stats)

    def migrateStartPostCopy(self, _flags):
        self.switches += 1

    def name(self):
        return 'vm'


def started(method='precopy', policy=None, **overrides):
    dom, clock = FakeDom(), Clock()
    run = runner.MigrationRunner(None, dom, options(method=method, **overrides), clock=clock, policy=policy)
    run.start = 0.0
    return run, dom, clock


def first_pass(run, dom, clock, size_mib=192, rate_mibps=50):
    """Poll pre-copy every 0.25 s through a first pass of `size_mib`."""
    run.iteration = 1
    remaining = float(size_mib)
    while remaining > 0:
        dom.set(1, remaining, rate_mibps)
        run._watch_tick(True)
        clock.t += 0.25
        remaining -= rate_mibps * 0.25


def test_precopy_switches_on_the_re_prediction_and_reports_it():
    run, dom, clock = started()
    first_pass(run, dom, clock)
    assert dom.switches == 0 and run.live_prediction is None      # pass 1: no dirty rate yet
    run.iteration = 2
    dom.set(2, 96, 50, dirty_mibps=52)
    run._watch_tick(True)
    assert dom.switches == 1
    assert run.switched['why'].startswith('re-predicted from live statistics: pre-copy does not converge '
                                          '(dirty 52 MiB/s vs 50 MiB/s sent), post-copy 1.9 s')
    run.call_done.set()
    result = run._result()
    assert result['switch']['why'] == run.switched['why']
    assert result['live_prediction'] == {'precopy_s': None, 'precopy_passes': None, 'postcopy_s': 1.92,
                                         'rate_mibps': 50.0, 'dirty_mibps': 52.0, 'remaining_mib': 96.0, 'pass': 2}


def test_hybrid_keeps_precopying_at_pass_2_when_precopy_is_as_fast():
    run, dom, clock = started('hybrid')
    first_pass(run, dom, clock)
    dom.set(2, 2, 50, dirty_mibps=0)        # idle: 2 MiB left after the first pass
    run._on_iteration(None, None, 2, None)
    assert run.switch_requested.is_set()
    assert not run._switch_decided()
    assert not run.switch_requested.is_set() and run.switch_requested_at == 2
    assert run.events[-1]['event'] == 'hybrid-keeps-precopy'
    assert run.live_prediction.precopy_s == 0.04
    # No second request at a later pass: the pre-copy watch has it now.
    run._on_iteration(None, None, 3, None)
    assert not run.switch_requested.is_set()


def test_hybrid_switches_at_pass_2_for_a_writer():
    run, dom, clock = started('hybrid')
    first_pass(run, dom, clock)
    dom.set(2, 96, 50, dirty_mibps=40)
    run._on_iteration(None, None, 2, None)
    assert run._switch_decided()
    assert run.switch_why.startswith('hybrid switches when pass 2 begins: re-predicted from live statistics: ')
    assert run._switch_to_postcopy(run.switch_why, run.switch_requested_at) and dom.switches == 1


def test_hybrid_without_statistics_switches_as_before():
    run, dom, _clock = started('hybrid')
    run._on_iteration(None, None, 1, None)
    dom.set(2, 96, 50, dirty_mibps=40)
    run._on_iteration(None, None, 2, None)
    assert run._switch_decided()
    assert run.switch_why.startswith('hybrid switches when pass 2 begins (too little live statistics')


def test_postcopy_switches_at_pass_1_without_asking():
    run, _dom, _clock = started('postcopy')
    run._on_iteration(None, None, 1, None)
    assert run._switch_decided() and run.switch_why == 'postcopy switches when pass 1 begins'


def test_a_baseline_policy_is_asked_as_before_and_the_runner_still_re_predicts():
    run, dom, clock = started(policy=baselines.LibvirtDefault(256))
    first_pass(run, dom, clock)
    dom.set(2, 96, 50, dirty_mibps=52)
    run._watch_tick(True)
    assert dom.switches == 0                     # libvirt-default never switches
    assert run.live_prediction.precopy_s is None and run.live_prediction.dirty_mibps == 52.0
