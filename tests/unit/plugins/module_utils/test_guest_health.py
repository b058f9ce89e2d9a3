# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils import guest_health

HEALTHY = ('WAGEN seq=12 mode=write t=12.003 healthy=1 errors=0 bad_page=-1 work=40.00 unit=MiB/s '
           'written_mibps=40.00 verified_mibps=48.00 net_mibps=0.00 net_errno=0 cpu_mops=0.00 wss_mib=96')
CORRUPT = ('WAGEN seq=13 mode=write t=13.003 healthy=0 errors=3 bad_page=17 work=39.50 unit=MiB/s '
           'written_mibps=39.50 verified_mibps=48.00 net_mibps=0.00 net_errno=0 cpu_mops=0.00 wss_mib=96')


def test_parses_a_healthy_report():
    report = guest_health.parse_report(HEALTHY)
    assert report.seq == 12
    assert report.mode == 'write'
    assert report.healthy is True
    assert report.errors == 0
    assert report.bad_page == -1
    assert report.work == 40.0
    assert report.fields['wss_mib'] == '96'


def test_parses_a_corruption_report():
    report = guest_health.parse_report(CORRUPT)
    assert report.healthy is False
    assert report.errors == 3
    assert report.bad_page == 17


def test_ignores_kernel_lines_start_lines_and_cut_lines():
    assert guest_health.parse_report('[    1.234] virtio_net virtio0 eth0: renamed') is None
    assert guest_health.parse_report('WAGEN start mode=write pid=97 wss_mib=96') is None
    assert guest_health.parse_report(HEALTHY[:40]) is None


def test_latest_report_is_the_last_complete_one():
    text = '\n'.join([HEALTHY, 'noise', CORRUPT, CORRUPT[:30]])
    assert guest_health.latest_report(text).seq == 13
    assert [r.seq for r in guest_health.reports(text)] == [12, 13]
    assert guest_health.latest_report('nothing here') is None


def test_reads_only_the_tail_of_a_long_console(tmp_path):
    console = tmp_path / 'vm.log'
    console.write_text('x' * 200000 + '\n' + HEALTHY + '\n')
    assert guest_health.latest_report_in_file(str(console)).seq == 12
