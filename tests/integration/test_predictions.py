# -*- coding: utf-8 -*-
"""Predictions from what migrations measured (the calibration store): on the uncapped test bed, after a
few migrations of a pair, wa_migrate's prediction of the next one is within 30 % of what it then
takes, and says that it came from what was learned; with nothing learned it says it used the default."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from testbed_helpers import HOSTS, current_host, other_host as other, run_module

VM = 'wa-read'


def migrate(store, method='auto'):
    source = current_host(VM)
    dest = other(source)
    result = run_module(source, 'wa_migrate', dict(
        name=VM, uri=HOSTS[source].uri, dest_uri=HOSTS[dest].migration_uri, dest_control_uri=HOSTS[dest].uri,
        method=method, bandwidth_mibps=0, calibration_store=store))
    assert not result.get('failed'), result.get('msg')
    assert current_host(VM) == dest
    return result


def test_a_warm_store_predicts_the_uncapped_migration_within_30_percent(testbed, tmp_path):
    store = str(tmp_path / 'calibration.json')
    first = migrate(store)
    assert first['inputs']['sources']['rate_mibps'].startswith('default for qemu')
    for _round_trip in range(2):
        migrate(store)
        migrate(store)
    with open(store) as stored:
        pairs = json.load(stored)['pairs']
    assert sum(len(samples) for samples in pairs.values()) == 5
    warm = migrate(store)
    assert warm['inputs']['sources']['rate_mibps'].startswith('learned from'), warm['inputs']
    assert warm['predicted_total_s'] and warm['wall_time_s']
    assert abs(warm['prediction_error']) <= 0.30, (warm['predicted_total_s'], warm['wall_time_s'], warm['inputs'])
    assert warm['downtime_breach'] == (warm['downtime_ms'] > warm['downtime_limit_ms'])


def test_check_mode_learns_nothing(testbed, tmp_path):
    store = str(tmp_path / 'calibration.json')
    source = current_host(VM)
    dest = other(source)
    result = run_module(source, 'wa_migrate', dict(
        name=VM, uri=HOSTS[source].uri, dest_uri=HOSTS[dest].migration_uri, dest_control_uri=HOSTS[dest].uri,
        method='auto', calibration_store=store), check=True)
    assert not result.get('failed'), result.get('msg')
    assert result['outcome'] == 'would move' and current_host(VM) == source
    assert 'rate_mibps' in result['inputs']['sources']
    assert not os.path.exists(store)
