# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils.lease import LeaseHeld, VmLease

HOLD = '''
import sys, time
from ansible_collections.workload_aware.live_migration.plugins.module_utils.lease import VmLease
lease = VmLease('vm1', sys.argv[1]).acquire()
print('held', flush=True)
time.sleep(60)
'''


def test_a_second_holder_is_refused_and_named(tmp_path):
    with VmLease('vm1', str(tmp_path)):
        with pytest.raises(LeaseHeld, match=r'another run \(pid \d+\) is migrating vm1'):
            VmLease('vm1', str(tmp_path)).acquire()
        VmLease('vm2', str(tmp_path)).acquire().release()   # other VMs are free
    VmLease('vm1', str(tmp_path)).acquire().release()       # released on exit


def test_the_lock_of_a_killed_holder_is_free(tmp_path):
    # The child imports the collection the way this test did.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    holder = subprocess.Popen([sys.executable, '-c', HOLD, str(tmp_path)], stdout=subprocess.PIPE,
                              universal_newlines=True, env=env)
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(LeaseHeld, match='pid %d' % holder.pid):
            VmLease('vm1', str(tmp_path)).acquire()
    finally:
        holder.kill()
        holder.wait()
    VmLease('vm1', str(tmp_path)).acquire().release()


@pytest.mark.parametrize('name', ['../../../../tmp/wa-escape-test', 'a;b/c', '..'])
def test_no_name_places_the_lock_outside_its_directory(tmp_path, name):
    lock_dir = tmp_path / 'locks'
    with VmLease(name, str(lock_dir)) as held:
        assert os.path.dirname(held.path) == str(lock_dir)
        assert os.listdir(str(lock_dir)) == [os.path.basename(held.path)]
    assert not os.path.exists('/tmp/wa-escape-test.lock')
    assert os.listdir(str(tmp_path)) == ['locks']


def test_a_lease_leaves_no_file_behind(tmp_path):
    VmLease('vm1', str(tmp_path)).acquire().release()
    assert os.listdir(str(tmp_path)) == []
