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
  - Post-copy switches as soon as the migration runs. Hybrid decides exactly when the first full
    pre-copy pass is done (libvirt's migration-iteration event for pass 2), not on a timer. It
    switches then unless the re-prediction from the live job statistics says pre-copy finishes
    within 5 % (or 1 s) of switching, in which case it keeps pre-copying. The bandwidth limit
    applies to both phases.
  - While pre-copy runs, the module watches its progress through libvirt's event loop and job
    statistics, and re-predicts it from the measured transfer and dirty rates. Where post-copy
    is possible it switches to post-copy as soon as pre-copy is predicted not to converge, or
    post-copy to finish sooner by more than 5 % and 1 s. As a backstop, when remaining memory
    makes no new low for 2 passes or the pre-copy budget is spent, it switches to post-copy if
    that is possible, and otherwise aborts, leaving the VM running on the source. Once post-copy
    runs it never aborts.
  - Refuses, before touching anything and in check mode as in a real run, a name that cannot be a VM's, a
    number outside its documented range, an unknown VM, a VM on both hosts, a O(dest_uri) that does not parse or
    whose host does not resolve, a destination that is the source (by host UUID, or by the address the source's
    libvirtd listens on), a destination unreachable from the source (where the module can ask - the source's
    libvirtd on this machine), one without enough free memory, post-copy where the destination cannot do it or
    it is not allowed, and a VM with a migration already in progress.
  - Every failure, a libvirt error included, ends cleanly with RV(vm_location).
  - Survives its own interruption - a re-run aborts a pre-copy job left by a run that is gone (the VM keeps
    running on the source) and migrates again, waits for a post-copy left running, and resumes a post-copy that
    failed. A second run while the first is alive fails with a clear error.
  - Idempotent - a VM already running on the destination and absent from the source is reported
    unchanged.
author:
  - workload_aware developers (@workload-aware)
extends_documentation_fragment:
  - workload_aware.live_migration.libvirt
  - workload_aware.live_migration.calibration
  - workload_aware.live_migration.migration
options:
  name:
    description:
      - The VM (libvirt domain name). A name that cannot be one (empty, with C(/) or a control character, longer
        than 80 bytes) is refused before anything is touched.
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
  link_mibps:
    description:
      - The link's speed in MiB/s, from 1 to 100000. Only a bound on the rate predictions use; the rate itself is
        learned (O(calibration_store)), or the hypervisor type's default.
    type: int
    default: 1192
  destination_postcopy_capable:
    description: Whether the destination can do post-copy (userfaultfd; the P(workload_aware.live_migration.postcopy_host#role) role records it).
    type: bool
    default: true
  profile_window_s:
    description:
      - Seconds to profile the VM, from 1 to 60 and not more than O(time_budget_s); 0 skips profiling for a fixed
        method (C(auto) needs at least 1).
    type: float
    default: 2
  tolerance:
    description:
      - For C(auto), a less exposed method predicted within this fraction of the fastest is preferred; from 0 to 1.
    type: float
    default: 0.05
  lock_dir:
    description:
      - Directory of the per-VM lock files that keep two runs on this host from migrating the same VM. A lock
        whose holder died is free, so a re-run can finish what an interrupted run left.
      - A lock file is named from the escaped VM name, so no name places it elsewhere, and is removed when the run
        ends.
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
  description: What actually ran; C(precopy+postcopy) when a pre-copy was switched, C(precopy) when hybrid
    finished without its switch.
  returned: when a migration ran
  type: str
  sample: postcopy
switch:
  description: When the switch to post-copy happened (seconds, pass, why), or null.
  returned: when a migration ran
  type: dict
  sample:
    t: 2.61
    pass: 2
    requested_at_pass: 2
    why: "re-predicted from live statistics: pre-copy does not converge (dirty 52 MiB/s vs 45 MiB/s sent),
      post-copy 2.1 s; switching to post-copy"
live_prediction:
  description:
    - The last re-prediction of the pre-copy phase from libvirt's live job statistics, what the runner believed
      when it last looked (null when it never had enough statistics, e.g. a short first pass).
    - C(precopy_s) is pre-copy from then on (null - does not converge), C(postcopy_s) switching to post-copy then,
      C(rate_mibps) the measured transfer rate, C(dirty_mibps) the guest's dirty rate.
  returned: when a migration ran
  type: dict
  sample:
    precopy_s: null
    precopy_passes: null
    postcopy_s: 2.13
    rate_mibps: 45.0
    dirty_mibps: 52.0
    remaining_mib: 96.0
    pass: 2
total_time_s:
  description: QEMU's part of the migration (its set-up and the transfer), from the completed-job statistics.
  returned: when a migration ran
  type: float
  sample: 0.97
wall_time_s:
  description:
    - libvirt's whole job, from the migrate call to its return (the destination's finish and the source's confirm
      included); what RV(predicted_total_s) predicts and the calibration store learns.
  returned: when a migration ran
  type: float
  sample: 2.9
downtime_ms:
  description: Time the VM was paused, as libvirt measured it.
  returned: when a migration ran
  type: int
  sample: 6
downtime_limit_ms:
  description: The operator's limit (O(max_downtime_ms)) the pause is judged against.
  returned: when a migration ran
  type: int
downtime_breach:
  description: Whether the measured pause went over RV(downtime_limit_ms); never silent.
  returned: when a migration ran
  type: bool
predicted_total_s:
  description: What the cost model predicted for the method chosen when the migration started (null without a profile).
  returned: when a migration ran
  type: float
predicted_downtime_ms:
  description: The pause the cost model predicted for that method.
  returned: when a migration ran
  type: float
prediction_error:
  description: (predicted - measured) / measured, measured being RV(wall_time_s).
  returned: when a migration ran
  type: float
inputs:
  description:
    - The cost model's inputs - C(rate_mibps), C(method_rates) (a method's own rate, where at least three of its
      migrations teach one; that method is predicted at it), C(fixed_s), C(switchover_ms), C(overshoot), the downtime limit and
      the target QEMU was given (C(downtime_target_ms), the limit over the overshoot) - and in C(sources) where
      each came from (learned from which migrations, or the hypervisor type's default).
  returned: when the VM was planned
  type: dict
calibration_samples:
  description: What this run's migration teaches the calibration store (the action plugin records it).
  returned: always
  type: list
  elements: dict
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
auto_converge_initial_pct:
  description:
    - The vCPU throttle auto-converge starts from, where it is on and the VM was profiled; the model predicts pre-copy
      from it. The throttle under which the guest, given the share of its vCPUs it wants, dirties at most half the link.
      QEMU's own start (20 %, then 10 % more every second pass) takes minutes to reach a guest that needs little CPU.
  returned: when auto-converge is on and the VM was profiled
  type: int
  sample: 98
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
  description:
    - Whether the post-copy phase failed on its link (the VM was split between the hosts, or left on the source
      alone where the destination's copy is gone, RV(recovery_blocker)).
  returned: when it happened
  type: bool
recovered:
  description: Whether the failed post-copy was resumed and the VM finished on the destination.
  returned: when post-copy failed
  type: bool
recovery_attempts:
  description: The error of each failed attempt to resume the post-copy; empty where none was made.
  returned: when post-copy failed
  type: list
  elements: str
destination_unaware:
  description:
    - Set when, as the resume began, the destination still ran its post-copy as if nothing had failed (the source's
      connection was reset, the destination's was not) - libvirt then refuses a resume until the destination's QEMU
      notices, at the guest's next page request; null otherwise.
  returned: when post-copy failed and resuming was tried
  type: str
resend:
  description:
    - What the resumed post-copy sent, from libvirt's job statistics of the failed job and of the resumed one (bytes;
      null where libvirt gave none) - C(remaining_at_failure_bytes), still to send when the link failed;
      C(sent_after_resume_bytes), sent after the resume; C(resent_bytes), sent again (in flight when the link failed).
  returned: when a failed post-copy was resumed
  type: dict
  sample: {remaining_at_failure_bytes: 62914560, sent_after_resume_bytes: 63963136, resent_bytes: 1048576}
postcopy_recoverable:
  description: Whether a failed post-copy between these hosts could be resumed, as the plan took it.
  returned: when the VM was planned for
  type: bool
recovery_blocker:
  description:
    - Why a failed post-copy could not be resumed here (a libvirt without working recovery, or the
      destination's copy discarded by libvirt in the switch-over, where RV(operator_steps) cold-boot it on the
      source), or null.
  returned: with the plan, and when post-copy failed and was not resumed
  type: str
stats_polling:
  description:
    - Whether the balloon's statistics polling, turned off while the VM could be in post-copy (a poll that faults
      on a page not yet copied blocks QEMU's monitor and with it libvirt's post-copy recovery), is back on where
      the VM runs; null when there was nothing to do.
  returned: when a migration ran
  type: str
  sample: balloon statistics back on (every 10 s)
operator_steps:
  description:
    - What the operator must do, in order, for a VM left split by a failed post-copy, or (the destination's copy
      gone) to boot it again on the source.
  returned: when post-copy failed and was not resumed
  type: list
  elements: str
outcome:
  description:
    - What became of the VM - C(moved), C(already there), C(would move) (check mode), C(finished earlier run) or
      C(would finish earlier run) (check mode).
  returned: success
  type: str
  sample: moved
earlier_run:
  description: What an interrupted earlier run had left and what this run did about it.
  returned: when there was something
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _libvirt, boundary, lease, settings, vm_move)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _libvirt.URI_ARGUMENT_SPEC,
            name=dict(type='str', required=True),
            dest_uri=dict(type='str', required=True),
            dest_control_uri=dict(type='str'),
            method=dict(type='str', default='auto', choices=['auto', 'precopy', 'postcopy', 'hybrid']),
            link_mibps=dict(type='int', default=1192),
            destination_postcopy_capable=dict(type='bool', default=True),
            profile_window_s=dict(type='float', default=2),
            tolerance=dict(type='float', default=0.05),
            lock_dir=dict(type='path', default=lease.DEFAULT_LOCK_DIR),
            **dict(settings.MIGRATION_ARGUMENT_SPEC, **settings.CALIBRATION_ARGUMENT_SPEC)
        ),
        supports_check_mode=True,
    )
    boundary.run(module, lambda: vm_move.migrate_one(module.params, module.check_mode))


if __name__ == '__main__':
    main()
