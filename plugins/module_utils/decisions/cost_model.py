# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Predict pre-copy, post-copy and hybrid migrations of one VM.

Pure Python, no libvirt: the inputs are numbers from a profile, the outputs are
numbers a reader can check by hand.  Units: MiB, MiB/s, seconds, milliseconds.

The model (Clark et al. 2005 for pre-copy; Hines et al. 2009 for post-copy):

* What must cross the link is the memory the VM has touched (QEMU skips zero
  pages), ``transfer_mib``, not its configured size.
* Pre-copy sends ``transfer_mib`` in round 0, then in round i the pages dirtied
  during round i-1: ``min(wws, dirty_rate * t(i-1))``.  It stops (stop-and-copy)
  when the remainder and the device state fit in the allowed downtime,
  ``switchover + remaining / bandwidth <= max_downtime``: it converges when the
  dirty rate is below the bandwidth, or when the writable working set itself
  fits in the downtime.
* Post-copy switches at once: the VM runs on the destination, every page is
  sent exactly once, and pages the guest touches before they arrive fault over
  the link ("exposure": the time the VM depends on both hosts).
* Hybrid does round 0 of pre-copy, then switches: it sends ``transfer_mib``
  plus what round 0 left dirty, and is exposed only while that remainder moves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import math

METHODS = ('precopy', 'hybrid', 'postcopy')

# Calibrated on the test bed (QEMU 10, TCG, a 50 MiB/s link; the benchmark's
# calibration.json, docs/evaluation.md): a migration's fixed cost is 0.33-0.35 s
# (post-copy 0.326 s, pre-copy 0.349 s, 32 runs) and it moves memory at 0.99-1.0
# of the bandwidth, so the bandwidth is taken as it is; a post-copy switch-over
# stops the guest 3-6 ms.
# A post-copy migration of a guest writing 40 MiB/s served 7094 page faults
# in its 2 s of exposure, so a fault costs well under 0.3 ms there; 0.1 ms
# (a loopback round trip plus a page) until the benchmark calibrates it.
DEFAULT_SETUP_S = 0.34
DEFAULT_SWITCHOVER_MS = 5.0
DEFAULT_FAULT_LATENCY_MS = 0.1
# QEMU has no round limit; past this many rounds pre-copy is not converging
# in any useful sense (twice as many with auto-converge, which needs passes to act).
DEFAULT_MAX_ROUNDS = 30
# QEMU's auto-converge defaults (throttle-trigger-threshold 50 %, cpu-throttle-initial 20 %,
# cpu-throttle-increment 10 %, at most 99 %).
THROTTLE_TRIGGER = 0.5
THROTTLE_INITIAL = 0.2
THROTTLE_INCREMENT = 0.1
THROTTLE_MAX = 0.99

MigrationInputs = collections.namedtuple('MigrationInputs', [
    'transfer_mib',        # non-zero memory that must cross the link
    'dirty_rate_mibps',    # page dirty rate
    'wws_mib',             # writable working set: bound on what one round can dirty
    'touch_rate_mibps',    # memory the guest touches (reads and writes): faults in post-copy
    'bandwidth_mibps',     # effective migration bandwidth
    'max_downtime_ms',     # allowed stop-and-copy pause
    'cpu_share',           # the vCPU time the guest wants (0-1 per vCPU): a throttle below 1 - share costs it nothing
])
MigrationInputs.__new__.__defaults__ = (1.0,)

Prediction = collections.namedtuple('Prediction', [
    'method',
    'converges',           # finishes at all under the downtime limit
    'total_s',             # None when it does not converge
    'downtime_ms',
    'sent_mib',
    'precopy_rounds',      # passes over memory before the switch or the stop
    'exposure_s',          # time running on the destination with memory on the source
    'faulted_mib',         # memory the guest must fault in over the link
    'slowdown',            # post-copy: fraction of the exposure spent waiting on faults; pre-copy with
                           # auto-converge: the fraction of the guest's work the throttle cost over the migration
])


