# -*- coding: utf-8 -*-
"""The flags and parameters a migration is started with (libvirt constants only; no connection)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt

from ansible_collections.workload_aware.live_migration.plugins.module_utils import runner


def options(**overrides):
    values = dict(method='precopy', dest_uri='qemu+tcp://127.0.2.1/system', bandwidth_mibps=50, max_downtime_ms=300, downtime_limit_ms=300,
                  precopy_budget_s=30, time_budget_s=900, postcopy_possible=False, auto_converge=False,
                  compression=False, parallel_connections=0, tls=False, persistent=True,
                  progress_file=None, stop_file=None, link_timeout_s=10, recovery_budget_s=120,
                  postcopy_recoverable=None)
    values.update(overrides)
    return runner.MigrationOptions(**values)


def test_plain_precopy():
    flags, params = runner.migration_flags(options())
    assert flags & libvirt.VIR_MIGRATE_LIVE and flags & libvirt.VIR_MIGRATE_PEER2PEER
    assert flags & libvirt.VIR_MIGRATE_PERSIST_DEST and flags & libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    assert not flags & libvirt.VIR_MIGRATE_POSTCOPY
    assert params == {libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 50}


def test_postcopy_caps_both_phases():
    flags, params = runner.migration_flags(options(method='postcopy', postcopy_possible=True))
    assert flags & libvirt.VIR_MIGRATE_POSTCOPY
    assert params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] == 50
    assert params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY] == 50


def test_precopy_keeps_postcopy_ready_as_its_fallback():
    flags, _params = runner.migration_flags(options(postcopy_possible=True))
    assert flags & libvirt.VIR_MIGRATE_POSTCOPY


def test_options_map_to_flags():
    flags, params = runner.migration_flags(options(auto_converge=True, compression=True, tls=True,
                                                   parallel_connections=4, bandwidth_mibps=0))
    for flag in (libvirt.VIR_MIGRATE_AUTO_CONVERGE, libvirt.VIR_MIGRATE_COMPRESSED, libvirt.VIR_MIGRATE_TLS,
                 libvirt.VIR_MIGRATE_PARALLEL):
        assert flags & flag
    assert params == {libvirt.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS: 4}


def test_auto_converge_starts_from_the_throttle_auto_chose_and_only_with_auto_converge():
    _flags, params = runner.migration_flags(options(auto_converge=True, auto_converge_initial=95))
    assert params[libvirt.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL] == 95
    _flags, params = runner.migration_flags(options(auto_converge=False, auto_converge_initial=95))
    assert libvirt.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL not in params
    _flags, params = runner.migration_flags(options(auto_converge=True))
    assert libvirt.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL not in params
