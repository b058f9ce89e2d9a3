# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Between a module and the calibration store: the rates a prediction starts
from (decisions.rates, from the samples the action plugin passed in the
module's `calibration` option), and the sample a finished migration leaves
(the action plugin records it on the controller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import calibration_store
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import bounds, calibration, rates

MIB = 1024.0 * 1024.0


def samples(params):
    """{pair_key: [calibration.Sample]} from the module's `calibration` option (None or {} : nothing learned)."""
    given = params.get('calibration') or {}
    return dict((key, [calibration_store.from_entry(entry) for entry in entries])
                for key, entries in (given.get('pairs') or {}).items())


def rates_for(params, source_uri, dest_uri, hypervisor, learned=None, streams=None, source_busy=None):
    """decisions.rates.Rates for a migration from `source_uri` to `dest_uri` (None: not chosen yet).

    `learned`: samples to add to the module's (those of this run, e.g. an evacuation's earlier moves);
    `streams` (migrations from the source at once) and `source_busy` (its load, 0-1): the condition
    it will run under (decisions.rates.migration_rates).
    """
    known = samples(params)
    for key, extra in (learned or {}).items():
        known[key] = known.get(key, []) + list(extra)
    return rates.migration_rates(known, source_uri, dest_uri, hypervisor or rates.UNKNOWN_HYPERVISOR,
                                 params.get('bandwidth_mibps') or 0, params.get('link_mibps') or 0,
                                 streams=streams, source_busy=source_busy, transport=transport_of(params))


def transport_of(params):
    """The migration stream's transport the module's parameters ask for (settings.MIGRATION_ARGUMENT_SPEC)."""
    return params.get('transport') or 'tls'


def rates_at_once(params, source_uri, dest_uri, hypervisor, source_busy):
    """{migrations at once (str): {rate_mibps, fixed_s, tail_s, source, method_rates, pauses_over}} for each
    count an evacuation may run at (1 to the concurrency option's highest) that migrations of this source ran
    at under this load (`source_busy`): the plan takes the one it runs at, and predicts the evacuation at each
    where one at a time was measured too (decisions.concurrency.best).  `pauses_over`: [paused over the
    operator's limit (params' max_downtime_ms), pauses known] of the migrations the rate was learned from.
    Counts nothing was learned at are left out."""
    found = {}
    limit_ms = params.get('max_downtime_ms')
    # Only the counts some migration ran at can teach (the others fall back to any condition).
    ran_at = set(calibration.streams_of(sample) for known in samples(params).values() for sample in known)
    for streams in sorted(n for n in ran_at if n and n <= bounds.BOUNDS['concurrency'][1]):
        learned = rates_for(params, source_uri, dest_uri, hypervisor, streams=streams, source_busy=source_busy)
        if learned.condition is not None:
            pauses = learned.pauses_ms or []
            found[str(streams)] = {'rate_mibps': round(learned.rate_mibps, 1), 'fixed_s': round(learned.fixed_s, 3),
                                   'tail_s': None if learned.tail_s is None else round(learned.tail_s, 3),
                                   'source': learned.sources['rate_mibps'],
                                   # A method's own rate where its migrations taught one: [rate, where from].
                                   'method_rates': dict(
                                       (method, [round(rate, 1), learned.sources['rate_mibps.%s' % method]])
                                       for method, rate in (learned.method_rates or {}).items()),
                                   'pauses_over': [len([p for p in pauses if limit_ms and p > limit_ms]), len(pauses)]}
    return found


def sample_entry(source_uri, dest_uri, hypervisor, result, cap_mibps, downtime_target_ms, streams=1,
                 source_busy=None, transport=rates.PLAIN):
    """The store entry (with its `key`) a finished migration's result teaches; None when it teaches nothing.

    `streams`: migrations of the source at once (an evacuation corrects it from when each ran);
    `source_busy`: the source's load before it started (host_load), None: not measured.
    """
    sent = result.get('bytes_transferred')
    # What the operator waits for: libvirt's whole job, from the migrate call to its return (set-up, transfer,
    # switch-over, the destination's finish and the source's confirm), not QEMU's transfer time alone.
    total = result.get('wall_time_s') or result.get('total_time_s')
    if not sent or not total or result.get('aborted'):
        return None
    entry = calibration_store.to_entry(calibration.Sample(
        sent / MIB, total, result.get('downtime_ms'), cap_mibps or 0, result.get('method_used') or 'precopy',
        downtime_target_ms, result.get('total_time_s'), result.get('running_on_destination_s'), streams > 1,
        streams, None if source_busy is None else round(source_busy, 3)))
    entry['key'] = rates.pair_key(source_uri, dest_uri, hypervisor or rates.UNKNOWN_HYPERVISOR, transport)
    return entry


def entry_sample(entry):
    """(key, calibration.Sample) of an entry from sample_entry."""
    return entry['key'], calibration_store.from_entry(entry)


def arrival_entry(source_uri, dest_uri, hypervisor, stats, cap_mibps, method, finish_s, streams=1, source_busy=None,
                  transport=rates.PLAIN):
    """The store entry (with its `key`) that a migration's source job statistics teach at the moment the guest runs
    on the destination (its libvirt job still confirming); None where they do not say enough.

    QEMU's transfer is over then: what it sent (`data_processed`) and the job's time so far (`time_elapsed`)
    teach the rate, a `finish_s` (the finish already learned) stands in for the rest of the job, and the
    entry counts as overlapped (its job has not ended: it never teaches a finish or a tail).  An evacuation
    replaces it with the finished migration's own entry (sample_entry) when libvirt returns.
    """
    sent = stats.get('data_processed') or stats.get('memory_processed')
    elapsed = stats.get('time_elapsed')
    if not sent or not elapsed or stats.get('memory_remaining'):
        return None
    transfer = elapsed / 1000.0
    entry = calibration_store.to_entry(calibration.Sample(
        sent / MIB, transfer + max(0.0, finish_s or 0.0), stats.get('downtime'), cap_mibps or 0, method or 'precopy',
        None, transfer, transfer, True, streams, None if source_busy is None else round(source_busy, 3)))
    entry['key'] = rates.pair_key(source_uri, dest_uri, hypervisor or rates.UNKNOWN_HYPERVISOR, transport)
    return entry
