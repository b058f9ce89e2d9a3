# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import calibration_store
from ansible_collections.workload_aware.live_migration.plugins.module_utils.calibration_store import (
    CalibrationStore, StoreError, pair_key)
from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions.calibration import Sample

KEY = pair_key('hv1', 'hv2', 'qemu')


def test_a_pair_never_seen_has_no_samples_and_nothing_learned(tmp_path):
    store = CalibrationStore(str(tmp_path / 'calibration.json'))
    assert store.samples(KEY) == ([], None)
    assert store.learned(KEY) == (None, None)


def test_samples_are_kept_per_pair_and_hypervisor_and_learned_from(tmp_path):
    store = CalibrationStore(str(tmp_path / 'calibration.json'))
    for sent, total in ((100, 0.85), (200, 1.35), (400, 2.35)):
        store.record(KEY, Sample(sent, total, 30))
    store.record(pair_key('hv2', 'hv1', 'qemu'), Sample(100, 9.0, 30))
    learned, problem = store.learned(KEY)
    assert problem is None
    assert learned['rate_mibps'] == pytest.approx(200.0) and learned['fixed_s'] == pytest.approx(0.35)
    assert len(store.samples(pair_key('hv2', 'hv1', 'qemu'))[0]) == 1
    assert store.samples(pair_key('hv1', 'hv2', 'kvm')) == ([], None)
    with open(store.path) as saved:
        assert json.load(saved)['format'] == calibration_store.FORMAT


def test_only_the_newest_samples_are_kept(tmp_path):
    store = CalibrationStore(str(tmp_path / 'calibration.json'), keep=3)
    for sent in range(1, 6):
        store.record(KEY, Sample(sent * 100, sent, 10))
    assert [s.sent_mib for s in store.samples(KEY)[0]] == [300, 400, 500]


