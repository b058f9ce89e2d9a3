# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that imports libvirt: the import guard and connections."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

try:
    import libvirt
except ImportError:
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()
else:
    LIBVIRT_IMPORT_ERROR = None


class LibvirtUnavailable(Exception):
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
