# -*- coding: utf-8 -*-
"""Where the integration test bed is, and how to drive it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import signal
import subprocess
import time

import libvirt

from ansible_collections.workload_aware.live_migration.plugins.module_utils import guest_health
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import open_connection

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INVENTORIES = [os.path.join(REPO, 'playbooks', 'inventories', 'testbed'), os.path.join(HERE, 'inventory.yml')]
CONSOLE_DIR = '/var/lib/wa-benchmark/console'
NETNS = 'wa-testbed'


class Host:
    """A test-bed host: `uri` for us, `migration_uri` for the other hosts."""

    def __init__(self, name, address):
        self.name = name
        self.uri = 'qemu+unix:///system?socket=/var/lib/wa-testbed/%s/run/libvirt-sock' % name
        self.migration_uri = 'qemu+tls://%s/system' % address


HOSTS = {'hv1': Host('hv1', '127.0.1.1'), 'hv2': Host('hv2', '127.0.2.1'), 'hv3': Host('hv3', '127.0.3.1')}

# The integration tests' own calibration store (conftest empties it when the session starts).
CALIBRATION_STORE = '/tmp/wa-integration-calibration.json'
CALIBRATED = ('wa_vm_facts', 'wa_migrate', 'wa_evacuate', 'wa_benchmark_run')


def run_playbook(name, *args, **kwargs):
    """Run a playbook of the collection against the test bed; returns its output (check=False: any exit code).

    inventories=INVENTORIES[:1] leaves out the integration tests' third host.
    """
    command = ['ansible-playbook']
    for inventory in kwargs.get('inventories', INVENTORIES):
        command += ['-i', inventory]
    command += [os.path.join(REPO, 'playbooks', name), '-e', 'wa_calibration_store=' + CALIBRATION_STORE] + list(args)
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                               check=False)
    print(completed.stdout)
    if kwargs.get('check', True) and completed.returncode != 0:
        raise AssertionError('%s failed (exit %d)' % (name, completed.returncode))
    return completed


def console_log(vm_name):
    return os.path.join(CONSOLE_DIR, vm_name + '.log')


TESTBED_PROCESSES = ('qemu-system', 'libvirtd', 'ganesha.nfsd', 'rpcbind', 'wagen sink')


def leftovers():
    """Test-bed processes and mounts still present (after a teardown there must be none)."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as cmdline:
                command = cmdline.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except (IOError, OSError):
            continue
        if any(name in command for name in TESTBED_PROCESSES):
            found.append('process %s: %s' % (pid, command[:100]))
    with open('/proc/mounts') as mounts:
        found.extend('mount: ' + line.strip() for line in mounts if 'libvirt' in line or 'wa-nfs' in line)
    if os.path.exists(os.path.join('/run/netns', NETNS)):
        found.append('network namespace ' + NETNS)
    return found


def start_module(host, module, args, check=False):
    """Start a module of the collection on a test-bed host in a process group of its own; see module_result."""
    if module in CALIBRATED:
        args = dict({'calibration_store': CALIBRATION_STORE}, **args)
    command = ['ansible', host, '-m', 'workload_aware.live_migration.' + module, '-a', json.dumps(args)]
    for inventory in INVENTORIES:
        command += ['-i', inventory]
    if check:
        command.append('--check')
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json')
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, universal_newlines=True,
                               start_new_session=True)
    process.host = host
    return process


def module_result(process, timeout=600):
    """The result (failed or not) of a module started with start_module."""
    output = process.communicate(timeout=timeout)[0]
    return json.loads(output)['plays'][0]['tasks'][0]['hosts'][process.host]


def run_module(host, module, args, check=False):
    """Run a module of the collection on a test-bed host; returns its result (failed or not)."""
    return module_result(start_module(host, module, args, check=check))


