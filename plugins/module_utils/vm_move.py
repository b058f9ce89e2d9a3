# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-VM workflow, one copy of it, for wa_migrate, wa_evacuate and the
benchmark: check the request, take the VM's lease, locate it, finish what an
earlier interrupted run left (adopt its job, wait for or resume its
post-copy), refuse a VM on both hosts, preflight, plan the method, migrate,
and return the result.

It is also the error boundary of one VM: a libvirt error anywhere in it
becomes LibvirtFailed, and every error leaves with `vm_location`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _events, _libvirt, host_load, learning, lease, migration, migration_uri, preflight, recovery, settings)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import (
    assessment, names, rates as rates_mod)
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput, WaError

# What became of the VM (result['outcome']).
MOVED = 'moved'                          # it runs on the destination now, moved by this run
ALREADY_THERE = 'already there'          # it ran on the destination before; nothing done
WOULD_MOVE = 'would move'                # check mode: everything was checked; nothing moved
FINISHED_EARLIER_RUN = 'finished earlier run'   # an earlier run's post-copy finished or was resumed
WOULD_FINISH_EARLIER_RUN = 'would finish earlier run'   # check mode


class LibvirtFailed(WaError):
    """libvirt raised an error in the middle of the workflow; `details` says where the VM is."""


def check_request(params, method):
    """Refuse, before any connection, what cannot be right (BadInput). `params`: the shared settings
    plus name, dest_uri and the planning options present in the module."""
    names.check_domain_name(params['name'])
    settings.check_bounds(params)
    if method == 'auto' and params.get('profile_window_s', 0) < 1:
        raise BadInput('method auto needs profile_window_s of at least 1 (it must profile the VM to choose)')
    if method in ('postcopy', 'hybrid') and not params['postcopy_allowed']:
        raise BadInput('method %s uses post-copy, but postcopy_allowed is false' % method)
    if params['parallel_connections'] and method != 'precopy':
        raise BadInput('parallel_connections works with pre-copy only (QEMU has no parallel post-copy)')


