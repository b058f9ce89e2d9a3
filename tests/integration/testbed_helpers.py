# -*- coding: utf-8 -*-
"""Where the integration test bed is, and how to drive it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

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
        self.migration_uri = 'qemu+tcp://%s/system' % address


HOSTS = {'hv1': Host('hv1', '127.0.1.1'), 'hv2': Host('hv2', '127.0.2.1')}


def run_playbook(name):
    command = ['ansible-playbook']
    for inventory in INVENTORIES:
        command += ['-i', inventory]
    subprocess.check_call(command + [os.path.join(REPO, 'playbooks', name)])


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
