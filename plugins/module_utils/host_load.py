# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How busy a host's CPUs are, from libvirt's node CPU statistics.

A migration stream is CPU-bound under TCG (and at KVM's 1-3 GB/s too): on a source whose
guests keep its CPUs busy each stream moves slower, so a rate learned on an idle host is
not the rate on a loaded one.  The load is measured before a migration starts and kept
with what it taught (calibration.Sample.source_busy).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt

# The shortest window a load is measured over: the kernel counts CPU time in ticks (4 ms at
# 250 Hz), so a shorter one says little.
MIN_WINDOW_S = 0.25


def cpu_times(conn):
    """(busy ns, total ns) of all the host's CPUs so far, from virNodeGetCPUStats; None where it cannot tell."""
    try:
        stats = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS, 0)
    except libvirt.libvirtError:
        return None
    busy = stats.get('kernel', 0) + stats.get('user', 0)
    total = busy + stats.get('idle', 0) + stats.get('iowait', 0)
    return (busy, total) if total else None


def busy_fraction(before, after):
    """The fraction (0-1) of CPU time busy between two cpu_times readings; None without both or without time."""
    if not before or not after or after[1] <= before[1]:
        return None
    return max(0.0, min(1.0, (after[0] - before[0]) / float(after[1] - before[1])))


class Meter:
    """Starts measuring when made; busy() waits out the rest of MIN_WINDOW_S and returns the fraction (or None)."""

    def __init__(self, conn, clock=time.monotonic, sleep=time.sleep):
        self.conn = conn
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.before = cpu_times(conn)

    def busy(self):
        if self.before is None:
            return None
        left = MIN_WINDOW_S - (self.clock() - self.started)
        if left > 0:
            self.sleep(left)
        return busy_fraction(self.before, cpu_times(self.conn))
