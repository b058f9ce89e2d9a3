# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs wa_benchmark_evacuate with the controller's calibration store (plugin_utils/calibrated_action.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.plugin_utils.calibrated_action import CalibratedAction


class ActionModule(CalibratedAction):
    MODULE = 'workload_aware.live_migration.wa_benchmark_evacuate'
