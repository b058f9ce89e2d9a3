# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.workload_aware.live_migration.plugins.module_utils import migration_uri
from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput

PROC_TCP = '''  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0101007F:407D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: 0102007F:407D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 100 0 0 10 0
   2: 0101007F:C000 0102007F:407D 01 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 100 0 0 10 0
'''
PROC_TCP6 = '''  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000001000000:407D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0
'''


@pytest.mark.parametrize('uri, parts', [
    ('qemu+tcp://127.0.2.1/system', dict(driver='qemu', transport='tcp', host='127.0.2.1', port=16509)),
    ('qemu+tls://hv2.example.com:16600/system',
     dict(driver='qemu', transport='tls', host='hv2.example.com', port=16600)),
    ('qemu://hv2/system', dict(driver='qemu', transport=None, host='hv2', port=16514)),
    ('qemu+ssh://root@hv2/system', dict(driver='qemu', transport='ssh', host='hv2', port=22)),
])
def test_migration_uris_parse(uri, parts):
    assert migration_uri.parse(uri) == parts


@pytest.mark.parametrize('uri, message', [
    ('not a uri at all', 'is not a libvirt URI'),
    ('no such scheme://x', 'is not a libvirt URI'),
    ('xen+tcp://hv2/system', 'driver qemu'),
    ('qemu+pigeon://hv2/system', 'unknown transport pigeon'),
    ('qemu:///system', 'names no host'),
    ('qemu+unix:///system?socket=/x', 'names no host'),
    ('qemu+tcp://hv2:port/system', 'is not a libvirt URI'),
])
def test_uris_that_cannot_reach_another_host_are_refused(uri, message):
    with pytest.raises(BadInput, match=message):
        migration_uri.parse(uri)


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(BadInput, match='the host no-such-host.invalid of dest_uri does not resolve'):
        migration_uri.resolve('no-such-host.invalid')


def test_proc_net_tcp_is_read():
    assert migration_uri.parse_proc_net_tcp(PROC_TCP) == [
        ('127.0.1.1', 16509, '0A', 4242), ('127.0.2.1', 16509, '0A', 4343), ('127.0.1.1', 49152, '01', 4444)]
    assert migration_uri.parse_proc_net_tcp(PROC_TCP6, ipv6=True) == [('::1', 16509, '0A', 5151)]


def test_listeners_and_the_daemon_itself():
    listeners = [('127.0.1.1', 16509), ('0.0.0.0', 22)]
    assert migration_uri.listens_on(listeners, ['127.0.1.1'], 16509)
    assert not migration_uri.listens_on(listeners, ['127.0.9.1'], 16509)
    assert migration_uri.listens_on(listeners, ['127.0.9.1'], 22)
    assert migration_uri.names_daemon([('127.0.1.1', 16509)], ['127.0.1.1'], 16509)
    assert not migration_uri.names_daemon([('127.0.1.1', 16509)], ['127.0.2.1'], 16509)
    assert migration_uri.names_daemon([('0.0.0.0', 16509)], ['127.0.0.1'], 16509)
    assert not migration_uri.names_daemon([('0.0.0.0', 16509)], ['192.0.2.7'], 16509)


def test_a_remote_source_is_compared_by_address():
    with pytest.raises(BadInput, match='names the source host itself'):
        migration_uri.check('qemu+tcp://127.0.0.1/system', 'qemu+tcp://localhost/system')


@pytest.mark.parametrize('uri', ['qemu+tls://127.0.2.1/system', 'qemu+tcp://localhost/system', 'qemu://[::1]/system'])
def test_a_plain_stream_is_allowed_between_loopback_addresses(uri):
    migration_uri.check_transport(uri, 'plain')


@pytest.mark.parametrize('uri', ['qemu+tls://192.0.2.7/system', 'qemu+tcp://[2001:db8::7]/system'])
def test_a_plain_stream_to_another_machine_is_refused_and_tls_is_not(uri):
    with pytest.raises(BadInput, match='transport plain would send the VM.s memory unencrypted .*use transport tls'):
        migration_uri.check_transport(uri, 'plain', 'destination hv2 uri')
    migration_uri.check_transport(uri, 'tls')
