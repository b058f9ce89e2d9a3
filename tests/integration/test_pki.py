# -*- coding: utf-8 -*-
"""The pki role for real, without the test bed: two local hosts get their keys and
certificates under a temporary pki_root, from a CA in a temporary directory, through
ansible-playbook; the files are then read with cryptography. Covers the chain, the
names and usages, the modes, idempotence, renewal and an operator's own CA.

Does not use the `testbed` fixture: nothing here needs a libvirtd."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import os
import re
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOSTS = {
    # inventory_hostname: (host variables, DNS names, IP addresses its server certificates must carry)
    'hv1': ({'wa_testbed_address': '127.0.1.1'}, ['hv1'], ['127.0.1.1']),
    'hv2': ({'pki_dns_names': ['hv2.example.test'], 'pki_addresses': ['192.0.2.2', '2001:db8::2']},
            ['hv2', 'hv2.example.test'], ['192.0.2.2', '2001:db8::2']),
}
# (certificate, key, extended key usage) below pki_root, with the role's defaults.
PAIRS = [
    ('etc/pki/libvirt/servercert.pem', 'etc/pki/libvirt/private/serverkey.pem', ExtendedKeyUsageOID.SERVER_AUTH),
    ('etc/pki/libvirt/clientcert.pem', 'etc/pki/libvirt/private/clientkey.pem', ExtendedKeyUsageOID.CLIENT_AUTH),
    ('etc/pki/qemu/server-cert.pem', 'etc/pki/qemu/server-key.pem', ExtendedKeyUsageOID.SERVER_AUTH),
    ('etc/pki/qemu/client-cert.pem', 'etc/pki/qemu/client-key.pem', ExtendedKeyUsageOID.CLIENT_AUTH),
]
CA_COPIES = ['etc/pki/CA/cacert.pem', 'etc/pki/qemu/ca-cert.pem']
QEMU_FILES = {'ca-cert.pem', 'server-cert.pem', 'server-key.pem', 'client-cert.pem', 'client-key.pem'}
RECAP = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


class Bed:
    """The temporary hosts, CA directory and playbook."""

    def __init__(self, top):
        self.top = str(top)
        self.ca_dir = os.path.join(self.top, 'ca')
        self.roots = dict((name, os.path.join(self.top, 'hosts', name)) for name in HOSTS)
        self.inventory = os.path.join(self.top, 'inventory.json')
        self.playbook = os.path.join(self.top, 'pki.yml')
        self.hostvars = dict((name, dict(variables, pki_root=self.roots[name]))
                             for name, (variables, dummy, dummy) in HOSTS.items())
        self.write_inventory()
        with open(self.playbook, 'w') as f:
            f.write('---\n- name: Give the hosts their TLS files\n  hosts: all\n  gather_facts: false\n'
                    '  roles:\n    - role: workload_aware.live_migration.pki\n')

    def write_inventory(self):
        # As playbooks/inventories/testbed: local connections, the controller's Python.
        inventory = {'all': {'vars': {'ansible_connection': 'local',
                                      'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
                             'hosts': self.hostvars}}
        with open(self.inventory, 'w') as f:
            json.dump(inventory, f)

    def run(self, limit=None, **variables):
        """ansible-playbook with these extra variables (on the hosts in limit, or all); returns
        {host: changed} from the recap."""
        variables.setdefault('pki_ca_dir', self.ca_dir)
        # Pipelining: one process per module run instead of several (the suite runs on 2 shared cores).
        env = dict(os.environ, ANSIBLE_INVENTORY=self.inventory, ANSIBLE_STDOUT_CALLBACK='default',
                   ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_PIPELINING='1')
        env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(REPO, 'build', 'collections'))
        command = ['ansible-playbook', '-i', self.inventory, self.playbook, '-e', json.dumps(variables)]
        if limit:
            command += ['--limit', ','.join(limit)]
        completed = subprocess.run(command,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                   env=env, cwd=self.top, check=False)
        print(completed.stdout)
        assert completed.returncode == 0, 'ansible-playbook failed (exit %d)' % completed.returncode
        recap = dict((m.group(1), int(m.group(3))) for m in RECAP.finditer(completed.stdout))
        assert sorted(recap) == sorted(limit or HOSTS), completed.stdout[-2000:]
        return recap

    def path(self, host, relative):
        return os.path.join(self.roots[host], relative)

    def read(self, host, relative):
        return read_file(self.path(host, relative))

    def snapshot(self):
        """Every file under the hosts' roots and the CA directory: {path: bytes}."""
        files = {}
        for top in [self.ca_dir] + list(self.roots.values()):
            for directory, dummy, names in os.walk(top):
                for name in names:
                    path = os.path.join(directory, name)
                    files[path] = read_file(path)
        return files


def read_file(path):
    with open(path, 'rb') as f:
        return f.read()


def load_cert(data):
    return x509.load_pem_x509_certificate(data)


