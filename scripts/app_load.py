#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The application guests' load generators: each checks every reply it reads and records every
request (plugins/module_utils/benchmark/kv_load.py, web_load.py, job_load.py, load_loop.py;
docs/evaluation.md, "Application guests").  Run it where the guest's address is reachable; on the
test bed, inside its network namespace:

    ip netns exec wa-testbed python scripts/app_load.py kv 10.78.5.9 --record /tmp/kv.jsonl --rate 300
    ip netns exec wa-testbed python scripts/app_load.py web 10.78.5.10 --record /tmp/web.jsonl --rate 150
    ip netns exec wa-testbed python scripts/app_load.py job 10.78.5.11 --record /tmp/job.jsonl --rate 0

kv: a write-heavy memcached load; web: GETs of nginx's files, each checked against its manifest;
job: CPU-bound jobs one after another, each result checked.  It waits for the application to
answer, then makes requests until --duration, SIGTERM/SIGINT or --stop-file exists, one JSON line
of --record each, and prints its totals as JSON.
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
    job_load, kv_load, load_loop, web_load)  # pylint: disable=wrong-import-position

APPS = {'kv': kv_load, 'web': web_load, 'job': job_load}


def parser():
    found = argparse.ArgumentParser(description='Load for an application guest that checks every reply it reads.')
    found.add_argument('app', choices=sorted(APPS), help='kv (memcached), web (nginx) or job (CPU-bound jobs)')
    found.add_argument('host', help="the guest's address")
    found.add_argument('--port', type=int, help="the application's port (kv 11211, web 80, job 7000)")
    found.add_argument('--record', required=True, help='JSON lines, one per request (appended)')
    found.add_argument('--duration', type=float, default=3600.0, help='seconds (or until SIGTERM)')
    found.add_argument('--rate', type=float, default=500.0, help='requests a second (0: the next once one replied)')
    found.add_argument('--timeout', type=float, help='seconds for one reply (kv and web 5, job 30)')
    found.add_argument('--seed', type=int, default=0)
    found.add_argument('--wait-ready', type=float, default=60.0, help='seconds to wait for the application first')
    found.add_argument('--stop-file', help='stop once this file exists (for a load started asynchronously)')
    found.add_argument('--keys', type=int, default=4096, help='kv: how many keys')
    found.add_argument('--value-size', type=int, default=4096, help='kv: bytes a value')
    found.add_argument('--write-ratio', type=float, default=0.8, help='kv: the share of writes')
    return found


def make_load(args):
    """(the load, what the application said when it was ready); RuntimeError or ValueError if it cannot start."""
    app = APPS[args.app]
    port = args.port or app.PORT
    timeout = args.timeout or (30.0 if args.app == 'job' else 5.0)
    if args.app == 'kv':
        server = kv_load.wait_ready(args.host, port, args.wait_ready)
        return kv_load.Load(args.host, port, keys=args.keys, value_size=args.value_size, write_ratio=args.write_ratio,
                            timeout_s=timeout, seed=args.seed), server
    if args.app == 'web':
        manifest = web_load.wait_ready(args.host, port, args.wait_ready)
        return (web_load.Load(args.host, manifest, port, timeout_s=timeout, seed=args.seed),
                'nginx serving %d files' % len(manifest))
    lines = job_load.wait_ready(args.host, port, args.wait_ready)
    return job_load.Load(args.host, lines, port, timeout_s=timeout), 'jobs over seq 1 %d' % lines


def main(argv=None):
    args = parser().parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.stop_file:
        watcher = threading.Thread(target=load_loop.stop_when_exists, args=(args.stop_file, stop), name='stop-file')
        watcher.daemon = True
        watcher.start()
    try:
        load, server = make_load(args)
    except (RuntimeError, ValueError) as err:
        sys.stderr.write('app_load %s: %s\n' % (args.app, err))
        return 1
    with open(args.record, 'a') as record:
        totals = load_loop.run(load, record, args.duration, args.rate, stop)
    totals['server'] = server
    print(json.dumps(totals, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
