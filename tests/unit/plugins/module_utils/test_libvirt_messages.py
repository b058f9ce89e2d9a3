# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils.libvirt_messages import explained

REFUSED = "authentication failed: Failed to verify peer's certificate"


def test_a_certificate_refusal_says_where_the_reason_is_and_what_checks_it():
    got = explained(REFUSED)
    assert got.startswith(REFUSED + ' (')
    assert "source libvirtd's log names the file and the reason" in got and 'tls_check' in got


def test_the_meaning_is_added_once_and_other_messages_are_left_as_libvirt_wrote_them():
    assert explained(explained(REFUSED)) == explained(REFUSED)
    assert explained('operation failed: job aborted') == 'operation failed: job aborted'
    assert explained(None) == ''