def public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def issued_by(cert, ca):
    """Whether ca signed cert (the signature checked with the CA's public key)."""
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@pytest.fixture(scope='module')
def pki_bed(tmp_path_factory):
    """The role applied twice from nothing with its own CA: (bed, changes of each run, files after each)."""
    bed = Bed(tmp_path_factory.mktemp('pki'))
    first = bed.run()
    files = bed.snapshot()
    second = bed.run()
    return bed, first, second, files, bed.snapshot()


def test_the_role_makes_its_own_ca_on_the_controller(pki_bed):
    bed, first, dummy, files, dummy = pki_bed
    key = os.path.join(bed.ca_dir, 'ca-key.pem')
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(bed.ca_dir).st_mode) == 0o700
    ca = load_cert(files[os.path.join(bed.ca_dir, 'ca-cert.pem')])
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert all(changed > 0 for changed in first.values()), first
    # The CA key stays on the controller: no host has a file holding it.
    ca_key = files[key]
    assert not [p for p, data in files.items() if data == ca_key and p != key]


@pytest.mark.parametrize('host', sorted(HOSTS))
def test_every_certificate_chains_to_the_ca_with_its_names_and_usage(pki_bed, host):
    bed, dummy, dummy, files, dummy = pki_bed
    ca_pem = files[os.path.join(bed.ca_dir, 'ca-cert.pem')]
    ca = load_cert(ca_pem)
    dummy, dns, addresses = HOSTS[host]
    for copy in CA_COPIES:
        assert files[bed.path(host, copy)].strip() == ca_pem.strip(), copy
    for cert_file, key_file, usage in PAIRS:
        cert = load_cert(files[bed.path(host, cert_file)])
        assert issued_by(cert, ca), cert_file
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == host
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [usage], (cert_file, list(eku))
        key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert key_usage.digital_signature and key_usage.key_encipherment and not key_usage.key_cert_sign
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert san.get_values_for_type(x509.DNSName) == dns, cert_file
            assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(a) for a in addresses], cert_file
        # the certificate is the host's key's
        key = serialization.load_pem_private_key(files[bed.path(host, key_file)], password=None)
        assert public_der(cert.public_key()) == public_der(key.public_key()), cert_file
        not_after = cert.not_valid_after_utc
        now = datetime.datetime.now(datetime.timezone.utc)
        assert datetime.timedelta(days=364) < not_after - now <= datetime.timedelta(days=365), not_after


@pytest.mark.parametrize('host', sorted(HOSTS))
def test_keys_are_private_and_qemu_has_its_five_files(pki_bed, host):
    bed = pki_bed[0]
    for dummy, key_file, dummy in PAIRS:
        info = os.stat(bed.path(host, key_file))
        assert stat.S_IMODE(info.st_mode) == 0o600, key_file
        assert info.st_uid == 0, key_file
    assert stat.S_IMODE(os.stat(bed.path(host, 'etc/pki/libvirt/private')).st_mode) == 0o700
    assert set(os.listdir(bed.path(host, 'etc/pki/qemu'))) == QEMU_FILES
    # /etc/pki is made reachable (QEMU may run as another user), not with the key directories' modes
    assert stat.S_IMODE(os.stat(bed.path(host, 'etc/pki')).st_mode) == 0o755


def test_a_second_run_changes_nothing(pki_bed):
    dummy, dummy, second, files, files_after = pki_bed
    assert second == dict((host, 0) for host in HOSTS), second
    assert files_after == files


def resign_expiring(bed, host, cert_file, days):
    """Replace a host's certificate by one the same in all but its end, days from now, signed by the same CA."""
    with open(os.path.join(bed.ca_dir, 'ca-key.pem'), 'rb') as f:
        ca_key = serialization.load_pem_private_key(f.read(), password=None)
    ca = load_cert(bed.read(host, CA_COPIES[0]))
    old = load_cert(bed.read(host, cert_file))
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca.subject)
               .public_key(old.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=days)))
    for extension in old.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    with open(bed.path(host, cert_file), 'wb') as f:
        f.write(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))


