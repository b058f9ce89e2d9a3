# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt's default event loop, run in a daemon thread of this process.

It must be registered before the connections whose events we want are
opened.  Callbacks run in that thread: they only record and signal; libvirt
calls are made elsewhere, so a slow call never holds up event delivery.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import threading

from ansible_collections.workload_aware.live_migration.plugins.module_utils._libvirt import libvirt

_LOCK = threading.Lock()
_STATE = {}


def _run_forever():
    while True:
        libvirt.virEventRunDefaultImpl()


def ensure_event_loop():
    """Register and start the event loop once per process."""
    with _LOCK:
        if _STATE.get('thread'):
            return
        libvirt.virEventRegisterDefaultImpl()
        thread = threading.Thread(target=_run_forever, name='libvirt-event-loop')
        thread.daemon = True
        thread.start()
        _STATE['thread'] = thread


@contextlib.contextmanager
def subscribed(conn, dom, handlers, optional=False):
    """`with subscribed(conn, dom, [(event_id, callback), ...]) as ids:` each callback gets `dom`'s events of
    its kind (every domain's where `dom` is None) within the block and none after it.

    An event libvirt will not register raises, unless `optional`: then it is left out and the caller does
    without it (`ids` holds the registrations made).  Deregistering never raises: a connection that died
    took its registrations with it.
    """
    ids = []
    try:
        for event_id, callback in handlers:
            try:
                ids.append(conn.domainEventRegisterAny(dom, event_id, callback, None))
            except libvirt.libvirtError:
                if not optional:
                    raise
        yield ids
    finally:
        for callback_id in ids:
            try:
                conn.domainEventDeregisterAny(callback_id)
            except libvirt.libvirtError:
                pass
