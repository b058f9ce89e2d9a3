# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What libvirt's terser messages mean for the operator: a sentence added to a failed migration's error
where libvirt's own words do not name the cause (the cause is then in a daemon's log, not in the error)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# libvirt's words -> what they mean. Measured on the test bed (tests/integration/test_tls.py).
_MEANINGS = (
    ("Failed to verify peer's certificate",
     "the TLS connection the source's libvirtd opens to the destination's failed its certificate check: a "
     "certificate expired, signed by another CA, or not naming the address of the migration URI; the source "
     "libvirtd's log names the file and the reason, and the libvirt_host role's tls_check (evacuate.yml runs it "
     "before anything moves) checks both hosts' files"),
)


def explained(message):
    """libvirt's error `message`, with what it means where libvirt's words do not say."""
    message = message or ''
    for words, meaning in _MEANINGS:
        if words in message and meaning not in message:
            return '%s (%s)' % (message, meaning)
    return message