def tls_check(bed, host, root):
    """libvirt_host's tls_check on `host` with its files under `root`; (passed, output)."""
    playbook = os.path.join(bed.top, 'tls_check.yml')
    with open(playbook, 'w') as f:
        f.write('---\n- name: Check the TLS files\n  hosts: all\n  gather_facts: false\n  tasks:\n'
                '    - name: The check\n      ansible.builtin.include_role:\n'
                '        name: workload_aware.live_migration.libvirt_host\n        tasks_from: tls_check\n')
    variables = {'libvirt_host_pki_root': root, 'libvirt_host_tls_peer_name': HOSTS[host][2][0]}
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='default', ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='1')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(REPO, 'build', 'collections'))
    completed = subprocess.run(['ansible-playbook', '-i', bed.inventory, playbook, '--limit', host,
                                '-e', json.dumps(variables)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, env=env, cwd=bed.top, check=False)
    return completed.returncode == 0, completed.stdout


def test_libvirt_hosts_tls_check_passes_the_roles_files_and_refuses_a_certificate_not_of_its_key(pki_bed, tmp_path):
    bed = pki_bed[0]
    passed, output = tls_check(bed, 'hv1', bed.roots['hv1'])
    assert passed, output[-3000:]
    # A copy of hv1's files whose QEMU server key is another valid key (the client's).
    root = str(tmp_path / 'hv1')
    shutil.copytree(bed.roots['hv1'], root)
    qemu = os.path.join(root, 'etc/pki/qemu')
    shutil.copyfile(os.path.join(qemu, 'client-key.pem'), os.path.join(qemu, 'server-key.pem'))
    passed, output = tls_check(bed, 'hv1', root)
    assert not passed
    assert '%s/etc/pki/qemu/server-cert.pem does not match its key %s/etc/pki/qemu/server-key.pem' % (
        root, root) in ' '.join(output.split()), output[-3000:]


def test_a_certificate_expiring_naming_too_little_or_damaged_is_issued_again(pki_bed):
    bed = pki_bed[0]
    # hv1's libvirt server certificate expires in 10 days (within pki_renew_days, 30), its
    # QEMU client certificate is cut short; hv2 is to be reached by one more name.
    expiring, damaged = PAIRS[0][0], PAIRS[3][0]
    resign_expiring(bed, 'hv1', expiring, 10)
    with open(bed.path('hv1', damaged), 'r+b') as f:
        f.truncate(200)
    bed.hostvars['hv2']['pki_dns_names'] = bed.hostvars['hv2']['pki_dns_names'] + ['hv2-migration.example.test']
    bed.write_inventory()
    before = bed.snapshot()
    changed = bed.run()
    after = bed.snapshot()
    assert all(count > 0 for count in changed.values()), changed
    ca = load_cert(after[os.path.join(bed.ca_dir, 'ca-cert.pem')])
    now = datetime.datetime.now(datetime.timezone.utc)
    renewed = {('hv1', expiring), ('hv1', damaged), ('hv2', PAIRS[0][0]), ('hv2', PAIRS[2][0])}
    for host in HOSTS:
        for cert_file, key_file, dummy in PAIRS:
            old, new = before[bed.path(host, cert_file)], after[bed.path(host, cert_file)]
            if (host, cert_file) in renewed:
                assert (host, cert_file) == ('hv1', damaged) or \
                    load_cert(new).serial_number != load_cert(old).serial_number, (host, cert_file)
                assert issued_by(load_cert(new), ca)
                assert load_cert(new).not_valid_after_utc - now > datetime.timedelta(days=364), (host, cert_file)
            else:
                assert new == old, (host, cert_file)
            # the key stays: renewal does not touch it
            assert after[bed.path(host, key_file)] == before[bed.path(host, key_file)], (host, key_file)
    for cert_file in (PAIRS[0][0], PAIRS[2][0]):
        san = load_cert(after[bed.path('hv2', cert_file)]).extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert san.value.get_values_for_type(x509.DNSName) == ['hv2', 'hv2.example.test', 'hv2-migration.example.test']
    # the CA (3650 days) is not due
    assert after[os.path.join(bed.ca_dir, 'ca-cert.pem')] == before[os.path.join(bed.ca_dir, 'ca-cert.pem')]


def make_operator_ca(directory, passphrase):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, u'Operator'),
                      x509.NameAttribute(NameOID.COMMON_NAME, u'Operator hypervisor CA')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    os.makedirs(directory)
    cert_file, key_file = os.path.join(directory, 'operator-ca.pem'), os.path.join(directory, 'operator-ca.key')
    with open(cert_file, 'wb') as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(passphrase.encode())))
    os.chmod(key_file, 0o400)
    return cert_file, key_file


def test_an_operators_ca_is_used_and_never_written(pki_bed):
    bed = pki_bed[0]
    cert_file, key_file = make_operator_ca(os.path.join(bed.top, 'operator'), 'operator secret')
    operator = dict((p, read_file(p)) for p in (cert_file, key_file))
    mtimes = dict((p, os.stat(p).st_mtime_ns) for p in operator)
    before = bed.snapshot()
    # On hv1 only: what the operator's CA changes does not depend on the host (and it halves the run).
    changed = bed.run(limit=['hv1'], pki_ca_cert_file=cert_file, pki_ca_key_file=key_file,
                      pki_ca_key_passphrase='operator secret')
    after = bed.snapshot()
    assert changed['hv1'] > 0, changed
    for path, data in operator.items():
        assert read_file(path) == data and os.stat(path).st_mtime_ns == mtimes[path], path
    assert sorted(os.listdir(os.path.dirname(cert_file))) == ['operator-ca.key', 'operator-ca.pem']
    ca = load_cert(operator[cert_file])
    own_ca = load_cert(before[os.path.join(bed.ca_dir, 'ca-cert.pem')])
    for host in ['hv1']:
        for copy in CA_COPIES:
            assert after[bed.path(host, copy)].strip() == operator[cert_file].strip(), copy
        for cert_path, key_path, dummy in PAIRS:
            cert = load_cert(after[bed.path(host, cert_path)])
            assert issued_by(cert, ca) and not issued_by(cert, own_ca), cert_path
            assert after[bed.path(host, key_path)] == before[bed.path(host, key_path)], key_path
    # the role's own CA is left as it was
    assert all(after[p] == data for p, data in before.items() if p.startswith(bed.ca_dir + os.sep))
