# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the evacuation of a failing host: a destination, a method and a
place in line for each of its VMs.

Pure Python, no libvirt.

* Order: shortest predicted migration first.  With one migration link shared
  by all VMs the time until the last VM is safe is about the sum of their
  migration times whatever the order, but shortest-first makes the average
  time until a VM is safe the least (the shortest-processing-time rule), so
  most VMs are safe soonest.  Or, asked for, most at risk first: the VMs that
  write the most for the rate they migrate at (dirty rate / rate, `risk`) go
  first, as SO-Live weighs each VM's exposure: a writer's pre-copy gets no
  easier while it waits, and it loses the most if the host dies first.  The
  plan says what each order costs (`orders`): when the last VM is safe, the
  mean time until a VM is safe, and the risk-weighted wait.
* Destination: among the hosts that share the failing host's storage, have
  the VM's memory free (plus headroom) and enough vCPUs, the one with the most
  memory left afterwards (worst fit), which spreads the load.  Hosts that can
  do post-copy are preferred for VMs whose method needs it; elsewhere those
  VMs go by pre-copy.
* A VM that fits nowhere is left behind, with the reason, and does not stop
  the others.
* A VM is safe, and the next migration starts, when the destination says the
  guest runs there: the last `tail_s` of each migration (the source's QEMU
  exiting, libvirt's confirm) is off the critical path.
* How many at once: the operator's number, or chosen from the measured rates
  and the link (`concurrency.choose`): more than one only where one migration
  cannot fill the link; where the source's migrations were measured at other
  numbers at once, the one whose plan has the last VM safe soonest
  (`concurrency.best`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import bounds, concurrency, names, rates
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput

VmToMove = collections.namedtuple('VmToMove', [
    'name', 'memory_mib', 'vcpus',
    'method',             # recommended method, or None when no safe method was found
    'predicted_s',        # predicted migration time of that method (None: unknown)
    'precopy_s',          # predicted pre-copy time, if the VM must fall back to pre-copy
    'reason',             # why that method (or why none)
    'sent_mib',           # predicted data sent by that method (None: unknown): re-planned with measured rates
    'hypervisor',         # the guest's hypervisor type (kvm, qemu), for the rates learned per type
    'tail_s',             # of predicted_s, the part after the guest runs on the destination (None: unknown)
    'risk',               # what it loses by waiting: its dirty rate over its migration rate (0: unknown)
    'rate_source',        # where its prediction's rate came from (the profile's inputs), None: unknown
    'rate_mibps',         # the rate its prediction assumes, None: unknown
    'rates_at_once',      # {migrations at once: Measured} learned so; {}: none
])
VmToMove.__new__.__defaults__ = (None, None, None, 0.0, None, None, None)

# What migrations taught about the rate a move will run at: the plan re-predicts moves from it (_repredict).
Measured = collections.namedtuple('Measured', [
    'rate_mibps',         # the rate of all the migrations that taught one
    'fixed_s',            # before the first byte and after the last
    'source',             # where the rate came from
    'tail_s',             # of a migration, the part after the guest runs on the destination (None: unknown)
    'streams',            # the rate was learned from that many migrations at once (None: alone or unknown)
    'method_rates',       # {method: (rate, where it came from)} where that method's own migrations taught one
    'pauses_over',        # (paused over the operator's limit, pauses known) of the migrations that taught it
])
Measured.__new__.__defaults__ = (None, None, None, None)

ORDERS = ('shortest-first', 'most-at-risk-first')

Destination = collections.namedtuple('Destination', [
    'name', 'free_memory_mib', 'free_vcpus', 'postcopy_capable', 'storage',
])

POSTCOPY_METHODS = ('postcopy', 'hybrid')
# Used when a VM could not be profiled: long enough to go last.
UNKNOWN_DURATION_S = 3600.0


def _duration(vm):
    return vm.predicted_s if vm.predicted_s is not None else UNKNOWN_DURATION_S


def _order_key(order):
    """The sort key of VMs (or moves: dicts) for `order`."""
    def get(item, field):
        return item.get(field) if isinstance(item, dict) else getattr(item, field)

    def duration(item):
        value = get(item, 'predicted_s')
        return value if value is not None else UNKNOWN_DURATION_S

    def name(item):
        return get(item, 'vm') if isinstance(item, dict) else item.name

    if order == 'most-at-risk-first':
        return lambda item: (-(get(item, 'risk') or 0.0), duration(item), name(item))
    return lambda item: (duration(item), name(item))


def order_costs(moves, at_once=1, link_mibps=None):
    """{order: {'last_safe_s', 'mean_safe_s', 'risk_weighted_wait_s'}}: the same moves in each order."""
    costs = {}
    for order in ORDERS:
        ordered = [dict(move) for move in sorted(moves, key=_order_key(order))]
        _slots(ordered, at_once, link_mibps=link_mibps)
        safe = [move['predicted_safe_at_s'] for move in ordered]
        costs[order] = {
            'last_safe_s': round(max(safe or [0.0]), 2),
            'mean_safe_s': round(sum(safe) / len(safe), 2) if safe else 0.0,
            'risk_weighted_wait_s': round(sum((move.get('risk') or 0.0) * move['predicted_safe_at_s']
                                              for move in ordered), 2),
        }
    return costs


def until_safe_s(move):
    """Of a move's predicted time, the part until the VM runs on the destination: what the next move waits for."""
    predicted = move.get('predicted_s')
    if predicted is None:
        return UNKNOWN_DURATION_S
    return max(0.0, predicted - (move.get('tail_s') or 0.0))


def _slots(moves, at_once, start_s=0.0, link_mibps=None):
    """Set each move's predicted_safe_at_s: `at_once` migrations share the link, each slower than alone only
    where together they exceed it (`concurrency.share`; `at_once` times without the link or the move's rate);
    a move starts when a slot frees (the previous VM is safe)."""
    slots = [float(start_s)] * max(1, at_once)
    for move in moves:
        slot = min(range(len(slots)), key=lambda i: slots[i])
        # A rate learned from migrations that ran as many at once has the sharing in it already.
        shared = 1.0 if move.get('rate_streams') == len(slots) else concurrency.share(
            len(slots), move.get('rate_mibps'), link_mibps)
        slots[slot] += until_safe_s(move) * shared
        move['predicted_safe_at_s'] = round(slots[slot], 2)


def _fits(vm, host, headroom_mib, vcpu_ratio):
    return (host['free_memory_mib'] >= vm.memory_mib + headroom_mib
            and host['free_vcpus'] * vcpu_ratio >= vm.vcpus)


def plan_evacuation(vms, destinations, storage, at_once=1, headroom_mib=256, vcpu_ratio=1.0,
                    order='shortest-first', link_mibps=None):
    """Return {'moves': [...], 'left_behind': [...], 'predicted_total_s': float, 'order', 'orders',
    'concurrency', 'concurrency_reason'}.

    `destinations` must not contain the failing host; `storage` is the failing
    host's shared storage: only hosts with the same can take its VMs.  `order`:
    one of ORDERS; `orders` says what each would cost with the same placements.
    `at_once`: migrations at once, or None to choose it from the moves' measured
    rates and `link_mibps` (concurrency.choose).
    """
    if at_once is not None and at_once < 1:
        raise ValueError('concurrency must be at least 1, got %r' % (at_once,))
    if order not in ORDERS:
        raise ValueError('order must be one of %s, got %r' % (', '.join(ORDERS), order))
    hosts = dict((d.name, {'free_memory_mib': float(d.free_memory_mib), 'free_vcpus': float(d.free_vcpus),
                           'postcopy_capable': bool(d.postcopy_capable), 'storage': d.storage})
                 for d in destinations)
    moves, left_behind = [], []
    for vm in sorted(vms, key=_order_key(order)):
        if vm.method is None:
            left_behind.append({'vm': vm.name, 'reason': vm.reason or 'no safe migration method'})
            continue
        candidates = [(name, host) for name, host in sorted(hosts.items())
                      if host['storage'] == storage and _fits(vm, host, headroom_mib, vcpu_ratio)]
        if not candidates:
            left_behind.append({'vm': vm.name, 'reason': 'no host with the same storage has %d MiB and %d vCPUs free'
                                % (vm.memory_mib + headroom_mib, vm.vcpus)})
            continue
        method, duration, note = vm.method, _duration(vm), None
        if method in POSTCOPY_METHODS:
            capable = [c for c in candidates if c[1]['postcopy_capable']]
            if capable:
                candidates = capable
            elif vm.precopy_s is not None:
                method, duration = 'precopy', vm.precopy_s
                note = 'no destination with room can do post-copy; pre-copy instead'
            else:
                left_behind.append({'vm': vm.name, 'reason': '%s needs post-copy (pre-copy does not converge) and no '
                                    'destination with room can do it' % vm.name})
                continue
        name, host = max(candidates, key=lambda c: (c[1]['free_memory_mib'] - vm.memory_mib, c[0]))
        host['free_memory_mib'] -= vm.memory_mib
        host['free_vcpus'] -= vm.vcpus
        moves.append({'vm': vm.name, 'destination': name, 'method': method, 'predicted_s': round(duration, 2),
                      'predicted_sent_mib': vm.sent_mib if method == vm.method else None,
                      'hypervisor': vm.hypervisor, 'tail_s': vm.tail_s, 'risk': round(vm.risk or 0.0, 3),
                      'rate_source': vm.rate_source or 'the plan', 'rate_mibps': vm.rate_mibps,
                      'reason': note or vm.reason})
    by_name = dict((vm.name, vm) for vm in vms)
    if at_once is None:
        at_once, why = concurrency.choose(link_mibps, [(m['rate_mibps'] or 0.0, m['rate_source']) for m in moves])
        if at_once > 1:
            at_once, why = _measured_best(moves, by_name, at_once, why, link_mibps, order)
    else:
        why = '%d at a time: set by the operator' % at_once
    # Where migrations that ran as many at once (the source as busy) taught a rate, it replaces the lone one.
    for move in moves:
        _repredict(move, (by_name[move['vm']].rates_at_once or {}).get(at_once), at_once)
    moves.sort(key=_order_key(order))
    _schedule(moves, at_once, link_mibps)
    total = max([m['predicted_safe_at_s'] for m in moves] or [0.0])
    return {'moves': moves, 'left_behind': left_behind, 'predicted_total_s': round(total, 2), 'order': order,
            'orders': order_costs(moves, at_once, link_mibps), 'concurrency': at_once, 'concurrency_reason': why}


def _measured_best(moves, by_name, chosen, why, link_mibps, order='shortest-first'):
    """(migrations at once, why) where the link rule let more than one run (`chosen`, concurrency.choose's, for
    `why`: every rate learned, one migration under three quarters of the link): where every move has rates
    learned one at a time and at other numbers at once (the source as busy as now), the number among those
    whose plan (in `order`) has the last VM safe soonest (concurrency.best), up to as many as there are moves,
    and only numbers whose streams at the rates learned so fit in the link together (those rates have the
    sharing in them: the lone rate's bound does not hold them back).  Where none above one wins and `chosen`
    was not measured, `chosen` stands, as where nothing was measured (concurrency.best)."""
    learned = [by_name[m['vm']].rates_at_once or {} for m in moves]
    plans, pauses = {}, {}
    for count in range(1, len(moves) + 1):
        if not all(count in r for r in learned):
            continue
        trial = [dict(move) for move in moves]
        for move in trial:
            _repredict(move, by_name[move['vm']].rates_at_once[count], count)
        if count * max(move.get('rate_mibps') or 0.0 for move in trial) > link_mibps:
            continue
        trial.sort(key=_order_key(order))
        _schedule(trial, count, link_mibps)
        safe = [move['predicted_safe_at_s'] for move in trial]
        plans[count] = (max(safe), sum(safe) / float(len(safe)))
        # The pauses of the migrations that taught each VM's rates at this number: the worst share of them.
        pauses[count] = max((tuple(by_name[m['vm']].rates_at_once[count].pauses_over or (0, 0)) for m in moves),
                            key=concurrency.pause_share)
    if 1 not in plans or len(plans) < 2:
        return chosen, why
    return concurrency.best(plans, pauses, why, None if chosen in plans else chosen)


def _schedule(moves, at_once, link_mibps=None):
    """Number the moves and predict when each VM is safe (_slots)."""
    for order, move in enumerate(moves, start=1):
        move['order'] = order
    _slots(moves, at_once, link_mibps=link_mibps)


def replan(remaining, rates_by_vm, now_s, at_once=1, order='shortest-first', link_mibps=None):
    """The moves not yet started, re-predicted with the rates just measured, in `order` again.

    `rates_by_vm`: {vm: Measured}.  A move's new prediction is its predicted data over the rate plus the
    fixed cost; a move without a predicted data size (or rates) keeps its prediction.  Safe-at times count
    from `now_s`.
    """
    updated = []
    for move in remaining:
        move = dict(move)
        _repredict(move, rates_by_vm.get(move['vm']))
        updated.append(move)
    updated.sort(key=_order_key(order))
    _slots(updated, at_once, now_s, link_mibps)
    return updated


def _repredict(move, measured, streams=None):
    """Predict `move` again from `measured` (a Measured; None: keep it): its predicted data over the rate (its
    method's own where one was learned) plus the fixed cost; a move without a predicted data size keeps its own.
    `streams` (else measured.streams): the rate was learned from that many migrations at once."""
    if measured and move.get('predicted_sent_mib') and measured.rate_mibps > 0:
        rate, source = (measured.method_rates or {}).get(move.get('method')) or (measured.rate_mibps, measured.source)
        move['predicted_s'] = round(measured.fixed_s + move['predicted_sent_mib'] / rate, 2)
        move['rate_source'] = source
        move['rate_mibps'] = rate
        move['rate_streams'] = streams if streams is not None else measured.streams
        if measured.tail_s is not None:
            move['tail_s'] = measured.tail_s


def reassign(move, destinations, down, load):
    """Where a move goes when its destination failed: (destination, method, why) or (None, None, why).

    `destinations`: {name: {'postcopy_capable': bool, ...}}; `down`: the names that failed;
    `load`: {name: moves planned to it so far}.  The live destination with the fewest moves
    (ties by name) takes it; one that can do post-copy where its method needs it, else the
    move goes by pre-copy.  Its capacity is checked by the move's own preflight.
    """
    live = sorted(name for name in destinations if name not in down)
    if not live:
        return None, None, 'no other destination is left (%s failed)' % ', '.join(sorted(down))
    method = move['method']
    note = 'its destination %s failed; re-planned onto' % move['destination']
    if method in POSTCOPY_METHODS:
        capable = [name for name in live if destinations[name].get('postcopy_capable')]
        if capable:
            live = capable
        else:
            method = 'precopy'
            note = 'its destination %s failed; no other can do post-copy, so by pre-copy onto' % move['destination']
    chosen = min(live, key=lambda name: (load.get(name, 0), name))
    return chosen, method, '%s %s' % (note, chosen)


def vm_to_move(name, entry):
    """A VmToMove from one entry of the wa_vm_profiles fact."""
    profile = entry.get('profile') or {}
    method = entry.get('recommended_method')
    predictions = entry.get('predictions') or {}
    predicted = predictions.get(method, {}).get('total_s') if method else None
    # The rate the chosen method was predicted at: its own where its migrations taught one (rates.method_rates).
    own_rate, rate_source = rates.reported_rate_and_source(entry.get('inputs'), method)
    return VmToMove(
        name=name,
        memory_mib=int(profile.get('memory_mib') or 0),
        vcpus=int(profile.get('vcpus') or 1),
        method=method,
        predicted_s=predicted,
        precopy_s=predictions.get('precopy', {}).get('total_s'),
        reason=entry.get('reason'),
        sent_mib=predictions.get(method, {}).get('sent_mib') if method else None,
        hypervisor=profile.get('domain_type'),
        tail_s=(entry.get('inputs') or {}).get('tail_s'),
        risk=_risk(profile.get('dirty_rate_mibps'), entry.get('bandwidth_mibps')),
        rate_source=rate_source,
        rate_mibps=own_rate or entry.get('bandwidth_mibps'),
        rates_at_once=dict((int(k), Measured(r['rate_mibps'], r['fixed_s'], r['source'], r.get('tail_s'),
                                             method_rates=dict((m, tuple(v)) for m, v in
                                                               (r.get('method_rates') or {}).items()),
                                             pauses_over=tuple(r['pauses_over']) if r.get('pauses_over') else None))
                           for k, r in (entry.get('rates_at_once') or {}).items()),
    )


def _risk(dirty_rate_mibps, rate_mibps):
    """A VM's dirty rate over the rate it migrates at (0 where either is unknown)."""
    if not dirty_rate_mibps or not rate_mibps or rate_mibps <= 0:
        return 0.0
    return float(dirty_rate_mibps) / float(rate_mibps)


def evacuation_plan(params):
    """wa_evacuation_plan's one call: the plan from its module parameters; raises BadInput."""
    bounds.check_bounds(params)
    vms = []
    for name, entry in sorted(params['profiles'].items()):
        names.check_domain_name(name, 'profiles key')
        if not isinstance(entry, dict):
            raise BadInput('profiles entry %s must be a dict (an entry of the wa_vm_profiles fact), got %r'
                           % (name, entry))
        try:
            vms.append(vm_to_move(name, entry))
        except (TypeError, ValueError, AttributeError, KeyError) as err:
            raise BadInput('profiles entry %s is not an entry of the wa_vm_profiles fact: %s' % (name, err))
    for dest in params['destinations']:
        if dest['free_memory_mib'] < 0 or dest['free_vcpus'] < 0:
            raise BadInput('destination %s: free_memory_mib and free_vcpus must not be negative' % dest['name'])
    destinations = [Destination(d['name'], d['free_memory_mib'], d['free_vcpus'], d['postcopy_capable'],
                                d['storage']) for d in params['destinations']]
    try:
        plan = plan_evacuation(vms, destinations, params['storage'], params['concurrency'],
                               params['headroom_mib'], params['vcpu_ratio'], params.get('order', 'shortest-first'),
                               params.get('link_mibps'))
    except ValueError as err:
        raise BadInput(str(err))
    return dict(plan, changed=False)
