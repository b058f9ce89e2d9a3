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

Sample = collections.namedtuple('Sample', [
    'sent_mib',            # memory sent, every pass and the post-copy phase
    'total_s',             # the migration's time, first byte to last plus both ends' fixed costs
    'pause_ms',            # the switch-over pause libvirt measured
    'cap_mibps',           # the bandwidth cap it ran with (0: none)
    'method',              # the method used: precopy, postcopy, hybrid, precopy+postcopy
    'downtime_target_ms',  # the downtime limit QEMU was given (pre-copy), None if unknown
    'transfer_s',          # QEMU's part of total_s (its set-up and the transfer), None if unknown
    'arrival_s',           # when the destination said the guest runs there (of total_s), None if unknown
    'overlapped',          # other migrations of the host ran while it did (an evacuation's): its job time is shared
    'streams',             # the most migrations from the source at once while it ran, itself included; None: unknown
    'source_busy',         # the source's CPU time busy (0-1) measured before it started; None: unknown
])
Sample.__new__.__defaults__ = (0, 'precopy', None, None, None, False, None, None)

# Two loads of the source this close (fractions of its CPU time busy) are one condition.
LOAD_TOLERANCE = 0.2


def streams_of(sample):
    """How many migrations ran at once with `sample`: recorded, else 1 for one that overlapped none; None."""
    if sample.streams:
        return sample.streams
    return None if sample.overlapped else 1


def alike(samples, streams=1, source_busy=None):
    """The `samples` taken as this migration will run: as many at once, and (where `source_busy` is
    known) the source as busy within LOAD_TOLERANCE.  Under TCG (and for any CPU-bound stream) a busy
    source moves each stream slower, and several streams share the source's CPUs and the link.
    """
    return [s for s in samples if streams_of(s) == streams and (
        source_busy is None or (s.source_busy is not None and abs(s.source_busy - source_busy) <= LOAD_TOLERANCE))]


def describe_condition(streams, source_busy):
    """'alone, the source 40 % busy' and the like."""
    text = 'alone' if streams == 1 else '%d at once' % streams
    if source_busy is not None:
        text += ', the source %.0f %% busy' % (100 * source_busy)
    return text


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


def median(values):
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def _split_samples(samples):
    """The samples that know QEMU's part (`transfer_s`) of libvirt's job."""
    return [s for s in samples if s.transfer_s and s.sent_mib > 0 and s.total_s >= s.transfer_s]


def fitted_setup(samples):
    """{'setup_s', 'samples'}: QEMU's set-up (before the first byte) fitted from QEMU's transfers; None.

    None until the samples differ enough in size to tell the set-up from the rate (fit()).
    The set-up is the hosts' and QEMU's, not the guest's: one fitted over many hosts' migrations
    serves a pair whose own migrations are too alike in size.
    """
    split = _split_samples(samples)
    fitted = fit([Sample(s.sent_mib, s.transfer_s, s.pause_ms) for s in split])
    if not fitted:
        return None
    return {'setup_s': fitted['fixed_s'], 'samples': fitted['samples']}


def learn(samples, setup_s, setup_from='the default', streams=None, source_busy=None):
    """{'rate_mibps', 'fixed_s' (None: not told apart), 'samples', 'how', 'finish_s' (where measured: the part of
    fixed_s after QEMU's transfer)} from finished migrations; None.

    Where a sample knows QEMU's part (`transfer_s`) the rate comes from QEMU's transfers alone
    (fitted with its set-up when sizes differ enough, else with the set-up `setup_s`, which came
    from `setup_from`), and the rest of libvirt's job (the destination's finish, the source's
    confirm) is measured per migration: fixed = set-up + median(total - transfer).  Otherwise
    total = fixed + sent / rate is fitted.

    With `streams` (how many migrations will run at once) the rate is learned only from the samples
    taken so (alike(), with `source_busy`), and None is returned without any: the caller then falls
    back.  The finish (libvirt's job after QEMU's transfer) comes from the migrations whose jobs
    overlapped no other where there are any, under any condition: an evacuation's jobs end together
    (the source's confirms), which says nothing of one migration's, and the tail that an evacuation
    leaves off the critical path (tail_s) is learned from the same lone jobs.
    """
    chosen = taken(samples, streams, source_busy)
    if streams is not None:
        if not chosen:
            return None
        learned = _learn(chosen, setup_s, setup_from, [s for s in samples if not s.overlapped])
        if learned:
            learned['how'] += '; ' + describe_condition(streams, source_busy)
        return learned
    return _learn(chosen, setup_s, setup_from)


def taken(samples, streams=None, source_busy=None):
    """The samples learn() learns a rate from: with `streams`, those taken under that condition (alike());
    without, those that ran alone where there are any (a migration that overlapped others, an evacuation's or
    several at once, shared the link and the host: its rate and its finish are one stream's only where it ran
    alone), else all."""
    if streams is not None:
        return alike(samples, streams, source_busy)
    return [s for s in samples if not s.overlapped] or samples


