# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choose the migration method from the cost model's predictions.

Pure Python, no libvirt.  The rule: among the methods that are allowed and
whose predicted downtime is within the limit, take the fastest; but if a less
exposed method (pre-copy, then hybrid, then post-copy) is predicted within
`tolerance` of it, take that one instead, because a VM in post-copy stops if
the link or the destination fails, and runs slower while it faults pages in.
Where a post-copy whose link fails cannot be resumed (the hosts' libvirt has no
working post-copy recovery), that stop is the VM's loss, not a pause: the
less exposed method is then preferred within UNRECOVERABLE_TOLERANCE.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import WaError

# Least exposed first.
EXPOSURE_ORDER = ('precopy', 'hybrid', 'postcopy')
DEFAULT_TOLERANCE = 0.05
# Where a failed post-copy cannot be resumed: a less exposed method up to 1.5 times
# as slow as the fastest is preferred.
UNRECOVERABLE_TOLERANCE = 0.5


class NoSafeMethod(WaError):
    """No allowed method is predicted to finish within the downtime limit."""


def allowed_methods(postcopy_allowed=True, destination_postcopy_capable=True):
    """Methods the operator and the destination permit (post-copy needs userfaultfd there)."""
    if postcopy_allowed and destination_postcopy_capable:
        return list(EXPOSURE_ORDER)
    return ['precopy']


def _why_not(prediction, max_downtime_ms):
    if not prediction.converges:
        return 'does not converge'
    return 'downtime %.0f ms over the %.0f ms limit' % (prediction.downtime_ms, max_downtime_ms)


def choose(predictions, max_downtime_ms, allowed, tolerance=DEFAULT_TOLERANCE, postcopy_recoverable=True):
    """Return (method, reason) for predictions keyed by method name.

    postcopy_recoverable=False: a failed post-copy could not be resumed, so the
    tolerance towards less exposed methods is at least UNRECOVERABLE_TOLERANCE.
    """
    if tolerance < 0:
        raise ValueError('tolerance must not be negative, got %r' % (tolerance,))
    if not postcopy_recoverable:
        tolerance = max(tolerance, UNRECOVERABLE_TOLERANCE)
    candidates = []
    rejected = []
    for method in EXPOSURE_ORDER:
        prediction = predictions[method]
        if method not in allowed:
            rejected.append('%s not allowed' % method)
        elif prediction.converges and prediction.downtime_ms <= max_downtime_ms:
            candidates.append(prediction)
        else:
            rejected.append('%s %s' % (method, _why_not(prediction, max_downtime_ms)))
    if not candidates:
        raise NoSafeMethod('no safe migration method: ' + '; '.join(rejected))

    fastest = min(candidates, key=lambda p: p.total_s)
    # candidates are in EXPOSURE_ORDER: the first within tolerance is the least exposed.
    chosen = next(p for p in candidates if p.total_s <= fastest.total_s * (1.0 + tolerance))
    reason = '%s: predicted %.1f s, downtime %.0f ms' % (chosen.method, chosen.total_s, chosen.downtime_ms)
    if chosen.exposure_s:
        reason += ', %.1f s in post-copy' % chosen.exposure_s
    if chosen is not fastest:
        reason += ('; %s would take %.1f s, within %.0f%%, but leaves the VM exposed longer'
                   % (fastest.method, fastest.total_s, tolerance * 100))
        if not postcopy_recoverable:
            reason += ' and a failed post-copy could not be resumed here'

    others = ['%s %.1f s' % (p.method, p.total_s) for p in candidates if p is not chosen and p is not fastest]
    if others:
        reason += '; also possible: ' + ', '.join(others)
    if rejected:
        reason += '; ruled out: ' + '; '.join(rejected)
    return chosen.method, reason
