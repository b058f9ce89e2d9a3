# -*- coding: utf-8 -*-
"""The bad-input table: every module, evacuate.yml and the roles' argument
specs refuse bad input with a message that says what is wrong, in check mode
as in a real run, and touch nothing: the VM still runs where it ran, healthy,
and no lock or other file is left behind.  Documented in
docs/fault-tolerance.md ("Bad input")."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import libvirt
import pytest

from testbed_helpers import (HOSTS, assert_healthy_after, current_host, latest_seq, other_host, run_module,
                             run_playbook, run_role, where_is)

VM = 'wa-cpu'
RUNNING = libvirt.VIR_DOMAIN_RUNNING
LOCK_DIR = '/run/lock/wa-live-migration'
# Where a lock named from the raw name of the path-traversal case would have gone.
ESCAPED_LOCK = '/tmp/wa-bad-input.lock'


def placeholders(value, home):
    """HOME/OTHER[_MIGRATION]_URI in a case's arguments, for the host the VM runs on now."""
    names = {'HOME_URI': HOSTS[home].uri, 'HOME_MIGRATION_URI': HOSTS[home].migration_uri,
             'OTHER_URI': HOSTS[other_host(home)].uri, 'OTHER_MIGRATION_URI': HOSTS[other_host(home)].migration_uri}
    if isinstance(value, dict):
        return dict((k, placeholders(v, home)) for k, v in value.items())
    if isinstance(value, list):
        return [placeholders(v, home) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def migrate_args(home, **args):
    request = dict(name=VM, uri=HOSTS[home].uri, dest_uri=HOSTS[other_host(home)].migration_uri,
                   dest_control_uri=HOSTS[other_host(home)].uri, method='precopy', profile_window_s=0)
    request.update(args)
    return request


def benchmark_args(**args):
    request = dict(name=VM, uri='HOME_URI', migration_uri='HOME_MIGRATION_URI', peer_uri='OTHER_URI',
                   peer_migration_uri='OTHER_MIGRATION_URI', method='precopy', workload='bad-input', repetition=1,
                   bandwidth_mibps=50, console_log='/var/lib/wa-benchmark/console/%s.log' % VM)
    request.update(args)
    return request


# (kind, arguments, check mode, expected text). kind: a module run on the VM's host, 'role:<name>' or
# 'playbook' (evacuate.yml -l hv1 with these extra variables).
CASES = [
    # wa_migrate: names and paths
    ('wa_migrate', dict(name='no-such-vm'), False, 'no VM named no-such-vm'),
    ('wa_migrate', dict(name='../../../../tmp/wa-bad-input'), True,
     "name '../../../../tmp/wa-bad-input' cannot be a libvirt domain name: it contains '/'"),
    ('wa_migrate', dict(name='../../../../tmp/wa-bad-input'), False, "cannot be a libvirt domain name"),
    ('wa_migrate', dict(name='a;b/c'), True, "cannot be a libvirt domain name: it contains '/'"),
    ('wa_migrate', dict(name=''), True, 'cannot be a libvirt domain name: it is empty'),
    # wa_migrate: the destination, in check mode as in a real run
    ('wa_migrate', dict(dest_uri='not a uri at all'), True, "dest_uri 'not a uri at all' is not a libvirt URI"),
    ('wa_migrate', dict(dest_uri='qemu:///system'), True, 'names no host'),
    ('wa_migrate', dict(dest_uri='qemu+tcp://no-such-host.invalid/system'), True,
     'the host no-such-host.invalid of dest_uri does not resolve'),
    ('wa_migrate', dict(dest_uri='qemu+tcp://127.0.9.1/system'), True,
     'is unreachable from the source host: nothing listens on 127.0.9.1:16509 there'),
    ('wa_migrate', dict(dest_uri='qemu+tcp://127.0.9.1/system'), False, 'is unreachable from the source host'),
    ('wa_migrate', dict(dest_uri='qemu+tls://10.78.0.1/system', transport='plain'), True,
     "transport plain would send the VM's memory unencrypted to 10.78.0.1"),
    ('wa_migrate', dict(dest_uri='qemu+tls://10.78.0.1/system', transport='plain'), False,
     'allowed only where every migration address is loopback'),
    ('wa_migrate', dict(dest_uri='HOME_MIGRATION_URI'), True,
     "names the source host itself: the source's libvirtd listens on"),
    ('wa_migrate', dict(dest_control_uri='HOME_URI_ANOTHER_SPELLING'), True,
     'the destination is the source host itself (host UUID'),
    ('wa_migrate', dict(dest_uri='HOME_URI', dest_control_uri=None), True, 'the destination URI is the source URI'),
    ('wa_migrate', dict(dest_control_uri='qemu+unix:///system?socket=/nonexistent'), True, 'destination unreachable'),
    ('wa_migrate', dict(dest_control_uri='no such scheme://x'), True, 'destination unreachable'),
    ('wa_migrate', dict(uri='qemu+unix:///system?socket=/nonexistent'), True, 'source: cannot connect'),
    # wa_migrate: ranges
    ('wa_migrate', dict(profile_window_s=100000), True, 'profile_window_s must be 0 (no profiling) or from 1 to 60 s'),
    ('wa_migrate', dict(profile_window_s=0.2), True,
     'profile_window_s must be 0 (no profiling) or from 1 to 60 s, got 0.2'),
    ('wa_migrate', dict(profile_window_s=45, time_budget_s=30), True,
     'profile_window_s (45.0 s) must not be longer than time_budget_s (30 s)'),
    ('wa_migrate', dict(tolerance=5000), True, 'tolerance must be from 0 to 1'),
    ('wa_migrate', dict(tolerance=-0.1), True, 'tolerance must be from 0 to 1'),
    ('wa_migrate', dict(bandwidth_mibps=1e12), True, 'bandwidth_mibps must be 0 (no limit) or from 1 to 100000 MiB/s'),
    ('wa_migrate', dict(bandwidth_mibps=-5), False, 'bandwidth_mibps must be 0 (no limit) or from 1 to 100000 MiB/s'),
    ('wa_migrate', dict(max_downtime_ms=0), True, 'max_downtime_ms must be from 1 to 60000 ms, got 0'),
    ('wa_migrate', dict(link_timeout_s=0), True, 'link_timeout_s must be from 1 to 3600 s, got 0'),
    ('wa_migrate', dict(recovery_budget_s=-1), True, 'recovery_budget_s must be 0 (one attempt only) or from 1'),
    # wa_migrate: combinations and unknowns
    ('wa_migrate', dict(method='teleport'), True, 'value of method must be one of'),
    ('wa_migrate', dict(method='auto', profile_window_s=0), True, 'method auto needs profile_window_s of at least 1'),
    ('wa_migrate', dict(method='postcopy', postcopy_allowed=False), True, 'postcopy_allowed is false'),
    ('wa_migrate', dict(method='hybrid', destination_postcopy_capable=False), False, 'cannot do post-copy'),
    ('wa_migrate', dict(method='postcopy', parallel_connections=4), True, 'parallel_connections works with pre-copy'),
    ('wa_migrate', dict(speed=5), True, 'Unsupported parameters'),
    # wa_vm_facts
    ('wa_vm_facts', dict(uri='HOME_URI', names=['../x']), True, "names entry '../x' cannot be a libvirt domain name"),
    ('wa_vm_facts', dict(uri='HOME_URI', names=['no-such-vm']), True, 'no running VM named no-such-vm'),
    ('wa_vm_facts', dict(uri='HOME_URI', window_s=0.2), True, 'window_s must be from 1 to 60 s, got 0.2'),
    ('wa_vm_facts', dict(uri='HOME_URI', bandwidth_mibps=-5), True,
     'bandwidth_mibps must be 0 (no limit) or from 1 to 100000 MiB/s, got -5'),
    ('wa_vm_facts', dict(uri='HOME_URI', link_mibps=0), True, 'link_mibps must be from 1 to 100000 MiB/s, got 0'),
    # wa_evacuation_plan, wa_evacuate, evacuate.yml
    ('wa_evacuation_plan', dict(profiles={'../x': {}}, destinations=[], storage='shared'), True,
     "profiles key '../x' cannot be a libvirt domain name"),
    ('wa_evacuation_plan', dict(profiles={}, destinations=[], storage='shared', vcpu_ratio=0), True,
     'vcpu_ratio must be from 0.1 to 64'),
    ('wa_evacuate', dict(uri='HOME_URI', moves=[dict(order=1, vm='a/b', destination='hv9', method='precopy')],
                         destinations={'hv9': dict(uri='OTHER_MIGRATION_URI')}), True,
     "move vm 'a/b' cannot be a libvirt domain name"),
    ('wa_evacuate', dict(uri='HOME_URI', moves=[dict(order=1, vm=VM, destination='hv9', method='precopy')],
                         destinations={'hv9': dict(uri='bogus')}), True, "destination hv9 uri 'bogus' is not a libvirt"),
    ('wa_evacuate', dict(uri='HOME_URI', moves=[], destinations={}, concurrency=0), True,
     'concurrency must be from 1 to 16'),
    ('playbook', dict(wa_concurrency=0), True, 'concurrency must be from 1 to 16'),
    ('playbook', dict(wa_max_downtime_ms=0), True, 'max_downtime_ms must be from 1 to 60000 ms'),
    # the benchmark modules
    ('wa_benchmark_plan', dict(cells=[], methods=['teleport'], bandwidths_mibps=[50],
                               results_file='/tmp/wa-bad-input.csv'), True, 'unknown methods: teleport'),
    ('wa_benchmark_plan', dict(cells=[], methods=['precopy'], bandwidths_mibps=[-1],
                               results_file='/tmp/wa-bad-input.csv'), True,
     'each of bandwidths_mibps must be 0 (no limit) or from 1 to 100000 MiB/s, got -1'),
    ('wa_benchmark_plan', dict(cells=[dict(workload='w', memory_mib=256)], methods=['precopy'], bandwidths_mibps=[50],
                               repetitions=0, results_file='/tmp/wa-bad-input.csv'), True,
     'repetitions must be from 1 to 100'),
    ('wa_benchmark_run', benchmark_args(name='a/b'), True, "name 'a/b' cannot be a libvirt domain name"),
    ('wa_benchmark_run', benchmark_args(bandwidth_mibps=-1), False,
     'bandwidth_mibps must be 0 (no limit) or from 1 to 100000 MiB/s, got -1'),
    ('wa_benchmark_run', benchmark_args(peer_migration_uri='junk'), True, "peer_migration_uri 'junk' is not a libvirt"),
    ('wa_benchmark_run', benchmark_args(profile_window_s=0.2, method='auto'), False,
     'profile_window_s must be 0 (no profiling) or from 1 to 60 s, got 0.2'),
    # the roles' argument specs
    ('role:libvirt_host', dict(libvirt_host_transport='pigeon'), True,
     'value of libvirt_host_transport must be one of: ssh, tls, tcp, got: pigeon'),
    ('role:benchmark_vms', dict(benchmark_vms_list=[dict(name='x', workload='teleport', memory_mib=256)]), True,
     'value of workload must be one of: idle, cpu, read, write, net, kv, web, job, got: teleport'),
]


def case_id(index, case):
    kind, args, check, _message = case
    first = sorted(args.items())[0] if args else ('', '')
    return '%02d-%s-%s=%s%s' % (index + 1, kind, first[0], str(first[1])[:20], '-check' if check else '')


@pytest.fixture(scope='module')
def table_start(testbed):
    """Where the VM runs and its last health report when the table starts."""
    home = current_host(VM)
    return home, latest_seq(VM)


def lock_files():
    return sorted(os.listdir(LOCK_DIR)) if os.path.isdir(LOCK_DIR) else []


@pytest.mark.parametrize('case', CASES, ids=[case_id(i, c) for i, c in enumerate(CASES)])
def test_bad_input_is_refused_and_touches_nothing(table_start, case):
    kind, args, check, message = case
    home = table_start[0]
    before = lock_files()
    if kind == 'wa_migrate':
        args = migrate_args(home, **args)
        if args.get('dest_control_uri') == 'HOME_URI_ANOTHER_SPELLING':
            # Another spelling of the source's URI: caught by its host UUID.
            args['dest_control_uri'] = HOSTS[home].uri.replace('/run/libvirt-sock', '/run/../run/libvirt-sock')
    if kind == 'playbook':
        extra = ' '.join('%s=%s' % item for item in sorted(args.items()))
        completed = run_playbook('evacuate.yml', '-l', home, '--check', '-e', extra, check=False)
        assert completed.returncode != 0
        output = completed.stdout
    elif kind.startswith('role:'):
        result = run_role(kind[5:], args)
        assert result.get('failed'), result
        output = result['msg']
    else:
        result = run_module(home, kind, placeholders(args, home), check=check)
        assert result.get('failed'), result
        assert 'Traceback' not in result.get('module_stderr', '') and 'MODULE FAILURE' not in result['msg']
        output = result['msg']
    assert message in output, output[-2000:]
    assert where_is(VM) == {home: RUNNING}, 'the VM moved'
    assert lock_files() == before, 'a lock file was left behind'
    assert not os.path.exists(ESCAPED_LOCK), 'a lock file was written outside the lock directory'


def test_the_vm_stayed_healthy_through_the_table(table_start):
    home, seq = table_start
    assert where_is(VM) == {home: RUNNING}
    assert_healthy_after(VM, seq)
