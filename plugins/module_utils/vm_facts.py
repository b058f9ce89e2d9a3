# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wa_vm_facts' one call: check the request, profile the host's VMs, and assess each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _libvirt, host_load, learning, profiler
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    assessment, bounds, names, policy)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput


def gather(params):
    """The module's result: ansible_facts wa_vm_profiles and wa_vm_profiles_settings; raises WaError."""
    for name in params['names']:
        names.check_domain_name(name, 'names entry')
    bounds.check_bounds(params)
    allowed = policy.allowed_methods(params['postcopy_allowed'], params['destination_postcopy_capable'])
    conn = _libvirt.open_connection(params['uri'])
    try:
        # The host's load over the same window (host_load): the condition the rates are learned for.
        meter = host_load.Meter(conn)
        profiles = profiler.profile_host(conn, params['names'], params['window_s'])
        source_busy = meter.busy()
    finally:
        conn.close()

    results = {}
    for name, profile in profiles.items():
        entry = {'profile': profile}
        if profile.get('complete'):
            try:
                # No destination is chosen yet: what this source's migrations to any host taught.
                rates = learning.rates_for(params, params['uri'], None, profile.get('domain_type'), streams=1,
                                           source_busy=source_busy)
                entry.update(assessment.assess(
                    profile, rates, params['max_downtime_ms'], allowed, params['tolerance'], params['thresholds'],
                    auto_converge=assessment.auto_converge_on(params['auto_converge'], 'postcopy' in allowed)))
                entry['rates_at_once'] = learning.rates_at_once(params, params['uri'], None, profile.get('domain_type'),
                                                                source_busy)
            except ValueError as err:
                raise BadInput('cannot assess %s: %s' % (name, err))
        else:
            entry['recommended_method'] = None
            entry['reason'] = 'profile incomplete: ' + ('; '.join(profile['errors']) or 'unknown error')
        results[name] = entry
    facts_settings = {
        'bandwidth_mibps': params['bandwidth_mibps'],
        'link_mibps': params['link_mibps'],
        'transport': params['transport'],
        'max_downtime_ms': params['max_downtime_ms'],
        'source_busy': None if source_busy is None else round(source_busy, 3),
        'allowed_methods': allowed,
        'tolerance': params['tolerance'],
    }
    return dict(changed=False, ansible_facts={'wa_vm_profiles': results, 'wa_vm_profiles_settings': facts_settings})
