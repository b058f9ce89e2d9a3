# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One controller at a time per VM: an exclusive lock file held while it is migrated.

The kernel drops the lock when its holder dies, however it dies, so a
migration job without a lock holder was left behind by a controller that is
gone: a later run may adopt it.  Two runs on the same host exclude each other;
runs on different hosts are refused by libvirt's own migration job instead.

The lock file is named from the escaped VM name (names.file_stem), so no name
places it outside `lock_dir`, and it is removed when the lease ends: a run
leaves no file behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import names
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError

DEFAULT_LOCK_DIR = '/run/lock/wa-live-migration'


class LeaseHeld(WaError):
    """Another live process holds the VM."""


class VmLease:
    """`with VmLease(name):` holds the VM's lock or raises LeaseHeld."""

    def __init__(self, name, lock_dir=DEFAULT_LOCK_DIR):
        self.name = name
        self.path = os.path.join(lock_dir, names.file_stem(name) + '.lock')
        self.lock_dir = lock_dir
        self.handle = None

    def _holder(self):
        try:
            with open(self.path) as lock:
                return lock.read().strip() or 'unknown'
        except (IOError, OSError):
            return 'unknown'

    def _open_locked(self):
        """The locked handle of the file now at self.path, or None when a holder removed it meanwhile."""
        handle = open(self.path, 'a+')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as err:
            handle.close()
            if err.errno in (errno.EAGAIN, errno.EACCES):
                raise LeaseHeld('another run (pid %s) is migrating %s; not touching it' % (self._holder(), self.name))
            raise
        try:
            same = os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
        except (IOError, OSError):
            same = False
        if not same:
            handle.close()
            return None
        return handle

    def acquire(self):
        if not os.path.isdir(self.lock_dir):
            os.makedirs(self.lock_dir, 0o755)
        handle = None
        while handle is None:
            handle = self._open_locked()
        handle.seek(0)
        handle.truncate()
        handle.write('%d\n' % os.getpid())
        handle.flush()
        self.handle = handle
        return self

    def release(self):
        if self.handle is not None:
            # Removed while still locked: a run that opened it meanwhile sees another inode and tries again.
            try:
                os.unlink(self.path)
            except (IOError, OSError):
                pass
            self.handle.close()
            self.handle = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *_exc):
        self.release()
