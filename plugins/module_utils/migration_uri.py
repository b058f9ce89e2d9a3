# -*- coding: utf-8 -*-
# Copyright: workload_aware developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The destination's migration URI (how the source host reaches it), checked
the same way in check mode and in a real run, before anything is touched:
it must parse, its host must resolve, it must not name the source host
itself, and, where it can be asked, something must listen there.

"Where it can be asked": when the source's libvirtd is on this machine (a
unix-socket URI), the module sees that daemon's network namespace through
/proc: its own listening sockets (a destination on one of them is the source
itself) and, for a loopback destination, whether anything listens there at
all.  A non-loopback destination is tried with a TCP connection when the
daemon shares this module's namespace.  A remote source cannot be asked; its
destination is checked by libvirt when the migration starts (host UUIDs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import ipaddress
import os
import re
import socket
import struct

from urllib.parse import parse_qs, urlsplit

from ansible_collections.workload_aware.live_migration.plugins.module_utils.errors import BadInput

# libvirt's default ports per transport; no transport with a host means TLS.
DEFAULT_PORTS = {'tcp': 16509, 'tls': 16514, None: 16514, 'ssh': 22, 'libssh': 22, 'libssh2': 22}
DEFAULT_SOCKETS = ('/run/libvirt/libvirt-sock', '/run/libvirt/virtqemud-sock')
_SCHEME = re.compile(r'^[a-z0-9]+(\+[a-z0-9]+)?$')
_LISTEN = '0A'
PROBE_TIMEOUT_S = 3.0


def parse(uri, option='dest_uri'):
    """{'driver', 'transport', 'host', 'port'} of a libvirt migration URI; BadInput when it cannot be one."""
    bad = '%s %r is not a libvirt URI of another host (driver[+transport]://host/system)' % (option, uri)
    if not isinstance(uri, str) or '://' not in uri:
        raise BadInput(bad)
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as err:
        raise BadInput('%s: %s' % (bad, err))
    if not _SCHEME.match(parts.scheme):
        raise BadInput(bad)
    driver, _plus, transport = parts.scheme.partition('+')
    transport = transport or None
    if driver != 'qemu':
        raise BadInput('%s: this collection migrates QEMU VMs (driver qemu), not %s' % (bad, driver))
    if transport not in DEFAULT_PORTS and transport not in ('unix', 'ext'):
        raise BadInput('%s: unknown transport %s' % (bad, transport))
    if not parts.hostname or transport == 'unix':
        raise BadInput("%s %r names no host: the source's libvirt would connect to itself" % (option, uri))
    return dict(driver=driver, transport=transport, host=parts.hostname,
                port=port or DEFAULT_PORTS.get(transport))


def check_transport(uri, transport, option='dest_uri'):
    """Refuse an unencrypted stream (`transport` plain) unless `uri`'s host is loopback only (BadInput)."""
    if transport != 'plain':
        return
    parts = parse(uri, option)
    addresses = resolve(parts['host'], option)
    if not all(is_loopback(a) for a in addresses):
        raise BadInput("transport plain would send the VM's memory unencrypted to %s (%s, from %s %s); it is "
                       "allowed only where every migration address is loopback: use transport tls, the default "
                       "(docs/tls.md)" % (parts['host'], ', '.join(addresses), option, uri))


def resolve(host, option='dest_uri'):
    """The addresses `host` resolves to (BadInput when it does not)."""
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise BadInput('the host %s of %s does not resolve: %s' % (host, option, err))
    return sorted(set(info[4][0] for info in infos))


def parse_proc_net_tcp(text, ipv6=False):
    """[(address, port, state, inode)] of /proc/<pid>/net/tcp or tcp6 (pure)."""
    entries = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        address, port = fields[1].split(':')
        raw = bytes.fromhex(address)
        if ipv6:
            # Four host-order 32-bit words.
            packed = b''.join(struct.pack('>I', struct.unpack('<I', raw[i:i + 4])[0]) for i in range(0, 16, 4))
            text_address = str(ipaddress.IPv6Address(packed))
        else:
            text_address = str(ipaddress.IPv4Address(struct.unpack('<I', raw)[0]))
        entries.append((text_address, int(port, 16), fields[3], int(fields[9])))
    return entries


def _is_wildcard(address):
    return address in ('0.0.0.0', '::')


def listens_on(listeners, addresses, port):
    """Whether one of `listeners` [(address, port)] accepts connections to one of `addresses` on `port` (pure)."""
    for address, listen_port in listeners:
        if listen_port == port and (address in addresses or _is_wildcard(address)):
            return True
    return False


def names_daemon(own_listening, addresses, port):
    """Whether a daemon listening on `own_listening` [(address, port)] is what `addresses`:`port` reaches (pure).

    A wildcard listener is reached by a loopback address of its own namespace.
    """
    for address, listen_port in own_listening:
        if listen_port != port:
            continue
        if address in addresses or (_is_wildcard(address) and any(is_loopback(a) for a in addresses)):
            return True
    return False


def is_loopback(address):
    return ipaddress.ip_address(address).is_loopback


def _local_socket(source_uri):
    parts = urlsplit(source_uri)
    if parts.hostname or '+' in parts.scheme and not parts.scheme.endswith('+unix'):
        return []
    explicit = parse_qs(parts.query).get('socket')
    return explicit or [path for path in DEFAULT_SOCKETS if parts.path.rstrip('/') == '/system']


def daemon_pid(source_uri):
    """The pid of the libvirtd behind a local unix-socket URI, or None (remote, or it cannot be asked)."""
    for path in _local_socket(source_uri):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i'))
            return struct.unpack('3i', creds)[0]
        except (IOError, OSError):
            continue
        finally:
            sock.close()
    return None


def _netns_sockets(pid):
    """[(address, port, state, inode)] of every TCP socket in the network namespace of `pid`."""
    found = []
    for name, ipv6 in (('tcp', False), ('tcp6', True)):
        try:
            with open('/proc/%d/net/%s' % (pid, name)) as table:
                found.extend(parse_proc_net_tcp(table.read(), ipv6))
        except (IOError, OSError):
            continue
    return found


def _socket_inodes(pid):
    inodes = set()
    fd_dir = '/proc/%d/fd' % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except (IOError, OSError):
            continue
        if target.startswith('socket:['):
            inodes.add(int(target[8:-1]))
    return inodes


def _same_netns(pid):
    return os.stat('/proc/self/ns/net').st_ino == os.stat('/proc/%d/ns/net' % pid).st_ino


def _connects(addresses, port):
    for address in addresses:
        try:
            socket.create_connection((address, port), PROBE_TIMEOUT_S).close()
            return True
        except (IOError, OSError):
            continue
    return False


def check(source_uri, dest_uri):
    """Raise BadInput unless `dest_uri` parses, resolves, is not the source and (where it can be asked) listens.

    Returns what was checked, for the result.
    """
    parts = parse(dest_uri)
    addresses = resolve(parts['host'])
    where = '%s:%s' % (parts['host'], parts['port'])
    source = urlsplit(source_uri)
    if source.hostname:
        source_port = source.port or DEFAULT_PORTS.get(source.scheme.partition('+')[2] or None)
        try:
            source_addresses = resolve(source.hostname, 'uri')
        except BadInput:
            source_addresses = []
        if source_port == parts['port'] and set(source_addresses) & set(addresses):
            raise BadInput('dest_uri %s names the source host itself (%s, as uri does)' % (dest_uri, where))
    pid = daemon_pid(source_uri)
    if pid is None:
        return 'checked that %s parses and resolves; the source is remote, libvirt checks the rest' % dest_uri
    try:
        sockets = _netns_sockets(pid)
        own = _socket_inodes(pid)
        same_netns = _same_netns(pid)
    except (IOError, OSError) as err:
        if err.errno in (errno.EACCES, errno.EPERM, errno.ENOENT):
            return 'checked that %s parses and resolves; the source daemon cannot be inspected' % dest_uri
        raise
    listening = [(s[0], s[1]) for s in sockets if s[2] == _LISTEN]
    own_listening = [(s[0], s[1]) for s in sockets if s[2] == _LISTEN and s[3] in own]
    if names_daemon(own_listening, addresses, parts['port']):
        raise BadInput("dest_uri %s names the source host itself: the source's libvirtd listens on %s"
                       % (dest_uri, where))
    if all(is_loopback(a) for a in addresses):
        if not listens_on(listening, addresses, parts['port']):
            raise BadInput('dest_uri %s is unreachable from the source host: nothing listens on %s there'
                           % (dest_uri, where))
    elif same_netns and not _connects(addresses, parts['port']):
        raise BadInput('dest_uri %s is unreachable from the source host: no connection to %s within %.0f s'
                       % (dest_uri, where, PROBE_TIMEOUT_S))
    return 'checked that %s parses, resolves, is not the source and listens' % dest_uri
