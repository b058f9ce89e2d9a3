#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: wa_evacuation_plan
short_description: Plan the evacuation of a failing host - destination, method and order per VM
version_added: 0.1.0
description:
  - Takes the VM profiles of a failing host (the C(wa_vm_profiles) fact of
    M(workload_aware.live_migration.wa_vm_facts)) and the capacity of the other hypervisors, and
    returns, per VM, a destination, the migration method and its place in line, with the predicted
    time at which the VM is safe.
  - Order is shortest predicted migration first (the least mean time until a VM is safe), or, with
    O(order=most-at-risk-first), the VMs that write the most for the rate they migrate at first;
    RV(orders) says what each order would cost. A destination must share the failing host's
    storage and have the VM's memory (plus headroom) and vCPUs free; among those the one with the most
    memory left is taken, which spreads the load. VMs whose method needs post-copy go to hosts that
    can do it, or else by pre-copy.
  - A VM that fits nowhere, or that has no safe method, is listed in RV(left_behind) with the reason.
  - Pure computation; it touches no host.
author:
  - workload_aware developers (@workload-aware)
options:
  profiles:
    description:
      - The C(wa_vm_profiles) fact of the failing host. A key that cannot be a libvirt domain name is refused.
    type: dict
    required: true
  destinations:
    description: The hosts that may take VMs (never the failing host).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Inventory name.
        type: str
        required: true
      free_memory_mib:
        description: Free memory.
        type: int
        required: true
      free_vcpus:
        description: vCPUs the host can still give.
        type: int
        required: true
      postcopy_capable:
        description: Whether the host can do post-copy.
        type: bool
        default: false
      storage:
        description: Identifier of the host's shared storage.
        type: str
        required: true
  storage:
    description: Identifier of the failing host's shared storage.
    type: str
    required: true
  concurrency:
    description:
      - Migrations run at once (they share the migration link), from 1 to 16.
      - Unset, it is chosen from what was measured (RV(concurrency_reason) says why) - one at a time unless every
        move's rate was learned from earlier migrations and one migration fills less than three quarters of
        O(link_mibps); then as many as the link holds at the fastest move's rate, at most 2 (KubeVirt's
        C(parallelOutboundMigrationsPerNode) default; more paused more VMs over the downtime limit on the test bed).
      - Never more at once than there are moves.
      - Where that lets more than one run and the profiles carry rates learned one at a time and at other numbers
        at once on a source as busy (C(rates_at_once) of M(workload_aware.live_migration.wa_vm_facts)), the
        evacuation is predicted at each of those numbers (up to as many as there are moves, where their streams at
        the rates learned so fit in O(link_mibps) together) and the one whose last VM is safe soonest is taken
        (then the least mean time until a VM is safe); where none above one wins and the number chosen above was
        never run, that number stands. More than 2 only where the pauses of the migrations learned at that number
        are known and went over the limit no more often than those one at a time. The moves are predicted from
        the rates learned at the number chosen.
    type: int
  link_mibps:
    description:
      - The capacity of the source's migration link in MiB/s, from 1 to 100000 (the C(link_mibps) given to
        M(workload_aware.live_migration.wa_vm_facts)); unset, the link is unknown and one migration runs at a time.
    type: float
  headroom_mib:
    description: Memory in MiB each destination keeps free beyond what its new VMs take, from 0 to 1048576.
    type: int
    default: 256
  vcpu_ratio:
    description: vCPU overcommit allowed on destinations (1.0 is none), from 0.1 to 64.
    type: float
    default: 1.0
  order:
    description:
      - C(shortest-first) makes the mean time until a VM is safe the least (the shortest-processing-time rule).
      - C(most-at-risk-first) moves first the VMs whose dirty rate is the largest part of the rate they migrate at
        (their pre-copy gets no easier while they wait, and they lose the most if the host dies first), as
        SO-Live weighs each VM's exposure.
    type: str
    choices: [shortest-first, most-at-risk-first]
    default: shortest-first
notes:
  - Supports check mode.
'''

EXAMPLES = r'''
- name: Plan where each VM of the failing host goes
  workload_aware.live_migration.wa_evacuation_plan:
    profiles: "{{ ansible_facts.wa_vm_profiles }}"
    destinations:
      - {name: hv2, free_memory_mib: 60000, free_vcpus: 40, postcopy_capable: true, storage: nfs-a}
      - {name: hv3, free_memory_mib: 12000, free_vcpus: 8, postcopy_capable: false, storage: nfs-a}
    storage: nfs-a
  register: plan
'''

RETURN = r'''
moves:
  description: >-
    The migrations to run, in order; C(rate_mibps), C(rate_source) and C(rate_streams) (how many migrations at
    once the rate was learned from, null where from lone ones or a default) say what each prediction assumes.
  returned: always
  type: list
  elements: dict
  sample:
    - {order: 1, vm: wa-idle, destination: hv2, method: precopy, predicted_s: 2.1, predicted_safe_at_s: 2.1, risk: 0.0,
       reason: "precopy: predicted 2.1 s, downtime 5 ms"}
left_behind:
  description: VMs that cannot be moved, with the reason.
  returned: always
  type: list
  elements: dict
  sample:
    - {vm: big-db, reason: "no host with the same storage has 65792 MiB and 16 vCPUs free"}
predicted_total_s:
  description: Predicted time until the last VM is safe.
  returned: always
  type: float
concurrency:
  description: >-
    Migrations to run at once - O(concurrency), or chosen from the measured rates and the link, and where rates
    were learned one at a time and at other numbers at once on a source as busy, from the plans at each compared.
  returned: always
  type: int
  sample: 1
concurrency_reason:
  description: Why that many.
  returned: always
  type: str
  sample: "one at a time: one migration fills the link (48 of 50 MiB/s)"
order:
  description: The order the moves are in (O(order)).
  returned: always
  type: str
  sample: shortest-first
orders:
  description:
    - What each order would cost with the same destinations and methods - the predicted time until the last VM is
      safe, the mean time until a VM is safe, and the risk-weighted wait (each VM's C(risk), its dirty rate over its
      rate, times the time until it is safe, summed).
  returned: always
  type: dict
  sample:
    shortest-first: {last_safe_s: 14.8, mean_safe_s: 7.9, risk_weighted_wait_s: 1.2}
    most-at-risk-first: {last_safe_s: 14.8, mean_safe_s: 9.1, risk_weighted_wait_s: 0.3}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import boundary
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import planner


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profiles=dict(type='dict', required=True),
            destinations=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                free_memory_mib=dict(type='int', required=True),
                free_vcpus=dict(type='int', required=True),
                postcopy_capable=dict(type='bool', default=False),
                storage=dict(type='str', required=True),
            )),
            storage=dict(type='str', required=True),
            concurrency=dict(type='int'),
            link_mibps=dict(type='float'),
            headroom_mib=dict(type='int', default=256),
            vcpu_ratio=dict(type='float', default=1.0),
            order=dict(type='str', default='shortest-first', choices=['shortest-first', 'most-at-risk-first']),
        ),
        supports_check_mode=True,
    )
    boundary.run(module, lambda: planner.evacuation_plan(module.params), needs_libvirt=False)


if __name__ == '__main__':
    main()
