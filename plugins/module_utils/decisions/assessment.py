# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From one VM's profile to its class, the three predictions and the choice.

Pure Python, no libvirt: glue between classifier, cost_model and policy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    classifier, cost_model, policy)

# Measured on the test bed: under TCG the CPU, not the link, caps a migration
# stream at about 300 MB/s (286 MiB/s).
TCG_CEILING_MIBPS = 286.0


def hypervisor_ceiling(domain_type):
    """What the hypervisor itself can push, where known (None: the link decides)."""
    return TCG_CEILING_MIBPS if domain_type == 'qemu' else None


def migration_inputs(profile, bandwidth_mibps, max_downtime_ms):
    """The cost model's inputs for a profile; unmeasured rates count as zero."""
    dirty = profile.get('dirty_rate_mibps') or 0.0
    return cost_model.MigrationInputs(
        transfer_mib=float(profile['transfer_mib']),
        dirty_rate_mibps=float(dirty),
        wws_mib=float(profile.get('wws_mib') or profile['transfer_mib']),
        # Reads cannot be counted without performance counters: the guest is
        # assumed to touch at least what it dirties.
        touch_rate_mibps=float(dirty),
        bandwidth_mibps=float(bandwidth_mibps),
        max_downtime_ms=float(max_downtime_ms),
    )


def assess(profile, link_mibps, max_downtime_ms, allowed_methods, tolerance=policy.DEFAULT_TOLERANCE,
           thresholds=None, postcopy_recoverable=True):
    """Class, predictions and recommendation for one complete profile (see policy.choose)."""
    bandwidth = cost_model.effective_bandwidth(link_mibps, hypervisor_ceiling(profile.get('domain_type')))
    inputs = migration_inputs(profile, bandwidth, max_downtime_ms)
    predictions = cost_model.predict_all(inputs)
    result = {
        'bandwidth_mibps': bandwidth,
        'classification': classifier.classify(profile, bandwidth, thresholds),
        'predictions': dict((method, cost_model.as_dict(p)) for method, p in predictions.items()),
    }
    try:
        method, reason = policy.choose(predictions, max_downtime_ms, allowed_methods, tolerance,
                                       postcopy_recoverable)
    except policy.NoSafeMethod as err:
        method, reason = None, str(err)
    result['recommended_method'] = method
    result['reason'] = reason
    return result
