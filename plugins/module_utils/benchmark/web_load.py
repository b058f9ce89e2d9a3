# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The web guest's load: HTTP GETs of the files nginx serves, every body checked.

The guest serves files of random bytes and their `sha256sum` list, /manifest, written at boot.
The load reads the manifest once, before the migration, then asks for a random file at a time
over one kept-alive connection (HTTP/1.1) and checks the body against the manifest: a body that
is not the file's (cut short, corrupted, another file's) is a data error, an error status or a
connection that fails is a failed request (the connection is opened afresh and the load goes on).
Paced and recorded by load_loop.py: op `get`, key the file's path.

The command is `scripts/app_load.py web` (run where the guest's address is reachable: on the test
bed, inside its network namespace).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import random
import socket
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils.benchmark import load_loop
from ansible.module_utils.six.moves import http_client

PORT = 80


def parse_manifest(text):
    """{path: sha256} from `sha256sum` output ("HEX  NAME" a line); ValueError for anything else."""
    found = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64 or any(c not in '0123456789abcdef' for c in parts[0]):
            raise ValueError('not a sha256sum line: %r' % line[:100])
        found['/' + parts[1].lstrip('*/')] = parts[0]
    if not found:
        raise ValueError('an empty manifest')
    return found


def check_body(expected_sha256, body):
    """(data_ok, why not) of a file's body against its manifest entry."""
    got = hashlib.sha256(body).hexdigest()
    if got == expected_sha256:
        return True, None
    return False, 'corrupted: %d bytes whose sha256 is %s..., not %s...' % (len(body), got[:12], expected_sha256[:12])


def fetch(conn, path):
    """(status, body) of GET `path` on an open HTTPConnection."""
    conn.request('GET', path)
    response = conn.getresponse()
    return response.status, response.read()


def read_manifest(host, port, timeout_s=2.0, connection=http_client.HTTPConnection):
    """The guest's manifest ({path: sha256}); OSError or ValueError while it cannot be read."""
    conn = connection(host, port, timeout=timeout_s)
    try:
        status, body = fetch(conn, '/manifest')
    except http_client.HTTPException as err:
        raise ValueError('HTTP: %s' % err)
    finally:
        conn.close()
    if status != 200:
        raise ValueError('/manifest answered %d' % status)
    return parse_manifest(body.decode('ascii', 'replace'))


class Load(load_loop.Recorder):
    """GETs of random files of the manifest over one kept-alive connection; `step` makes one."""

    def __init__(self, host, manifest, port=PORT, timeout_s=5.0, seed=0, connection=http_client.HTTPConnection,
                 clock=time.time, monotonic=time.monotonic):
        super(Load, self).__init__(clock, monotonic)
        if not manifest:
            raise ValueError('no files to ask for')
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.manifest = manifest
        self.paths = sorted(manifest)
        self.random = random.Random(seed)
        self.connection = connection

    def step(self):
        """Ask for the next file; returns its record line (a dict)."""
        path = self.random.choice(self.paths)
        line, began = self.begin('get', path)
        try:
            if self.conn is None:
                self.conn = self.connection(self.host, self.port, timeout=self.timeout_s)
                self.totals['connections'] += 1
            status, body = fetch(self.conn, path)
        except (OSError, IOError, socket.timeout, http_client.HTTPException) as err:
            line['err'] = '%s: %s' % (type(err).__name__, err)
            self.drop_connection()
        else:
            if status != 200:
                line['err'] = 'HTTP %d' % status
            else:
                line['ok'] = True
                line['data_ok'], why = check_body(self.manifest[path], body)
                if why:
                    line['err'] = why
        return self.end(line, began)


def wait_ready(host, port, timeout_s, connection=http_client.HTTPConnection, clock=time.monotonic, sleep=time.sleep):
    """Wait until nginx serves the manifest; returns it (RuntimeError at the timeout)."""
    return load_loop.wait_ready(lambda: read_manifest(host, port, connection=connection),
                                'nginx at %s:%d' % (host, port), timeout_s, clock, sleep)
