# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration settings, defined once: the argument spec that wa_migrate,
wa_evacuate and wa_benchmark_run share (doc fragment
workload_aware.live_migration.migration), the range of every number, checked
before anything is touched, and the one constructor of a migration's options
from module parameters.  Pure Python, no libvirt."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import migration, migration_monitor, recovery
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput

# Shared by wa_migrate, wa_evacuate and wa_benchmark_run; documented in plugins/doc_fragments/migration.py.
MIGRATION_ARGUMENT_SPEC = dict(
    bandwidth_mibps=dict(type='int', default=0),
    max_downtime_ms=dict(type='int', default=300),
    time_budget_s=dict(type='int', default=900),
    precopy_budget_s=dict(type='int', default=0),
    postcopy_allowed=dict(type='bool', default=True),
    auto_converge=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
    compression=dict(type='bool', default=False),
    parallel_connections=dict(type='int', default=0),
    transport=dict(type='str', default='plain', choices=['plain', 'tls']),
    progress_file=dict(type='path'),
    stop_file=dict(type='path'),
    link_timeout_s=dict(type='int', default=migration_monitor.DEFAULT_LINK_TIMEOUT_S),
    recovery_budget_s=dict(type='int', default=recovery.DEFAULT_BUDGET_S),
)

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
}

# Each: (shorter option, longer option) - the first may not exceed the second.
NOT_LONGER_THAN = (('profile_window_s', 'time_budget_s'), ('precopy_budget_s', 'time_budget_s'))


def defaults():
    """The shared settings' default values (a params dict as a module would have it)."""
    return dict((option, spec.get('default')) for option, spec in MIGRATION_ARGUMENT_SPEC.items())


def range_text(option):
    low, high, unit, zero = BOUNDS[option]
    text = 'from %s to %s %s' % (low, high, unit)
    return '0 (%s) or %s' % (zero, text) if zero else text


def bound_problems(params):
    """Messages for the options of `params` outside their range (pure; [] when all are in range)."""
    problems = []
    for option in sorted(BOUNDS):
        value = params.get(option)
        if value is None or isinstance(value, bool):
            continue
        low, high, _unit, zero = BOUNDS[option]
        if (zero and value == 0) or low <= value <= high:
            continue
        problems.append('%s must be %s, got %s' % (option, range_text(option), value))
    for shorter, longer in NOT_LONGER_THAN:
        if params.get(shorter) and params.get(longer) and params[shorter] > params[longer]:
            problems.append('%s (%s s) must not be longer than %s (%s s)'
                            % (shorter, params[shorter], longer, params[longer]))
    return problems


def check_bounds(params):
    """Raise BadInput naming every option outside its range."""
    problems = bound_problems(params)
    if problems:
        raise BadInput('; '.join(problems))


def option_kwargs(params):
    """migration.build_options' keyword arguments from module parameters (the shared spec)."""
    return dict(
        bandwidth_mibps=params['bandwidth_mibps'], max_downtime_ms=params['max_downtime_ms'],
        time_budget_s=params['time_budget_s'], precopy_budget_s=params['precopy_budget_s'],
        auto_converge=params['auto_converge'], compression=params['compression'],
        parallel_connections=params['parallel_connections'], tls=params['transport'] == 'tls',
        progress_file=params['progress_file'], stop_file=params['stop_file'],
        link_timeout_s=params['link_timeout_s'], recovery_budget_s=params['recovery_budget_s'])


def migration_options(params, method, dest_uri, postcopy_possible, predictions=None, **overrides):
    """The one constructor of a migration's runner.MigrationOptions from module parameters."""
    kwargs = option_kwargs(params)
    kwargs.update(migration.budget_basis(predictions))
    kwargs.update(overrides)
    return migration.build_options(method, dest_uri, postcopy_possible, **kwargs)
