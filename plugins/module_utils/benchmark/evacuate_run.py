# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wa_benchmark_evacuate's one call: empty the host that runs the benchmark's VMs by one strategy
(benchmark/evacuations.py), check every guest, and record one row."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _events, _libvirt, evacuation, host_load, learning, migration_uri, preflight, profiler, settings, vm_move)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import evacuations, measure
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    assessment, names, planner, policy)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput

MIB = 1024 * 1024


def check_request(params):
    if params['strategy'] not in evacuations.STRATEGIES:
        raise BadInput('strategy must be one of %s, got %s' % (', '.join(evacuations.STRATEGIES), params['strategy']))
    if len(params['hosts']) < 2:
        raise BadInput('hosts must name the host of the VMs and at least one other')
    if not params['vms']:
        raise BadInput('vms must name at least one VM')
    for name in params['vms']:
        names.check_domain_name(name, 'vms entry')
    for host in params['hosts']:
        migration_uri.check_transport(host['migration_uri'], params['transport'],
                                      'host %s migration_uri' % host.get('name'))
    settings.check_bounds(params)


def run(params, check_mode):
    """The module's result; raises WaError."""
    check_request(params)
    done = evacuations.recorded(params['results_file'], params['strategy'], params['bandwidth_mibps'],
                                params['repetition'])
    if done is not None:
        return dict(changed=False, row=done, calibration_samples=[], msg='already recorded in %s'
                    % params['results_file'])
    _events.ensure_event_loop()
    conns = {}
    try:
        for host in params['hosts']:
            conns[host['name']] = _libvirt.open_connection(host['uri'])
        return _run(params, check_mode, conns)
    finally:
        for conn in conns.values():
            conn.close()


def _where(conns, name):
    """{host: state text} of every host that has the VM."""
    where = {}
    for host, conn in sorted(conns.items()):
        _dom, state = preflight.find(conn, name)
        if state is not None:
            where[host] = preflight.describe_state(*state)
    return where


def _homes(params, conns):
    """{vm: the host it runs on}; BadInput unless each runs, on exactly one host."""
    homes = {}
    for name in params['vms']:
        where = _where(conns, name)
        if list(where.values()) != ['running']:
            raise BadInput('%s must run on exactly one host; found: %s' % (name, where or 'nowhere'))
        homes[name] = list(where)[0]
    return homes


def _source(params, conns, check_mode):
    """The host every VM runs on.  An earlier evacuation that left VMs behind (a baseline's migration that
    never converged) split them: those are first brought to the host that runs most of them, by the
    collection's post-copy, outside the measurement (not in check mode: there they must run on one host)."""
    homes = _homes(params, conns)
    count = dict((host, list(homes.values()).count(host)) for host in set(homes.values()))
    if check_mode and len(count) > 1:
        raise BadInput('the VMs must all run on one host; they run on %s' % ', '.join(sorted(count)))
    gather = max(sorted(count), key=lambda host: count[host])
    by_name = dict((h['name'], h) for h in params['hosts'])
    for name, host in sorted(homes.items()):
        if host == gather:
            continue
        result = vm_move.VmMove(name, by_name[gather]['migration_uri'], 'postcopy',
                                dict(params, postcopy_allowed=True, profile_window_s=0)).run(
            conns[host], conns[gather], by_name[host]['uri'])
        if result.get('outcome') != vm_move.MOVED:
            raise BadInput('%s runs on %s, apart from the others on %s, and could not be brought there: %s'
                           % (name, host, gather, result.get('reason')))
    homes = _homes(params, conns)
    if set(homes.values()) != set([gather]):
        raise BadInput('the VMs must all run on one host; they run on %s' % ', '.join(sorted(set(homes.values()))))
    return gather