def _check(inputs):
    if inputs.bandwidth_mibps <= 0:
        raise ValueError('bandwidth_mibps must be positive, got %r' % (inputs.bandwidth_mibps,))
    if inputs.max_downtime_ms <= 0:
        raise ValueError('max_downtime_ms must be positive, got %r' % (inputs.max_downtime_ms,))
    for field in ('transfer_mib', 'dirty_rate_mibps', 'wws_mib', 'touch_rate_mibps'):
        if getattr(inputs, field) < 0:
            raise ValueError('%s must not be negative, got %r' % (field, getattr(inputs, field)))


def _postcopy_faults(inputs, remaining_mib, exposure_s, fault_latency_ms):
    """Memory faulted in over the link while `remaining_mib` is pushed in the background.

    The guest touches its working set at touch_rate; on average half of what is
    still on the source when touched has not been pushed yet.
    """
    touched = min(inputs.wws_mib, remaining_mib, inputs.touch_rate_mibps * exposure_s)
    faulted = touched / 2.0
    if exposure_s <= 0:
        return faulted, 0.0
    pages = faulted * 256.0
    stalled_s = pages * fault_latency_ms / 1000.0
    return faulted, min(1.0, stalled_s / exposure_s)


def next_throttle(throttle, high_passes, initial=THROTTLE_INITIAL):
    """QEMU's auto-converge after a pass that dirtied more than half what it sent: (throttle, high passes).

    Every second such pass it throttles the vCPUs, first by `initial` (QEMU's default
    THROTTLE_INITIAL), then by THROTTLE_INCREMENT more, up to THROTTLE_MAX.
    """
    high_passes += 1
    if high_passes < 2:
        return throttle, high_passes
    throttle = initial if throttle == 0 else min(THROTTLE_MAX, throttle + THROTTLE_INCREMENT)
    return throttle, 0


def served(throttle, cpu_share):
    """The fraction of the guest's work (and so of its dirtying) that runs under a vCPU `throttle`.

    QEMU's throttle puts the vCPUs to sleep `throttle` of the time; a guest that wants
    `cpu_share` of its vCPUs (a paced writer: little) loses nothing until 1 - throttle
    falls below that share.  Seen on the test bed: a 40 MiB/s writer using 8 % of its vCPU
    dirtied as fast at a 90 % throttle as at none, and a tenth as fast at 99 %.
    """
    if cpu_share <= 0:
        return 1.0
    return min(1.0, (1.0 - throttle) / cpu_share)


def throttle_to_converge(inputs):
    """The vCPU throttle (0-1) under which the guest dirties at most half the link: QEMU's start for auto-converge.

    QEMU starts at THROTTLE_INITIAL and adds THROTTLE_INCREMENT every second pass that
    dirtied more than half it sent: a guest whose work needs little CPU is only slowed near
    the end, after minutes of passes.  Starting where the throttle bites converges in a few
    passes.  THROTTLE_INITIAL when no throttle is needed, THROTTLE_MAX when even that is not enough.
    """
    share = inputs.cpu_share if inputs.cpu_share > 0 else 1.0
    if inputs.dirty_rate_mibps <= THROTTLE_TRIGGER * inputs.bandwidth_mibps:
        return THROTTLE_INITIAL
    needed = 1.0 - share * THROTTLE_TRIGGER * inputs.bandwidth_mibps / inputs.dirty_rate_mibps
    return min(THROTTLE_MAX, max(THROTTLE_INITIAL, math.ceil(needed * 100.0) / 100.0))


def predict_precopy(inputs, setup_s=DEFAULT_SETUP_S, switchover_ms=DEFAULT_SWITCHOVER_MS,
                    max_rounds=DEFAULT_MAX_ROUNDS, auto_converge=False, throttle_initial=THROTTLE_INITIAL):
    """Pre-copy; with `auto_converge` QEMU throttles the guest's vCPUs as passes fail to shrink (from
    `throttle_initial`), which cuts its dirtying by served(): `slowdown` is then the mean fraction of
    the guest's work lost over the migration."""
    _check(inputs)
    bandwidth = inputs.bandwidth_mibps
    downtime_s = inputs.max_downtime_ms / 1000.0
    elapsed = setup_s
    sent = 0.0
    remaining = inputs.transfer_mib
    rounds = 0
    throttle, high_passes, lost_s = 0.0, 0, 0.0
    limit = max_rounds * 2 if auto_converge else max_rounds
    while rounds < limit:
        # Stop-and-copy: what is left, and the device state, go while the guest is paused.
        pause = switchover_ms / 1000.0 + remaining / bandwidth
        if pause <= downtime_s:
            sent += remaining
            total = elapsed + pause
            return Prediction('precopy', True, total, pause * 1000.0, sent, rounds, 0.0, 0.0,
                              lost_s / total if total > 0 else 0.0)
        round_s = remaining / bandwidth
        elapsed += round_s
        sent += remaining
        rounds += 1
        share = served(throttle, inputs.cpu_share)
        lost_s += (1.0 - share) * round_s
        dirtied = min(inputs.wws_mib, inputs.dirty_rate_mibps * share * round_s)
        if auto_converge and dirtied > THROTTLE_TRIGGER * remaining:
            throttle, high_passes = next_throttle(throttle, high_passes, throttle_initial)
        remaining = dirtied
    return Prediction('precopy', False, None, None, None, rounds, 0.0, 0.0, 0.0)


