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
    description:
      - The workload cells, each a C(workload) (its name in the results) at a C(memory_mib).
      - A cell may list its own C(methods) (a subset of O(methods)) and C(bandwidths_mibps) (a subset of
        O(bandwidths_mibps)), and set C(postcopy_allowed=false) (as for a destination that cannot take post-copy;
        its runs carry it, and it cannot list C(postcopy) or C(hybrid)).
    type: list
    elements: dict
    required: true
  methods:
    description: Methods and baselines to run (see M(workload_aware.live_migration.wa_benchmark_run)).
    type: list
    elements: str
    required: true
  repetitions:
    description: Runs of each method per cell and bandwidth, from 1 to 100.
    type: int
    default: 3
  bandwidths_mibps:
    description: Bandwidth limits, MiB/s, each 0 (uncapped - no limit, no shaping) or from 1 to 100000.
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
    C(memory_mib), C(bandwidth_mibps), C(method) and C(repetition); C(postcopy_allowed=false) for a cell without
    post-copy.
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

from ansible_collections.workload_aware.live_migration.plugins.module_utils import boundary
from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import evaluation


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
    boundary.run(module, lambda: evaluation.pending_runs(module.params), needs_libvirt=False)


if __name__ == '__main__':
    main()
