# -*- coding: utf-8 -*-
"""Integration tests run against a real test bed: this provisions it once per
session with ansible-playbook and tears it down afterwards (keep it with
WA_KEEP_TESTBED=1)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from testbed_helpers import CALIBRATION_STORE, HOSTS, leftovers, run_playbook


@pytest.fixture(scope='session')
def testbed():
    # Every session learns from nothing.
    for path in (CALIBRATION_STORE, CALIBRATION_STORE + '.lock'):
        if os.path.exists(path):
            os.remove(path)
    run_playbook('provision_testbed.yml')
    yield HOSTS
    if os.environ.get('WA_KEEP_TESTBED') != '1':
        run_playbook('teardown_testbed.yml')
        remaining = leftovers()
        assert not remaining, 'teardown left these behind: %s' % remaining
