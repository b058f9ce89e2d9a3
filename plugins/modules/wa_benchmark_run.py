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
options:
  name:
    description: The benchmark VM.
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
    description: Which repetition of this method on this workload.
    type: int
    required: true
  bandwidth_mibps:
    description: Bandwidth limit in MiB/s, for both the pre-copy and the post-copy phase.
    type: int
    required: true
  max_downtime_ms:
    description: Downtime limit of the collection's methods (a baseline sets its own).
    type: int
    default: 300
  time_budget_s:
    description: Seconds after which a migration still in pre-copy is aborted and recorded as cut off.
    type: int
    default: 120
  profile_window_s:
    description: Seconds C(auto) profiles the VM before it chooses.
    type: int
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
notes:
  - Supports check mode - it reports where the VM would go and moves nothing.
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

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import (
    _events, _libvirt, benchmark, evaluation, preflight)


def find_vm(module, hosts):
    """(source connection, source, destination connection, destination, domain) for where the VM runs now."""
    found = []
    for index, host in enumerate(hosts):
        dom, state = preflight.find(host['conn'], module.params['name'])
        if dom is not None:
            found.append((index, dom, state))
    running = [f for f in found if preflight.describe_state(*f[2]) == 'running']
    if len(found) != 1 or len(running) != 1:
        module.fail_json(msg='%s must run on exactly one of the two hosts; found: %s' % (
            module.params['name'], ', '.join('%s on %s' % (preflight.describe_state(*f[2]), hosts[f[0]]['uri'])
                                             for f in found) or 'nowhere'))
    index, dom, _state = running[0]
    return hosts[index], hosts[1 - index], dom


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
            bandwidth_mibps=dict(type='int', required=True),
            max_downtime_ms=dict(type='int', default=300),
            time_budget_s=dict(type='int', default=120),
            profile_window_s=dict(type='int', default=2),
            predictions=dict(type='dict'),
            transfer_mib=dict(type='float'),
            dirty_rate_mibps=dict(type='float'),
            console_log=dict(type='path', required=True),
            results_file=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for key in ('bandwidth_mibps', 'max_downtime_ms', 'time_budget_s', 'repetition'):
        if params[key] <= 0:
            module.fail_json(msg='%s must be positive, got %s' % (key, params[key]))
    if params['method'] == evaluation.AUTO and params['profile_window_s'] < 1:
        module.fail_json(msg='method auto needs profile_window_s of at least 1')
    _libvirt.require_libraries(module)

    _events.ensure_event_loop()
    hosts = []
    for uri, migration_uri in ((params['uri'], params['migration_uri']),
                               (params['peer_uri'], params['peer_migration_uri'])):
        try:
            hosts.append(dict(uri=uri, migration_uri=migration_uri, conn=_libvirt.open_connection(uri)))
        except _libvirt.LibvirtUnavailable as err:
            module.fail_json(msg=str(err))
    source, destination, dom = find_vm(module, hosts)
    memory_mib = dom.maxMemory() // 1024

    row = dict(workload=params['workload'], memory_mib=memory_mib, bandwidth_mibps=params['bandwidth_mibps'],
               method=params['method'], repetition=params['repetition'])
    done = {}
    if params['results_file']:
        done = dict((evaluation.run_key(r), r) for r in evaluation.read_runs(params['results_file']))
    if evaluation.run_key(row) in done:
        module.exit_json(changed=False, row=done[evaluation.run_key(row)], source=None, destination=None,
                         msg='already recorded in %s' % params['results_file'])
    if module.check_mode:
        module.exit_json(changed=True, row=row, source=source['uri'], destination=destination['uri'])

    request = dict(method=params['method'], dest_uri=destination['migration_uri'],
                   bandwidth_mibps=params['bandwidth_mibps'], max_downtime_ms=params['max_downtime_ms'],
                   time_budget_s=params['time_budget_s'], memory_mib=memory_mib,
                   console_log=params['console_log'], profile_window_s=params['profile_window_s'],
                   predictions=params['predictions'], transfer_mib=params['transfer_mib'])
    try:
        measured = benchmark.run_once(source['conn'], destination['conn'], dom, request)
    except benchmark.BenchmarkError as err:
        module.fail_json(msg='%s: %s' % (params['name'], err), row=row)
    row.update(measured)
    row.update(dirty_rate_mbps=params['dirty_rate_mibps'], vm=params['name'], source=source['uri'],
               destination=destination['uri'], finished_at=time.strftime('%Y-%m-%dT%H:%M:%S'))
    if params['results_file']:
        evaluation.append_run(params['results_file'], row)
    module.exit_json(changed=True, row=row, source=source['uri'], destination=destination['uri'])


if __name__ == '__main__':
    main()
