#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Where the time of one live migration goes on the test bed, from libvirt's lifecycle events on both hosts.

    python scripts/migration_timeline.py wa-idle hv1 hv2

Migrates the VM once (live, peer-to-peer, persistent, uncapped, pre-copy) and prints, in seconds from
the migrate call, when the destination's QEMU started, when the source paused the guest, when the
guest ran on the destination, when the source's QEMU was gone and when the call returned.
A diagnostic for the test bed (issue #14): it takes the bed's socket layout as given.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys
import threading
import time

import libvirt

EVENTS = {(libvirt.VIR_DOMAIN_EVENT_STARTED, 'dst'): 'destination QEMU started',
          (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 'src'): 'source paused the guest',
          (libvirt.VIR_DOMAIN_EVENT_RESUMED, 'dst'): 'guest runs on the destination',
          (libvirt.VIR_DOMAIN_EVENT_STOPPED, 'src'): 'source QEMU gone'}


def uri(host):
    return 'qemu+unix:///system?socket=/var/lib/wa-testbed/%s/run/libvirt-sock' % host


def run_event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


def main(name, source_host, dest_host):
    libvirt.virEventRegisterDefaultImpl()
    loop = threading.Thread(target=run_event_loop, daemon=True)
    loop.start()
    source, destination = libvirt.open(uri(source_host)), libvirt.open(uri(dest_host))
    start = [time.monotonic()]
    seen = []

    def watch(side):
        def callback(_conn, dom, event, _detail, _opaque):
            if dom.name() == name and (event, side) in EVENTS:
                seen.append((time.monotonic() - start[0], EVENTS[(event, side)]))
        return callback

    source.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, watch('src'), None)
    destination.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, watch('dst'), None)
    flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_PERSIST_DEST
             | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
    dom = source.lookupByName(name)
    address = '127.0.%s.1' % dest_host[-1]
    start[0] = time.monotonic()
    dom.migrateToURI3('qemu+tcp://%s/system' % address, {}, flags)
    seen.append((time.monotonic() - start[0], 'migrate call returned'))
    time.sleep(1)
    for at, what in sorted(seen):
        print('%6.2f s  %s' % (at, what))


if __name__ == '__main__':
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
