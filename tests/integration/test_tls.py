# -*- coding: utf-8 -*-
"""Encrypted by default (#15), on the test bed, whose hosts run libvirt over TLS with certificates from the
pki role: a migration is encrypted unless plain is asked for (a destination without QEMU's TLS files
refuses the default and takes a plain one), and a destination whose certificate is missing, signed by
another CA, not of its key, expired or issued for another address is refused before any memory moves, the VM running on
its host; the message names the file or the address and the reason, from QEMU in a migration and from the
libvirt_host role's check before evacuate.yml touches anything. The same holds one layer up, for the connection
the source's libvirtd opens to the destination's (peer to peer, qemu+tls): a destination daemon serving a
certificate for another address, a source whose client certificate expired or whose CA is another."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import subprocess

import libvirt
import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

import tls_certificates
from testbed_helpers import HOSTS, current_host, other_host, run_module, run_playbook, run_role, where_is

pytestmark = pytest.mark.usefixtures('testbed')

VM = 'wa-idle'
ADDRESSES = {'hv1': '127.0.1.1', 'hv2': '127.0.2.1', 'hv3': '127.0.3.1'}


def migrate(home, **args):
    dest = other_host(home)
    request = dict(name=VM, uri=HOSTS[home].uri, dest_uri=HOSTS[dest].migration_uri, dest_control_uri=HOSTS[dest].uri,
                   method='precopy', profile_window_s=0)
    request.update(args)
    return run_module(home, 'wa_migrate', request)


def tls_check(host):
    """The libvirt_host role's tls_check on a test-bed host; (failed, message)."""
    variables = {'libvirt_host_pki_root': '/var/lib/wa-testbed/%s/root' % host,
                 'libvirt_host_tls_peer_name': ADDRESSES[host], 'libvirt_host_tls_host_name': host}
    failed = run_role('libvirt_host', variables, host=host, tasks_from='tls_check')
    if not failed.get('failed'):
        return False, ''
    messages = [failed.get('msg', '')] + [r.get('msg', '') for r in failed.get('results', []) if r.get('failed')]
    return True, ' '.join(m for m in messages if m)


def test_the_bed_hosts_pass_their_own_tls_check():
    for host in ('hv1', 'hv2'):
        assert tls_check(host) == (False, '')


def test_migrations_are_encrypted_by_default_and_plain_only_when_asked():
    home = current_host(VM)
    dest = other_host(home)
    with tls_certificates.replaced(dest, {'ca-cert.pem': None}):
        refused = migrate(home)
        assert refused.get('failed') and 'ca-cert.pem' in refused['msg'], refused.get('msg')
        assert where_is(VM) == {home: libvirt.VIR_DOMAIN_RUNNING}
        # Without encryption QEMU needs none of those files.
        plain = migrate(home, transport='plain')
    assert plain.get('outcome') == 'moved', plain.get('msg')
    assert where_is(VM) == {dest: libvirt.VIR_DOMAIN_RUNNING}
    back = migrate(dest)
    assert back.get('outcome') == 'moved', back.get('msg')
    assert where_is(VM) == {home: libvirt.VIR_DOMAIN_RUNNING}
    # Learned apart: encryption costs CPU.
    keys = [s['key'] for s in plain['calibration_samples'] + back['calibration_samples']]
    assert [k.endswith('|tls') for k in keys] == [False, True], keys


def _bad(dest, case):
    """The files that make `dest`'s QEMU certificate bad in this way, and what QEMU and the role's check say."""
    ca = tls_certificates.bed_ca()
    address = ADDRESSES[dest]
    if case == 'missing':
        return ({'server-cert.pem': None}, 'Unable to access credentials /etc/pki/qemu/server-cert.pem',
                'missing /var/lib/wa-testbed/%s/root/etc/pki/qemu/server-cert.pem' % dest)
    if case == 'another CA':
        made = tls_certificates.server_certificate(dest, address, tls_certificates.other_ca())
        return (dict(zip(['server-cert.pem', 'server-key.pem'], made)),
                'server-cert.pem failed validation against /etc/pki/qemu/ca-cert.pem: '
                "The certificate hasn't got a known issuer", 'server-cert.pem is not signed by the CA')
    if case == 'another key':
        with open(os.path.join(tls_certificates.qemu_dir(dest), 'client-key.pem'), 'rb') as f:
            other_key = f.read()
        return ({'server-key.pem': other_key},
                "Cannot load certificate '/etc/pki/qemu/server-cert.pem' & key '/etc/pki/qemu/server-key.pem': "
                'The certificate and the given key do not match',
                'server-cert.pem does not match its key /var/lib/wa-testbed/%s/root/etc/pki/qemu/server-key.pem'
                % dest)
    if case == 'expired':
        made = tls_certificates.server_certificate(dest, address, ca, days=(-40, -10))
        return (dict(zip(['server-cert.pem', 'server-key.pem'], made)),
                'The server certificate /etc/pki/qemu/server-cert.pem has expired', 'server-cert.pem expired on')
    made = tls_certificates.server_certificate(dest, '127.0.9.1', ca)
    return (dict(zip(['server-cert.pem', 'server-key.pem'], made)),
            'Certificate does not match the hostname %s' % address,
            'server-cert.pem does not name %s, the address peers reach this host by' % address)


