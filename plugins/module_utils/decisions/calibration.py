# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What migrations between two hosts really achieve, learned from migrations that ran.

Pure Python, no libvirt, no files (calibration_store keeps the samples).  One
sample is one finished migration: the memory it sent, the time it took and the
pause it caused.  The model the cost model needs is

    total_s = fixed_s + sent_mib / rate_mibps

(fixed_s: everything before the first byte and after the last), fitted by least
squares once the samples differ enough in size to tell the two apart; and the
switch-over pause, taken high (the 90th percentile) because a pause over the
limit is what the operator must not get.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import math

Sample = collections.namedtuple('Sample', ['sent_mib', 'total_s', 'pause_ms'])

# Fewer samples than this, or sizes closer than MIN_SPREAD (largest / smallest), tell
# the fixed cost and the rate apart no better than a guess: nothing is learned yet.
MIN_SAMPLES = 2
MIN_SPREAD = 1.5


def percentile(values, fraction):
    """The value below which `fraction` of `values` lie (nearest rank); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = int(math.ceil(fraction * len(ordered)))
    return ordered[max(0, min(len(ordered), rank) - 1)]


def fit(samples):
    """{'rate_mibps', 'fixed_s', 'pause_ms', 'samples'} learned from `samples`, or None when they cannot tell.

    None also when the fit makes no physical sense (a rate that is not positive, a
    negative fixed cost): the caller then keeps its other source of the figures.
    """
    usable = [s for s in samples if s.sent_mib > 0 and s.total_s > 0]
    if len(usable) < MIN_SAMPLES:
        return None
    sizes = [s.sent_mib for s in usable]
    if max(sizes) < MIN_SPREAD * min(sizes):
        return None
    count = float(len(usable))
    mean_x = sum(sizes) / count
    mean_y = sum(s.total_s for s in usable) / count
    sxx = sum((x - mean_x) ** 2 for x in sizes)
    sxy = sum((s.sent_mib - mean_x) * (s.total_s - mean_y) for s in usable)
    seconds_per_mib = sxy / sxx
    fixed_s = mean_y - seconds_per_mib * mean_x
    if seconds_per_mib <= 0 or fixed_s < 0:
        return None
    pauses = [s.pause_ms for s in usable if s.pause_ms is not None]
    return {
        'rate_mibps': 1.0 / seconds_per_mib,
        'fixed_s': fixed_s,
        'pause_ms': percentile(pauses, 0.9),
        'samples': len(usable),
    }
