#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: wa_benchmark_evacuate
short_description: One benchmark evacuation of a host of benchmark VMs, recorded as a row of the evacuations CSV
version_added: 0.3.0
description:
  - Empties the host that runs every VM of O(vms) (benchmark VMs of the P(workload_aware.live_migration.benchmark_vms#role)
    role) onto the other hosts of O(hosts), by one strategy - the collection's own evacuation (C(auto)), or the way
    an anchor evacuates, driven with its shipped defaults - and records when each VM was safe.
  - C(auto) profiles the VMs, plans as M(workload_aware.live_migration.wa_evacuation_plan) does and moves them as
    M(workload_aware.live_migration.wa_evacuate) does. C(proxmox-all) migrates every VM at once (Proxmox's
    C(migrateall)) by plain live pre-copy; C(kubevirt-drain) two at a time (KubeVirt's
    C(parallelOutboundMigrationsPerNode)) with KubeVirt's migration monitor; C(nova-serial) one at a time (Nova's
    C(max_concurrent_live_migrations)) with Nova's; none of them with post-copy (off by default in all three). The
    baselines take the VMs in name order. C(auto) runs as many at once as its plan chooses (RV(concurrency)).
  - Every VM goes through the per-VM workflow of M(workload_aware.live_migration.wa_migrate); a VM safe is one the
    destination's libvirt says runs there. Before and after, each guest's own health reports must say its memory
    stayed intact.
  - The floor is the VMs' memory to move (their profiles' C(transfer_mib)) over the rate the calibration store
    predicts for the pair; the shortest-first bound is the least mean time until a VM is safe at that rate.
  - An evacuation already recorded in O(results_file) (same strategy, bandwidth and repetition) is not made again.
author:
  - workload_aware developers (@workload-aware)
extends_documentation_fragment:
  - workload_aware.live_migration.calibration
  - workload_aware.live_migration.migration
options:
  hosts:
    description: The hosts, the one that runs the VMs among them; the others take them.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Inventory name.
        type: str
        required: true
      uri:
        description: libvirt URI of the host, as this module reaches it.
        type: str
        required: true
      migration_uri:
        description: libvirt URI of the host as the other hosts reach it (peer-to-peer migration).
        type: str
        required: true
  vms:
    description: The benchmark VMs, all running on one of O(hosts).
    type: list
    elements: str
    required: true
  console_dir:
    description: Where the VMs' serial console logs (C(NAME.log)) with their health reports are.
    type: path
    required: true
  strategy:
    description: How to evacuate.
    type: str
    required: true
    choices: [auto, proxmox-all, kubevirt-drain, nova-serial]
  repetition:
    description: Which repetition of this strategy at this bandwidth, from 1 to 100.
    type: int
    required: true
  profile_window_s:
    description: Seconds each VM is profiled before the evacuation, from 1 to 60.
    type: float
    default: 3
  link_mibps:
    description:
      - The capacity of the link between the hosts in MiB/s, from 1 to 100000 (the shaped bandwidth where the
        benchmark shapes it). C(auto) chooses how many migrations run at once from it and the learned rates, as
        M(workload_aware.live_migration.wa_evacuation_plan) does.
    type: float
    default: 1192.0
  results_file:
    description: The evacuations CSV; the row is appended to it. Without it nothing is recorded.
    type: path
notes:
  - Supports check mode - it profiles and plans, and moves nothing.
  - Meant for the single-machine test bed, where every VM's console log is on the machine the module runs on.
'''

EXAMPLES = r'''
- name: Evacuate the benchmark VMs by the collection's own evacuation, uncapped
  workload_aware.live_migration.wa_benchmark_evacuate:
    hosts:
      - {name: hv1, uri: "{{ hostvars['hv1'].wa_libvirt_uri }}", migration_uri: "{{ hostvars['hv1'].wa_migration_uri }}"}
      - {name: hv2, uri: "{{ hostvars['hv2'].wa_libvirt_uri }}", migration_uri: "{{ hostvars['hv2'].wa_migration_uri }}"}
    vms: [wae-idle, wae-cpu, wae-read, wae-write-below, wae-write-above, wae-net]
    console_dir: /var/lib/wa-benchmark/console
    strategy: auto
    repetition: 1
    bandwidth_mibps: 0
    results_file: docs/evaluation/evacuations.csv
'''

RETURN = r'''
row:
  description: The evacuation as recorded (the columns of the CSV; see docs/evaluation.md).
  returned: always
  type: dict
  sample: {strategy: auto, bandwidth_mibps: 0, vms: 6, last_safe_s: 11.2, floor_s: 2.1, mean_safe_s: 5.9,
           shortest_first_bound_s: 1.1, left_behind: 0, healthy: true}
source:
  description: The host the VMs left.
  returned: when an evacuation ran
  type: str
moved:
  description: As RV(workload_aware.live_migration.wa_evacuate#module:moved).
  returned: when an evacuation ran
  type: list
  elements: dict
left_behind:
  description: As RV(workload_aware.live_migration.wa_evacuate#module:left_behind).
  returned: when an evacuation ran
  type: list
  elements: dict
moves:
  description: In check mode, the moves the strategy would make.
  returned: in check mode
  type: list
  elements: dict
concurrency:
  description: How many migrations ran at once (C(auto) - chosen by its plan).
  returned: always
  type: int
calibration_samples:
  description: >-
    What this evacuation's migrations teach the calibration store (the action plugin records them): C(auto)'s
    only, since a baseline's migrations run another product's policy, and what they measure is not what the
    collection's own will do.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import boundary, settings
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import evacuate_run, evacuations


def main():
    module = AnsibleModule(
        argument_spec=dict(
            hosts=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                uri=dict(type='str', required=True),
                migration_uri=dict(type='str', required=True),
            )),
            vms=dict(type='list', elements='str', required=True),
            console_dir=dict(type='path', required=True),
            strategy=dict(type='str', required=True, choices=list(evacuations.STRATEGIES)),
            repetition=dict(type='int', required=True),
            profile_window_s=dict(type='float', default=3),
            link_mibps=dict(type='float', default=1192.0),
            results_file=dict(type='path'),
            **dict(settings.MIGRATION_ARGUMENT_SPEC, **settings.CALIBRATION_ARGUMENT_SPEC)
        ),
        supports_check_mode=True,
    )
    boundary.run(module, lambda: evacuate_run.run(module.params, module.check_mode))


if __name__ == '__main__':
    main()
