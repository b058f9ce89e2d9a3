# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a benchmark guest's own health report from its serial console log.

The guest's workload generator (roles/benchmark_vms/files/src/wagen.c) prints
one line a second:

    WAGEN seq=12 mode=write t=12.003 healthy=1 errors=0 bad_page=-1 work=40.00 unit=MiB/s ...

`seq` grows by one per report, so a report that stops changing is stale;
`healthy` is 0 from the moment one page failed verification.  Pure Python:
no libvirt, so it also serves tests and the benchmark report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os

HealthReport = collections.namedtuple(
    'HealthReport', ['seq', 'mode', 'uptime_s', 'healthy', 'errors', 'bad_page', 'work', 'unit', 'fields'])

_INT_FIELDS = ('seq', 'errors', 'bad_page')
_FLOAT_FIELDS = ('t', 'work')


def parse_report(line):
    """Return the HealthReport of one console line, or None if it is not a report."""
    line = line.strip()
    if not line.startswith('WAGEN seq='):
        return None
    fields = {}
    for token in line.split()[1:]:
        key, sep, value = token.partition('=')
        if not sep:
            return None
        fields[key] = value
    try:
        return HealthReport(
            seq=int(fields['seq']),
            mode=fields['mode'],
            uptime_s=float(fields['t']),
            healthy=fields['healthy'] == '1',
            errors=int(fields['errors']),
            bad_page=int(fields['bad_page']),
            work=float(fields['work']),
            unit=fields.get('unit', ''),
            fields=fields,
        )
    except (KeyError, ValueError):
        # A line cut short by a migration or a full console is not a report.
        return None


def reports(text):
    """All complete reports in a console text, oldest first."""
    return [r for r in (parse_report(line) for line in text.splitlines()) if r is not None]


def latest_report(text):
    """The newest complete report in a console text, or None."""
    for line in reversed(text.splitlines()):
        report = parse_report(line)
        if report is not None:
            return report
    return None


def read_console_tail(path, max_bytes=65536):
    """The last max_bytes of a console log (it only ever grows: append='on')."""
    with open(path, 'rb') as console:
        console.seek(0, os.SEEK_END)
        size = console.tell()
        console.seek(max(0, size - max_bytes))
        return console.read().decode('utf-8', 'replace')


def latest_report_in_file(path):
    """The newest report in a console log file, or None."""
    return latest_report(read_console_tail(path))
