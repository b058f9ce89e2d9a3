# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that imports libvirt and lxml: import guards and connections."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError

try:
    import libvirt
except ImportError:
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()
else:
    LIBVIRT_IMPORT_ERROR = None

try:
    from lxml import etree
except ImportError:
    etree = None
    LXML_IMPORT_ERROR = traceback.format_exc()
else:
    LXML_IMPORT_ERROR = None


# The option every libvirt module of the collection shares (doc fragment: workload_aware.live_migration.libvirt).
URI_ARGUMENT_SPEC = dict(uri=dict(type='str', default='qemu:///system'))


def require_libraries(module):
    """Fail the module, with the import error, if libvirt-python or lxml is missing."""
    if libvirt is None:
        module.fail_json(msg=missing_required_lib('libvirt-python'), exception=LIBVIRT_IMPORT_ERROR)
    if etree is None:
        module.fail_json(msg=missing_required_lib('lxml'), exception=LXML_IMPORT_ERROR)


class LibvirtUnavailable(WaError):
    """libvirt cannot be reached at the given URI."""


def _quiet(_ctx, _err):
    """libvirt prints every error to stderr by default; we raise them instead."""


def open_connection(uri, read_only=False):
    """Open a libvirt connection, turning failure into a message an operator can act on."""
    libvirt.registerErrorHandler(_quiet, None)
    try:
        return libvirt.openReadOnly(uri) if read_only else libvirt.open(uri)
    except libvirt.libvirtError as err:
        raise LibvirtUnavailable('cannot connect to libvirt at %s: %s' % (uri, err.get_error_message()))


def alive(conn):
    """Whether a connection still reaches its daemon (False once the daemon died or restarted)."""
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False


def reconnect(uri, wait_s, interval_s=1.0, clock=time.monotonic, sleep=time.sleep):
    """A new connection to `uri`, retried for up to `wait_s` seconds (a restarted libvirtd takes seconds to
    listen again); raises LibvirtUnavailable when it does not answer in that time."""
    deadline = clock() + wait_s
    while True:
        try:
            return open_connection(uri)
        except LibvirtUnavailable:
            if clock() + interval_s > deadline:
                raise
            sleep(interval_s)