class VmMove:
    """One VM to `dest_uri` (as the source host reaches it) by `method`.

    `params` holds the shared migration settings (settings.MIGRATION_ARGUMENT_SPEC),
    `profile_window_s`, `link_mibps` and `tolerance`; `option_overrides` go to
    settings.migration_options (e.g. the plan's predicted time); `precopy_policy`
    replaces the collection's pre-copy watch (the benchmark's baselines); `learned`:
    calibration samples of this run to add to the module's (learning.rates_for), or a function
    returning them when the rates are worked out (an evacuation's, which learns as each VM arrives).
    """

    def __init__(self, name, dest_uri, method, params, destination_postcopy_capable=True, check_mode=False,
                 lock_dir=lease.DEFAULT_LOCK_DIR, option_overrides=None, precopy_policy=None, learned=None,
                 on_arrival=None, streams=1, source_busy=None):
        self.name = name
        # The condition it runs under: migrations of the source at once, and the source's load (None: measured
        # here, host_load.Meter) - what its rates are learned for and what its sample records.
        self.streams = streams
        self.source_busy = source_busy
        # Called once when the destination says the guest runs there (migration.migrate_vm).
        self.on_arrival = on_arrival
        self.dest_uri = dest_uri
        self.method = method
        self.params = params
        self.destination_postcopy_capable = destination_postcopy_capable
        self.postcopy_possible = params['postcopy_allowed'] and destination_postcopy_capable
        self.check_mode = check_mode
        self.lock_dir = lock_dir
        self.option_overrides = option_overrides or {}
        self.precopy_policy = precopy_policy
        self.learned = learned
        self.source_uri = None
        self.dest_control_uri = None
        # What the destination is known to do (an override per destination, as evacuate.yml reads it from the
        # libvirt_host role's fact), else the setting; None: recovery.resume_blocker judges by version.
        self.postcopy_recoverable = self.option_overrides.get('postcopy_recoverable', params.get('postcopy_recoverable'))

    def options(self, method, predictions=None):
        return settings.migration_options(self.params, method, self.dest_uri, self.postcopy_possible, predictions,
                                          **self.option_overrides)

    def run(self, source, destination, source_uri, dest_control_uri=None):
        """The result (with `outcome`, `changed`, `vm_location`); raises WaError (with `vm_location`).

        `source_uri`: how this process reached the source (to find its daemon for migration_uri.check);
        `dest_control_uri`: how it reached the destination (to connect again to a restarted libvirtd).
        """
        names.check_domain_name(self.name)
        self.source_uri = source_uri
        self.dest_control_uri = dest_control_uri
        try:
            migration_uri.check(source_uri, self.dest_uri)
            preflight.check_distinct_hosts(source, destination)
            with lease.VmLease(self.name, self.lock_dir):
                return self._run(source, destination)
        except libvirt.libvirtError as err:
            raise LibvirtFailed('%s: libvirt: %s' % (self.name, err.get_error_message() or err),
                                dict(vm_location=migration.locate(source, destination, self.name)))
        except WaError as err:
            if err.details.get('vm_location') is None:
                err.details['vm_location'] = migration.locate(source, destination, self.name)
            raise

    def _result(self, outcome, changed, where, **fields):
        fields.update(outcome=outcome, changed=changed, vm_location=where,
                      destination_state=fields.get('destination_state', where['destination']))
        return fields

    def _run(self, source, destination):
        name = self.name
        meter = host_load.Meter(source) if self.source_busy is None else None
        where = migration.locate(source, destination, name)
        if where['source'] is None:
            if where['destination'] == 'running':
                return self._result(ALREADY_THERE, False, where, method_chosen=None,
                                    reason='%s already runs on the destination' % name)
            raise preflight.PreflightError('no VM named %s on the source (%s)%s' % (
                name, source.getURI(), '' if where['destination'] is None else
                '; it is %s on the destination' % where['destination']), dict(vm_location=where))
        earlier = self._finish_earlier_run(source, destination, where)
        if earlier is not None:
            return earlier

        dom, _state = preflight.find(source, name)
        adopted = None
        if not self.check_mode:
            # The lease is ours, so a migration job of this VM belongs to a run that is gone.
            adopted = migration.settle_orphan(source, destination, dom)
            where = migration.locate(source, destination, name)
        if where['destination'] is not None:
            raise preflight.PreflightError('%s exists on both hosts (source: %s, destination: %s); not touching it'
                                           % (name, where['source'], where['destination']), dict(vm_location=where))
        preflight.check_can_migrate(source, destination, dom, self.method in ('postcopy', 'hybrid'),
                                    self.destination_postcopy_capable)
        blocker = recovery.resume_blocker(source.getLibVersion(), destination.getLibVersion(),
                                          self.postcopy_recoverable)
        hypervisor = preflight.domain_type(dom)
        source_busy = meter.busy() if meter is not None else self.source_busy
        learned = self.learned() if callable(self.learned) else self.learned
        rates = learning.rates_for(self.params, self.source_uri, self.dest_uri, hypervisor, learned,
                                   self.streams, source_busy)
        try:
            method, reason, profile, assessed = migration.plan_method(
                source, dom, self.method, self.params.get('profile_window_s', 0), rates,
                self.params['max_downtime_ms'], self.postcopy_possible, self.params.get('tolerance', 0.05),
                postcopy_recoverable=blocker is None,
                auto_converge=assessment.auto_converge_on(self.params.get('auto_converge', 'auto'),
                                                          self.postcopy_possible))
        except migration.NoMethod as err:
            err.details['vm_location'] = where
            raise

        target_ms = rates_mod.downtime_target_ms(self.params['max_downtime_ms'], rates)
        decision = dict(method_chosen=method, reason=reason, postcopy_recoverable=blocker is None,
                        recovery_blocker=blocker, inputs=dict(rates_mod.as_dict(rates), downtime_target_ms=target_ms,
                                                              downtime_limit_ms=self.params['max_downtime_ms']))
        if adopted:
            decision['earlier_run'] = adopted
        if profile is not None:
            decision['profile'] = profile
        if assessed is not None:
            decision['predictions'] = assessed['predictions']
            if assessed.get('auto_converge_initial_pct'):
                decision['auto_converge_initial_pct'] = assessed['auto_converge_initial_pct']
        if self.check_mode:
            return self._result(WOULD_MOVE, True, where, destination_state=None, **decision)
        options = self.options(method, assessed['predictions'] if assessed else None)
        if 'downtime_target_ms' not in self.option_overrides:
            options = options._replace(max_downtime_ms=target_ms)
        if options.auto_converge and decision.get('auto_converge_initial_pct'):
            # The throttle the model predicted from, where QEMU's default start would take many passes.
            options = options._replace(auto_converge_initial=decision['auto_converge_initial_pct'])
        try:
            result = migration.migrate_vm(source, destination, dom, options, precopy_policy=self.precopy_policy,
                                          on_arrival=self.on_arrival, dest_control_uri=self.dest_control_uri)
        except WaError as err:
            for key, value in decision.items():
                err.details.setdefault(key, value)
            raise
        result.update(decision)
        result.update(judge(result, assessed['predictions'] if assessed else None, self.params['max_downtime_ms']))
        # A pre-copy watched by another policy (the benchmark's baselines) gave QEMU that policy's limits,
        # not this target: its pause teaches the rate, not the overshoot.
        result['calibration_sample'] = learning.sample_entry(
            self.source_uri, self.dest_uri, hypervisor, result, self.params['bandwidth_mibps'],
            options.max_downtime_ms if self.precopy_policy is None else None, self.streams, source_busy,
            learning.transport_of(self.params))
        return self._result(MOVED, True, result.pop('vm_location'), **result)

    def _finish_earlier_run(self, source, destination, where):
        """The result when an earlier, interrupted run left a post-copy (running or failed); else None."""
        name = self.name
        if where['source'] == 'paused (post-copy)':
            if self.check_mode:
                return self._result(WOULD_FINISH_EARLIER_RUN, False, where,
                                    reason='%s is in post-copy; it would be waited for' % name)
            where = migration.wait_for_postcopy(source, destination, name, self.params['time_budget_s'])
            if where['source'] is None and where['destination'] == 'running':
                return self._result(FINISHED_EARLIER_RUN, True, where,
                                    reason='an earlier run\'s post-copy of %s finished' % name)
        if not recovery.is_split(where):
            return None
        if self.check_mode:
            return self._result(WOULD_FINISH_EARLIER_RUN, True, where,
                                reason='%s is split by a failed post-copy; it would be resumed' % name)
        dom, _state = preflight.find(source, name)
        details = migration.resume_split(source, destination, dom, self.options('postcopy'))
        where = migration.locate(source, destination, name)
        if where['destination'] != 'running':
            details['vm_location'] = where
            raise WaError('%s: resumed, but the VM is %s' % (name, migration.where_text(where)), details)
        details.pop('vm_location', None)
        details['stats_polling'] = migration.restore_polling(source, destination, name, where)
        return self._result(FINISHED_EARLIER_RUN, True, where, reason='resumed the failed post-copy of %s' % name,
                            **details)


