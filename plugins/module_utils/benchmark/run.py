# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wa_benchmark_run's one call: check the request, find the host the VM runs
on, skip a run already recorded, migrate once (measure.run_once) and record it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _events, _libvirt, migration_uri, preflight, settings)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import names
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import evaluation, measure
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput


def check_request(params):
    names.check_domain_name(params['name'])
    settings.check_bounds(params)
    if params['method'] == evaluation.AUTO and params['profile_window_s'] < 1:
        raise BadInput('method auto needs profile_window_s of at least 1')
    if params.get('load_record') and not 1 <= params['load_settle_s'] <= 60:
        raise BadInput('load_settle_s must be from 1 to 60 s, got %s' % params['load_settle_s'])
    for option in ('migration_uri', 'peer_migration_uri'):
        migration_uri.parse(params[option], option)
        migration_uri.check_transport(params[option], params['transport'], option)


def find_vm(name, hosts):
    """(source host, destination host, domain) for where the VM runs now; BadInput unless on exactly one."""
    found = []
    for index, host in enumerate(hosts):
        dom, state = preflight.find(host['conn'], name)
        if dom is not None:
            found.append((index, dom, state))
    running = [f for f in found if f[2][0] == preflight.RUNNING and not preflight.in_postcopy(*f[2])]
    if len(found) != 1 or len(running) != 1:
        raise BadInput('%s must run on exactly one of the two hosts; found: %s' % (
            name, ', '.join('%s on %s' % (preflight.describe_state(*f[2]), hosts[f[0]]['uri']) for f in found)
            or 'nowhere'))
    index, dom, _state = running[0]
    return hosts[index], hosts[1 - index], dom


def run(params, check_mode):
    """The module's result; raises WaError."""
    check_request(params)
    _events.ensure_event_loop()
    hosts = []
    try:
        for uri, mig_uri in ((params['uri'], params['migration_uri']),
                             (params['peer_uri'], params['peer_migration_uri'])):
            hosts.append(dict(uri=uri, migration_uri=mig_uri, conn=_libvirt.open_connection(uri)))
        return _run(params, check_mode, hosts)
    finally:
        for host in hosts:
            host['conn'].close()


def _run(params, check_mode, hosts):
    source, destination, dom = find_vm(params['name'], hosts)
    memory_mib = dom.maxMemory() // 1024
    row = dict(workload=params['workload'], memory_mib=memory_mib, bandwidth_mibps=params['bandwidth_mibps'],
               method=params['method'], repetition=params['repetition'])
    done = {}
    if params['results_file']:
        done = dict((evaluation.run_key(r), r) for r in evaluation.read_runs(params['results_file']))
    if evaluation.run_key(row) in done:
        return dict(changed=False, row=done[evaluation.run_key(row)], source=None, destination=None,
                    msg='already recorded in %s' % params['results_file'])
    if check_mode:
        migration_uri.check(source['uri'], destination['migration_uri'])
        return dict(changed=True, row=row, source=source['uri'], destination=destination['uri'])

    request = dict(method=params['method'], dest_uri=destination['migration_uri'],
                   bandwidth_mibps=params['bandwidth_mibps'], max_downtime_ms=params['max_downtime_ms'],
                   time_budget_s=params['time_budget_s'], memory_mib=memory_mib,
                   console_log=params['console_log'], profile_window_s=params['profile_window_s'],
                   predictions=params['predictions'], transfer_mib=params['transfer_mib'],
                   load_record=params.get('load_record'), load_settle_s=params.get('load_settle_s'))
    try:
        measured = measure.run_once(source['conn'], destination['conn'], dom, request, params, source['uri'])
    except measure.BenchmarkError as err:
        raise measure.BenchmarkError('%s: %s' % (params['name'], err), dict(err.details, row=row))
    sample = measured.pop('calibration_sample', None)
    series = measured.pop('load_series', None)
    row.update(measured)
    row.update(dirty_rate_mbps=params['dirty_rate_mibps'], vm=params['name'], source=source['uri'],
               destination=destination['uri'], finished_at=time.strftime('%Y-%m-%dT%H:%M:%S'))
    if params['results_file']:
        evaluation.append_run(params['results_file'], row)
        if series is not None:
            evaluation.append_series(evaluation.series_file(params['results_file']), row, series)
    return dict(changed=True, row=row, source=source['uri'], destination=destination['uri'],
                calibration_samples=[sample] if sample else [])
