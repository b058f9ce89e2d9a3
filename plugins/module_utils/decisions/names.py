# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure: which strings can be libvirt domain names, and file names made from them.

A file the collection writes for a VM (its lock) is named from the escaped
domain name, so that no input can place it outside its directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput

# Longer names are refused: the escaped name plus '.lock' must fit a file name (255 bytes).
MAX_NAME_BYTES = 80
_PLAIN = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.')


def domain_name_problem(name):
    """Why `name` cannot be a libvirt domain name, or None."""
    if not isinstance(name, str) or not name:
        return 'it is empty'
    if '/' in name:
        return "it contains '/'"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return 'it contains a control character'
    if len(name.encode('utf-8')) > MAX_NAME_BYTES:
        return 'it is longer than %d bytes' % MAX_NAME_BYTES
    return None


def check_domain_name(name, option='name'):
    """Raise BadInput unless `name` can be a libvirt domain name."""
    problem = domain_name_problem(name)
    if problem:
        raise BadInput('%s %r cannot be a libvirt domain name: %s' % (option, name, problem))


def file_stem(name):
    """`name` as a file name: every byte outside [A-Za-z0-9_+-.] and a leading '.' as %XX.

    The result never contains '/', is never '.' or '..', and differs for different names.
    """
    out = []
    for index, char in enumerate(name):
        if char in _PLAIN and not (index == 0 and char == '.'):
            out.append(char)
        else:
            out.extend('%%%02X' % byte for byte in char.encode('utf-8'))
    return ''.join(out)
