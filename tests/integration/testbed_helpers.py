# -*- coding: utf-8 -*-
"""Where the integration test bed is, and how to drive it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INVENTORY = os.path.join(HERE, 'inventory.yml')
CONSOLE_DIR = '/var/lib/wa-benchmark/console'
HOSTS = {'hv1': 'qemu+tcp://127.0.1.1/system', 'hv2': 'qemu+tcp://127.0.2.1/system'}


def run_playbook(name):
    subprocess.check_call(['ansible-playbook', '-i', INVENTORY, os.path.join(REPO, 'playbooks', name)])


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
    return found
