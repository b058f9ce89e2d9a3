# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classify a VM's workload from its profile.

Pure Python, no libvirt.  A profile is the dict that profiler.py returns; the
fields used here are cpu_demand or else cpu_util (0-1 per vCPU),
dirty_rate_mibps, net_rx_mibps, net_tx_mibps, memory_mib and memory_used_mib.
CPU demand (time run plus time waiting for a host CPU) is preferred: on a
crowded host what a busy vCPU gets can fall well below what it wants.

Classes (Fernando et al. 2020): idle, cpu-intensive, memory-intensive,
network-intensive, or mixed (memory- and network-intensive at once); and,
relative to the migration bandwidth, read- or write-intensive.

Signals and their limits: without performance counters (none under TCG) memory
reads cannot be counted, so a busy vCPU over a large resident footprint counts
as memory-intensive, and a busy vCPU over a small one as cpu-intensive.
Network traffic costs CPU too; the network label takes precedence over cpu.
Memory writes and network traffic feed each other (a key-value store writes what
it receives; a server's sends dirty buffers), so where both are above their
thresholds the larger one labels the VM: the network label needs the traffic to
exceed the dirty rate, the dirty-rate memory label the dirty rate to reach the
traffic.  `mixed` is a network-intensive VM whose busy vCPU works over a large
footprint.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Justified in docs/classifier.md with measurements of the benchmark VMs.
DEFAULT_THRESHOLDS = {
    # vCPU busy fraction above which a VM is cpu-intensive.
    'busy_cpu': 0.50,
    # Guest traffic (rx + tx) above which (and above its dirty rate) it is network-intensive.
    'network_mibps': 2.0,
    # Dirty rate above which it is memory(-write)-intensive, whatever the link.
    'dirty_mibps': 5.0,
    # Dirty rate over migration bandwidth above which it is write-intensive:
    # pre-copy took 1.2x post-copy's time at 0.2 and 2-3x at 0.8 on the test bed.
    'write_bandwidth_ratio': 0.25,
    # Used memory over configured memory above which a busy VM is memory-intensive.
    'memory_footprint_ratio': 0.35,
}

WORKLOAD_CLASSES = ('idle', 'cpu-intensive', 'memory-intensive', 'network-intensive', 'mixed')
ACCESS_CLASSES = ('read-intensive', 'write-intensive')


def merged_thresholds(overrides=None):
    """DEFAULT_THRESHOLDS updated with `overrides`; unknown keys are an error."""
    thresholds = dict(DEFAULT_THRESHOLDS)
    for key, value in (overrides or {}).items():
        if key not in thresholds:
            raise ValueError('unknown classifier threshold %r; known: %s' % (key, ', '.join(sorted(thresholds))))
        if value is None or value < 0:
            raise ValueError('classifier threshold %s must be a non-negative number, got %r' % (key, value))
        thresholds[key] = float(value)
    return thresholds


def _number(profile, key):
    value = profile.get(key)
    return float(value) if value is not None else 0.0


def footprint_ratio(profile):
    """Memory in use over configured memory (0 when unknown)."""
    size = _number(profile, 'memory_mib')
    used = profile.get('memory_used_mib')
    if used is None:
        used = profile.get('memory_rss_mib')
    if not size or used is None:
        return 0.0
    return min(1.0, float(used) / size)


def classify(profile, bandwidth_mibps, thresholds=None):
    """Return {'workload', 'access', 'labels', 'explanation'} for one profile."""
    if bandwidth_mibps is None or bandwidth_mibps <= 0:
        raise ValueError('bandwidth_mibps must be positive, got %r' % (bandwidth_mibps,))
    limits = merged_thresholds(thresholds)
    cpu = _number(profile, 'cpu_demand' if profile.get('cpu_demand') is not None else 'cpu_util')
    dirty = _number(profile, 'dirty_rate_mibps')
    network = _number(profile, 'net_rx_mibps') + _number(profile, 'net_tx_mibps')
    footprint = footprint_ratio(profile)

    labels = []
    if cpu >= limits['busy_cpu']:
        labels.append('cpu')
    busy_network = network >= limits['network_mibps'] and network > dirty
    if (dirty >= limits['dirty_mibps'] and not busy_network) or (
            'cpu' in labels and footprint >= limits['memory_footprint_ratio']):
        labels.append('memory')
    if busy_network:
        labels.append('network')

    if 'memory' in labels and 'network' in labels:
        workload = 'mixed'
    elif 'network' in labels:
        workload = 'network-intensive'
    elif 'memory' in labels:
        workload = 'memory-intensive'
    elif 'cpu' in labels:
        workload = 'cpu-intensive'
    else:
        # Nothing above a threshold: cheap to move by any method.
        workload = 'idle'

    write_ratio = dirty / bandwidth_mibps
    access = 'write-intensive' if write_ratio >= limits['write_bandwidth_ratio'] else 'read-intensive'
    explanation = ('%s and %s: vCPU wants %.0f%% of its time, dirty rate %.1f MiB/s (%.2f of %.0f MiB/s bandwidth), '
                   'network %.1f MiB/s, %.0f%% of memory in use'
                   % (workload, access, cpu * 100, dirty, write_ratio, bandwidth_mibps, network, footprint * 100))
    return {'workload': workload, 'access': access, 'labels': labels, 'explanation': explanation}
