# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When libvirt on the destination says a migrating VM runs there on its own.

The destination's libvirtd emits the lifecycle event RESUMED / MIGRATED when the
guest runs there with all its memory: at a pre-copy's end, and at a post-copy's
end (its switch is RESUMED / POSTCOPY: the guest still needs the source then).
libvirt's migrate call returns later: the source's QEMU must still exit and
libvirt confirm the migration, 1.4-1.6 s on the test bed (lifecycle events of the
benchmark's migrations).  An evacuation need not wait for that to start the next
migration: the VM is safe, and the link is free.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.workload_aware.live_migration.plugins.module_utils import _events
from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt


def is_arrival(event, detail):
    """Whether a destination's lifecycle event says the guest runs there with all its memory."""
    return event == libvirt.VIR_DOMAIN_EVENT_RESUMED and detail == libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED


class ArrivalWatch:
    """Within `with`, note when `name` arrives on the destination `conn` and call `on_arrival()` once.

    `conn` must be opened after the event loop started (_events.ensure_event_loop).  The
    callback runs in the event loop's thread: it must only signal.  `at` is the clock's
    time of the arrival, None until it is seen.
    """

    def __init__(self, conn, name, on_arrival=None, clock=time.monotonic):
        self.conn = conn
        self.name = name
        self.on_arrival = on_arrival
        self.clock = clock
        self.at = None
        self.arrived = threading.Event()
        self._subscription = None

    def _on_lifecycle(self, _conn, dom, event, detail, _opaque):
        if self.arrived.is_set() or not is_arrival(event, detail) or dom.name() != self.name:
            return
        self.at = self.clock()
        self.arrived.set()
        if self.on_arrival is not None:
            self.on_arrival()

    def __enter__(self):
        # Without the event, the migrate call's return is the arrival, as before: slower, never wrong.
        self._subscription = _events.subscribed(
            self.conn, None, [(libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle)], optional=True)
        self._subscription.__enter__()
        return self

    def __exit__(self, *exc):
        return self._subscription.__exit__(*exc)
