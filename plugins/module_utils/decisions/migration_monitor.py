# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions taken while a migration runs, as small pure functions.

Pure Python, no libvirt (after Nova's nova/virt/libvirt/migration.py): the
runner feeds them what it observed and does what they say.

* Post-copy switches as soon as the migration runs (iteration 1).
* Hybrid (pre-copy passes, then post-copy) decides when the first full pass is
  done, i.e. when iteration 2 begins (`hybrid_decision`): it switches unless the
  re-prediction from the live statistics (live_prediction.py) says pre-copy from
  here finishes within LIVE_MARGIN of switching; then it keeps pre-copying,
  watched like a pre-copy, and may finish without a switch.  Without statistics
  to re-predict from it switches, as it always did.
* Pre-copy is watched.  While post-copy is possible it is re-predicted every
  poll from the live statistics (`live_action`): once there is enough evidence,
  it switches to post-copy as soon as pre-copy is predicted not to converge, or
  post-copy from now to finish sooner by more than LIVE_MARGIN (and
  LIVE_MIN_GAIN_S).  The backstop, with or without post-copy: each pass must
  send what was dirty when it began, its size; when the sizes have made no new
  low (by 5 %) for two passes, or the pre-copy phase has used up its time, the
  migration is not converging.  Then it switches to post-copy if that is
  possible, and is otherwise aborted, which leaves the VM running on the source.
  A re-prediction alone never aborts: without post-copy a pre-copy runs until
  the backstop says otherwise (auto-converge may still bring it home; at its
  maximum throttle QEMU gets the operator's whole downtime limit once, before
  the stall is final: last_resort_downtime_ms).
* A link that carries no data for `link_timeout_s` is down, not slow: pre-copy
  is then aborted (never switched: post-copy over a dead link pauses the VM on
  both hosts), and post-copy is paused so that it can be recovered.
* Once post-copy runs nothing is aborted: the source no longer has a complete
  copy, and an abort would pause the VM on both hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import live_prediction, policy

SWITCH_TO_POSTCOPY = 'switch-to-postcopy'
ABORT = 'abort'
# A third kind of action, for policies that raise the downtime limit as pre-copy stalls.
SetDowntime = collections.namedtuple('SetDowntime', ['ms'])

# The pass at whose start each method takes its switch decision (post-copy: always switch).
SWITCH_ITERATION = {'postcopy': 1, 'hybrid': 2}

# Pre-copy is kept while post-copy from now would not finish sooner by more than this
# fraction: the collection's tolerance when it chooses a method (policy.py), a less
# exposed method within 5 % is kept.  Where a failed post-copy cannot be resumed, the
# wider UNRECOVERABLE_MARGIN, as policy does.
LIVE_MARGIN = policy.DEFAULT_TOLERANCE
# ... and by more than this many seconds: near the end both predictions are small and 5 %
# of them is within the noise of one 100 ms rate measurement; a switch costs a
# switch-over and leaves the VM exposed, which is not worth less than a second.
LIVE_MIN_GAIN_S = 1.0
UNRECOVERABLE_MARGIN = policy.UNRECOVERABLE_TOLERANCE
# The re-prediction acts only while the link visibly moves data: more sent in the latest
# sample than in one this long before.  A stalled TCP stream can leave QEMU's rate at its
# last value, and post-copy over a dead link would pause the VM on both hosts.
LIVE_LINK_WINDOW_S = 1.0

# Passes without a new low in pass size before pre-copy counts as stalled.
DEFAULT_STALL_PASSES = 2
# Passes before stall detection starts: the first passes are large by nature.
MIN_PASSES_BEFORE_STALL = 2
# A pass must be this much smaller than every earlier one to count as progress:
# a dirty set capped by the working set wobbles around the same size.
PROGRESS_FRACTION = 0.95

# Seconds without a byte sent before the link counts as down.
DEFAULT_LINK_TIMEOUT_S = 10

# One look at the job statistics.  The last four are libvirt's memory_bps (bytes/s),
# memory_dirty_rate (pages/s), memory_page_size (bytes) and auto_converge_throttle (%),
# None where not known.
Progress = collections.namedtuple('Progress', ['elapsed_s', 'iteration', 'remaining_mib', 'processed_mib',
                                               'memory_bps', 'dirty_rate', 'page_size', 'throttle'])
Progress.__new__.__defaults__ = (None, None, None, None)
MIB = live_prediction.MIB

# QEMU's auto-converge throttles vCPUs up to 99 %: until then a pre-copy that has stopped shrinking
# is still being made to converge.
MAX_THROTTLE_PERCENT = 99


def throttle_exhausted(history, stall_passes=DEFAULT_STALL_PASSES):
    """Whether auto-converge has had its say: the throttle is at its maximum and the passes since stalled too.

    A throttle acts on the passes after it is set (QEMU sets it as a pass begins): the passes
    before say nothing about whether it is enough.
    """
    at_max = [i for i, s in enumerate(history) if s.throttle is not None and s.throttle >= MAX_THROTTLE_PERCENT]
    return bool(at_max) and precopy_stalled(history[at_max[0]:], stall_passes)


def last_resort_downtime_ms(history, target_ms, limit_ms, stall_passes=DEFAULT_STALL_PASSES):
    """The operator's whole limit for QEMU, once auto-converge is spent; None where it would not help.

    Pre-copy is given a target below the operator's limit (decisions.rates: the limit over the
    pause's learned overshoot).  At the throttle's maximum the vCPUs run in short slices (QEMU:
    10 ms in every second at 99 %), each writing at full speed, so the passes hover at what the
    slices they span wrote and stop shrinking near QEMU's threshold, the downtime it was given
    times its rate.  Giving QEMU the operator's limit instead is the field's last resort before
    giving up (Proxmox raises the downtime, Nova steps it up): only where it is above the target,
    and where the smallest of the last `stall_passes` passes fits in it at the rate QEMU measures.
    """
    if not limit_ms or not target_ms or limit_ms <= target_ms:
        return None
    rates = [s.memory_bps for s in history if s.memory_bps]
    sizes = pass_sizes(history)
    recent = sorted(sizes)[-stall_passes:]
    if not rates or not recent:
        return None
    smallest = min(sizes[i] for i in recent)
    if smallest > rates[-1] / MIB * limit_ms / 1000.0:
        return None
    return int(limit_ms)


def switch_due(method, iteration):
    """Whether a post-copy or hybrid migration should switch now, at the start of pass `iteration`."""
    at = SWITCH_ITERATION.get(method)
    return at is not None and iteration >= at


def pass_sizes(history):
    """{iteration: memory remaining when that pass began}, the most seen during the pass.

    QEMU counts as remaining what was dirty at the pass's start, less what the
    pass has sent so far; the first sample of a pass is closest to its size.
    """
    sizes = {}
    for sample in history:
        if sample.iteration < 1 or sample.remaining_mib is None:
            continue
        sizes[sample.iteration] = max(sizes.get(sample.iteration, 0.0), sample.remaining_mib)
    return sizes


def precopy_stalled(history, stall_passes=DEFAULT_STALL_PASSES):
    """True when none of the last `stall_passes` passes was smaller (by 5 %) than every earlier one."""
    sizes = pass_sizes(history)
    passes = sorted(sizes)
    if len(passes) < MIN_PASSES_BEFORE_STALL + stall_passes:
        return False
    earlier = min(sizes[i] for i in passes[:-stall_passes])
    recent = min(sizes[i] for i in passes[-stall_passes:])
    return recent > PROGRESS_FRACTION * earlier


def link_stalled(history, now_s, link_timeout_s=DEFAULT_LINK_TIMEOUT_S):
    """True when the samples of the last `link_timeout_s` seconds show no byte sent.

    Needs a sample at least `link_timeout_s` old, so a migration that has just
    started (or a gap in sampling) is never taken for a dead link.
    """
    known = [s for s in history if s.processed_mib is not None]
    if not known or now_s - known[0].elapsed_s < link_timeout_s:
        return False
    window_start = now_s - link_timeout_s
    before = [s for s in known if s.elapsed_s <= window_start]
    recent = [s for s in known if s.elapsed_s > window_start]
    if not before or not recent:
        return False
    return all(s.processed_mib <= before[-1].processed_mib for s in recent)


def link_moving(history, window_s=LIVE_LINK_WINDOW_S):
    """True when the latest sample shows more sent than the last sample at least `window_s` older."""
    known = [s for s in history if s.processed_mib is not None]
    if not known:
        return False
    latest = known[-1]
    before = [s for s in known if s.elapsed_s <= latest.elapsed_s - window_s]
    return bool(before) and latest.processed_mib > before[-1].processed_mib


def live_action(history, max_downtime_ms, postcopy_possible, margin=LIVE_MARGIN, min_gain_s=LIVE_MIN_GAIN_S):
    """The re-prediction's say while pre-copy runs: (SWITCH_TO_POSTCOPY, why) or (None, None).

    Switches when there is enough evidence (live_prediction.from_history), the link moved
    data in the last LIVE_LINK_WINDOW_S, and pre-copy from here is predicted not to
    converge, or to take longer than post-copy from now by more than `margin` and
    `min_gain_s`.  Never without post-copy possible: a re-prediction does not abort.
    """
    if not postcopy_possible or max_downtime_ms is None or not link_moving(history):
        return None, None
    prediction = live_prediction.from_history(history, max_downtime_ms)
    if prediction is None or not live_prediction.postcopy_sooner(prediction, margin, min_gain_s):
        return None, None
    return SWITCH_TO_POSTCOPY, ('re-predicted from live statistics: %s; switching to post-copy'
                                % live_prediction.describe(prediction))


def hybrid_decision(history, max_downtime_ms, margin=LIVE_MARGIN, min_gain_s=LIVE_MIN_GAIN_S):
    """Whether hybrid switches now, as pass 2 begins: (True | False, why).

    Hybrid switches after the pass after which switching finishes soonest; after the first
    full pass, unless pre-copy from here is predicted within `margin` (or `min_gain_s`) of
    switching: then it keeps pre-copying.  Without the evidence for a re-prediction it
    switches, as it did before it re-predicted.  (No link check: the pass-2 event itself
    says that the link has just carried a whole pass.)
    """
    prediction = live_prediction.from_history(history, max_downtime_ms)
    if prediction is None:
        return True, 'hybrid switches when pass 2 begins (too little live statistics to re-predict from)'
    if live_prediction.postcopy_sooner(prediction, margin, min_gain_s):
        return True, ('hybrid switches when pass 2 begins: re-predicted from live statistics: %s'
                      % live_prediction.describe(prediction))
    return False, ('hybrid keeps pre-copying at pass 2: re-predicted from live statistics: %s, within %.0f %% '
                   '(or %.1f s) of switching' % (live_prediction.describe(prediction), margin * 100, min_gain_s))


def precopy_action(elapsed_s, history, postcopy_possible, precopy_budget_s, stall_passes=DEFAULT_STALL_PASSES,
                   link_timeout_s=DEFAULT_LINK_TIMEOUT_S, max_downtime_ms=None, margin=LIVE_MARGIN,
                   auto_converge=False, downtime_limit_ms=None, stall_from=0):
    """What to do about a pre-copy phase: None (keep going), SWITCH_TO_POSTCOPY, ABORT or SetDowntime; and why.

    In this order: a dead link aborts; the re-prediction (live_action, only with a
    `max_downtime_ms`) may switch; the budget and the stall rule are the backstop.  Without
    post-copy and with `auto_converge`, a stall is not the end until the throttle has reached
    its maximum and the passes since have stalled too (throttle_exhausted): before, only the
    budget ends it; then, where the operator's `downtime_limit_ms` is above the target QEMU was
    given (`max_downtime_ms`) and would take the passes' floor, QEMU gets that limit once
    (last_resort_downtime_ms; the caller passes no limit after) and the stall rule starts
    again from the sample `stall_from`.
    """
    if link_stalled(history, elapsed_s, link_timeout_s):
        return ABORT, ('the migration link carried no data for %.0f s; aborting (the VM keeps running on the '
                       'source; post-copy over a dead link would pause it on both hosts)' % link_timeout_s)
    action, why = live_action(history, max_downtime_ms, postcopy_possible, margin)
    if action is not None:
        return action, why
    if elapsed_s >= precopy_budget_s:
        why = 'pre-copy used its %.0f s budget' % precopy_budget_s
    elif precopy_stalled(history[stall_from:], stall_passes):
        since = history[stall_from:]
        if auto_converge and not postcopy_possible:
            if not throttle_exhausted(since, stall_passes):
                return None, None
            raised = last_resort_downtime_ms(since, max_downtime_ms, downtime_limit_ms, stall_passes)
            if raised:
                return SetDowntime(raised), (
                    'auto-converge is at its maximum and the passes stopped shrinking above QEMU\'s threshold; last '
                    'resort: QEMU gets the operator\'s whole downtime limit, %d ms, instead of the %d ms target '
                    '(the pause may run over the limit by the learned overshoot)' % (raised, max_downtime_ms))
        why = 'pre-copy is not converging: passes stopped shrinking (%d without a new low)' % stall_passes
    else:
        return None, None
    if postcopy_possible:
        return SWITCH_TO_POSTCOPY, why + '; switching to post-copy'
    return ABORT, why + '; post-copy is not possible, aborting (the VM keeps running on the source)'


class CollectionPolicy:
    """The collection's own watch over pre-copy: precopy_action with one migration's options.

    A policy is what the runner asks, every poll while pre-copy runs, what to do:
    `initial_downtime_ms` (None: leave QEMU's default), `precopy_action(elapsed_s,
    history)` returning (None | SWITCH_TO_POSTCOPY | ABORT | SetDowntime(ms), why).
    The baselines (benchmark/baselines.py) are policies of the same shape.
    """

    name = 'workload-aware'

    def __init__(self, options):
        self.options = options
        self.initial_downtime_ms = options.max_downtime_ms
        # Where a failed post-copy could not be resumed, keep pre-copy within policy's wider tolerance.
        self.margin = UNRECOVERABLE_MARGIN if options.postcopy_recoverable is False else LIVE_MARGIN
        # The sample at which QEMU was given the operator's whole limit (last_resort_downtime_ms), once.
        self.last_resort_at = None

    def precopy_action(self, elapsed_s, history):
        spent = self.last_resort_at is not None
        action, why = precopy_action(elapsed_s, history, self.options.postcopy_possible, self.options.precopy_budget_s,
                                     link_timeout_s=self.options.link_timeout_s,
                                     max_downtime_ms=self.options.max_downtime_ms, margin=self.margin,
                                     auto_converge=self.options.auto_converge,
                                     downtime_limit_ms=None if spent else self.options.downtime_limit_ms,
                                     stall_from=self.last_resort_at or 0)
        if isinstance(action, SetDowntime):
            self.last_resort_at = len(history)
        return action, why

    def hybrid_decision(self, history):
        """(switch now?, why) when a hybrid migration's pass 2 begins."""
        return hybrid_decision(history, self.options.max_downtime_ms, self.margin)


def precopy_budget(predicted_total_s, first_pass_s, floor_s=10.0):
    """Time the pre-copy phase may take: twice the prediction, or its first pass plus slack if none converges."""
    if predicted_total_s is not None:
        return max(floor_s, 2.0 * predicted_total_s)
    return max(floor_s, 2.0 * first_pass_s)