def judge(result, predictions, limit_ms):
    """What the migration measured against what was promised: the downtime limit, and the prediction of the
    method chosen (None where there was none) against the time libvirt's job took (`wall_time_s`: from the
    migrate call to its return, the destination's finish and the source's confirm included)."""
    downtime = result.get('downtime_ms')
    # The prediction made when the migration started: the chosen method's.
    predicted = (predictions or {}).get(result.get('method_chosen')) or {}
    measured = result.get('wall_time_s') or result.get('total_time_s')
    judged = {
        'downtime_limit_ms': limit_ms,
        'downtime_breach': downtime is not None and downtime > limit_ms,
        'predicted_total_s': predicted.get('total_s'),
        'predicted_downtime_ms': predicted.get('downtime_ms'),
        'prediction_error': relative_error(predicted.get('total_s'), measured),
    }
    return judged


def relative_error(predicted, measured):
    """(predicted - measured) / measured, rounded; None when either is unknown."""
    if not predicted or not measured:
        return None
    return round((predicted - measured) / measured, 3)


def migrate_one(params, check_mode):
    """wa_migrate: the whole run from its module parameters; returns the result or raises WaError."""
    check_request(params, params['method'])
    control_uri = params['dest_control_uri'] or params['dest_uri']
    if params['uri'] in (control_uri, params['dest_uri']):
        raise BadInput('the destination URI is the source URI (%s)' % params['uri'])
    migration_uri.parse(params['dest_uri'])
    migration_uri.check_transport(params['dest_uri'], params['transport'])
    # Before any connection: the connections must deliver events to this loop.
    _events.ensure_event_loop()
    try:
        source = _libvirt.open_connection(params['uri'])
    except _libvirt.LibvirtUnavailable as err:
        raise _libvirt.LibvirtUnavailable('source: %s' % err)
    try:
        destination = _libvirt.open_connection(control_uri)
    except _libvirt.LibvirtUnavailable as err:
        source.close()
        raise _libvirt.LibvirtUnavailable('destination unreachable: %s' % err)
    try:
        move = VmMove(params['name'], params['dest_uri'], params['method'], params,
                      destination_postcopy_capable=params['destination_postcopy_capable'], check_mode=check_mode,
                      lock_dir=params['lock_dir'])
        result = move.run(source, destination, params['uri'], control_uri)
        sample = result.pop('calibration_sample', None)
        result['calibration_samples'] = [sample] if sample else []
        return result
    finally:
        source.close()
        destination.close()
