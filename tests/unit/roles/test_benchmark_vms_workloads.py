# -*- coding: utf-8 -*-
"""The benchmark_vms role names its workloads in three places that must agree: the argument
spec's choices, the list its first task checks, and what the guest runs (a wagen mode, or an
application from the application guests' own initramfs: kv memcached, web nginx, job wa-job)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'benchmark_vms')


def read(relative):
    with open(os.path.join(ROLE, relative)) as f:
        return f.read()


def spec_choices():
    spec = yaml.safe_load(read('meta/argument_specs.yml'))['argument_specs']['main']['options']
    return spec['benchmark_vms_list']['options']['workload']['choices']


def test_the_argument_spec_and_the_check_name_the_same_workloads():
    checked = re.search(r"item\.workload in (\[[^]]*\])", read('tasks/main.yml')).group(1)
    assert yaml.safe_load(checked) == spec_choices()


APPLICATIONS = {'kv': '/bin/memcached', 'web': '/bin/nginx', 'job': '/bin/wa-job'}


def test_every_workload_is_a_wagen_mode_or_an_application_the_apps_initramfs_holds():
    modes = re.search(r'mode_names\[\] = \{([^}]*)\}', read('files/src/wagen.c')).group(1)
    wagen = [m.strip().strip('"') for m in modes.split(',')]
    init, build = read('files/src/guest-init'), read('files/build-guest')
    template = read('templates/domain.xml.j2')
    for workload in spec_choices():
        assert workload in wagen or workload in APPLICATIONS, workload
    for workload, binary in APPLICATIONS.items():
        assert '"$mode" = %s' % workload in init
        assert binary in init and binary in build  # started by the init, put in the archive by the build
    apps = yaml.safe_load(read('vars/main.yml'))['benchmark_vms_app_workloads']
    assert sorted(apps) == sorted(APPLICATIONS)
    assert "'initrd-apps.gz' if vm.workload in benchmark_vms_app_workloads" in template
    assert 'initrd-apps.gz' in build