def predict_postcopy(inputs, setup_s=DEFAULT_SETUP_S, switchover_ms=DEFAULT_SWITCHOVER_MS,
                     fault_latency_ms=DEFAULT_FAULT_LATENCY_MS):
    _check(inputs)
    exposure = inputs.transfer_mib / inputs.bandwidth_mibps
    faulted, slowdown = _postcopy_faults(inputs, inputs.transfer_mib, exposure, fault_latency_ms)
    return Prediction('postcopy', True, setup_s + switchover_ms / 1000.0 + exposure, switchover_ms,
                      inputs.transfer_mib, 0, exposure, faulted, slowdown)


def predict_hybrid(inputs, setup_s=DEFAULT_SETUP_S, switchover_ms=DEFAULT_SWITCHOVER_MS,
                   fault_latency_ms=DEFAULT_FAULT_LATENCY_MS):
    _check(inputs)
    first_pass = inputs.transfer_mib / inputs.bandwidth_mibps
    left_dirty = min(inputs.wws_mib, inputs.transfer_mib, inputs.dirty_rate_mibps * first_pass)
    exposure = left_dirty / inputs.bandwidth_mibps
    faulted, slowdown = _postcopy_faults(inputs, left_dirty, exposure, fault_latency_ms)
    total = setup_s + first_pass + switchover_ms / 1000.0 + exposure
    return Prediction('hybrid', True, total, switchover_ms, inputs.transfer_mib + left_dirty, 1,
                      exposure, faulted, slowdown)


def predict_all(inputs, **overheads):
    """Predictions for every method, keyed by method name."""
    setup_s = overheads.get('setup_s', DEFAULT_SETUP_S)
    switchover_ms = overheads.get('switchover_ms', DEFAULT_SWITCHOVER_MS)
    # A switch after pre-copy passes (hybrid) pauses longer than one at the start: QEMU syncs the
    # dirty bitmap and sends the discard of every page dirtied since.
    hybrid_switchover_ms = overheads.get('hybrid_switchover_ms') or switchover_ms
    fault_latency_ms = overheads.get('fault_latency_ms', DEFAULT_FAULT_LATENCY_MS)
    max_rounds = overheads.get('max_rounds', DEFAULT_MAX_ROUNDS)
    # A method whose own rate was measured (overheads['method_rates']) is predicted at it.
    method_rates = overheads.get('method_rates') or {}

    def at_its_rate(method):
        rate = method_rates.get(method)
        return inputs._replace(bandwidth_mibps=float(rate)) if rate else inputs

    return {
        'precopy': predict_precopy(at_its_rate('precopy'), setup_s, switchover_ms, max_rounds,
                                   overheads.get('auto_converge', False),
                                   overheads.get('throttle_initial', THROTTLE_INITIAL)),
        'hybrid': predict_hybrid(at_its_rate('hybrid'), setup_s, hybrid_switchover_ms, fault_latency_ms),
        'postcopy': predict_postcopy(at_its_rate('postcopy'), setup_s, switchover_ms, fault_latency_ms),
    }


def as_dict(prediction):
    """A prediction as plain data (for module results), numbers rounded for reading."""
    result = {}
    for field, value in zip(prediction._fields, prediction):
        if isinstance(value, float):
            value = None if math.isinf(value) else round(value, 4)
        result[field] = value
    return result