@pytest.mark.parametrize('case', ['missing', 'another CA', 'another key', 'expired', 'another address'])
def test_a_bad_destination_certificate_is_refused_before_any_memory_moves(case):
    home = current_host(VM)
    dest = other_host(home)
    files, from_qemu, from_check = _bad(dest, case)
    with tls_certificates.replaced(dest, files):
        failed, message = tls_check(dest)
        assert failed and from_check in message, message
        result = migrate(home)
    assert result.get('failed') and from_qemu in result['msg'], result.get('msg')
    assert 'the VM is running on the source' in result['msg']
    assert not result.get('memory_bytes_transferred'), result.get('memory_bytes_transferred')
    assert result['vm_location'] == {'source': 'running', 'destination': None}
    assert where_is(VM) == {home: libvirt.VIR_DOMAIN_RUNNING}


def test_evacuate_checks_every_destinations_certificates_before_anything_moves():
    home = current_host(VM)
    dest = other_host(home)
    before = dict((name, where_is(name)) for name in ('wa-idle', 'wa-cpu', 'wa-read', 'wa-write', 'wa-net'))
    files, _from_qemu, from_check = _bad(dest, 'expired')
    with tls_certificates.replaced(dest, files):
        completed = run_playbook('evacuate.yml', '-l', home, '-e', json.dumps({'wa_destination_pool': [dest]}),
                                 check=False)
    assert completed.returncode != 0
    assert from_check in completed.stdout and '%s:' % dest in completed.stdout
    assert 'Profile every running VM' not in completed.stdout
    assert dict((name, where_is(name)) for name in before) == before


def update_tls(host):
    """The host's running libvirtd reads its TLS files again (virt-admin server-update-tls: no restart)."""
    subprocess.run(['virt-admin', '-c', 'libvirtd:///system?socket=/var/lib/wa-testbed/%s/run/libvirt-admin-sock'
                    % host, 'server-update-tls', 'libvirtd'], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT)


@contextlib.contextmanager
def bad_files(host, files, under, served):
    """`with bad_files(...)`: these files in place on the host (tls_certificates.replaced), served by its
    running libvirtd when `served`; the host's own files, and a daemon serving them, afterwards."""
    try:
        with tls_certificates.replaced(host, files, under=under):
            if served:
                update_tls(host)
            yield
    finally:
        if served:
            update_tls(host)


def _bad_libvirt(home, dest, case):
    """(host whose files are bad, directory under its /etc/pki, files, whether its libvirtd must serve them (a
    server's files are read when it starts; a client's at each connection), what libvirt says in the migration,
    what the role's check says on that host)."""
    ca = tls_certificates.bed_ca()
    if case == 'destination names another address':
        made = tls_certificates.server_certificate(dest, '127.0.9.1', ca)
        return (dest, 'libvirt', dict(zip(['servercert.pem', 'private/serverkey.pem'], made)), True,
                "Failed to verify peer's certificate (the TLS connection the source's libvirtd opens",
                'servercert.pem does not name %s, the address peers reach this host by' % ADDRESSES[dest])
    if case == 'source client certificate expired':
        made = tls_certificates.server_certificate(home, ADDRESSES[home], ca, days=(-40, -10),
                                                   usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        return (home, 'libvirt', dict(zip(['clientcert.pem', 'private/clientkey.pem'], made)), False,
                'The client certificate /etc/pki/libvirt/clientcert.pem has expired', 'clientcert.pem expired on')
    other_cert = tls_certificates.other_ca()[0]
    return (home, 'CA', {'cacert.pem': tls_certificates.pem(other_cert)}, False,
            'Our own certificate /etc/pki/libvirt/clientcert.pem failed validation against '
            "/etc/pki/CA/cacert.pem: The certificate hasn't got a known issuer",
            'clientcert.pem is not signed by the CA')


@pytest.mark.parametrize('case', ['destination names another address', 'source client certificate expired',
                                  'source trusts another CA'])
def test_libvirts_own_tls_connection_refuses_bad_certificates_before_any_memory_moves(case):
    home = current_host(VM)
    dest = other_host(home)
    bad_host, under, files, served, from_libvirt, from_check = _bad_libvirt(home, dest, case)
    log = '/var/lib/wa-testbed/%s/log/libvirtd.log' % home
    logged = os.path.getsize(log) if os.path.exists(log) else 0
    with bad_files(bad_host, files, under, served):
        failed, message = tls_check(bad_host)
        assert failed and from_check in message, message
        result = migrate(home)
    if os.path.exists(log):
        with open(log) as f:
            f.seek(logged)
            print('SOURCE LIBVIRTD LOG (%s): %s' % (case, [line.strip() for line in f if 'ertificate' in line][-3:]))
    assert result.get('failed') and from_libvirt in result['msg'], result.get('msg')
    assert 'the VM is running on the source' in result['msg']
    assert not result.get('memory_bytes_transferred'), result.get('memory_bytes_transferred')
    assert where_is(VM) == {home: libvirt.VIR_DOMAIN_RUNNING}
    # The same daemons take the same migration once their own files are back (it needs the source's client
    # certificate and CA and the destination's server certificate, the files each case spoilt).
    again = migrate(home)
    assert again.get('outcome') == 'moved', again.get('msg')
    assert where_is(VM) == {dest: libvirt.VIR_DOMAIN_RUNNING}
