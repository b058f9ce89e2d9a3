# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error boundary of every module: run its one call, and turn the
collection's errors and libvirt's into a clean failure (no traceback)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _libvirt
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError

# Keys a module's result may not take from an error's details.
_RESERVED = ('msg', 'failed', 'exception')


def run(module, work, needs_libvirt=True):
    """exit_json(**work()), or fail_json with the error's message and details (among them `vm_location`)."""
    if needs_libvirt:
        _libvirt.require_libraries(module)
    caught = (WaError,) if _libvirt.libvirt is None else (WaError, _libvirt.libvirt.libvirtError)
    try:
        result = work()
    except caught as err:
        if isinstance(err, WaError):
            details = dict((k, v) for k, v in err.details.items() if k not in _RESERVED)
            module.fail_json(msg=str(err), **details)
        module.fail_json(msg='libvirt: %s' % (err.get_error_message() or err))
    module.exit_json(**result)
