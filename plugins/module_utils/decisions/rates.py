# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cost model's measured inputs for one migration, and where each came from.

Pure Python, no libvirt, no files.  A prediction needs the rate a migration
really achieves between two hosts, its fixed cost (before the first byte and
after the last), the switch-over pause (post-copy: the device state alone) and
how far pre-copy's pause runs past the limit QEMU is given.  Each comes, first
found first, from:

1. migrations of this source/destination pair and hypervisor type at this cap
   (the calibration store's samples);
2. migrations from this source to any destination (a pair never seen, or a
   profile taken before a destination is chosen);
2b. migrations between any other hosts of this hypervisor type (a source never seen:
   hosts of one cluster are alike more than they differ from the default);
3. for a cap with no migration at it: the uncapped rate learned, bounded by the cap;
4. the documented default for the hypervisor type (DEFAULTS), bounded by the cap
   and the link.

The nominal link speed is only ever a bound, never the rate itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible_collections.workload_aware.live_migration.plugins.module_utils.decisions import calibration

# The stream transport that keeps the first 0.3 stores' keys (pair_key).
PLAIN = 'plain'

# Defaults for a pair nothing has been learned about.
# qemu (TCG): measured on the test bed (QEMU 10, libvirt 11.3, 2 cores; docs/profiling_and_cost_model.md).
#   The rate (MiB/s of QEMU's transfer less its set-up) falls with the source's load: the migration thread
#   shares the source's cores with every guest's vCPUs, and over TLS encrypts on them too.  Fitted, linear in
#   the load, over the committed stores' uncapped migrations one at a time (docs/evaluation/default-rates/README.md:
#   `python scripts/default_rates.py ...`): over TLS 152 MiB/s idle, 53 saturated (88 migrations, the source
#   2-100 % busy); plain 596 and 245 (17 migrations).  QEMU's set-up 0.33-0.35 s; libvirt's whole job took
#   2.8-3.1 s whatever the size (the rest is the destination's finish and the source's confirm); post-copy
#   paused 5-15 ms, hybrid's switch after its first pass 87-179 ms (the benchmark, idle guest); pre-copy's
#   pause ran up to 1.36x the limit QEMU was given (1.74x at 20 MiB/s in the benchmark).
#   The guest runs on the destination as QEMU's transfer ends (arrival_s = transfer_s within 0.04 s, the
#   evacuation's samples): the rest of the job, libvirt's finish, is what an evacuation need not wait for.
# kvm: one QEMU migration stream moves 1-3 GB/s (no faster however fast the link): 900 MiB/s, the low end,
#   whatever the load and transport (not measured here); the fixed costs as measured under TCG (they are
#   libvirt's and QEMU's, not the guest's).
# The rates are TLS's, the collection's default transport (learning.transport_of); TRANSPORT_DEFAULTS has
# another transport's where it was measured (defaults_for).
DEFAULTS = {
    'qemu': {'rate_mibps': 152.0, 'saturated_rate_mibps': 53.0, 'setup_s': 0.35, 'fixed_s': 2.8,
             'switchover_ms': 15.0, 'late_switchover_ms': 180.0, 'overshoot': 1.4},
    'kvm': {'rate_mibps': 900.0, 'setup_s': 0.35, 'fixed_s': 2.8, 'switchover_ms': 30.0,
            'late_switchover_ms': 180.0, 'overshoot': 1.4},
}
TRANSPORT_DEFAULTS = {
    ('qemu', PLAIN): {'rate_mibps': 596.0, 'saturated_rate_mibps': 245.0},
}
UNKNOWN_HYPERVISOR = 'kvm'
# Pre-copy is given a QEMU downtime target this much below the operator's limit at the least.
MIN_TARGET_MS = 10

Rates = collections.namedtuple('Rates', [
    'rate_mibps',      # what a migration moves per second
    'fixed_s',         # before the first byte and after the last
    'switchover_ms',   # the post-copy switch-over pause (device state)
    'overshoot',       # pre-copy pause / the limit QEMU was given (>= 1)
    'sources',         # {input: where it came from}
    'late_switchover_ms',  # the switch-over after pre-copy passes (hybrid); None: as switchover_ms
    'tail_s',          # of the whole job, the part after the guest runs on the destination (None: unknown)
    'condition',       # the condition its rate was learned under (calibration.describe_condition), None: not matched
    'method_rates',    # {method: rate} where that method's own migrations teach one (else rate_mibps serves)
    'pauses_ms',       # the pauses libvirt measured of the migrations its rate was learned from; None: not learned
])
Rates.__new__.__defaults__ = (None, None, None, None, None)

# Which migrations teach a method's own rate: QEMU moves memory at a different speed by method where the
# hosts' CPUs, not the link, bound it (uncapped under TCG: pre-copy 142, hybrid 130, post-copy 113 MiB/s over
# TLS, medians of the benchmark; docs/profiling_and_cost_model.md).  A pre-copy switched to post-copy by the
# stall rule ran as a hybrid does.
METHOD_SAMPLES = {'precopy': ('precopy',), 'postcopy': ('postcopy',), 'hybrid': ('hybrid', 'precopy+postcopy')}
# A method's own rate is used once this many of its migrations teach it; until then the rate of all.
MIN_METHOD_SAMPLES = 3


def defaults_for(hypervisor, transport):
    """The defaults of a `hypervisor` type (the unknown one's where it has none) for a stream `transport` (plain
    or tls; None: plain, as in pair_key)."""
    defaults = dict(DEFAULTS.get(hypervisor, DEFAULTS[UNKNOWN_HYPERVISOR]))
    defaults.update(TRANSPORT_DEFAULTS.get((hypervisor, transport or PLAIN), {}))
    return defaults


def pair_key(source, destination, hypervisor, transport=PLAIN):
    """The key of one source/destination pair, hypervisor type ('kvm'; 'qemu' for TCG) and stream transport.

    Plain streams keep the three-part key of the first 0.3 stores; an encrypted stream (`transport` tls)
    costs the hosts' CPU and is learned apart, under a fourth part."""
    key = '%s|%s|%s' % (source, destination, hypervisor)
    return key if transport in (None, PLAIN) else '%s|%s' % (key, transport)


def _split(samples_by_key, source, destination, hypervisor, transport=PLAIN):
    """(this pair's samples, this source's to other destinations, other sources') for this hypervisor and
    stream transport."""
    pair, others, elsewhere = [], [], []
    for key, samples in sorted(samples_by_key.items()):
        parts = key.split('|')
        if len(parts) == 3:
            parts.append(PLAIN)
        if len(parts) != 4 or parts[2] != hypervisor or parts[3] != (transport or PLAIN):
            continue
        if parts[0] != source:
            elsewhere.extend(samples)
        else:
            (pair if destination is not None and parts[1] == destination else others).extend(samples)
    return pair, others, elsewhere


def _bounded(rate, cap_mibps, link_mibps):
    return min([r for r in (rate, cap_mibps, link_mibps) if r and r > 0])


def _setup(groups, cap_mibps, default_setup_s):
    """(QEMU's set-up, where it came from): fitted from the first group that can tell it, at this cap, else uncapped.

    A pair's own migrations are often alike in size (the same guests) and cannot tell the set-up
    from the rate; the set-up is the hosts' and QEMU's more than the guest's, so one fitted over
    this source's other migrations, other hosts' or all of them together serves.
    """
    everything = [s for label, samples in groups for s in samples]
    candidates = list(groups) + ([('these hosts', everything)] if len(groups) > 1 else [])
    for cap in sorted(set([cap_mibps or 0, 0]), reverse=True):
        for label, samples in candidates:
            fitted = calibration.fitted_setup(calibration.at_cap(samples, cap))
            if fitted:
                return fitted['setup_s'], 'the set-up fitted over %d migrations of %s at %s' % (
                    fitted['samples'], label, 'cap %d MiB/s' % cap if cap else 'no cap')
    return default_setup_s, 'the default'


# What taught a learned rate: the samples it was learned from (calibration.taken: of one group, at the cap, under
# the condition), the condition (streams, source_busy; (None, None): any), the set-up and the fixed cost it was
# learned with (QEMU's before its transfer; libvirt's whole job's less the transfer), and the group's words.
Taught = collections.namedtuple('Taught', ['samples', 'condition', 'setup_s', 'fixed_s', 'where'])


def _learn_rate(groups, cap_mibps, default_setup_s, streams=None, source_busy=None):
    """(rate, fixed or None, source text, condition text, finish_s, Taught) from the first group that teaches
    anything at this cap; None.

    With `streams`, first from the migrations taken under the same condition (calibration.alike:
    as many at once, the source as busy), in any group; then as without.
    """
    setup_s, setup_from = _setup(groups, cap_mibps, default_setup_s)
    for condition in ([(streams, source_busy)] if streams is not None else []) + [(None, None)]:
        for label, samples in groups:
            where = '%s at %s' % (label, 'cap %d MiB/s' % cap_mibps if cap_mibps else 'no cap')
            capped = calibration.at_cap(samples, cap_mibps)
            learned = calibration.learn(capped, setup_s, setup_from, *condition)
            if learned:
                fixed_s, finish_s = learned['fixed_s'], learned.get('finish_s')
                # The set-up the rate was learned with: its own fit's where it found one, else setup_s.
                used_setup_s = setup_s if fixed_s is None or finish_s is None else fixed_s - finish_s
                return (learned['rate_mibps'], fixed_s, 'learned from %d migration%s of %s (%s)' % (
                    learned['samples'], '' if learned['samples'] == 1 else 's', where, learned['how']),
                    None if condition[0] is None else calibration.describe_condition(*condition), finish_s,
                    Taught(calibration.taken(capped, *condition), condition, used_setup_s,
                           setup_s if fixed_s is None else fixed_s, where))
    return None


def migration_rates(samples_by_key, source, destination, hypervisor, cap_mibps=0, link_mibps=0, streams=None,
                    source_busy=None, transport=PLAIN):
    """Rates for a migration from `source` to `destination` (None: not chosen yet) of a `hypervisor` guest.

    `samples_by_key`: the calibration store's samples ({pair_key: [calibration.Sample]});
    `cap_mibps`: the bandwidth cap it will run with (0: none); `link_mibps`: the link's
    speed, a bound (0: unknown); `streams`: how many migrations from the source will run at
    once, and `source_busy` the source's load (0-1) now: the rate is learned from migrations
    taken so where there are any (None: from those that ran alone, where there are any);
    `transport`: the stream's (plain or tls): only migrations of that transport teach, and the default is that
    transport's (plain where not given, as in pair_key; the modules pass the stream's, learning.transport_of).
    """
    defaults = defaults_for(hypervisor, transport)
    pair, others, elsewhere = _split(samples_by_key or {}, source, destination, hypervisor, transport)
    groups = [g for g in (('this pair', pair), ('this source to other hosts', others),
                          ('other hosts', elsewhere)) if g[1]]
    sources = {}

    learned = _learn_rate(groups, cap_mibps, defaults['setup_s'], streams, source_busy)
    if learned is None and cap_mibps:
        uncapped = _learn_rate(groups, 0, defaults['setup_s'], streams, source_busy)
        if uncapped is not None:
            # Learned without a cap: no method's own rate at this one.
            learned = (min(uncapped[0], cap_mibps), uncapped[1], uncapped[2] + ', bounded by the %d MiB/s cap'
                       % cap_mibps, uncapped[3], uncapped[4], None)
    condition = finish_s = taught = None
    if learned is not None:
        rate, fixed_s, sources['rate_mibps'], condition, finish_s, taught = learned
    else:
        rate, at_load = default_rate(defaults, source_busy)
        fixed_s = None
        sources['rate_mibps'] = 'default for %s%s (nothing learned yet)' % (hypervisor, at_load)
        bound = _bounded(rate, cap_mibps, link_mibps)
        if bound < rate:
            sources['rate_mibps'] += ', bounded by the %s' % ('cap' if bound == cap_mibps else 'link')
            rate = bound
    rate = _bounded(rate, 0, link_mibps)
    method_rates = _method_rates(taught, link_mibps, sources) if taught is not None else {}
    if fixed_s is None:
        fixed_s = defaults['fixed_s']
        sources['fixed_s'] = 'default for %s' % hypervisor
    else:
        sources['fixed_s'] = sources['rate_mibps']

    everything = pair + others or elsewhere
    switches = {}
    for field, methods in (('switchover_ms', calibration.EARLY_SWITCH), ('late_switchover_ms', calibration.LATE_SWITCH)):
        switches[field] = calibration.switchover_ms(everything, methods)
        if switches[field] is None:
            switches[field] = defaults[field]
            sources[field] = 'default for %s' % hypervisor
        else:
            sources[field] = 'learned: p90 of %d %s switch-overs' % (
                len([s for s in everything if s.method in methods and s.pause_ms is not None]), '/'.join(methods))
    switch = switches['switchover_ms']
    overshoot, pauses = calibration.precopy_overshoot(everything, defaults['overshoot'])
    if overshoot is None:
        overshoot = defaults['overshoot']
        sources['overshoot'] = 'default for %s' % hypervisor
    else:
        sources['overshoot'] = 'learned: p90 of %d pre-copy pauses / the limit QEMU was given%s' % (
            pauses, '' if pauses >= calibration.MIN_PAUSES else ' (the default is the floor until %d)'
            % calibration.MIN_PAUSES)
    tail = calibration.tail_s(everything)
    if tail is None and finish_s is not None:
        # The guest runs on the destination as QEMU's transfer ends: the rest of the job the rate's migrations
        # measured is the tail, so that the time until safe is their own set-up and transfer.
        tail_s = finish_s
        sources['tail_s'] = 'the finish measured with the rate (%s)' % sources['rate_mibps']
    elif tail is None:
        # Libvirt's finish: the fixed cost less QEMU's set-up (the guest runs there as QEMU's transfer ends).
        setup_s, setup_from = _setup(groups, cap_mibps, defaults['setup_s'])
        tail_s = max(0.0, fixed_s - setup_s)
        sources['tail_s'] = 'the fixed cost less QEMU\'s set-up (%s)' % (
            'default' if setup_from == 'the default' else setup_from)
    else:
        tail_s = tail['tail_s']
        sources['tail_s'] = 'learned: median of %d migrations\' time after the guest ran on the destination' % (
            tail['samples'])
    pauses = None if taught is None else [s.pause_ms for s in taught.samples if s.pause_ms is not None]
    return Rates(float(rate), float(fixed_s), float(switch), float(overshoot), sources,
                 float(switches['late_switchover_ms']), min(float(tail_s), float(fixed_s)), condition, method_rates,
                 pauses)


def default_rate(defaults, source_busy):
    """(rate, words) of a hypervisor type's default for a source `source_busy` busy (0-1; None: not measured).

    Where the defaults hold a rate measured with the source saturated (`saturated_rate_mibps`: under TCG the
    migration thread shares the source's cores with every guest's vCPUs), the rate is interpolated between the
    idle source's and that one by the source's load; elsewhere, and for a load not measured, the idle rate.
    """
    idle, saturated = defaults['rate_mibps'], defaults.get('saturated_rate_mibps')
    if saturated is None or source_busy is None:
        return idle, ''
    busy = min(1.0, max(0.0, source_busy))
    return idle + (saturated - idle) * busy, ' with the source %.0f %% busy' % (100 * busy)


def _method_rates(taught, link_mibps, sources):
    """{method: rate} where at least MIN_METHOD_SAMPLES of that method's own migrations teach one: among the
    migrations that taught the rate of all (`taught`: the same group, cap and condition), with the fixed costs
    that rate was learned with held (the prediction adds them to every method), so that a method's rate differs
    from the others' by the method alone; each with its source in `sources` ('rate_mibps.<method>')."""
    found = {}
    condition = '' if taught.condition[0] is None else '; ' + calibration.describe_condition(*taught.condition)
    for method, used in sorted(METHOD_SAMPLES.items()):
        own = [s for s in taught.samples if s.method in used]
        learned = calibration.rate_holding(own, taught.setup_s, taught.fixed_s)
        if not learned or learned['samples'] < MIN_METHOD_SAMPLES:
            continue
        found[method] = float(_bounded(learned['rate_mibps'], 0, link_mibps))
        sources['rate_mibps.%s' % method] = 'learned from %d %s migrations of %s (%s%s)' % (
            learned['samples'], method, taught.where, learned['how'], condition)
    return found


def rate_for(rates, method):
    """The rate to predict `method` with: its own where learned, else the rate of all migrations."""
    return rate_and_source(rates, method)[0]


def rate_and_source(rates, method):
    """(rate, where it came from) to predict `method` with: its own where learned, else the rate of all."""
    own = (rates.method_rates or {}).get(method)
    if own:
        return own, rates.sources.get('rate_mibps.%s' % method, rates.sources['rate_mibps'])
    return rates.rate_mibps, rates.sources['rate_mibps']


def reported_rate_and_source(inputs, method):
    """(the method's own rate or None, where the rate `method` was predicted at came from) from a prediction's
    reported inputs (as_dict: what wa_vm_facts and wa_migrate return as `inputs`): as rate_and_source."""
    inputs = inputs or {}
    sources = inputs.get('sources') or {}
    own = (inputs.get('method_rates') or {}).get(method) if method else None
    if own:
        return own, sources.get('rate_mibps.%s' % method, sources.get('rate_mibps'))
    return None, sources.get('rate_mibps')


def downtime_target_ms(max_downtime_ms, rates):
    """The downtime limit to give QEMU so that pre-copy's pause stays within the operator's `max_downtime_ms`.

    QEMU's limit is a target from its own rate estimate; the pause runs past it by up to
    `rates.overshoot`, learned from earlier migrations.
    """
    return max(MIN_TARGET_MS, int(max_downtime_ms / rates.overshoot))


def as_dict(rates):
    """Rates as plain data for a result."""
    return {'rate_mibps': round(rates.rate_mibps, 1), 'fixed_s': round(rates.fixed_s, 3),
            'method_rates': dict((m, round(r, 1)) for m, r in sorted((rates.method_rates or {}).items())),
            'switchover_ms': round(rates.switchover_ms, 1), 'overshoot': round(rates.overshoot, 2),
            'late_switchover_ms': None if rates.late_switchover_ms is None else round(rates.late_switchover_ms, 1),
            'tail_s': None if rates.tail_s is None else round(rates.tail_s, 3),
            'condition': rates.condition, 'sources': dict(rates.sources)}
