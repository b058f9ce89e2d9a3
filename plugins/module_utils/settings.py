# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration settings, defined once: the argument spec that wa_migrate,
wa_evacuate and wa_benchmark_run share (doc fragment
workload_aware.live_migration.migration), checked against bounds.BOUNDS before
anything is touched, and the one constructor of a migration's options from
module parameters."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import calibration_store, migration, recovery
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import bounds, migration_monitor

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
    transport=dict(type='str', default='tls', choices=['plain', 'tls']),
    progress_file=dict(type='path'),
    stop_file=dict(type='path'),
    link_timeout_s=dict(type='int', default=migration_monitor.DEFAULT_LINK_TIMEOUT_S),
    recovery_budget_s=dict(type='int', default=recovery.DEFAULT_BUDGET_S),
    postcopy_recoverable=dict(type='bool'),
)


# Shared by every module that predicts or migrates; documented in plugins/doc_fragments/calibration.py.
# The action plugins (plugins/action/) fill `calibration` from the store and record what the module learned.
CALIBRATION_ARGUMENT_SPEC = dict(
    calibration_store=dict(type='path', default=calibration_store.DEFAULT_PATH),
    calibration=dict(type='dict'),
)


def defaults():
    """The shared settings' default values (a params dict as a module would have it)."""
    return dict((option, spec.get('default')) for option, spec in MIGRATION_ARGUMENT_SPEC.items())


def check_bounds(params, zero_refused=()):
    """Raise BadInput naming every option outside its range (see bounds.BOUNDS)."""
    bounds.check_bounds(params, zero_refused)


def option_kwargs(params):
    """migration.build_options' keyword arguments from module parameters (the shared spec)."""
    return dict(
        bandwidth_mibps=params['bandwidth_mibps'], max_downtime_ms=params['max_downtime_ms'],
        time_budget_s=params['time_budget_s'], precopy_budget_s=params['precopy_budget_s'],
        auto_converge=params['auto_converge'], compression=params['compression'],
        parallel_connections=params['parallel_connections'], tls=params['transport'] == 'tls',
        progress_file=params['progress_file'], stop_file=params['stop_file'],
        link_timeout_s=params['link_timeout_s'], recovery_budget_s=params['recovery_budget_s'],
        postcopy_recoverable=params.get('postcopy_recoverable'))


def migration_options(params, method, dest_uri, postcopy_possible, predictions=None, **overrides):
    """The one constructor of a migration's runner.MigrationOptions from module parameters."""
    kwargs = option_kwargs(params)
    kwargs.update(migration.budget_basis(predictions))
    kwargs.update(overrides)
    return migration.build_options(method, dest_uri, postcopy_possible, **kwargs)
