# -*- coding: utf-8 -*-
"""postcopy_preempt is refused before anything moves where a host's libvirt is older than 10.0."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import preflight


def test_preempt_needs_libvirt_10_on_both_hosts():
    preflight.check_preempt(11003000, 10000000, True)
    preflight.check_preempt(9000000, 8000000, False)  # not asked: any version
    with pytest.raises(preflight.PreflightError, match='the source has 9.10.0'):
        preflight.check_preempt(9010000, 11003000, True)
    with pytest.raises(preflight.PreflightError, match='the destination has 9.0.0'):
        preflight.check_preempt(11003000, 9000000, True)
