#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: wa_vm_facts
short_description: Profile the VMs of a libvirt host and recommend how to migrate each
version_added: 0.1.0
description:
  - Measures every running VM of a libvirt host (or the named ones) live, all at once over the
    same window - memory size and use, vCPUs, page dirty rate, CPU utilisation, network and block
    I/O rates - and classifies its workload (idle, cpu-, memory- or network-intensive, or mixed;
    read- or write-intensive relative to the migration bandwidth).
  - Predicts, for pre-copy, post-copy and hybrid (one pre-copy pass, then post-copy), the total
    migration time, downtime, data sent, pre-copy rounds, whether pre-copy converges, and the
    post-copy exposure and slowdown; and recommends the fastest allowed method whose downtime is
    within the limit, preferring a less exposed one when it is predicted within O(tolerance).
  - The dirty rate is measured in page-sampling mode, the only one that is safe under TCG, and is
    never measured on a VM with a migration in progress.
  - A VM whose profile cannot be completed is reported with its errors; the others are unaffected.
author:
  - workload_aware developers (@workload-aware)
extends_documentation_fragment:
  - workload_aware.live_migration.libvirt
  - workload_aware.live_migration.calibration
options:
  names:
    description:
      - Profile only these VMs (each must be running); all running VMs when empty.
      - A name that cannot be a libvirt domain name is refused before anything is asked.
    type: list
    elements: str
    default: []
  window_s:
    description: Measuring window in seconds, from 1 to 60 (whole seconds count); the dirty rate is the mean of one-second samples.
    type: float
    default: 2.0
  bandwidth_mibps:
    description:
      - The bandwidth cap the migrations will run with, in MiB/s; 0 for none, or from 1 to 100000.
      - Predictions use the rate learned at this cap (see O(calibration_store)), or the uncapped rate learned,
        bounded by the cap.
    type: float
    default: 0
  link_mibps:
    description:
      - The link's speed in MiB/s, from 1 to 100000. Only a bound on the rate predictions use; the rate itself is
        learned, or the hypervisor type's default.
    type: float
    default: 1192.0
  transport:
    description:
      - The migration stream's transport the VMs will be moved with (as M(workload_aware.live_migration.wa_migrate)'s);
        rates are learned per transport, because encryption costs the hosts' CPU.
    type: str
    choices: [plain, tls]
    default: tls
  max_downtime_ms:
    description: Largest acceptable pause of the VM, in milliseconds, from 1 to 60000.
    type: int
    default: 300
  postcopy_allowed:
    description: Whether post-copy (and hybrid) may be recommended at all.
    type: bool
    default: true
  destination_postcopy_capable:
    description: Whether the destination can do post-copy (userfaultfd; see the P(workload_aware.live_migration.postcopy_host#role) role).
    type: bool
    default: true
  auto_converge:
    description:
      - Whether pre-copy is predicted with QEMU's auto-converge, as M(workload_aware.live_migration.wa_migrate) will run it.
      - C(auto) where post-copy is not possible, so a writer faster than the link is predicted to be moved by a
        throttled pre-copy rather than left behind.
    type: str
    choices: [auto, always, never]
    default: auto
  tolerance:
    description: A less exposed method predicted within this fraction of the fastest is preferred; from 0 to 1.
    type: float
    default: 0.05
  thresholds:
    description: Classifier thresholds to override (C(busy_cpu), C(network_mibps), C(dirty_mibps), C(write_bandwidth_ratio), C(memory_footprint_ratio)).
    type: dict
    default: {}
notes:
  - Supports check mode; the module changes nothing either way.
'''

EXAMPLES = r'''
- name: Profile every VM of a host and recommend a method for each
  workload_aware.live_migration.wa_vm_facts:
    uri: qemu+tls://hv1.example.com/system
    bandwidth_mibps: 1000
    max_downtime_ms: 500

- name: Profile two VMs for a migration to a host without post-copy support
  workload_aware.live_migration.wa_vm_facts:
    names: [db1, web1]
    destination_postcopy_capable: "{{ hostvars['hv2'].ansible_local.wa_postcopy.capable | default(false) }}"

- name: Show what was decided
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.recommended_method }} ({{ item.value.reason }})"
  loop: "{{ ansible_facts.wa_vm_profiles | dict2items }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts added.
  returned: always
  type: dict
  contains:
    wa_vm_profiles:
      description: Per VM name, its profile, class, predictions and recommendation.
      returned: always
      type: dict
      sample:
        wa-write:
          profile:
            complete: true
            domain_type: qemu
            memory_mib: 256.0
            memory_used_mib: 124.3
            transfer_mib: 174.1
            wws_mib: 124.3
            vcpus: 1
            dirty_rate_mibps: 41.5
            cpu_util: 0.61
            net_rx_mibps: 0.0
            net_tx_mibps: 0.0
            block_rd_mibps: 0.0
            block_wr_mibps: 0.0
            errors: []
          classification:
            workload: memory-intensive
            access: write-intensive
            labels: [cpu, memory]
          bandwidth_mibps: 50.0
          predictions:
            precopy: {converges: true, total_s: 9.1, downtime_ms: 212.0, sent_mib: 420.0, precopy_rounds: 8}
            hybrid: {converges: true, total_s: 6.9, downtime_ms: 5.0, exposure_s: 2.4}
            postcopy: {converges: true, total_s: 3.9, downtime_ms: 5.0, exposure_s: 3.5}
          recommended_method: postcopy
          reason: "postcopy: predicted 3.9 s, downtime 5 ms, 3.5 s in post-copy; also possible: precopy 9.1 s, hybrid 6.9 s"
          rates_at_once:
            "2": {rate_mibps: 96.5, fixed_s: 2.9, tail_s: 1.5,
                  source: "learned from 4 migrations of this source to other hosts at no cap (...; 2 at once, the source 97 % busy)",
                  method_rates: {}, pauses_over: [0, 4]}
    wa_vm_profiles_settings:
      description: >-
        The bandwidth, downtime limit and allowed methods the recommendations assume, and C(source_busy), the
        host's CPU time busy (0-1) over the profile window (null where libvirt cannot tell), the load its rates
        were learned for. Each VM's C(rates_at_once) gives, per number of migrations at once (1 to 16), the rate
        that migrations of this source learned running so, with the host as busy (within 0.2), where there were
        any, and C(pauses_over), how many of those migrations paused over O(max_downtime_ms) of how many with a
        known pause; the evacuation plan takes it for the number it chooses, and predicts the evacuation at each
        number there where 1 is there too.
        Its C(method_rates) gives a method's own rate and where it came from (C([rate, source])) where at least
        three of that method's migrations taught one; the plan takes that for a move by that method.
      returned: always
      type: dict
      sample: {bandwidth_mibps: 0, link_mibps: 1192.0, transport: tls, max_downtime_ms: 300, source_busy: 0.42,
               allowed_methods: [precopy, postcopy, hybrid], tolerance: 0.05}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _libvirt, boundary, settings, vm_facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _libvirt.URI_ARGUMENT_SPEC,
            names=dict(type='list', elements='str', default=[]),
            window_s=dict(type='float', default=2.0),
            bandwidth_mibps=dict(type='float', default=0),
            link_mibps=dict(type='float', default=1192.0),
            transport=dict(type='str', default='tls', choices=['plain', 'tls']),
            max_downtime_ms=dict(type='int', default=300),
            postcopy_allowed=dict(type='bool', default=True),
            destination_postcopy_capable=dict(type='bool', default=True),
            auto_converge=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
            tolerance=dict(type='float', default=0.05),
            thresholds=dict(type='dict', default={}),
            **settings.CALIBRATION_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    boundary.run(module, lambda: vm_facts.gather(module.params))


if __name__ == '__main__':
    main()
