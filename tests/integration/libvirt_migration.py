# -*- coding: utf-8 -*-
"""Plain libvirt-python migration for the test bed's integration tests:
pre-copy, post-copy (switch as soon as the migration runs) and hybrid (switch
when the first full pass is done, i.e. when iteration 2 starts)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

import libvirt

# The collection's event loop: registered once, run in a daemon thread.
from ansible_collections.workload_aware.live_migration.plugins.module_utils._events import ensure_event_loop


class MigrationRecord:
    def __init__(self):
        self.start = time.monotonic()
        self.events = []          # (seconds since start, kind, value)
        self.job_stats = None
        self.completed = threading.Event()
        self.switch_requested = threading.Event()
        self.switched_at = None

    def add(self, kind, value):
        self.events.append((round(time.monotonic() - self.start, 3), kind, value))

    def values(self, kind, before=None):
        """Values of the events of one kind, optionally only those before the first `before` event."""
        events = self.events
        if before is not None:
            kinds = [event[1] for event in events]
            events = events[:kinds.index(before)] if before in kinds else events
        return [event[2] for event in events if event[1] == kind]

    def iterations(self):
        return self.values('iteration')


def migrate(source, name, dest_uri, method, bandwidth_mibps):
    """Migrate domain `name` from connection `source` to `dest_uri`; returns a MigrationRecord."""
    ensure_event_loop()
    dom = source.lookupByName(name)
    record = MigrationRecord()
    switch_at_iteration = {'precopy': None, 'postcopy': 1, 'hybrid': 2}[method]

    def on_iteration(_conn, _dom, iteration, _opaque):
        record.add('iteration', iteration)
        if switch_at_iteration is not None and iteration >= switch_at_iteration:
            record.switch_requested.set()

    def on_lifecycle(_conn, _dom, event, detail, _opaque):
        record.add('lifecycle', (event, detail))

    def on_job_completed(_conn, _dom, stats, _opaque):
        record.job_stats = stats
        record.completed.set()

    callbacks = [
        source.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, on_iteration, None),
        source.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, None),
        source.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, on_job_completed, None),
    ]
    finished = threading.Event()

    def switch_to_postcopy():
        # Not from the event thread: an API call there would stall event delivery.
        while not finished.is_set():
            if record.switch_requested.wait(0.05):
                try:
                    dom.migrateStartPostCopy(0)
                    record.switched_at = round(time.monotonic() - record.start, 3)
                    record.add('postcopy-switch', max(record.iterations() or [0]))
                    return
                except libvirt.libvirtError as err:
                    record.add('postcopy-switch-retry', str(err))
                    time.sleep(0.1)

    flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
             | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
    params = {libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: bandwidth_mibps}
    if method != 'precopy':
        flags |= libvirt.VIR_MIGRATE_POSTCOPY
        # Otherwise the post-copy phase runs uncapped and methods are not comparable.
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY] = bandwidth_mibps
    switcher = threading.Thread(target=switch_to_postcopy, daemon=True)
    switcher.start()
    try:
        dom.migrateToURI3(dest_uri, params, flags)
        record.add('returned', None)
        record.completed.wait(10)
    finally:
        finished.set()
        switcher.join()
        for callback in callbacks:
            try:
                source.domainEventDeregisterAny(callback)
            except libvirt.libvirtError:
                pass
    return record
