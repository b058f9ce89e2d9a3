#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: wa_benchmark_plan
short_description: The benchmark runs still to make, given what the results file already holds
version_added: 0.2.0
description:
  - Expands the benchmark matrix - workload cells, bandwidth limits, repetitions, methods - into runs, numbered
    from 1, and leaves out those already recorded in O(results_file), so an interrupted benchmark resumes where
    it stopped.
  - Within a repetition the methods rotate, so that no method always runs first.
  - Reads only; never changes anything.
author:
  - workload_aware developers (@workload-aware)
options:
  cells:
    description: The workload cells, each a C(workload) (its name in the results) at a C(memory_mib).
    type: list
    elements: dict
    required: true
  methods:
    description: Methods and baselines to run (see M(workload_aware.live_migration.wa_benchmark_run)).
    type: list
    elements: str
    required: true
  repetitions:
    description: Runs of each method per cell and bandwidth.
    type: int
    default: 3
  bandwidths_mibps:
    description: Bandwidth limits, MiB/s.
    type: list
    elements: int
    required: true
  results_file:
    description: The benchmark's CSV (it need not exist yet).
    type: path
    required: true
notes:
  - Supports check mode; it changes nothing in any mode.
'''

EXAMPLES = r'''
- name: What is left to run
  workload_aware.live_migration.wa_benchmark_plan:
    cells:
      - {workload: write-above, memory_mib: 256}
      - {workload: write-above, memory_mib: 512}
    methods: [precopy, postcopy, hybrid, auto, libvirt-default]
    repetitions: 3
    bandwidths_mibps: [50]
    results_file: docs/evaluation/runs.csv
  register: plan
'''

RETURN = r'''
pending:
  description: The runs to make, in order, each with C(index) (its number in the whole matrix), C(workload),
    C(memory_mib), C(bandwidth_mibps), C(method) and C(repetition).
  returned: always
  type: list
  elements: dict
total:
  description: Runs in the whole matrix.
  returned: always
  type: int
  sample: 120
done:
  description: Runs of the matrix already recorded.
  returned: always
  type: int
  sample: 40
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.workload_aware.live_migration.plugins.module_utils import evaluation


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cells=dict(type='list', elements='dict', required=True),
            methods=dict(type='list', elements='str', required=True),
            repetitions=dict(type='int', default=3),
            bandwidths_mibps=dict(type='list', elements='int', required=True),
            results_file=dict(type='path', required=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    unknown = sorted(set(params['methods']) - set(evaluation.ALL_METHODS))
    if unknown:
        module.fail_json(msg='unknown methods: %s; known: %s' % (', '.join(unknown), ', '.join(evaluation.ALL_METHODS)))
    if params['repetitions'] < 1:
        module.fail_json(msg='repetitions must be at least 1, got %s' % params['repetitions'])
    if not params['bandwidths_mibps'] or min(params['bandwidths_mibps']) <= 0:
        module.fail_json(msg='bandwidths_mibps must be positive numbers')
    cells = params['cells']
    for cell in cells:
        if not cell.get('workload') or not isinstance(cell.get('memory_mib'), int) or cell['memory_mib'] <= 0:
            module.fail_json(msg='each cell needs a workload and a positive integer memory_mib, got %s' % (cell,))
    try:
        done = [evaluation.run_key(r) for r in evaluation.read_runs(params['results_file'])]
    except (IOError, OSError, KeyError, ValueError) as err:
        module.fail_json(msg='cannot read %s: %s' % (params['results_file'], err))
    everything = evaluation.plan_runs(cells, list(params['methods']), params['repetitions'],
                                      params['bandwidths_mibps'])
    done_keys = set(done)
    pending = []
    for index, run in enumerate(everything):
        if evaluation.run_key(run) not in done_keys:
            pending.append(dict(run, index=index + 1))
    module.exit_json(changed=False, pending=pending, total=len(everything), done=len(everything) - len(pending))


if __name__ == '__main__':
    main()
