# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many migrations an evacuation runs at once, from what was measured.

Pure Python, no libvirt.

Migrations that run at once share the source's link, and a migration that
shares it runs slower: a writer's pre-copy may then no longer converge.  So a
second one runs only where one migration cannot fill the link by itself:
where the rate a migration really achieves between the hosts (learned from
earlier migrations, never the link's nominal speed) is well below the link,
as many as the link holds at that rate, at most LIMIT: 2, KubeVirt's
parallelOutboundMigrationsPerNode default (choose).  Anything not measured -
a default rate, an unknown link - means one at a time, as Nova's
`max_concurrent_live_migrations` default.

Where migrations of the source were measured one at a time and at other
numbers at once under its current load, the plan predicts the evacuation at
each of those numbers with the rates learned so and takes the one whose last
VM is safe soonest (then the least mean time until a VM is safe; best): more
than LIMIT only so, and only where the pauses of the migrations learned at
that number are known and went over the operator's limit no more often than
those run one at a time.  Never more at once than there are moves.

Measured on the test bed (2 cores, TCG; docs/evacuate.md, "How many at
once"): uncapped, where one migration had moved 435-514 MiB/s of loopback's
nominal 1192, six VMs two at a time were all safe after 4.5-4.9 s, one at a
time after 8.1 s; twelve VMs four at a time after 30.0 s, two at a time
after 33.6 s, one at a time after 51.9 s, but four at a time paused 8 of the
12 over the 300 ms limit (up to 589 ms), two at a time 1, one at a time 2.  The cores, not the link, were full there: what
more at once wins is the fixed costs of each migration (connections, QEMU's
start on the destination, libvirt's prepare) overlapping the others'
transfers, and what it costs is the switch-over, whose pause QEMU sizes from
a rate the other streams then take away.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

# At most this many at once when chosen (an operator may set up to bounds' 16).
LIMIT = 2
# One migration fills the link where its rate reaches this share of it.
FILLS_LINK = 0.75


def choose(link_mibps, rates, limit=LIMIT):
    """(migrations at once, why) for an evacuation.

    `link_mibps`: the source link's capacity (None: unknown); `rates`: [(rate_mibps, source)] of the
    moves' predictions, source 'learned ...' where measured: never more at once than there are moves.
    """
    if not rates:
        return 1, 'nothing to move'
    guessed = sorted(set(str(source) for _rate, source in rates if not str(source or '').startswith('learned')))
    if guessed:
        return 1, 'one at a time: not every rate is measured yet (%s)' % '; '.join(guessed)
    if not link_mibps or link_mibps <= 0:
        return 1, 'one at a time: the link speed is unknown'
    rate = max(float(r) for r, _source in rates)
    if rate <= 0:
        return 1, 'one at a time: no positive measured rate'
    if rate >= FILLS_LINK * link_mibps:
        return 1, 'one at a time: one migration fills the link (%.0f of %.0f MiB/s)' % (rate, link_mibps)
    holds = int(math.floor(link_mibps / rate))
    if len(rates) == 1 and holds > 1:
        return 1, 'one at a time: one VM to move'
    chosen = max(1, min(holds, limit, len(rates)))
    return chosen, '%d at a time: one migration moves %.0f MiB/s (measured) of a %.0f MiB/s link' % (
        chosen, rate, link_mibps)


def best(plans, pauses, why, unmeasured=None):
    """(migrations at once, why) among the numbers the evacuation was predicted at with rates learned so.

    `plans`: {number at once: (last VM safe s, mean time until safe s)}, 1 among them; `pauses`: {number at
    once: (migrations that paused over the operator's limit, migrations with a known pause)} of the migrations
    each number's rates were learned from; `why`: choose()'s reason.  The number whose last VM is safe soonest
    wins (ties: the least mean, then the fewest at once); above LIMIT only where the pauses of its migrations
    are known and went over the limit no more often than those run one at a time (pause_share).  Where none
    above one wins, `unmeasured` (choose()'s number where it is not among `plans`) stands, as without them.
    """
    alone = pause_share(pauses.get(1))
    kept = dict((count, plan) for count, plan in plans.items()
                if count <= LIMIT or (pauses.get(count) and pauses[count][1] and pause_share(pauses[count]) <= alone))
    chosen = min(kept, key=lambda count: (kept[count][0], kept[count][1], count))
    measured = 'measured at this load: %s' % '; '.join(
        '%d at a time, the last VM safe after %.2f s, one after %.2f s on average' % (count, last, mean)
        for count, (last, mean) in sorted(plans.items()))
    refused = sorted(set(plans) - set(kept))
    if refused:
        measured += '; not %s at a time: their migrations\' pauses were not known or went over the limit more ' \
            'often (%s) than one at a time\'s (%s)' % (
                ' or '.join(str(count) for count in refused),
                ', '.join('%d of %d' % tuple(pauses.get(count) or (0, 0)) for count in refused),
                '%d of %d' % tuple(pauses.get(1) or (0, 0)))
    if chosen == 1 and unmeasured:
        return unmeasured, '%s; %s; %d at a time not measured' % (why, measured, unmeasured)
    if chosen == 1:
        return 1, 'one at a time: %s' % measured
    return chosen, '%d at a time: %s; %s' % (chosen, why.split(': ', 1)[-1], measured)


def pause_share(pauses):
    """The share of migrations whose pause went over the limit, of (over, known); 0 where none is known."""
    if not pauses or not pauses[1]:
        return 0.0
    return float(pauses[0]) / float(pauses[1])


def share(at_once, rate_mibps, link_mibps):
    """How many times slower than alone each of `at_once` migrations at `rate_mibps` runs on the link:
    they share it only where together they would exceed it; without the two figures, `at_once`."""
    if at_once <= 1:
        return 1.0
    if not rate_mibps or not link_mibps or rate_mibps <= 0 or link_mibps <= 0:
        return float(at_once)
    return max(1.0, at_once * float(rate_mibps) / float(link_mibps))
