# -*- coding: utf-8 -*-
"""wa_migrate moves each benchmark VM by each method between the two hosts (from
wherever it runs, so each way by two of the four), and the VM's own memory verification passes on each destination; it
plans without moving in check mode, reports a VM already moved as unchanged,
and never loses a VM whose pre-copy cannot converge.  Bad requests:
test_bad_input.py."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt
import pytest

from testbed_helpers import HOSTS, assert_healthy_after, current_host, latest_seq, other_host as other, run_module, where_is

WORKLOADS = ['wa-idle', 'wa-cpu', 'wa-read', 'wa-write', 'wa-net']
METHODS = ['precopy', 'postcopy', 'hybrid', 'auto']
BANDWIDTH_MIBPS = 80
RUNNING = libvirt.VIR_DOMAIN_RUNNING


def migrate(vm, source, dest, check=False, **args):
    request = dict(name=vm, uri=HOSTS[source].uri, dest_uri=HOSTS[dest].migration_uri,
                   dest_control_uri=HOSTS[dest].uri, bandwidth_mibps=BANDWIDTH_MIBPS)
    request.update(args)
    return run_module(source, 'wa_migrate', request, check=check)


def move_and_check(vm, source, dest, method):
    seq = latest_seq(vm)
    result = migrate(vm, source, dest, method=method)
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is True
    assert where_is(vm) == {dest: RUNNING}
    assert result['destination_state'] == 'running'
    assert result['total_time_s'] > 0 and result['bytes_transferred'] > 0
    if method == 'auto':
        assert result['method_chosen'] in ('precopy', 'postcopy', 'hybrid')
        assert result['reason'].startswith(result['method_chosen'] + ':')
    else:
        assert result['method_chosen'] == method
    passes = [e['iteration'] for e in result['events'] if e['event'] == 'pass']
    assert passes and passes[0] == 1
    chosen, switch = result['method_chosen'], result['switch']
    kinds = [(e['event'], e.get('iteration')) for e in result['events']]
    kept = 'hybrid-keeps-precopy' in [kind[0] for kind in kinds]
    if chosen == 'precopy' or kept:
        # Pre-copy, or a hybrid that the re-prediction kept pre-copying at pass 2: it finishes
        # as pre-copy, unless a later re-prediction (or the backstop) switched it.
        assert kept == (chosen == 'hybrid'), result['events']
        if switch is None:
            assert result['method_used'] == 'precopy'
        else:
            assert switch['why'].endswith('switching to post-copy'), switch
    else:
        # Switched when pass 1 (post-copy) or pass 2 (hybrid) began, per the event log.
        due = 1 if chosen == 'postcopy' else 2
        assert switch['requested_at_pass'] == due, result['events']
        assert kinds.index(('pass', due)) < [kind[0] for kind in kinds].index('postcopy-switch'), result['events']
        assert result['method_used'] == chosen
    assert_healthy_after(vm, seq)
    return result


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('vm', WORKLOADS)
def test_each_workload_by_each_method(testbed, vm, method):
    # One move each, from wherever the VM runs: a VM's four moves alternate direction whatever the order,
    # so each workload goes each way by two methods (moving each back as well cost the suite 20 moves).
    home = current_host(vm)
    result = move_and_check(vm, home, other(home), method)
    print('RESULT %s %s %s->%s: used %s, %.2f s, downtime %s ms, %.1f MiB, %s passes, %s page requests' % (
        vm, method, home, other(home), result['method_used'], result['total_time_s'], result['downtime_ms'],
        result['bytes_transferred'] / 1048576.0, result['precopy_rounds'], result['postcopy_requests']))


def test_check_mode_plans_and_moves_nothing(testbed):
    home = current_host('wa-write')
    result = migrate('wa-write', home, other(home), check=True)
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is True
    assert result['method_chosen'] in ('precopy', 'postcopy', 'hybrid')
    assert set(result['predictions']) == {'precopy', 'postcopy', 'hybrid'}
    assert where_is('wa-write') == {home: RUNNING}


def test_a_vm_already_on_the_destination_is_unchanged(testbed):
    home = current_host('wa-idle')
    # Asked to move it from the host it is not on, to the host it is on.
    result = migrate('wa-idle', other(home), home, method='precopy')
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is False
    assert where_is('wa-idle') == {home: RUNNING}


def test_precopy_that_cannot_converge_falls_back_to_postcopy(testbed):
    # 40 MiB/s of writes over a 20 MiB/s link: pre-copy never converges.  The re-prediction
    # from the live statistics says so once pass 2 has begun; the stall rule is the backstop.
    home = current_host('wa-write')
    seq = latest_seq('wa-write')
    result = migrate('wa-write', home, other(home), method='precopy', bandwidth_mibps=20, precopy_budget_s=60)
    assert not result.get('failed'), result.get('msg')
    assert result['method_used'] == 'precopy+postcopy'
    why = result['switch']['why']
    assert why.startswith('re-predicted from live statistics: ') or 'not converging' in why, why
    assert result['switch']['pass'] >= 2
    assert result['live_prediction']['rate_mibps'] > 0, result['live_prediction']
    assert where_is('wa-write') == {other(home): RUNNING}
    assert_healthy_after('wa-write', seq)


def test_without_postcopy_auto_moves_a_writer_above_the_link_by_a_throttled_precopy(testbed):
    # The same writer, post-copy forbidden: auto predicts a pre-copy throttled by auto-converge from the
    # throttle under which this guest (a paced writer wanting little CPU) dirties at most half the link.
    # QEMU's own start (20 %, +10 % every second pass) took 92 s here; that start, a few passes.
    # At 30 MiB/s, not 20: at the throttle's 99 % the passes hover at 4-6 MiB, and QEMU's threshold at 20 MiB/s
    # (4.3 MiB; 6 MiB at the operator's whole limit) left landing under it to chance (CI aborted it once in
    # eight runs); at 30 MiB/s it is 6.4 MiB at the target, and the writer (40 MiB/s) is still above the link.
    home = current_host('wa-write')
    seq = latest_seq('wa-write')
    result = migrate('wa-write', home, other(home), method='auto', bandwidth_mibps=30, postcopy_allowed=False,
                     profile_window_s=3, time_budget_s=240)
    assert not result.get('failed'), result.get('msg')
    assert result['method_chosen'] == 'precopy' and result['method_used'] == 'precopy', result['reason']
    assert 'auto-converge throttles the guest from' in result['reason'], result['reason']
    assert result['auto_converge_initial_pct'] > 50, result['reason']
    assert result['predictions']['precopy']['converges'], result['predictions']
    assert where_is('wa-write') == {other(home): RUNNING}
    assert_healthy_after('wa-write', seq)


def test_precopy_that_cannot_converge_without_postcopy_is_aborted_and_the_vm_stays(testbed):
    home = current_host('wa-write')
    seq = latest_seq('wa-write')
    result = migrate('wa-write', home, other(home), method='precopy', bandwidth_mibps=20, postcopy_allowed=False,
                     auto_converge='never', precopy_budget_s=60)
    assert result.get('failed')
    assert 'keeps running on the source' in result['aborted']
    assert result['vm_location'] == {'source': 'running', 'destination': None}
    assert where_is('wa-write') == {home: RUNNING}
    assert_healthy_after('wa-write', seq)