def run_role(role, variables, host='hv1', tasks_from=None):
    """Include a role of the collection (its `tasks_from` entry point) on a test-bed host with these variables;
    returns the result of its failed task, or of its last one when none failed."""
    action = 'name=workload_aware.live_migration.' + role + (' tasks_from=' + tasks_from if tasks_from else '')
    command = ['ansible', host, '-m', 'ansible.builtin.include_role', '-a', action, '-e', json.dumps(variables)]
    for inventory in INVENTORIES:
        command += ['-i', inventory]
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json')
    output = subprocess.run(command, env=env, stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    results = [task['hosts'][host] for task in json.loads(output)['plays'][0]['tasks']]
    return ([result for result in results if result.get('failed')] or results)[-1]


def libvirtd_pid(host):
    with open('/var/lib/wa-testbed/%s/libvirtd.pid' % host) as pidfile:
        return int(pidfile.read().strip())


def kill_libvirtd(host, timeout=30):
    """SIGKILL a test-bed host's libvirtd, as a crash would, and wait until it is gone (its QEMUs run on)."""
    pid = libvirtd_pid(host)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open('/proc/%d/status' % pid) as status:
                if re.search(r'^State:\s*Z', status.read(), re.M):
                    return  # dead, not yet reaped
        except (IOError, OSError):
            return
        time.sleep(0.05)
    raise AssertionError('libvirtd of %s (pid %d) still runs %d s after SIGKILL' % (host, pid, timeout))


def start_libvirtd(host):
    """Start a test-bed host's libvirtd again (it reconnects to its running VMs)."""
    subprocess.run(['sh', os.path.join(REPO, 'roles', 'testbed', 'files', 'wa-testbed-host'), 'start',
                    '/var/lib/wa-testbed/' + host, NETNS], check=True)


class LinkDown:
    """`with LinkDown(host):` the QEMU migration ports of `host` take no traffic (inside the test-bed netns).

    reject=False drops packets, as a cut cable does; reject=True resets connections.
    """

    def __init__(self, host, reject=False):
        address = HOSTS[host].migration_uri.split('/')[2]
        self.rule = ['INPUT', '-p', 'tcp', '-d', address, '--dport', '49152:49215', '-j']
        self.rule += ['REJECT', '--reject-with', 'tcp-reset'] if reject else ['DROP']

    def _iptables(self, action):
        subprocess.run(['ip', 'netns', 'exec', NETNS, 'iptables', action] + self.rule, check=True)

    def __enter__(self):
        self._iptables('-I')
        return self

    def __exit__(self, *_exc):
        self._iptables('-D')


def wait_for_phase(progress_file, phase, timeout=120):
    """Wait until wa_migrate's progress file reports `phase` ('pre-copy' or 'post-copy'); returns the line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(progress_file):
            with open(progress_file) as progress:
                for line in progress:
                    entry = json.loads(line)
                    if entry['phase'] == phase and (entry.get('remaining_mib') or 0) > 0:
                        return entry
        time.sleep(0.2)
    raise AssertionError('no %s progress in %s within %ds' % (phase, progress_file, timeout))


def reports_after(vm_name, after_seq, count, timeout=60):
    """At least `count` health reports of the VM with seq > after_seq; AssertionError if the guest stops."""
    deadline = time.monotonic() + timeout
    while True:
        fresh = [r for r in guest_health.reports(guest_health.read_console_tail(console_log(vm_name)))
                 if r.seq > after_seq]
        if len(fresh) >= count:
            return fresh
        if time.monotonic() > deadline:
            raise AssertionError('%s: fewer than %d reports after seq %d within %ds: the guest stopped'
                                 % (vm_name, count, after_seq, timeout))
        time.sleep(0.5)


def latest_seq(vm_name):
    report = guest_health.latest_report_in_file(console_log(vm_name))
    return report.seq if report else 0


def assert_healthy_after(vm_name, after_seq, min_work=None):
    """8 fresh reports (every page re-verified at least 3 times), all healthy."""
    fresh = reports_after(vm_name, after_seq, 8)
    bad = [r for r in fresh if not r.healthy]
    assert not bad, '%s reports corruption: %s' % (vm_name, bad[0])
    if min_work is not None:
        assert fresh[-1].work >= min_work, '%s works at %s %s' % (vm_name, fresh[-1].work, fresh[-1].unit)
    return fresh


def where_is(vm_name):
    """{host name: libvirt state} of every test-bed host that has the VM."""
    return dict((host, found[0]) for host, found in states(vm_name).items())


def current_host(vm_name):
    """The one host on which the VM runs (AssertionError if it is anywhere else, or twice)."""
    where = where_is(vm_name)
    assert len(where) == 1 and list(where.values()) == [libvirt.VIR_DOMAIN_RUNNING], '%s: %s' % (vm_name, where)
    return list(where)[0]


def other_host(host):
    """hv1 and hv2 trade VMs; hv3 sends its VMs to hv1."""
    return 'hv2' if host == 'hv1' else 'hv1'


def states(vm_name):
    """{host name: (state, reason, persistent)} of every test-bed host that has the VM."""
    found = {}
    for host in HOSTS.values():
        # Quiet (open_connection): lookups of absent VMs are expected here.
        conn = open_connection(host.uri)
        try:
            dom = conn.lookupByName(vm_name)
            found[host.name] = tuple(dom.state()) + (bool(dom.isPersistent()),)
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    return found


def wait_for_states(vm_name, wanted, timeout=60):
    """Wait until each host of `wanted` ({host: (state, reason)}) has the VM in that state and reason."""
    deadline = time.monotonic() + timeout
    while True:
        found = states(vm_name)
        if all(found.get(host, (None, None))[:2] == state for host, state in wanted.items()):
            return found
        if time.monotonic() > deadline:
            raise AssertionError('%s: wanted %s within %ds, found %s' % (vm_name, wanted, timeout, found))
        time.sleep(0.1)


def wait_for_postcopy_on_both(vm_name, source, dest, timeout=60):
    """Wait until post-copy really runs: the source paused for it, the destination running the guest."""
    return wait_for_states(vm_name, {
        source: (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_POSTCOPY),
        dest: (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_POSTCOPY)}, timeout)


def retried(call, timeout=90):
    """Call until libvirt stops refusing (a migration job that ends with its QEMU holds the domain's lock)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except libvirt.libvirtError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def restart_on(vm_name, home):
    """Destroy the VM on every host, undefine it wherever but `home`, and boot it afresh on `home`."""
    for host in HOSTS:
        conn = open_connection(HOSTS[host].uri)
        try:
            dom = conn.lookupByName(vm_name)
        except libvirt.libvirtError:
            conn.close()
            continue
        try:
            if dom.isActive():
                retried(dom.destroy)
            if host != home and dom.isPersistent():
                retried(dom.undefine)
        finally:
            conn.close()
    open(console_log(vm_name), 'w').close()
    conn = open_connection(HOSTS[home].uri)
    try:
        dom = conn.lookupByName(vm_name)
        retried(lambda: dom.isActive() or dom.create())
    finally:
        conn.close()


def one_healthy_copy(vm_name):
    """The host where the VM runs alone, plainly (not split, no definition elsewhere) and healthy, or None."""
    found = states(vm_name)
    if len(found) != 1:
        return None
    host, (state, reason, _persistent) = list(found.items())[0]
    if state != libvirt.VIR_DOMAIN_RUNNING or reason in (libvirt.VIR_DOMAIN_RUNNING_POSTCOPY,
                                                         libvirt.VIR_DOMAIN_RUNNING_POSTCOPY_FAILED):
        return None
    try:
        fresh = reports_after(vm_name, latest_seq(vm_name), 2, timeout=20)
    except AssertionError:
        return None
    return host if all(report.healthy for report in fresh) else None


def remove_everywhere(vm, timeout=20):
    """Destroy and undefine `vm` on every host, as far as libvirt lets us (a stuck job may not): a copy that
    stops between the two calls, or a definition a finishing migration leaves, is tried again until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        errors = []
        for host in HOSTS:
            conn = open_connection(HOSTS[host].uri)
            try:
                dom = conn.lookupByName(vm)
                for wanted, action in ((dom.isActive, dom.destroy), (dom.isPersistent, dom.undefine)):
                    try:
                        if wanted():
                            action()
                    except libvirt.libvirtError as err:
                        errors.append('%s on %s: %s' % (vm, host, err.get_error_message()))
            except libvirt.libvirtError as err:
                if err.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    errors.append('%s on %s: %s' % (vm, host, err.get_error_message()))
            finally:
                conn.close()
        if not errors and not states(vm):
            return
        if time.monotonic() > deadline:
            print('REMOVE %s' % '; '.join(errors or ['%s still on %s' % (vm, states(vm))]))
            return
        time.sleep(1)


def give_back(vm_name, home):
    """Leave the test bed one healthy copy of the VM, whatever a test did to it: where it runs, or afresh
    on `home`.  Returns what it did."""
    if one_healthy_copy(vm_name):
        return 'kept'
    restart_on(vm_name, home)
    reports_after(vm_name, 0, 1, timeout=120)
    return 'restarted on %s' % home


def postcopy_recoverable():
    """What the test bed's libvirt_host role recorded: whether a failed post-copy can be resumed here."""
    with open('/etc/ansible/facts.d/wa_libvirt.fact') as fact:
        return json.load(fact)['postcopy_resume']


def longest_report_gap_s(vm_name, after_seq=0):
    """The longest time between two consecutive health reports of the guest (its stall as it felt it)."""
    times = [r.uptime_s for r in guest_health.reports(guest_health.read_console_tail(console_log(vm_name)))
             if r.seq > after_seq]
    return max([b - a for a, b in zip(times, times[1:])] or [0.0])
