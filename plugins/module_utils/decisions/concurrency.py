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
as many as the link holds at that rate (at most LIMIT).  Anything not
measured - a default rate, an unknown link - means one at a time, as Nova's
`max_concurrent_live_migrations` default.

Measured on the test bed (docs/evaluation/report.md, "Evacuations"): uncapped,
where one migration moved 380-510 MiB/s of loopback's nominal 1192, six VMs
all at once were safe 35-40 % sooner than one at a time: the fixed costs of
each migration (connections, QEMU's set-up on the destination, libvirt's
prepare) overlap with the others' transfers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

# At most this many at once when chosen (an operator may set up to bounds' 16).
LIMIT = 4
# One migration fills the link where its rate reaches this share of it.
FILLS_LINK = 0.75


def choose(link_mibps, rates, limit=LIMIT):
    """(migrations at once, why) for an evacuation.

    `link_mibps`: the source link's capacity (None: unknown); `rates`: [(rate_mibps, source)] of the
    moves' predictions, source 'learned ...' where measured.
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
    chosen = max(1, min(int(math.floor(link_mibps / rate)), limit))
    return chosen, '%d at a time: one migration moves %.0f of the link\'s %.0f MiB/s (measured)' % (
        chosen, rate, link_mibps)


def share(at_once, rate_mibps, link_mibps):
    """How many times slower than alone each of `at_once` migrations at `rate_mibps` runs on the link:
    they share it only where together they would exceed it; without the two figures, `at_once`."""
    if at_once <= 1:
        return 1.0
    if not rate_mibps or not link_mibps or rate_mibps <= 0 or link_mibps <= 0:
        return float(at_once)
    return max(1.0, at_once * float(rate_mibps) / float(link_mibps))
