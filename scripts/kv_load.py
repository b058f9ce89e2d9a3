#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The kv guest's load generator: a write-heavy memcached load that checks every value it reads
and records every request (plugins/module_utils/benchmark/kv_load.py; docs/evaluation.md,
"Application guests").  Run it where the guest's address is reachable; on the test bed, inside
its network namespace:

    ip netns exec wa-testbed python scripts/kv_load.py 10.78.5.9 --record /tmp/kv.jsonl --rate 300

It waits for memcached to answer, then makes requests until --duration, SIGTERM/SIGINT or
--stop-file exists, one JSON line of --record each, and prints its totals as JSON.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# A checkout (scripts/bootstrap.sh links the collection under build/), or an installed collection
# (.../ansible_collections/workload_aware/live_migration/scripts/).
for _root in (os.path.join(REPO, 'build', 'collections'), os.path.dirname(os.path.dirname(os.path.dirname(REPO)))):
    if os.path.isdir(os.path.join(_root, 'ansible_collections')):
        sys.path.insert(0, _root)
        break

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import (  # noqa: E402
    kv_load)  # pylint: disable=wrong-import-position


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write-heavy memcached load that checks every value it reads.')
    parser.add_argument('host', help="the guest's address")
    parser.add_argument('--port', type=int, default=kv_load.PORT)
    parser.add_argument('--record', required=True, help='JSON lines, one per request (appended)')
    parser.add_argument('--duration', type=float, default=3600.0, help='seconds (or until SIGTERM)')
    parser.add_argument('--rate', type=float, default=500.0, help='requests a second (0: as fast as it can)')
    parser.add_argument('--keys', type=int, default=4096)
    parser.add_argument('--value-size', type=int, default=4096, help='bytes')
    parser.add_argument('--write-ratio', type=float, default=0.8, help='the share of writes')
    parser.add_argument('--timeout', type=float, default=5.0, help='seconds for one reply')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--wait-ready', type=float, default=60.0, help='seconds to wait for memcached first')
    parser.add_argument('--stop-file', help='stop once this file exists (for a load started asynchronously)')
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.stop_file:
        watcher = threading.Thread(target=kv_load.stop_when_exists, args=(args.stop_file, stop), name='stop-file')
        watcher.daemon = True
        watcher.start()
    try:
        version = kv_load.wait_ready(args.host, args.port, args.wait_ready)
        load = kv_load.Load(args.host, args.port, keys=args.keys, value_size=args.value_size,
                            write_ratio=args.write_ratio, timeout_s=args.timeout, seed=args.seed)
    except (RuntimeError, ValueError) as err:
        sys.stderr.write('kv_load: %s\n' % err)
        return 1
    with open(args.record, 'a') as record:
        totals = kv_load.run(load, record, args.duration, args.rate, stop)
    totals['server'] = version
    print(json.dumps(totals, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
