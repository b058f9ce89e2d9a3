#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: wa_benchmark_run
short_description: One benchmark migration of a benchmark VM, recorded as a row of the benchmark's CSV
version_added: 0.2.0
description:
  - Migrates a benchmark VM (see the P(workload_aware.live_migration.benchmark_vms#role) role) once between two
    hosts, from whichever of them runs it to the other, by one of the collection's methods (C(precopy),
    C(postcopy), C(hybrid), C(auto)) or by a baseline driven with its product's shipped defaults
    (C(libvirt-default), C(kubevirt), C(ovirt-postcopy), C(nova-postcopy)).
  - Every method goes through the same migration code as M(workload_aware.live_migration.wa_migrate), under the
    same bandwidth cap for both phases; a baseline differs only in the policy that watches pre-copy and its flags.
  - Before and after the migration it reads the guest's own health reports from its console log, for the
    guest's work rate during the migration against before it, and to check that its memory stayed intact.
  - A migration still in pre-copy at O(time_budget_s) is aborted and recorded as cut off (the VM keeps
    running on its host).
  - Appends the run to O(results_file). A run already recorded there (same workload, memory, bandwidth, method
    and repetition) is not made again and is reported unchanged, so an interrupted benchmark resumes.
author:
  - workload_aware developers (@workload-aware)
extends_documentation_fragment:
  - workload_aware.live_migration.libvirt
  - workload_aware.live_migration.calibration
  - workload_aware.live_migration.migration
options:
  name:
    description: The benchmark VM (a libvirt domain name).
    type: str
    required: true
  migration_uri:
    description: libvirt URI of the host of O(uri) as the other host reaches it (peer-to-peer migration).
    type: str
    required: true
  peer_uri:
    description: libvirt URI of the other host, as this module reaches it.
    type: str
    required: true
  peer_migration_uri:
    description: libvirt URI of the other host as the host of O(uri) reaches it.
    type: str
    required: true
  method:
    description: The collection's method, or the baseline, to migrate by.
    type: str
    required: true
    choices: [precopy, postcopy, hybrid, auto, libvirt-default, kubevirt, ovirt-postcopy, nova-postcopy]
  workload:
    description: The workload's name in the results (for example C(write-above)).
    type: str
    required: true
  repetition:
    description: Which repetition of this method on this workload, from 1 to 100.
    type: int
    required: true
  profile_window_s:
    description: Seconds C(auto) profiles the VM before it chooses, from 1 to 60.
    type: float
    default: 2
  predictions:
    description:
      - The cost model's predictions for this VM (RV(workload_aware.live_migration.wa_vm_facts#module:ansible_facts.wa_vm_profiles)),
        recorded as the predicted time of a fixed method. C(auto) makes its own.
    type: dict
  transfer_mib:
    description: Memory that must cross the link, from the VM's profile (for the floor, transfer over bandwidth).
    type: float
  dirty_rate_mibps:
    description: The VM's measured dirty rate, recorded with the run.
    type: float
  console_log:
    description: The VM's serial console log, where its health reports are.
    type: path
    required: true
  results_file:
    description:
      - The benchmark's CSV; the run is appended to it.
      - Without it the run is made and returned but not recorded (a warm-up).
    type: path
  load_record:
    description:
      - For an application guest, the record of its load generator (C(scripts/app_load.py) C(--record)), running
        for the whole run; the run then waits O(load_settle_s) before and after the migration and records what
        the application's users felt (C(rps_before), C(rps_during), C(rps_after), C(p50_ms), C(p99_ms),
        C(max_latency_ms), C(longest_stall_ms), C(failed_requests), C(data_errors); docs/evaluation.md).
      - Without it those columns stay empty (a wagen guest).
    type: path
  load_settle_s:
    description: Seconds of load recorded before and after the migration with O(load_record), from 1 to 60.
    type: float
    default: 5
notes:
  - Supports check mode - it reports where the VM would go and moves nothing.
  - Every method of a cell runs under the same O(bandwidth_mibps) (0 - uncapped - included), so that methods are compared fairly.
  - Every migration goes through the per-VM workflow of M(workload_aware.live_migration.wa_migrate).
  - O(uri) is one of the two hosts, as this module reaches it; the VM may run on either.
  - Meant for the single-machine test bed, where the console log is on the machine the module runs on whichever
    host runs the VM.
'''

EXAMPLES = r'''
- name: Migrate wab-write by hybrid, once, and record it
  workload_aware.live_migration.wa_benchmark_run:
    name: wab-write
    uri: "{{ hostvars['hv1'].wa_libvirt_uri }}"
    migration_uri: "{{ hostvars['hv1'].wa_migration_uri }}"
    peer_uri: "{{ hostvars['hv2'].wa_libvirt_uri }}"
    peer_migration_uri: "{{ hostvars['hv2'].wa_migration_uri }}"
    method: hybrid
    workload: write-below
    repetition: 1
    bandwidth_mibps: 50
    console_log: /var/lib/wa-benchmark/console/wab-write.log
    results_file: docs/evaluation/runs.csv
  register: run
'''

RETURN = r'''
row:
  description: The run as recorded (the columns of the CSV; see docs/evaluation.md).
  returned: always
  type: dict
  sample: {workload: write-above, method: auto, chosen_method: postcopy, total_s: 5.2, success: true, healthy: true}
source:
  description: The host the VM left (its URI as this module reaches it).
  returned: always
  type: str
destination:
  description: The host the VM went to.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _libvirt, boundary, settings
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import evaluation, run as benchmark_run


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _libvirt.URI_ARGUMENT_SPEC,
            name=dict(type='str', required=True),
            migration_uri=dict(type='str', required=True),
            peer_uri=dict(type='str', required=True),
            peer_migration_uri=dict(type='str', required=True),
            method=dict(type='str', required=True, choices=list(evaluation.ALL_METHODS)),
            workload=dict(type='str', required=True),
            repetition=dict(type='int', required=True),
            profile_window_s=dict(type='float', default=2),
            predictions=dict(type='dict'),
            transfer_mib=dict(type='float'),
            dirty_rate_mibps=dict(type='float'),
            console_log=dict(type='path', required=True),
            results_file=dict(type='path'),
            load_record=dict(type='path'),
            load_settle_s=dict(type='float', default=5),
            **dict(settings.MIGRATION_ARGUMENT_SPEC, **settings.CALIBRATION_ARGUMENT_SPEC)
        ),
        supports_check_mode=True,
    )
    boundary.run(module, lambda: benchmark_run.run(module.params, module.check_mode))


if __name__ == '__main__':
    main()
