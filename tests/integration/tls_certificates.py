# -*- coding: utf-8 -*-
"""Bad TLS certificates for a test-bed host's QEMU or libvirt directories (test_tls.py): one signed by another
CA, one that has expired, one that names another address, made with cryptography from the test bed's CA
(/var/lib/wa-testbed/pki-ca, the pki role's), and a context manager that puts them in place on a host
and always puts the host's own files back."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import ipaddress
import os
import shutil

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DIR = '/var/lib/wa-testbed/pki-ca'


def pki_dir(host):
    """A test-bed host's /etc/pki as seen from outside its mount namespace."""
    return '/var/lib/wa-testbed/%s/root/etc/pki' % host


def qemu_dir(host):
    """A test-bed host's QEMU TLS directory as seen from outside its mount namespace."""
    return os.path.join(pki_dir(host), 'qemu')


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, u'workload_aware'),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def bed_ca():
    """(certificate, key) of the test bed's CA."""
    with open(os.path.join(CA_DIR, 'ca-cert.pem'), 'rb') as f:
        cert = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(CA_DIR, 'ca-key.pem'), 'rb') as f:
        key = serialization.load_pem_private_key(f.read(), None)
    return cert, key


def other_ca():
    """(certificate, key) of a CA the test bed's hosts do not know."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(u'another CA')).issuer_name(_name(u'another CA'))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def server_certificate(host, address, ca, days=(-1, 30), usage=ExtendedKeyUsageOID.SERVER_AUTH):
    """(certificate PEM, key PEM) of a server certificate (or a client one, `usage` CLIENT_AUTH) for `address`,
    signed by `ca` (certificate, key), valid from `days[0]` to `days[1]` days from now."""
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days[0]))
            .not_valid_after(now + datetime.timedelta(days=days[1]))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return pem(cert), _key_pem(key)


@contextlib.contextmanager
def replaced(host, files, under='qemu'):
    """`with replaced(host, {name: bytes or None}):` the host's QEMU TLS directory (or another directory
    `under` its /etc/pki, names relative to it) with these files in place (None: removed); the host's own files
    are back afterwards, whatever happened."""
    directory = os.path.join(pki_dir(host), under)
    backup = directory + '.wa-test-backup'
    shutil.copytree(directory, backup)
    try:
        for name, content in files.items():
            path = os.path.join(directory, name)
            if content is None:
                os.remove(path)
            else:
                with open(path, 'wb') as f:
                    f.write(content)
                os.chmod(path, 0o600 if name.endswith('key.pem') else 0o644)
        yield directory
    finally:
        shutil.rmtree(directory)
        os.rename(backup, directory)
