# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From one VM's profile to its class, the three predictions and the choice.

Pure Python, no libvirt: glue between classifier, cost_model and policy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    classifier, cost_model, policy, rates as rates_mod)


def cpu_share(profile):
    """The vCPU time the guest wants (0-1 per vCPU): its demand where measured, else its use; None unmeasured."""
    for field in ('cpu_demand', 'cpu_util'):
        if profile.get(field) is not None:
            return float(profile[field])
    return None


def migration_inputs(profile, bandwidth_mibps, max_downtime_ms):
    """The cost model's inputs for a profile; unmeasured rates count as zero, an unmeasured CPU share as whole."""
    dirty = profile.get('dirty_rate_mibps') or 0.0
    share = cpu_share(profile)
    return cost_model.MigrationInputs(
        transfer_mib=float(profile['transfer_mib']),
        dirty_rate_mibps=float(dirty),
        wws_mib=float(profile.get('wws_mib') or profile['transfer_mib']),
        # Reads cannot be counted without performance counters: the guest is
        # assumed to touch at least what it dirties.
        touch_rate_mibps=float(dirty),
        bandwidth_mibps=float(bandwidth_mibps),
        max_downtime_ms=float(max_downtime_ms),
        cpu_share=1.0 if share is None else share,
    )


def auto_converge_on(setting, postcopy_possible):
    """Whether a pre-copy runs with QEMU's auto-converge: 'always', or 'auto' where post-copy cannot be its fallback."""
    return setting == 'always' or (setting == 'auto' and not postcopy_possible)


def assess(profile, rates, max_downtime_ms, allowed_methods, tolerance=policy.DEFAULT_TOLERANCE,
           thresholds=None, postcopy_recoverable=True, auto_converge=False):
    """Class, predictions and recommendation for one complete profile (see policy.choose).

    `rates`: decisions.rates.Rates, the measured inputs and where each came from.  Pre-copy
    is predicted against the downtime target QEMU will be given (the operator's limit over
    the learned overshoot), and its pause is predicted as that model's pause times the
    overshoot; post-copy and hybrid pause for the learned switch-over.  With `auto_converge`
    pre-copy is predicted throttled (cost_model.predict_precopy) from the throttle that makes the
    guest dirty at most half the link (cost_model.throttle_to_converge, given to QEMU as its
    start: `auto_converge_initial_pct`): a writer faster than the link then converges, at the
    price of the work its throttled vCPUs cannot do (the guest's CPU share decides how much).
    """
    target_ms = rates_mod.downtime_target_ms(max_downtime_ms, rates)
    throttle = None
    if auto_converge:
        throttle = cost_model.throttle_to_converge(
            migration_inputs(profile, rates_mod.rate_for(rates, 'precopy'), target_ms))
    predictions = _predict(profile, rates, target_ms, auto_converge, throttle)
    result = {
        'bandwidth_mibps': rates.rate_mibps,
        'inputs': dict(rates_mod.as_dict(rates), downtime_limit_ms=max_downtime_ms, downtime_target_ms=target_ms,
                       dirty_rate_mibps=profile.get('dirty_rate_mibps'), cpu_share=cpu_share(profile),
                       fault_latency_ms=cost_model.DEFAULT_FAULT_LATENCY_MS),
        'classification': classifier.classify(profile, rates.rate_mibps, thresholds),
        'predictions': dict((method, cost_model.as_dict(p)) for method, p in predictions.items()),
    }
    result['inputs']['sources'].update(
        dirty_rate_mibps='measured: %s, %d one-second samples' % (
            profile.get('dirty_rate_mode') or 'page-sampling', len(profile.get('dirty_rate_samples') or [])),
        fault_latency_ms='default (a loopback round trip and a page; not yet fitted from page requests)',
        cpu_share='measured: vCPU time %s over the profile' % (
            'and run-queue delay' if profile.get('cpu_demand') is not None else 'used')
        if cpu_share(profile) is not None else 'not measured: taken as the whole vCPU')
    if throttle is not None:
        result['auto_converge_initial_pct'] = int(round(throttle * 100))
    method, reason = _choose(predictions, max_downtime_ms, allowed_methods, tolerance, postcopy_recoverable)

    # Page sampling looks at few pages: where the choice flips inside the dirty rate's spread,
    # take the choice at its high end, the side where a pre-copy that could not converge is not chosen.
    interval = dirty_rate_interval(profile.get('dirty_rate_samples'))
    if interval is not None:
        result['inputs']['dirty_rate_interval_mibps'] = [round(interval[0], 1), round(interval[1], 1)]
        high = _predict(dict(profile, dirty_rate_mibps=interval[1]), rates, target_ms, auto_converge, throttle)
        method_high, reason_high = _choose(high, max_downtime_ms, allowed_methods, tolerance, postcopy_recoverable)
        if method_high != method:
            reason = ('%s; the choice flips within the dirty rate\'s spread (%.1f-%.1f MiB/s measured): %s at its '
                      'mean, so taking the choice at its high end' % (reason_high, interval[0], interval[1],
                                                                      method or 'no method'))
            method = method_high
            predictions = high
    result['recommended_method'] = method
    if method == 'precopy' and auto_converge and (
            profile.get('dirty_rate_mibps') or 0) > cost_model.THROTTLE_TRIGGER * rates_mod.rate_for(rates, 'precopy'):
        reason += ('; auto-converge throttles the guest from %d %% (it wants %.0f %% of its vCPUs), costing it %.0f %% '
                   'of its work on average' % (result['auto_converge_initial_pct'], 100 * (cpu_share(profile) or 1.0),
                                               predictions['precopy'].slowdown * 100))
    # The rate the chosen method was predicted at, and where it came from.
    result['reason'] = reason + '; rate %.0f MiB/s (%s)' % rates_mod.rate_and_source(rates, method)
    return result


def _predict(profile, rates, target_ms, auto_converge, throttle_initial=None):
    inputs = migration_inputs(profile, rates.rate_mibps, target_ms)
    predictions = cost_model.predict_all(inputs, setup_s=rates.fixed_s, switchover_ms=rates.switchover_ms,
                                         hybrid_switchover_ms=rates.late_switchover_ms, auto_converge=auto_converge,
                                         method_rates=rates.method_rates,
                                         throttle_initial=throttle_initial or cost_model.THROTTLE_INITIAL)
    precopy = predictions['precopy']
    if precopy.converges:
        predictions['precopy'] = precopy._replace(downtime_ms=precopy.downtime_ms * rates.overshoot)
    return predictions


def _choose(predictions, max_downtime_ms, allowed_methods, tolerance, postcopy_recoverable):
    try:
        return policy.choose(predictions, max_downtime_ms, allowed_methods, tolerance, postcopy_recoverable)
    except policy.NoSafeMethod as err:
        return None, str(err)


def dirty_rate_interval(samples):
    """(low, high) MiB/s: the mean dirty rate of one-second samples, plus and minus two standard errors
    (about 95 %); None for fewer than two samples."""
    samples = [float(s) for s in samples or []]
    if len(samples) < 2:
        return None
    mean = sum(samples) / len(samples)
    variance = sum((s - mean) ** 2 for s in samples) / (len(samples) - 1)
    error = 2.0 * math.sqrt(variance / len(samples))
    return max(0.0, mean - error), mean + error
