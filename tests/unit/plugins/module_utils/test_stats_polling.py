# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import stats_polling


def domain(memballoon):
    return "<domain type='qemu'><name>vm</name><devices>%s</devices></domain>" % memballoon


def test_the_period_is_read_from_the_balloon_of_the_domain_xml():
    assert stats_polling.period_of(domain("<memballoon model='virtio'><stats period='10'/></memballoon>")) == 10
    assert stats_polling.period_of(domain("<memballoon model='virtio'/>")) == 0
    assert stats_polling.period_of(domain("")) == 0
    assert stats_polling.period_of(domain("<memballoon model='virtio'><stats period='x'/></memballoon>")) == 0


def test_polling_is_paused_whenever_the_migration_may_run_in_post_copy():
    assert stats_polling.needs_pause('postcopy', False)
    assert stats_polling.needs_pause('hybrid', False)
    # A pre-copy may be switched to post-copy when it stalls.
    assert stats_polling.needs_pause('precopy', True)
    assert not stats_polling.needs_pause('precopy', False)