def _learn(samples, setup_s, setup_from, finish_from=None):
    split = _split_samples(samples)
    if split:
        finish = median([s.total_s - s.transfer_s for s in (_split_samples(finish_from or []) or split)])
        as_transfer = [Sample(s.sent_mib, s.transfer_s, s.pause_ms) for s in split]
        fitted = fit(as_transfer)
        if fitted:
            return {'rate_mibps': fitted['rate_mibps'], 'fixed_s': fitted['fixed_s'] + finish, 'finish_s': finish,
                    'samples': len(split), 'how': 'rate and set-up fitted, finish measured'}
        single = rate_given_fixed(as_transfer, setup_s)
        if single:
            return {'rate_mibps': single['rate_mibps'], 'fixed_s': setup_s + finish, 'finish_s': finish,
                    'samples': len(split), 'how': 'set-up from %s, finish measured' % setup_from}
    fitted = fit(samples)
    if fitted:
        return {'rate_mibps': fitted['rate_mibps'], 'fixed_s': fitted['fixed_s'], 'samples': fitted['samples'],
                'how': 'rate and fixed cost fitted'}
    single = rate_given_fixed(samples, setup_s)
    if single:
        return {'rate_mibps': single['rate_mibps'], 'fixed_s': None, 'samples': single['samples'],
                'how': 'fixed cost not yet told apart'}
    return None


def rate_holding(samples, setup_s, fixed_s):
    """{'rate_mibps', 'samples', 'how'} of `samples` with the fixed costs another fit found held: QEMU's set-up
    `setup_s` off each transfer where a sample knows it, else the fixed cost `fixed_s` off libvirt's job; None
    without any.

    For a subset of the migrations that taught a rate (one method's, of those taken()): a fit of its own would
    find its own set-up too, which a prediction at the fixed cost of all does not use; from a few alike sizes it
    can find a rate far off (four pre-copies of 82-162 MiB on a saturated source: 510 MiB/s and 2.4 s of set-up,
    where at the set-up of all, 0.40 s, they moved 30-71 MiB/s).
    """
    split = _split_samples(samples)
    if split:
        held = rate_given_fixed([Sample(s.sent_mib, s.transfer_s, s.pause_ms) for s in split], setup_s)
        how = 'its set-up held at %.2f s' % setup_s
    else:
        held = rate_given_fixed(samples, fixed_s)
        how = 'its fixed cost held at %.2f s' % fixed_s
    return dict(held, how=how) if held else None


def at_cap(samples, cap_mibps):
    """The samples taken with the bandwidth cap `cap_mibps` (0 or None: uncapped)."""
    return [s for s in samples if (s.cap_mibps or 0) == (cap_mibps or 0)]


def rate_given_fixed(samples, fixed_s):
    """{'rate_mibps', 'samples'}: the median rate once a known fixed cost is taken off each; None without any.

    For samples too few or too alike for fit(): the fixed cost then comes from elsewhere.
    """
    rates = [s.sent_mib / (s.total_s - fixed_s) for s in samples if s.sent_mib > 0 and s.total_s > fixed_s]
    if not rates:
        return None
    return {'rate_mibps': median(rates), 'samples': len(rates)}


def tail_s(samples):
    """{'tail_s', 'samples'}: the median time from the guest running on the destination to libvirt's return; None.

    The source's QEMU exits and libvirt confirms the migration then: an evacuation need not wait
    for it to start the next migration (arrival.py).  Only migrations that ran alone: one that
    overlapped others (an evacuation's) finished later for sharing the host.
    """
    tails = [s.total_s - s.arrival_s for s in samples
             if s.arrival_s is not None and s.total_s >= s.arrival_s and not s.overlapped]
    if not tails:
        return None
    return {'tail_s': median(tails), 'samples': len(tails)}


# A switch at the start (post-copy) and one after pre-copy passes (hybrid, a pre-copy switched) pause
# differently: the later one syncs the dirty bitmap and sends the discard of every page dirtied since.
EARLY_SWITCH = ('postcopy',)
LATE_SWITCH = ('hybrid', 'precopy+postcopy')


def switchover_ms(samples, methods=EARLY_SWITCH):
    """The switch-over pause of migrations that used one of `methods`, p90; None without any."""
    return percentile([s.pause_ms for s in samples if s.method in methods and s.pause_ms is not None], 0.9)


# Fewer pre-copy pauses than this say little about the worst: the default is kept as a floor.
MIN_PAUSES = 5


def precopy_overshoot(samples, default=None):
    """(how far pre-copy's pause ran past the limit QEMU was given: pause / limit, p90, at least 1; count).

    QEMU's downtime limit is a target computed from its own rate estimate, not a promise.
    With fewer than MIN_PAUSES pauses the `default` is a floor.  (None, 0) without any.
    """
    ratios = [s.pause_ms / float(s.downtime_target_ms) for s in samples
              if s.method == 'precopy' and s.pause_ms is not None and s.downtime_target_ms]
    worst = percentile(ratios, 0.9)
    if worst is None:
        return None, 0
    if len(ratios) < MIN_PAUSES and default:
        worst = max(worst, default)
    return max(1.0, worst), len(ratios)
