#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: wa_evacuate
short_description: Carry out an evacuation plan - migrate a failing host's VMs in order
version_added: 0.1.0
description:
  - Runs the moves of a plan from M(workload_aware.live_migration.wa_evacuation_plan) in their order,
    O(concurrency) at a time, in one process, each as M(workload_aware.live_migration.wa_migrate)
    would - the same per-VM workflow (checks before, adopting an earlier run's job, resuming a split VM,
    refusing a VM on both hosts, the method's switch, the pre-copy watch, verification after).
  - A VM that cannot be moved is reported in RV(left_behind) with the reason and where it is; the
    others go on. A VM already running on its destination is reported in RV(skipped).
  - A destination whose libvirt is lost mid-run is reported in RV(destination_failures); its moves go to the
    other destinations.
  - A move cut by a lost connection while its destination still answers (the source's libvirtd restarted) waits up
    to 60 s for the source to answer again and up to 30 s for libvirt to settle the VM (running whole on the source,
    no copy on the destination), then is made again, once; RV(source_failures) says so.
  - While it runs, one JSON line a second per migration goes to O(progress_file). When O(stop_file)
    appears, no new migration starts and migrations in pre-copy are aborted (their VMs keep running
    on the source); migrations in post-copy finish.
author:
  - workload_aware developers (@workload-aware)
extends_documentation_fragment:
  - workload_aware.live_migration.libvirt
  - workload_aware.live_migration.calibration
  - workload_aware.live_migration.migration
options:
  moves:
    description: The plan's moves (C(order), C(vm), C(destination), C(method), C(predicted_s)).
    type: list
    elements: dict
    required: true
  destinations:
    description: Per destination name, how to reach it.
    type: dict
    required: true
  concurrency:
    description:
      - Migrations at once, from 1 to 16. A migration holds its place until the destination says its guest runs
        there, not until libvirt's call returns; the source's QEMU exiting and libvirt's confirm then overlap the
        next migration.
    type: int
    default: 1
  order:
    description: The plan's order (RV(workload_aware.live_migration.wa_evacuation_plan#module:order)), kept when re-planning.
    type: str
    choices: [shortest-first, most-at-risk-first]
    default: shortest-first
  lock_dir:
    description: Directory of the per-VM lock files (see M(workload_aware.live_migration.wa_migrate)).
    type: path
    default: /run/lock/wa-live-migration
notes:
  - Supports check mode - every move is checked as in a real run (the VM, the destination, its URI, its free
    memory) and reported in RV(would_move) or RV(left_behind); nothing moves.
  - The O(destinations) values are dicts with C(uri) (how the failing host reaches the destination),
    C(control_uri) (how this module does), C(postcopy_capable) and optionally C(postcopy_recoverable) (whether a
    failed post-copy to it can be resumed, as the libvirt_host role records it; unset, the setting of that name).
'''

EXAMPLES = r'''
- name: Carry out the plan
  workload_aware.live_migration.wa_evacuate:
    uri: qemu+tls://hv1.example.com/system
    moves: "{{ plan.moves }}"
    destinations:
      hv2: {uri: qemu+tls://hv2.example.com/system, control_uri: qemu+tls://hv2.example.com/system, postcopy_capable: true}
    progress_file: /tmp/wa-evacuate-hv1.log
    stop_file: /tmp/wa-evacuate.stop
'''

RETURN = r'''
moved:
  description:
    - VMs now running on their destination, in the order they became safe.
    - C(started_at_s) is when its move started, C(safe_at_s) when the destination's libvirt said the guest runs there (lifecycle event resumed, migrated),
      seconds from the evacuation's start; C(finished_at_s) when its move ended (libvirt's call returned, and the VM
      was found running there). The next migration starts at C(safe_at_s).
    - C(until_safe_s) is C(safe_at_s) less C(started_at_s); C(predicted_until_safe_s) what the plan predicted for it
      when it started (its C(predicted_s), libvirt's whole job, less the part after the guest runs there), and
      C(prediction_error) (predicted - measured) / measured of those two.
  returned: always
  type: list
  elements: dict
  sample:
    - {vm: wa-cpu, destination: hv3, method: precopy, total_time_s: 2.9, transfer_time_s: 0.8, predicted_s: 3.1,
       rate_source: learned from 3 migrations of this pair at no cap, predicted_until_safe_s: 1.2, until_safe_s: 1.4,
       prediction_error: -0.14, downtime_ms: 30,
       downtime_limit_ms: 300, downtime_breach: false, bytes_transferred: 90000000, started_at_s: 0.0, safe_at_s: 1.4,
       finished_at_s: 2.9, state: running on hv3}
skipped:
  description: VMs already on their destination.
  returned: always
  type: list
  elements: dict
left_behind:
  description: VMs not moved, why, and where they are.
  returned: always
  type: list
  elements: dict
would_move:
  description: In check mode, the VMs that passed every check and would be moved.
  returned: always
  type: list
  elements: dict
total_s:
  description: Seconds from the first migration's start to the last one's end.
  returned: always
  type: float
last_safe_s:
  description: Seconds from the first migration's start until the last VM moved was safe (the largest C(safe_at_s) of RV(moved)); 0 with none.
  returned: always
  type: float
downtime_breaches:
  description: The VMs whose measured pause went over O(max_downtime_ms).
  returned: always
  type: list
  elements: str
replans:
  description:
    - After each finished migration, the moves not yet started re-predicted with the rates measured so far and put
      shortest first again - after which VM, when, the order before, and each move's new prediction and safe-at time.
  returned: always
  type: list
  elements: dict
destination_failures:
  description:
    - The destinations whose libvirt was lost during the run - when, why, and where their moves went instead.
    - A move not yet started, and a move in flight whose VM still runs whole on the source, go to the live destination
      with the fewest moves (one that can do post-copy where their method needs it, else by pre-copy); a VM left
      paused or split by the failure is reported in RV(left_behind) with where it is.
  returned: always
  type: list
  elements: dict
  sample:
    - {destination: hv3, at_s: 4.1, why: "cannot connect to libvirt at qemu+tcp://hv3/system: ...",
       re_planned: [{vm: wa-read, destination: hv2, method: precopy, why: "its destination hv3 failed; re-planned onto hv2"}]}
source_failures:
  description:
    - The moves cut by a lost connection while their destination still answered (the source's libvirtd restarted),
      when, why, and whether each was made again (once its VM ran whole on the source alone).
  returned: always
  type: list
  elements: dict
  sample:
    - {vm: wa-read, at_s: 2.3, why: "End of file while reading data: Input/output error", made_again: true}
calibration_samples:
  description: What this run's migrations teach the calibration store (the action plugin records them).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _libvirt, boundary, evacuation, lease, settings)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _libvirt.URI_ARGUMENT_SPEC,
            moves=dict(type='list', elements='dict', required=True),
            destinations=dict(type='dict', required=True),
            concurrency=dict(type='int', default=1),
            order=dict(type='str', default='shortest-first', choices=['shortest-first', 'most-at-risk-first']),
            lock_dir=dict(type='path', default=lease.DEFAULT_LOCK_DIR),
            **dict(settings.MIGRATION_ARGUMENT_SPEC, **settings.CALIBRATION_ARGUMENT_SPEC)
        ),
        supports_check_mode=True,
    )
    boundary.run(module, lambda: evacuation.evacuate(module.params, module.check_mode))


if __name__ == '__main__':
    main()
