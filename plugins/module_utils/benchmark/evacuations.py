# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's evacuations: a host of mixed VMs emptied by the collection, and as the anchors do it.

One row per evacuation (COLUMNS, docs/evaluation/evacuations.csv).  The strategies:

* auto: the collection's own evacuation (profile, plan, wa_evacuate's per-VM workflow, as
  many migrations at once as the plan chooses from the measured rates and the link, the
  finish overlapped, re-planned as it goes).
* proxmox-all: every VM at once (Proxmox's bulk `migrateall` with as many workers), each as
  Proxmox migrates one (baselines.Proxmox: auto-converge, xbzrle, downtime 100 ms doubled while
  it does not converge, no time limit).
* kubevirt-drain: two at a time (KubeVirt's parallelOutboundMigrationsPerNode default), each
  with KubeVirt's migration monitor (baselines.KubeVirt): allowPostCopy is false by default, so
  at completionTimeoutPerGiB it aborts.
* nova-serial: one at a time (Nova's max_concurrent_live_migrations = 1), each with Nova's
  monitor (baselines.NovaPostcopy: downtime steps): live_migration_permit_post_copy is false by
  default, so at live_migration_completion_timeout it aborts (timeout_action abort).

Post-copy is off in all three by default; the benchmark's time budget cuts off a migration
that would still run (Proxmox has no limit of its own).

The baselines migrate in the order the host lists its VMs (by name), not ours.  The floor is
the VMs' memory to move over the measured rate (one link, back to back); the shortest-first
bound is the least mean time until a VM is safe on that link.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import os

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import baselines, evaluation

STRATEGIES = ('auto', 'proxmox-all', 'kubevirt-drain', 'nova-serial')
# strategy: (baseline policy of each VM's migration, migrations at once; None: every VM at once)
BASELINE_STRATEGIES = {
    'proxmox-all': ('proxmox', None),
    'kubevirt-drain': ('kubevirt', 2),
    'nova-serial': ('nova-postcopy', 1),
}
COLUMNS = ('strategy', 'bandwidth_mibps', 'vms', 'last_safe_s', 'floor_s', 'mean_safe_s', 'shortest_first_bound_s',
           'left_behind', 'healthy', 'repetition', 'total_s', 'predicted_last_safe_s', 'rate_mibps', 'rate_source',
           'paused_over_limit', 'concurrency', 'note')
KEY = ('strategy', 'bandwidth_mibps', 'repetition')


def floor_s(transfers_mib, rate_mibps):
    """All the VMs' memory over the rate, back to back on one link: no evacuation is faster."""
    if not transfers_mib or not rate_mibps:
        return None
    return sum(transfers_mib) / float(rate_mibps)


def shortest_first_bound_s(transfers_mib, rate_mibps):
    """The least mean time until a VM is safe on one link at the rate: shortest first, back to back."""
    if not transfers_mib or not rate_mibps:
        return None
    done, total = 0.0, 0.0
    for transfer in sorted(transfers_mib):
        done += transfer / float(rate_mibps)
        total += done
    return total / len(transfers_mib)


def concurrency(strategy, vm_count):
    """Migrations at once for a baseline strategy (auto chooses in its plan: planner.plan_evacuation)."""
    at_once = BASELINE_STRATEGIES[strategy][1]
    return max(1, vm_count if at_once is None else at_once)


def policy_for(strategy, memory_mib_by_vm, postcopy_allowed):
    """None for auto; else a function of a move giving VmMove's baseline settings (as measure.move_for)."""
    if strategy == 'auto':
        return None
    name = BASELINE_STRATEGIES[strategy][0]

    def settings(move):
        policy = baselines.baseline(name, memory_mib_by_vm[move['vm']])
        return dict(precopy_policy=policy, postcopy_allowed=policy.postcopy and postcopy_allowed,
                    auto_converge='always' if policy.auto_converge else 'never', compression=policy.compression)
    return settings


def row(strategy, bandwidth_mibps, repetition, result, transfers_mib, rate, rate_source, healthy, predicted=None,
        note='', at_once=None):
    """One row of evacuations.csv from wa_evacuate's result and the VMs' transfers (`at_once`: the migrations
    it ran at once; paused_over_limit counts the moved VMs whose pause went past the operator's limit)."""
    safe = [m['safe_at_s'] for m in result['moved']]
    left = len(result['left_behind'])
    return {
        'strategy': strategy, 'bandwidth_mibps': bandwidth_mibps, 'vms': len(transfers_mib),
        'last_safe_s': max(safe) if safe and not left else None,
        'floor_s': floor_s(transfers_mib, rate),
        'mean_safe_s': sum(safe) / len(safe) if safe and not left else None,
        'shortest_first_bound_s': shortest_first_bound_s(transfers_mib, rate),
        # The guests' own checks: a VM left behind (its migration aborted) may be healthy where it stayed.
        'left_behind': left, 'healthy': bool(healthy), 'repetition': repetition,
        'total_s': result.get('total_s'), 'predicted_last_safe_s': predicted, 'rate_mibps': rate,
        'rate_source': rate_source, 'note': note, 'concurrency': at_once,
        'paused_over_limit': len([m for m in result['moved'] if m.get('downtime_breach')]),
    }


def read_rows(path):
    """The recorded evacuations (strings as written); [] when there is no file yet."""
    if not path or not os.path.exists(path):
        return []
    with open(path) as handle:
        return list(csv.DictReader(handle))


def recorded(path, strategy, bandwidth_mibps, repetition):
    """The row already recorded for this evacuation, or None."""
    wanted = (strategy, str(int(bandwidth_mibps)), str(int(repetition)))
    for found in read_rows(path):
        if (found['strategy'], found['bandwidth_mibps'], found['repetition']) == wanted:
            return found
    return None


def append_row(path, values):
    """Append one evacuation (a header first when the file is new)."""
    evaluation.append_csv(path, values, COLUMNS, 'evacuation')
