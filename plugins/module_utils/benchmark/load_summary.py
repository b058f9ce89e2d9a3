# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an application's users felt around a migration, from its load generator's record.

Pure Python.  A record is a list of requests, each a dict with at least `t` (when it was sent,
seconds), `lat_ms` (until its reply, or until it failed), `ok` (a reply that is not an error) and,
for requests that check data, `data_ok` (False: the data read back was lost or corrupted).  A
request ends at t + lat_ms.

summarise(record, start, end) for a migration that ran from `start` to `end` (same clock):

- rps_before / rps_during / rps_after: successful replies a second that ended before `start`,
  within [start, end], after `end` (before: from the first request, or `margin_s` before `start`;
  after: until the last request ended, or `margin_s` after `end`);
- p50_ms, p99_ms, max_latency_ms: of every request that was waiting at some time during
  [start, end] (sent before it ended, ended after it began), successful or not: a request that
  failed after 5 s kept its user waiting 5 s.  The load sends one request at a time at its pace and
  waits out a slow reply instead of sending, so the users who would have come meanwhile are not in
  the record (coordinated omission): p50 and p99 count them, as HdrHistogram's
  recordValueWithExpectedInterval does, at the load's pace (the median gap between its sends);
- longest_stall_ms: the longest time without a successful reply that overlaps [start, end]
  (until the record's end if no reply came again);
- failed_requests, data_errors, requests: over the whole record (or the margins' span).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math

FIGURES = ('rps_before', 'rps_during', 'rps_after', 'p50_ms', 'p99_ms', 'max_latency_ms', 'longest_stall_ms',
           'failed_requests', 'data_errors')


def read_record(path):
    """The requests of a record file (JSON lines); a last line cut short by a kill is left out."""
    found = []
    with open(path) as record:
        for line in record:
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def ended(request):
    return request['t'] + request['lat_ms'] / 1000.0


def percentile(values, pct):
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(math.ceil(pct / 100.0 * len(ordered))))
    return ordered[rank - 1]


def _rate(count, seconds):
    return round(count / seconds, 1) if seconds > 0 else None


def longest_stall_s(record, start, end):
    """The longest gap between successive successful replies that overlaps [start, end]; from the
    record's first request, and to its last request's end, where no reply came before or after."""
    if not record:
        return 0.0
    first = min(r['t'] for r in record)
    last = max(ended(r) for r in record)
    replies = [first] + sorted(ended(r) for r in record if r['ok']) + [last]
    gaps = [b - a for a, b in zip(replies, replies[1:]) if b >= start and a <= end]
    return max(gaps or [0.0])


def pace_s(record, before):
    """The load's pace: the median gap between its successive sends before `before` (of the whole record where
    fewer than two came before); None where it sent fewer than two."""
    for sent in (sorted(r['t'] for r in record if r['t'] < before), sorted(r['t'] for r in record)):
        gaps = sorted(b - a for a, b in zip(sent, sent[1:]))
        if gaps:
            return gaps[len(gaps) // 2]
    return None


def with_omitted(latencies_ms, pace):
    """`latencies_ms` and those of the requests a load sending every `pace` seconds would have sent while it
    waited for a slow reply: for a latency L, L - pace, L - 2 pace, ... down to the pace (HdrHistogram's
    recordValueWithExpectedInterval).  Without a pace, the latencies as they are."""
    if not pace or pace <= 0:
        return list(latencies_ms)
    step = pace * 1000.0
    found = []
    for latency in latencies_ms:
        found.append(latency)
        missed = latency - step
        while missed >= step:
            found.append(missed)
            missed -= step
    return found


def summarise(record, start, end, margin_s=None):
    """The figures of FIGURES (and `requests`) for a migration from `start` to `end`; see the module's doc."""
    if end < start:
        raise ValueError('the migration ends (%s) before it starts (%s)' % (end, start))
    if margin_s is not None:
        record = [r for r in record if start - margin_s <= r['t'] <= end + margin_s]
    figures = dict((name, None) for name in FIGURES)
    figures.update(requests=len(record), failed_requests=sum(1 for r in record if not r['ok']),
                   data_errors=sum(1 for r in record if r.get('data_ok') is False))
    if not record:
        return figures
    first = min(r['t'] for r in record)
    last = max(ended(r) for r in record)
    good = [ended(r) for r in record if r['ok']]
    before_from = max(first, start - margin_s) if margin_s is not None else first
    after_to = min(last, end + margin_s) if margin_s is not None else last
    figures['rps_before'] = _rate(sum(1 for e in good if before_from <= e < start), start - before_from)
    figures['rps_during'] = _rate(sum(1 for e in good if start <= e <= end), end - start)
    figures['rps_after'] = _rate(sum(1 for e in good if end < e <= after_to), after_to - end)
    waiting = [r['lat_ms'] for r in record if r['t'] <= end and ended(r) >= start]
    if waiting:
        felt = with_omitted(waiting, pace_s(record, start))
        figures['p50_ms'] = round(percentile(felt, 50), 3)
        figures['p99_ms'] = round(percentile(felt, 99), 3)
        figures['max_latency_ms'] = round(max(waiting), 3)
    figures['longest_stall_ms'] = round(longest_stall_s(record, start, end) * 1000.0, 3)
    return figures


def series(record, start, end, margin_s, bin_s=0.25):
    """Latency over time around a migration from `start` to `end`, for a plot: one point per `bin_s` from
    `margin_s` before `start` to `margin_s` after `end`, each [seconds since `start`, replies in the bin,
    the longest latency (ms) of the requests sent in it (None: none sent), failed requests sent in it]."""
    first = start - margin_s
    count = int(math.ceil((end + margin_s - first) / bin_s))
    bins = [[round(first - start + i * bin_s, 3), 0, None, 0] for i in range(count)]
    for request in record:
        at = int((request['t'] - first) // bin_s)
        if 0 <= at < count:
            point = bins[at]
            point[2] = max(point[2] or 0.0, round(request['lat_ms'], 3))
            if not request['ok']:
                point[3] += 1
        done = int((ended(request) - first) // bin_s)
        if request['ok'] and 0 <= done < count:
            bins[done][1] += 1
    return bins
