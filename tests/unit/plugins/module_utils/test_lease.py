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