def test_two_writers_at_once_lose_no_sample(tmp_path):
    path = str(tmp_path / 'calibration.json')

    def writer(first):
        store = CalibrationStore(path, keep=1000)
        for n in range(first, first + 40):
            store.record(KEY, Sample(n + 1, 1.0, 10))

    threads = [threading.Thread(target=writer, args=(first,)) for first in (0, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sorted(s.sent_mib for s in CalibrationStore(path).samples(KEY)[0])
    assert sent == sorted([n + 1.0 for n in range(0, 40)] + [n + 1.0 for n in range(1000, 1040)])


def test_a_torn_file_is_moved_aside_and_the_store_starts_again(tmp_path):
    path = tmp_path / 'calibration.json'
    path.write_text('{"format": 1, "pairs": {"hv1|hv2|qemu": [{"sent_mib": 1')
    store = CalibrationStore(str(path))
    samples, problem = store.samples(KEY)
    assert samples == [] and 'does not parse' in problem
    store.record(KEY, Sample(100, 1.0, 10))
    assert (tmp_path / 'calibration.json.corrupt').read_text().startswith('{"format": 1')
    assert store.samples(KEY) == ([Sample(100.0, 1.0, 10)], None)


def test_a_format_this_code_does_not_know_is_read_as_empty_and_never_overwritten(tmp_path):
    path = tmp_path / 'calibration.json'
    newer = '{"format": 2, "pairs": {}, "links": []}'
    path.write_text(newer)
    store = CalibrationStore(str(path))
    samples, problem = store.samples(KEY)
    assert samples == [] and 'format 2' in problem
    with pytest.raises(StoreError, match='not writing over it'):
        store.record(KEY, Sample(100, 1.0, 10))
    assert path.read_text() == newer


def test_no_temporary_file_is_left_behind(tmp_path):
    store = CalibrationStore(str(tmp_path / 'calibration.json'))
    store.record(KEY, Sample(100, 1.0, 10))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['calibration.json', 'calibration.json.lock']


def test_the_condition_a_sample_was_taken_under_is_kept(tmp_path):
    sample = Sample(160.0, 3.5, 20, 0, 'precopy', 214, 2.0, 2.1, True, 2, 0.93)
    assert calibration_store.from_entry(calibration_store.to_entry(sample)) == sample
    # An entry written before the condition was recorded reads as one of unknown load.
    old = calibration_store.to_entry(sample)
    del old['streams'], old['source_busy']
    assert calibration_store.from_entry(old).streams is None and calibration_store.from_entry(old).source_busy is None


def test_a_finished_migration_teaches_a_sample_with_its_condition_and_an_aborted_one_none():
    from ansible_collections.workload_aware.live_migration.plugins.module_utils import learning
    result = {'bytes_transferred': 160 * learning.MIB, 'wall_time_s': 3.5, 'downtime_ms': 20, 'method_used': 'precopy',
              'total_time_s': 2.0, 'running_on_destination_s': 2.1}
    entry = learning.sample_entry('src', 'dst', 'qemu', result, 0, 214, streams=1, source_busy=0.41234)
    assert entry['key'] == 'src|dst|qemu' and entry['sent_mib'] == 160.0 and entry['total_s'] == 3.5
    assert entry['streams'] == 1 and entry['source_busy'] == 0.412 and entry['overlapped'] is False
    assert learning.sample_entry('src', 'dst', 'qemu', dict(result, aborted='stalled'), 0, 214) is None


def test_the_source_jobs_statistics_at_arrival_teach_a_sample_that_never_teaches_a_finish():
    from ansible_collections.workload_aware.live_migration.plugins.module_utils import learning
    # As measured on the bed 2 ms after the destination's resumed event.
    stats = {'type': 2, 'time_elapsed': 1131, 'data_processed': 86505396, 'memory_remaining': 0, 'downtime': 44}
    entry = learning.arrival_entry('src', 'dst', 'qemu', stats, 0, 'precopy', 2.4, streams=1, source_busy=0.97)
    assert entry['transfer_s'] == 1.131 and entry['arrival_s'] == 1.131 and entry['total_s'] == pytest.approx(3.531)
    assert entry['sent_mib'] == pytest.approx(82.5, abs=0.05) and entry['pause_ms'] == 44
    assert entry['overlapped'] is True and entry['downtime_target_ms'] is None and entry['key'] == 'src|dst|qemu'
    # Still transferring, or nothing said: nothing taught.
    assert learning.arrival_entry('src', 'dst', 'qemu', dict(stats, memory_remaining=4096), 0, 'precopy', 2.4) is None
    assert learning.arrival_entry('src', 'dst', 'qemu', {'type': 2}, 0, 'precopy', 2.4) is None


def test_rates_at_once_gives_each_count_of_migrations_at_once_that_was_measured_under_this_load():
    from ansible_collections.workload_aware.live_migration.plugins.module_utils import learning

    def sample(sent_mib, total_s, streams, busy, pause_ms=20):
        return calibration_store.to_entry(Sample(sent_mib, total_s, pause_ms, 0, 'precopy', 300, total_s - 0.4,
                                                 total_s - 0.4, streams > 1, streams, busy))
    alone = [sample(80, 1.4, 1, 0.5), sample(160, 2.4, 1, 0.5), sample(240, 3.4, 1, 0.5)]
    two = [sample(80, 2.4, 2, 0.5), sample(160, 4.4, 2, 0.5)]
    # Six at once (as Proxmox's migrateall runs them): one of three paused past the 300 ms limit.
    six = [sample(80, 3.0, 6, 0.6, 410), sample(160, 5.0, 6, 0.6), sample(240, 7.0, 6, 0.6, None)]
    params = {'calibration': {'pairs': {pair_key('src', 'dst', 'qemu'): alone + two + six}}, 'bandwidth_mibps': 0,
              'link_mibps': 1000, 'transport': 'plain', 'max_downtime_ms': 300}
    found = learning.rates_at_once(params, 'src', 'dst', 'qemu', source_busy=0.55)
    assert sorted(found) == ['1', '2', '6']
    assert found['1']['rate_mibps'] > 1.5 * found['2']['rate_mibps']
    assert found['2']['source'].startswith('learned') and '2 at once' in found['2']['source']
    assert found['6']['rate_mibps'] == 40.0 and '6 at once' in found['6']['source']
    assert found['1']['pauses_over'] == [0, 3] and found['6']['pauses_over'] == [1, 2]
    # Under another load nothing matches, nor do plain streams teach encrypted ones (tls, the default).
    assert learning.rates_at_once(params, 'src', 'dst', 'qemu', source_busy=0.95) == {}
    assert learning.rates_at_once(dict(params, transport=None), 'src', 'dst', 'qemu', source_busy=0.55) == {}
    # A count nothing ran at is left out.
    params['calibration']['pairs'][pair_key('src', 'dst', 'qemu')] = alone
    assert sorted(learning.rates_at_once(params, 'src', 'dst', 'qemu', source_busy=0.5)) == ['1']
