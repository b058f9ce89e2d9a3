# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The calibration store's options (argument spec: module_utils/settings.py CALIBRATION_ARGUMENT_SPEC),
    # shared by wa_vm_facts, wa_migrate, wa_evacuate and wa_benchmark_run.
    DOCUMENTATION = r'''
options:
  calibration_store:
    description:
      - The calibration store on the controller, a JSON file of what earlier migrations measured (rate, fixed
        cost, switch-over pause) per source/destination pair and hypervisor type. The module's action plugin reads
        it before the module runs and records every migration the module finished in it afterwards (not in check
        mode).
      - Predictions start from it; a pair nothing was learned about starts from the documented default for the
        hypervisor type, bounded by the cap and the link, never from the link's nominal speed alone.
      - Safe against two writers at once and against a torn write; a file of an unknown format is never
        overwritten. Format and defaults are in docs/profiling_and_cost_model.md.
    type: path
    default: ~/.local/state/workload_aware/calibration.json
  calibration:
    description:
      - Set by the module's action plugin from O(calibration_store); a value given in a task is replaced.
      - Passed to the module as a dict whose C(pairs) maps C(SOURCE|DESTINATION|HYPERVISOR) to a list of samples.
    type: dict
'''
