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
    would (checks before, the method's switch, the pre-copy watch, verification after).
  - A VM that cannot be moved is reported in RV(left_behind) with the reason and where it is; the
    others go on. A VM already running on its destination is reported in RV(skipped).
  - While it runs, one JSON line a second per migration goes to O(progress_file). When O(stop_file)
    appears, no new migration starts and migrations in pre-copy are aborted (their VMs keep running
    on the source); migrations in post-copy finish.
author:
  - workload_aware developers (@workload-aware)
extends_documentation_fragment:
  - workload_aware.live_migration.libvirt
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
  bandwidth_mibps:
    description: Bandwidth limit per migration in MiB/s, both phases; 0 for none.
    type: int
    default: 0
  max_downtime_ms:
    description: Largest acceptable pause of a VM.
    type: int
    default: 300
  time_budget_s:
    description: Seconds after which a migration still in pre-copy is aborted.
    type: int
    default: 900
  postcopy_allowed:
    description: Whether post-copy may be used, as a method or as the fallback of a stalled pre-copy.
    type: bool
    default: true
  concurrency:
    description: Migrations at once.
    type: int
    default: 1
  progress_file:
    description: Append a JSON line a second per running migration here.
    type: path
  stop_file:
    description: When this file exists, stop cleanly.
    type: path
notes:
  - Supports check mode - it reports the moves it would make and makes none.
  - The O(destinations) values are dicts with C(uri) (how the failing host reaches the destination),
    C(control_uri) (how this module does), C(postcopy_capable) and optionally C(postcopy_recoverable) (whether a
    failed post-copy to it can be resumed, see O(workload_aware.live_migration.wa_migrate#module:postcopy_recoverable);
    unset, judged from libvirt's versions).
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
  description: VMs now running on their destination, in the order they became safe.
  returned: always
  type: list
  elements: dict
  sample:
    - {vm: wa-cpu, destination: hv3, method: precopy, total_time_s: 1.1, downtime_ms: 30, bytes_transferred: 90000000,
       safe_at_s: 2.5, state: running on hv3}
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
total_s:
  description: Seconds from the first migration's start to the last one's end.
  returned: always
  type: float
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _events, _libvirt, evacuation


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _libvirt.URI_ARGUMENT_SPEC,
            moves=dict(type='list', elements='dict', required=True),
            destinations=dict(type='dict', required=True),
            bandwidth_mibps=dict(type='int', default=0),
            max_downtime_ms=dict(type='int', default=300),
            time_budget_s=dict(type='int', default=900),
            postcopy_allowed=dict(type='bool', default=True),
            concurrency=dict(type='int', default=1),
            progress_file=dict(type='path'),
            stop_file=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    _libvirt.require_libraries(module)
    params = module.params
    if params['concurrency'] < 1 or params['bandwidth_mibps'] < 0 or params['max_downtime_ms'] <= 0:
        module.fail_json(msg='concurrency must be at least 1, bandwidth_mibps not negative, max_downtime_ms positive')
    for move in params['moves']:
        missing = [key for key in ('vm', 'destination', 'method') if key not in move]
        if missing or move['destination'] not in params['destinations']:
            module.fail_json(msg='bad move %r: needs vm, destination and method, and a known destination' % (move,))
    targets = {}
    for name, target in params['destinations'].items():
        if 'uri' not in target:
            module.fail_json(msg='destination %s: needs a uri' % name)
        targets[name] = {'uri': target['uri'], 'control_uri': target.get('control_uri') or target['uri'],
                         'postcopy_capable': module.boolean(target.get('postcopy_capable', False)),
                         'postcopy_recoverable': (None if target.get('postcopy_recoverable') is None
                                                  else module.boolean(target['postcopy_recoverable']))}
    if module.check_mode or not params['moves']:
        module.exit_json(changed=bool(params['moves']), moved=[], skipped=[], left_behind=[], total_s=0.0,
                         would_move=params['moves'])
    _events.ensure_event_loop()
    settings = dict(bandwidth_mibps=params['bandwidth_mibps'], max_downtime_ms=params['max_downtime_ms'],
                    time_budget_s=params['time_budget_s'], postcopy_allowed=params['postcopy_allowed'],
                    progress_file=params['progress_file'])
    result = evacuation.Evacuation(params['uri'], params['moves'], targets, settings, params['concurrency'],
                                   params['stop_file']).run()
    module.exit_json(changed=bool(result['moved']), **result)


if __name__ == '__main__':
    main()
