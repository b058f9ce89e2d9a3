#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: wa_migrate
short_description: Live-migrate one VM by pre-copy, post-copy or hybrid, chosen from its workload
version_added: 0.1.0
description:
  - Moves one running VM to another libvirt host, live and peer-to-peer.
  - With O(method=auto) it first profiles the VM (see M(workload_aware.live_migration.wa_vm_facts)) and
    takes the method the cost model predicts fastest within the downtime limit, preferring a less
    exposed one within O(tolerance); or it runs the method given.
  - Post-copy switches as soon as the migration runs; hybrid switches exactly when the first full
    pre-copy pass is done (libvirt's migration-iteration event for pass 2), not on a timer. The
    bandwidth limit applies to both phases.
  - While pre-copy runs, the module watches its progress through libvirt's event loop and job
    statistics. When it is not converging (no new low in remaining memory for 3 passes) or its
    pre-copy budget is spent, it switches to post-copy if that is possible, and otherwise aborts,
    leaving the VM running on the source. Once post-copy runs it never aborts.
  - Refuses, before touching anything, an unknown VM, an unreachable destination, a destination
    that is the source, one without enough free memory, post-copy where the destination cannot do
    it or it is not allowed, and a VM with a migration already in progress.
  - Survives its own interruption - a re-run aborts a pre-copy job left by a run that is gone (the VM keeps
    running on the source) and migrates again, waits for a post-copy left running, and resumes a post-copy that
    failed. A second run while the first is alive fails with a clear error.
  - Idempotent - a VM already running on the destination and absent from the source is reported
    unchanged.
author:
  - workload_aware developers (@workload-aware)
extends_documentation_fragment:
  - workload_aware.live_migration.libvirt
options:
  name:
    description: The VM (libvirt domain name).
    type: str
    required: true
  dest_uri:
    description: libvirt URI of the destination as the source host reaches it (the migration is peer-to-peer).
    type: str
    required: true
  dest_control_uri:
    description:
      - libvirt URI of the destination as this module reaches it, for the checks before and after.
      - Defaults to O(dest_uri); differs where management and migration networks differ (as on the test bed).
    type: str
  method:
    description: C(auto) profiles the VM and lets the cost model choose; or the method to use.
    type: str
    choices: [auto, precopy, postcopy, hybrid]
    default: auto
  bandwidth_mibps:
    description: Bandwidth limit in MiB/s for both the pre-copy and the post-copy phase; 0 for none.
    type: int
    default: 0
  link_mibps:
    description: Link speed in MiB/s, for the cost model when O(bandwidth_mibps) is 0.
    type: int
    default: 1192
  max_downtime_ms:
    description: Largest acceptable pause of the VM in milliseconds (QEMU's downtime limit).
    type: int
    default: 300
  time_budget_s:
    description: Seconds after which a migration still in pre-copy is aborted (the VM stays on the source).
    type: int
    default: 900
  precopy_budget_s:
    description:
      - Seconds the pre-copy phase may take before it counts as not converging; 0 derives it from the
        prediction (twice the predicted pre-copy time, at least 10 s).
    type: int
    default: 0
  postcopy_allowed:
    description: Whether post-copy may be used, as the method or as the fallback of a stalled pre-copy.
    type: bool
    default: true
  destination_postcopy_capable:
    description: Whether the destination can do post-copy (userfaultfd; the P(workload_aware.live_migration.postcopy_host#role) role records it).
    type: bool
    default: true
  auto_converge:
    description:
      - QEMU auto-converge (throttles a guest that dirties memory faster than it can be sent).
      - C(auto) enables it when post-copy is not possible, so pre-copy is helped before it is aborted.
    type: str
    choices: [auto, always, never]
    default: auto
  compression:
    description: Compress the migration stream (costs CPU on both hosts).
    type: bool
    default: false
  parallel_connections:
    description: Migrate over this many parallel connections; 0 for one. Pre-copy only.
    type: int
    default: 0
  transport:
    description: C(tls) encrypts the migration stream (both hosts need QEMU TLS certificates); C(plain) does not.
    type: str
    choices: [plain, tls]
    default: plain
  profile_window_s:
    description: Seconds to profile the VM; 0 skips profiling for a fixed method (C(auto) needs at least 1).
    type: int
    default: 2
  tolerance:
    description: For C(auto), a less exposed method predicted within this fraction of the fastest is preferred.
    type: float
    default: 0.05
  progress_file:
    description:
      - Append a JSON line about every second - VM, phase, pass, memory remaining, estimated seconds left - so an
        operator can C(tail -f) it.
    type: path
  stop_file:
    description:
      - While pre-copy runs, if this file exists the migration is aborted and the VM keeps running on the source.
        A migration already in post-copy always finishes.
    type: path
  link_timeout_s:
    description:
      - Seconds without a byte sent before the migration link counts as down. Pre-copy is then aborted (never
        switched to post-copy, which over a dead link would pause the VM on both hosts); post-copy is paused so
        that it can be resumed.
    type: int
    default: 10
  postcopy_recoverable:
    description:
      - Whether a post-copy between these hosts whose link fails can be resumed (libvirt's post-copy recovery).
      - Unset, it is judged from both hosts' libvirt versions - 8.5 or later, but not 11.2 - 11.3, whose destination
        daemon crashes on every resume. The P(workload_aware.live_migration.libvirt_host#role) role records it per
        host as C(ansible_local.wa_libvirt.postcopy_resume) (true for an 11.3 it built the upstream fix into).
      - Where it cannot, a failed post-copy is the VM's loss, so C(auto) prefers a less exposed method predicted
        within 50 % of the fastest, and a failed post-copy is not resumed but reported with the operator's steps.
    type: bool
  recovery_budget_s:
    description:
      - After a post-copy fails on its link, how long to keep trying to resume it (libvirt's post-copy recovery)
        before failing with the VM's exact state and the steps an operator must take.
    type: int
    default: 120
  lock_dir:
    description:
      - Directory of the per-VM lock files that keep two runs on this host from migrating the same VM. A lock
        whose holder died is free, so a re-run can finish what an interrupted run left.
    type: path
    default: /run/lock/wa-live-migration
notes:
  - Supports check mode - it profiles and plans, and moves nothing.
  - Long migrations can run with C(async) and C(poll), see the examples.
'''

EXAMPLES = r'''
- name: Move web1 to hv2 by whatever the cost model finds fastest
  workload_aware.live_migration.wa_migrate:
    name: web1
    uri: qemu+tls://hv1.example.com/system
    dest_uri: qemu+tls://hv2.example.com/system
    bandwidth_mibps: 1000
    max_downtime_ms: 500
  register: moved

- name: Say what happened
  ansible.builtin.debug:
    msg: "{{ moved.method_used }} in {{ moved.total_time_s }} s, downtime {{ moved.downtime_ms }} ms: {{ moved.reason }}"

- name: A large VM, by pre-copy only, in the background
  workload_aware.live_migration.wa_migrate:
    name: db1
    dest_uri: qemu+tls://hv3.example.com/system
    method: precopy
    postcopy_allowed: false
    time_budget_s: 3600
  async: 4000
  poll: 0
  register: db1_job

- name: Wait for it
  ansible.builtin.async_status:
    jid: "{{ db1_job.ansible_job_id }}"
  register: db1_result
  until: db1_result.finished
  retries: 400
  delay: 10
'''

RETURN = r'''
method_chosen:
  description: The method decided on before the migration started.
  returned: always
  type: str
  sample: postcopy
reason:
  description: Why that method.
  returned: always
  type: str
  sample: "postcopy: predicted 3.9 s, downtime 5 ms, 3.5 s in post-copy; also possible: precopy 11.1 s, hybrid 6.3 s"
method_used:
  description: What actually ran; C(precopy+postcopy) when a stalled pre-copy was switched.
  returned: when a migration ran
  type: str
  sample: postcopy
switch:
  description: When the switch to post-copy happened (seconds, pass, why), or null.
  returned: when a migration ran
  type: dict
total_time_s:
  description: Migration time from the completed-job statistics.
  returned: when a migration ran
  type: float
  sample: 1.97
wall_time_s:
  description: Time from the call to the end, as seen by the module.
  returned: when a migration ran
  type: float
downtime_ms:
  description: Time the VM was paused.
  returned: when a migration ran
  type: int
  sample: 6
bytes_transferred:
  description: Bytes sent over the migration stream.
  returned: when a migration ran
  type: int
precopy_rounds:
  description: Pre-copy passes over memory.
  returned: when a migration ran
  type: int
postcopy_requests:
  description: Pages the destination asked for in post-copy (page faults).
  returned: when a migration ran
  type: int
events:
  description: Passes, lifecycle events, the switch and any abort, with seconds since the start.
  returned: when a migration ran
  type: list
  elements: dict
profile:
  description: The VM's profile (see M(workload_aware.live_migration.wa_vm_facts)), when it was profiled.
  returned: when profiled
  type: dict
predictions:
  description: The cost model's predictions per method, when profiled.
  returned: when profiled
  type: dict
destination_state:
  description: The VM's state on the destination afterwards.
  returned: always
  type: str
  sample: running
vm_location:
  description: Where the VM is (C(source), C(destination), C(both)) and in which state on each.
  returned: always
  type: dict
postcopy_failed:
  description: Whether the post-copy phase failed on its link (the VM was split between the hosts).
  returned: when it happened
  type: bool
recovered:
  description: Whether the failed post-copy was resumed and the VM finished on the destination.
  returned: when post-copy failed
  type: bool
recovery_attempts:
  description: The error of each failed attempt to resume the post-copy.
  returned: when post-copy failed and resuming was tried
  type: list
  elements: str
postcopy_recoverable:
  description: Whether a failed post-copy between these hosts could be resumed, as the plan took it.
  returned: always, unless the VM was already on the destination or the run failed before planning
  type: bool
recovery_blocker:
  description: Why a failed post-copy could not be resumed here (a libvirt without working recovery), or null.
  returned: with the plan, and when post-copy failed and was not resumed
  type: str
operator_steps:
  description: What the operator must do, in order, for a VM left split by a failed post-copy.
  returned: when post-copy failed and was not resumed
  type: list
  elements: str
stats_polling:
  description:
    - Whether the balloon's statistics polling, turned off while the VM could be in post-copy (a poll that faults
      on a page not yet copied blocks QEMU's monitor and with it libvirt's post-copy recovery), is back on where
      the VM runs; null when there was nothing to do.
  returned: when a migration ran
  type: str
  sample: balloon statistics back on (every 10 s)
earlier_run:
  description: What an interrupted earlier run had left and what this run did about it.
  returned: when there was something
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _events, _libvirt, lease, migration, migration_monitor, preflight, profiler, recovery, runner)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.migration import locate


def plan(module, source, dom, postcopy_possible, postcopy_recoverable):
    """(method, reason, profile, predictions) before the migration."""
    params = module.params
    try:
        return migration.plan_method(source, dom, params['method'], params['profile_window_s'],
                                     params['bandwidth_mibps'] or params['link_mibps'], params['max_downtime_ms'],
                                     postcopy_possible, params['tolerance'], postcopy_recoverable)
    except migration.NoMethod as err:
        module.fail_json(msg=str(err), **err.details)


def options_for(params, method, assessed, postcopy_possible):
    return migration.build_options(
        method, params['dest_uri'], postcopy_possible, bandwidth_mibps=params['bandwidth_mibps'],
        max_downtime_ms=params['max_downtime_ms'], time_budget_s=params['time_budget_s'],
        precopy_budget_s=params['precopy_budget_s'],
        auto_converge=params['auto_converge'], compression=params['compression'],
        parallel_connections=params['parallel_connections'], tls=params['transport'] == 'tls',
        progress_file=params['progress_file'], stop_file=params['stop_file'],
        link_timeout_s=params['link_timeout_s'], recovery_budget_s=params['recovery_budget_s'],
        postcopy_recoverable=params['postcopy_recoverable'], **migration.budget_basis(assessed['predictions'] if assessed else None))


def validate(module):
    params = module.params
    for key in ('bandwidth_mibps', 'precopy_budget_s', 'parallel_connections', 'profile_window_s',
                'recovery_budget_s'):
        if params[key] < 0:
            module.fail_json(msg='%s must not be negative, got %s' % (key, params[key]))
    for key in ('max_downtime_ms', 'time_budget_s', 'link_mibps', 'link_timeout_s'):
        if params[key] <= 0:
            module.fail_json(msg='%s must be positive, got %s' % (key, params[key]))
    if params['tolerance'] < 0:
        module.fail_json(msg='tolerance must not be negative, got %s' % params['tolerance'])
    if params['method'] == 'auto' and params['profile_window_s'] < 1:
        module.fail_json(msg='method auto needs profile_window_s of at least 1')
    if params['method'] in ('postcopy', 'hybrid') and not params['postcopy_allowed']:
        module.fail_json(msg='method %s uses post-copy, but postcopy_allowed is false' % params['method'])
    if params['parallel_connections'] and params['method'] != 'precopy':
        module.fail_json(msg='parallel_connections works with pre-copy only (QEMU has no parallel post-copy)')
    control = params['dest_control_uri'] or params['dest_uri']
    if control == params['uri'] or params['dest_uri'] == params['uri']:
        module.fail_json(msg='the destination URI is the source URI (%s)' % params['uri'])


def connect(module):
    params = module.params
    # Before any connection: the connections must deliver events to this loop.
    _events.ensure_event_loop()
    try:
        source = _libvirt.open_connection(params['uri'])
    except _libvirt.LibvirtUnavailable as err:
        module.fail_json(msg='source: %s' % err)
    try:
        destination = _libvirt.open_connection(params['dest_control_uri'] or params['dest_uri'])
    except _libvirt.LibvirtUnavailable as err:
        module.fail_json(msg='destination unreachable: %s' % err)
    try:
        preflight.check_distinct_hosts(source, destination)
    except preflight.PreflightError as err:
        module.fail_json(msg=str(err))
    return source, destination


def finish_earlier_run(module, source, destination, where, postcopy_possible):
    """Finish what an earlier, interrupted run left: a running or a failed post-copy.

    Exits the module when it did; returns when there is nothing of the kind.
    """
    params = module.params
    name = params['name']
    if where['source'] == 'paused (post-copy)':
        if module.check_mode:
            module.exit_json(changed=False, reason='%s is in post-copy; it would be waited for' % name,
                             vm_location=where, destination_state=where['destination'])
        where = migration.wait_for_postcopy(source, destination, name, params['time_budget_s'])
        if where['source'] is None and where['destination'] == 'running':
            module.exit_json(changed=True, reason='an earlier run\'s post-copy of %s finished' % name,
                             vm_location=where, destination_state='running')
    if recovery.is_split(where):
        if module.check_mode:
            module.exit_json(changed=True, reason='%s is split by a failed post-copy; it would be resumed' % name,
                             vm_location=where, destination_state=where['destination'])
        dom, _state = preflight.find(source, name)
        try:
            details = migration.resume_split(source, destination, dom,
                                             options_for(params, 'postcopy', None, postcopy_possible))
        except runner.MigrationFailed as err:
            module.fail_json(msg=str(err), **err.details)
        where = locate(source, destination, name)
        details.update(vm_location=where, destination_state=where['destination'],
                       reason='resumed the failed post-copy of %s' % name,
                       stats_polling=migration.restore_polling(source, destination, name, where))
        if where['destination'] != 'running':
            module.fail_json(msg='%s: resumed, but the VM is %s' % (name, migration.where_text(where)), **details)
        module.exit_json(changed=True, **details)


def run(module, source, destination):
    params = module.params
    name = params['name']
    where = locate(source, destination, name)
    if where['source'] is None:
        if where['destination'] == 'running':
            module.exit_json(changed=False, method_chosen=None, reason='%s already runs on the destination' % name,
                             destination_state='running', vm_location=where)
        module.fail_json(msg='no VM named %s on the source (%s)%s' % (
            name, params['uri'], '' if where['destination'] is None else
            '; it is %s on the destination' % where['destination']), vm_location=where)
    postcopy_possible = params['postcopy_allowed'] and params['destination_postcopy_capable']
    finish_earlier_run(module, source, destination, where, postcopy_possible)

    dom, _state = preflight.find(source, name)
    adopted = None
    if not module.check_mode:
        # The lease is ours, so a migration job of this VM belongs to a run that is gone.
        try:
            adopted = migration.settle_orphan(source, destination, dom)
        except runner.MigrationFailed as err:
            module.fail_json(msg=str(err), vm_location=locate(source, destination, name))
        where = locate(source, destination, name)
    if where['destination'] is not None:
        module.fail_json(msg='%s exists on both hosts (source: %s, destination: %s); not touching it'
                         % (name, where['source'], where['destination']), vm_location=where)
    try:
        preflight.check_can_migrate(source, destination, dom, params['method'] in ('postcopy', 'hybrid'),
                                    params['destination_postcopy_capable'])
        blocker = recovery.resume_blocker(source.getLibVersion(), destination.getLibVersion(),
                                          params['postcopy_recoverable'])
        method, reason, profile, assessed = plan(module, source, dom, postcopy_possible, blocker is None)
    except (preflight.PreflightError, profiler.ProfileError) as err:
        module.fail_json(msg='%s: %s' % (name, err), vm_location=where)

    decision = dict(method_chosen=method, reason=reason, vm_location=where, postcopy_recoverable=blocker is None,
                    recovery_blocker=blocker)
    if adopted:
        decision['earlier_run'] = adopted
    if profile is not None:
        decision['profile'] = profile
    if assessed is not None:
        decision['predictions'] = assessed['predictions']
    if module.check_mode:
        module.exit_json(changed=True, destination_state=None, **decision)

    try:
        result = migration.migrate_vm(source, destination, dom, options_for(params, method, assessed, postcopy_possible))
    except runner.MigrationFailed as err:
        decision.pop('vm_location')
        err.details.update(decision)
        module.fail_json(msg=str(err), **err.details)
    decision.pop('vm_location')
    result.update(decision)
    module.exit_json(changed=True, **result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _libvirt.URI_ARGUMENT_SPEC,
            name=dict(type='str', required=True),
            dest_uri=dict(type='str', required=True),
            dest_control_uri=dict(type='str'),
            method=dict(type='str', default='auto', choices=['auto', 'precopy', 'postcopy', 'hybrid']),
            bandwidth_mibps=dict(type='int', default=0),
            link_mibps=dict(type='int', default=1192),
            max_downtime_ms=dict(type='int', default=300),
            time_budget_s=dict(type='int', default=900),
            precopy_budget_s=dict(type='int', default=0),
            postcopy_allowed=dict(type='bool', default=True),
            destination_postcopy_capable=dict(type='bool', default=True),
            auto_converge=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
            compression=dict(type='bool', default=False),
            parallel_connections=dict(type='int', default=0),
            transport=dict(type='str', default='plain', choices=['plain', 'tls']),
            profile_window_s=dict(type='int', default=2),
            tolerance=dict(type='float', default=0.05),
            progress_file=dict(type='path'),
            stop_file=dict(type='path'),
            link_timeout_s=dict(type='int', default=migration_monitor.DEFAULT_LINK_TIMEOUT_S),
            recovery_budget_s=dict(type='int', default=recovery.DEFAULT_BUDGET_S),
            postcopy_recoverable=dict(type='bool'),
            lock_dir=dict(type='path', default=lease.DEFAULT_LOCK_DIR),
        ),
        supports_check_mode=True,
    )
    _libvirt.require_libraries(module)
    validate(module)
    source, destination = connect(module)
    try:
        with lease.VmLease(module.params['name'], module.params['lock_dir']):
            run(module, source, destination)
    except lease.LeaseHeld as err:
        module.fail_json(msg=str(err), vm_location=locate(source, destination, module.params['name']))


if __name__ == '__main__':
    main()
