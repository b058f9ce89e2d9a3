# -*- coding: utf-8 -*-
"""What the application loads' unit tests share: run a load unpaced until it has made a given number
of requests, keeping its record lines in memory."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import load_loop


def run_until(load, requests):
    """load_loop.run of `load` at no pace until it has written `requests` record lines; (totals, the lines)."""
    stop = threading.Event()
    lines = []

    class Counting:
        def write(self, text):
            lines.append(json.loads(text))
            if len(lines) >= requests:
                stop.set()

        def flush(self):
            pass

    return load_loop.run(load, Counting(), 60, 0, stop), lines
