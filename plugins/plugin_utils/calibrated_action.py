# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of every module that predicts or migrates: it keeps the
calibration store on the controller.  Before the module runs it passes the
store's samples in the module's `calibration` option; afterwards it records
the samples of the migrations the module finished (`calibration_samples` in
its result), unless in check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.workload_aware.live_migration.plugins.module_utils import calibration_store, learning


class CalibratedAction(ActionBase):
    """Subclasses name their MODULE (its fully qualified name)."""

    MODULE = None

    def run(self, tmp=None, task_vars=None):
        result = super(CalibratedAction, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        store = calibration_store.CalibrationStore(args.get('calibration_store') or calibration_store.DEFAULT_PATH)
        try:
            pairs, problem = store.entries()
        except calibration_store.StoreError as err:
            pairs, problem = {}, str(err)
        args['calibration'] = {'pairs': pairs}
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        warnings = result.setdefault('warnings', [])
        if problem:
            warnings.append('%s; predictions use the defaults' % problem)
        if result.get('failed') and not result.get('calibration_samples'):
            return result
        if not self._play_context.check_mode:
            for entry in result.get('calibration_samples') or []:
                key, sample = learning.entry_sample(entry)
                try:
                    store.record(key, sample)
                except (calibration_store.StoreError, OSError, IOError) as err:
                    warnings.append('not learned from this migration: %s' % err)
        return result
