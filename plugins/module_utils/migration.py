# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One VM's move from start to verified end, shared by wa_migrate and wa_evacuate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import migration_monitor, preflight, runner


def locate(source, destination, name):
    """{'source': state, 'destination': state}, None where the VM is absent."""
    where = {}
    for side, conn in (('source', source), ('destination', destination)):
        dom, state = preflight.find(conn, name)
        where[side] = preflight.describe_state(*state) if dom is not None else None
    return where


def where_text(where):
    return ', '.join('%s on the %s' % (state, side) for side, state in sorted(where.items()) if state) or 'nowhere'


def build_options(method, dest_uri, postcopy_possible, bandwidth_mibps=0, max_downtime_ms=300, time_budget_s=900,
                  precopy_budget_s=0, predicted_precopy_s=None, first_pass_s=60.0, auto_converge='auto',
                  compression=False, parallel_connections=0, tls=False, progress_file=None, stop_file=None):
    """MigrationOptions with the collection's defaults and rules.

    The pre-copy budget, unless given, is twice the predicted pre-copy time (or
    twice a first pass when pre-copy is predicted not to converge).
    Auto-converge 'auto' is on when post-copy cannot be the fallback.
    """
    budget = precopy_budget_s or migration_monitor.precopy_budget(predicted_precopy_s, first_pass_s)
    return runner.MigrationOptions(
        method=method, dest_uri=dest_uri, bandwidth_mibps=bandwidth_mibps, max_downtime_ms=max_downtime_ms,
        precopy_budget_s=budget, time_budget_s=time_budget_s, postcopy_possible=postcopy_possible,
        auto_converge=auto_converge == 'always' or (auto_converge == 'auto' and not postcopy_possible),
        compression=compression, parallel_connections=parallel_connections, tls=tls, persistent=True,
        progress_file=progress_file, stop_file=stop_file)


def migrate_vm(source, destination, dom, options):
    """Run the migration and check the VM runs on the destination.

    Returns the runner's result with `vm_location` and `destination_state`;
    raises runner.MigrationFailed (details include where the VM is) otherwise.
    """
    name = dom.name()
    try:
        result = runner.MigrationRunner(source, dom, options).run()
    except runner.MigrationFailed as err:
        where = locate(source, destination, name)
        err.details.update(vm_location=where, destination_state=where['destination'])
        raise runner.MigrationFailed('%s; the VM is %s' % (err, where_text(where)), err.details)
    where = locate(source, destination, name)
    result.update(vm_location=where, destination_state=where['destination'])
    if where['destination'] != 'running':
        raise runner.MigrationFailed('%s: the migration returned, but the VM is %s' % (name, where_text(where)),
                                     result)
    return result
