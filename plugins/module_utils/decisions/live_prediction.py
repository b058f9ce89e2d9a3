# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Re-predict a running pre-copy from libvirt's live job statistics.

Pure Python, no libvirt: numbers in, numbers out (MiB, MiB/s, seconds).  The
model is the cost model's pre-copy loop (cost_model.py), started from where the
migration is instead of from a profile:

* The pass under way sends what it still has (`remaining`, QEMU's
  `memory_remaining`) at the measured rate (`memory_bps`).
* Each next pass is what the guest dirtied during the one before:
  ``min(what that pass sent, dirty_rate * its time)``; the dirty set cannot be
  larger than what was sent, which bounds it by the working set.
* Pre-copy stops (stop-and-copy) when a pass fits the downtime limit,
  ``pass / rate <= max_downtime``.  It does not converge when the dirty rate is
  at least the rate (unless what is left already fits), or when it needs more
  than `max_passes` further passes.
* Post-copy from now sends every page once: what remains, plus what the pass
  under way has already sent and the guest has dirtied again.

QEMU measures the dirty rate at the end of a pass (at the dirty-bitmap sync, at
most once a second) and reports 0 until then, so a dirty rate counts as measured
only from pass 2 on (`memory_iteration` >= 2).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

MIB = 1024.0 * 1024.0
DEFAULT_PAGE_SIZE = 4096
# As cost_model.DEFAULT_MAX_ROUNDS: past this many passes pre-copy is not converging in any useful sense.
DEFAULT_MAX_PASSES = 30
# The first pass whose statistics carry a measured dirty rate (QEMU reports 0 during pass 1).
FIRST_MEASURED_PASS = 2
# Evidence before a re-prediction is trusted: this many samples with a measured rate,
# spanning at least this long (QEMU's rate is over its last 100 ms; one sample is noise).
MIN_RATE_SAMPLES = 4
MIN_WATCHED_S = 1.0

LivePrediction = collections.namedtuple('LivePrediction', [
    'precopy_s',       # pre-copy from now until the VM runs on the destination; None: does not converge
    'precopy_passes',  # further passes after the one under way; None: does not converge
    'postcopy_s',      # switching to post-copy now: every page not on the destination sent once
    'rate_mibps',      # measured transfer rate (libvirt memory_bps)
    'dirty_mibps',     # measured dirty rate (memory_dirty_rate x memory_page_size)
    'remaining_mib',   # still to send in the pass under way
    'iteration',       # the pass under way
])


def dirty_mibps(dirty_pages_per_s, page_size=None):
    """libvirt's memory_dirty_rate (pages/s) in MiB/s; None when unknown."""
    if dirty_pages_per_s is None:
        return None
    return dirty_pages_per_s * float(page_size or DEFAULT_PAGE_SIZE) / MIB


def repredict(remaining_mib, memory_bps, dirty_pages_per_s, iteration, max_downtime_ms, page_size=None,
              pass_mib=None, max_passes=DEFAULT_MAX_PASSES):
    """Pre-copy and post-copy from here, as a LivePrediction; None without a rate or a remainder to go on.

    `memory_bps` is bytes/s, `dirty_pages_per_s` pages of `page_size` bytes (default 4096) per
    second, `pass_mib` the size of the pass under way (None: as much as remains of it).
    """
    if remaining_mib is None or remaining_mib < 0 or not memory_bps or memory_bps <= 0:
        return None
    if max_downtime_ms is None or max_downtime_ms <= 0:
        return None
    rate = memory_bps / MIB
    dirty = dirty_mibps(dirty_pages_per_s or 0, page_size)
    downtime_s = max_downtime_ms / 1000.0
    pass_size = max(pass_mib or 0.0, remaining_mib)
    pass_s = pass_size / rate
    # Already sent in this pass and dirtied again since: post-copy must send it too.
    redirtied = min(pass_size - remaining_mib, dirty * (pass_size - remaining_mib) / rate)
    postcopy_s = (remaining_mib + redirtied) / rate

    precopy_s = remaining_mib / rate
    passes = 0
    while True:
        following = min(pass_size, dirty * pass_s)
        if following / rate <= downtime_s:
            precopy_s += following / rate
            break
        if dirty >= rate or passes >= max_passes:
            precopy_s = passes = None
            break
        pass_size, pass_s = following, following / rate
        precopy_s += pass_s
        passes += 1
    return LivePrediction(precopy_s, passes, postcopy_s, rate, dirty, remaining_mib, iteration)


def _rated(history):
    return [s for s in history if getattr(s, 'memory_bps', None) and s.remaining_mib is not None]


def from_history(history, max_downtime_ms, min_samples=MIN_RATE_SAMPLES, min_watched_s=MIN_WATCHED_S):
    """Re-predict from the latest sample of `history` (migration_monitor.Progress), or None on too little evidence.

    Evidence: the latest sample is of pass FIRST_MEASURED_PASS or later (its dirty rate is
    measured), and at least `min_samples` samples with a rate span `min_watched_s`.  The rate
    is the median of the last `min_samples`, which steadies QEMU's 100 ms measurement.
    """
    rated = _rated(history)
    if len(rated) < max(1, min_samples):
        return None
    latest = rated[-1]
    if latest.iteration is None or latest.iteration < FIRST_MEASURED_PASS:
        return None
    if latest.elapsed_s - rated[0].elapsed_s < min_watched_s:
        return None
    rates = sorted(s.memory_bps for s in rated[-max(1, min_samples):])
    middle = len(rates) // 2
    rate = rates[middle] if len(rates) % 2 else (rates[middle - 1] + rates[middle]) / 2.0
    pass_mib = max(s.remaining_mib for s in history
                   if s.iteration == latest.iteration and s.remaining_mib is not None)
    return repredict(latest.remaining_mib, rate, latest.dirty_rate, latest.iteration, max_downtime_ms,
                     page_size=latest.page_size, pass_mib=pass_mib)


def postcopy_sooner(prediction, margin, min_gain_s):
    """True when post-copy from now beats pre-copy by more than `margin` (a fraction) and `min_gain_s`.

    A pre-copy that does not converge is always beaten.
    """
    if prediction.precopy_s is None:
        return True
    gain = prediction.precopy_s - prediction.postcopy_s
    return prediction.precopy_s > prediction.postcopy_s * (1.0 + margin) and gain > min_gain_s


def describe(prediction):
    """'pre-copy 41.0 s more (dirty 38 MiB/s vs 45 MiB/s sent), post-copy 3.1 s'."""
    if prediction.precopy_s is None:
        precopy = 'pre-copy does not converge'
    else:
        precopy = 'pre-copy %.1f s more' % prediction.precopy_s
    return '%s (dirty %.0f MiB/s vs %.0f MiB/s sent), post-copy %.1f s' % (
        precopy, prediction.dirty_mibps, prediction.rate_mibps, prediction.postcopy_s)


def as_dict(prediction):
    """For the runner's result: seconds and MiB/s rounded for reading, None where unknown."""
    if prediction is None:
        return None

    def rounded(value, digits):
        return None if value is None else round(value, digits)

    return {
        'precopy_s': rounded(prediction.precopy_s, 2),
        'precopy_passes': prediction.precopy_passes,
        'postcopy_s': rounded(prediction.postcopy_s, 2),
        'rate_mibps': rounded(prediction.rate_mibps, 1),
        'dirty_mibps': rounded(prediction.dirty_mibps, 1),
        'remaining_mib': rounded(prediction.remaining_mib, 1),
        'pass': prediction.iteration,
    }