def _plan(params, conn, destinations, profiles, rates, at_once):
    """(moves, predicted last safe, migrations at once): auto plans as evacuate.yml does; a baseline takes the
    VMs in the host's order, by name, as many at once as its strategy says.  `at_once`: the rates learned
    for each number of migrations at once (learning.rates_at_once)."""
    if params['strategy'] != 'auto':
        return ([dict(order=i + 1, vm=name, destination=destinations[i % len(destinations)]['name'],
                      method='precopy', predicted_s=None) for i, name in enumerate(sorted(params['vms']))], None,
                evacuations.concurrency(params['strategy'], len(params['vms'])))
    allowed = policy.allowed_methods(params['postcopy_allowed'])
    vms = []
    for name in sorted(params['vms']):
        entry = dict(assessment.assess(profiles[name], rates, params['max_downtime_ms'], allowed),
                     profile=profiles[name], rates_at_once=at_once)
        vms.append(planner.vm_to_move(name, entry))
    free_mib = conn.getFreeMemory() // MIB
    hosts = [planner.Destination(d['name'], free_mib, 64, params['postcopy_allowed'], 'shared') for d in destinations]
    plan = planner.plan_evacuation(vms, hosts, 'shared', None, link_mibps=params['link_mibps'])
    if plan['left_behind']:
        raise BadInput('the plan leaves %s behind' % plan['left_behind'])
    return plan['moves'], plan['predicted_total_s'], plan['concurrency']


def _run(params, check_mode, conns):
    source_host = _source(params, conns, check_mode)
    by_name = dict((h['name'], h) for h in params['hosts'])
    destinations = [h for h in params['hosts'] if h['name'] != source_host]
    consoles = dict((name, '%s/%s.log' % (params['console_dir'], name)) for name in params['vms'])
    before = dict((name, measure.healthy_before(consoles[name])[-1].seq) for name in params['vms'])
    meter = host_load.Meter(conns[source_host])
    profiles = profiler.profile_host(conns[source_host], params['vms'], params['profile_window_s'])
    source_busy = meter.busy()
    incomplete = [name for name, profile in profiles.items() if not profile.get('complete')]
    if incomplete:
        raise BadInput('cannot profile %s' % ', '.join(sorted(incomplete)))
    hypervisor = profiles[params['vms'][0]].get('domain_type')

    pair = (by_name[source_host]['uri'], destinations[0]['migration_uri'], hypervisor)
    rates = learning.rates_for(params, *pair, streams=1, source_busy=source_busy)
    moves, predicted, at_once = _plan(params, conns[destinations[0]['name']], destinations, profiles, rates,
                                      learning.rates_at_once(params, *pair, source_busy=source_busy))
    if check_mode:
        return dict(changed=True, moves=moves, concurrency=at_once, calibration_samples=[])

    targets = dict((d['name'], dict(uri=d['migration_uri'], control_uri=d['uri'],
                                    postcopy_capable=params['postcopy_allowed'])) for d in destinations)
    memory = dict((name, profiles[name]['memory_mib']) for name in params['vms'])
    result = evacuation.Evacuation(
        by_name[source_host]['uri'], moves, targets, dict(params, profile_window_s=0),
        concurrency=at_once, source_busy=source_busy,
        policy_for=evacuations.policy_for(params['strategy'], memory, postcopy_allowed=False)).run()
    healthy = all(measure.healthy_since(consoles[name], before[name]) for name in params['vms'])
    healthy = healthy and all(list(_where(conns, name).values()) == ['running'] for name in params['vms'])
    transfers = [profiles[name]['transfer_mib'] for name in params['vms']]
    note = '; '.join('%s: %s' % (m['vm'], m['reason']) for m in result['left_behind'])[:300]
    values = evacuations.row(params['strategy'], params['bandwidth_mibps'], params['repetition'], result, transfers,
                             rates.rate_mibps, rates.sources['rate_mibps'], healthy, predicted, note, at_once)
    if params['results_file']:
        evacuations.append_row(params['results_file'], values)
    # Only the collection's own migrations teach the store auto plans from: a baseline's run another product's
    # policy (auto-converge, compression, its downtime steps), and its rate at its number at once (Proxmox's
    # every VM at once) misled auto's plan into running its own methods so (2026-11-29, docs/evacuate.md).
    return dict(changed=True, row=values, source=source_host, concurrency=at_once, moved=result['moved'],
                left_behind=result['left_behind'],
                calibration_samples=result['calibration_samples'] if params['strategy'] == 'auto' else [])
