# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure: the documented range of every duration, rate, ratio and count option
of the collection's modules, checked before anything is touched, with a
message that says the range."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput

# option: (lowest, highest, unit, what 0 means or None when 0 is outside the range).
# A value of 0 is allowed only where it has a meaning; otherwise lowest..highest.
BOUNDS = {
    'bandwidth_mibps': (1, 100000, 'MiB/s', 'no limit'),
    'link_mibps': (1, 100000, 'MiB/s', None),
    'max_downtime_ms': (1, 60000, 'ms', None),
    'time_budget_s': (1, 86400, 's', None),
    'precopy_budget_s': (1, 86400, 's', 'derived from the prediction'),
    'parallel_connections': (2, 64, 'connections', 'one connection'),
    'link_timeout_s': (1, 3600, 's', None),
    'recovery_budget_s': (1, 86400, 's', 'one attempt only'),
    'profile_window_s': (1, 60, 's', 'no profiling'),
    'window_s': (1, 60, 's', None),
    'tolerance': (0, 1, '(a fraction of the fastest predicted time)', None),
    'concurrency': (1, 16, 'migrations at once', None),
    'headroom_mib': (0, 1048576, 'MiB', None),
    'vcpu_ratio': (0.1, 64, 'vCPUs per host CPU', None),
    'repetitions': (1, 100, 'runs', None),
    'repetition': (1, 100, '', None),
}

# Each: (shorter option, longer option) - the first may not exceed the second.
NOT_LONGER_THAN = (('profile_window_s', 'time_budget_s'), ('precopy_budget_s', 'time_budget_s'))


def range_text(option, zero=True):
    low, high, unit, meaning = BOUNDS[option]
    zero = meaning if zero else None
    text = ('from %s to %s %s' % (low, high, unit)).strip()
    return '0 (%s) or %s' % (zero, text) if zero else text


def bound_problems(params, zero_refused=()):
    """Messages for the options of `params` outside their range (pure; [] when all are in range).

    `zero_refused`: options whose 0 has no meaning in this module (wa_vm_facts' bandwidth).
    """
    problems = []
    for option in sorted(BOUNDS):
        value = params.get(option)
        if value is None or isinstance(value, bool):
            continue
        low, high, _unit, zero = BOUNDS[option]
        if option in zero_refused:
            zero = None
        if (zero and value == 0) or low <= value <= high:
            continue
        problems.append('%s must be %s, got %s' % (option, range_text(option, zero), value))
    for shorter, longer in NOT_LONGER_THAN:
        if params.get(shorter) and params.get(longer) and params[shorter] > params[longer]:
            problems.append('%s (%s s) must not be longer than %s (%s s)'
                            % (shorter, params[shorter], longer, params[longer]))
    return problems


def check_bounds(params, zero_refused=()):
    """Raise BadInput naming every option outside its range."""
    problems = bound_problems(params, zero_refused)
    if problems:
        raise BadInput('; '.join(problems))
