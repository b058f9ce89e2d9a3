# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own errors: one base class, so that a module and the
evacuation worker catch it (and libvirt's own error) in one place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class WaError(Exception):
    """An error of this collection, with an operator's message and `details` for the module's result."""

    def __init__(self, message, details=None):
        super(WaError, self).__init__(message)
        self.details = details if details is not None else {}


class BadInput(WaError):
    """A parameter that cannot be right; refused before anything is touched."""
