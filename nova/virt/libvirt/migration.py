"""Live migration: what the destination tells the source, and the XML rewrite.

The guest's XML names things that belong to the host it runs on: the
address and ports its tcp serial ports listen on, and the files virtlogd
writes. Before the guest moves, the source rewrites those for the
destination, from the ``LibvirtLiveMigrateData`` the destination filled
in (``nova.objects.migrate_data``). Everything else in the XML is passed
through untouched (the config model keeps what it does not model).
"""

import ipaddress
import os
import re
from urllib import parse as urlparse

from nova import exception
from nova.virt.libvirt import config as vconfig


# More tcp serial ports than any guest has (hw_serial_port_count is
# capped far lower): a bigger count from the other host is refused
# rather than draining this host's port range.
MAX_SERIAL_PORTS = 64


def check_dest_instance_dir(migrate_data, uuid):
    """Refuse a destination-given instance folder that is not
    ``<absolute instances_path>/<uuid>`` in normal form.

    The source writes it into the guest's XML (log and file paths): a
    destination must not make the guest write anywhere else. Raises
    MigrationError naming ``instance_dir``.
    """
    path = migrate_data.instance_dir
    if path is None:
        return
    if (not isinstance(path, str) or not os.path.isabs(path) or
            os.path.normpath(path) != path or
            os.path.basename(path) != uuid or
            '..' in path.split(os.sep)):
        raise exception.MigrationError(
            reason='the destination gave instance_dir %r for %s: not an '
                   'absolute, normal path ending in the instance uuid'
                   % (path, uuid))


# A host name as DNS has them (letters, digits, '-', '.'): nothing that
# could be a path, an option or a second URL part.
_HOSTNAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9.-]{0,252}')

# Bounds of the destination's virtlogd limits, which size the files the
# source stages for the copy: a max_size of 1 byte would stage one file
# per byte. (virtlogd's own default is 2 MiB and 3 backups; the rsync
# module takes console.log.0 to console.log.99.)
MIN_VIRTLOGD_MAX_SIZE = 1024
MAX_VIRTLOGD_MAX_SIZE = 1 << 40
MAX_VIRTLOGD_MAX_BACKUPS = 100

# libvirt URI parts that make the client run a program or pick one: a
# destination must not make the source's libvirtd client run anything.
_UNSAFE_URI_TRANSPORTS = ('ext',)
_UNSAFE_URI_PARAMS = ('command', 'netcat', 'proxy')


def _is_ip(value):
    """An IPv4 or IPv6 address without a scope (``%eth0``): the value
    goes into URLs, URIs and a file name, where a scope is free text."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return '%' not in value


def _check_addr(value, field):
    if value is None:
        return
    if not isinstance(value, str) or not (
            _is_ip(value) or _HOSTNAME.fullmatch(value)):
        raise exception.MigrationError(
            reason='the destination gave %s %r: not an IP address '
                   '(without a scope) or a host name' % (field, value))


def _uri_param_names(query):
    """Parameter names of a libvirt URI query, split as libvirt splits
    them (on '&' and ';') and unescaped."""
    return {urlparse.unquote(part.partition('=')[0]).strip().lower()
            for part in re.split('[&;]', query) if part}


def _check_connect_uri(uri):
    if uri is None:
        return
    bad = not isinstance(uri, str)
    if not bad:
        parts = urlparse.urlsplit(uri)
        transport = parts.scheme.partition('+')[2]
        params = _uri_param_names(parts.query)
        bad = (transport in _UNSAFE_URI_TRANSPORTS or
               params & set(_UNSAFE_URI_PARAMS) or
               any(c.isspace() or ord(c) < 32 for c in uri))
    if bad:
        raise exception.MigrationError(
            reason='the destination gave connect_uri %r: a libvirt URI '
                   'that runs a program (ext transport, command=, '
                   'netcat= or proxy=) is refused' % (uri,))


def check_dest_data(migrate_data, uuid):
    """Check what the destination told the source before the source
    acts on it: the instance folder (see :func:`check_dest_instance_dir`),
    the addresses (IP or host name), the libvirt URI (nothing that runs
    a program), the ports (1-65535) and the virtlogd limits (bounded, as
    they size what the source stages). Raises MigrationError naming the
    field."""
    check_dest_instance_dir(migrate_data, uuid)
    _check_addr(migrate_data.serial_listen_addr, 'serial_listen_addr')
    _check_addr(migrate_data.inbound_addr, 'inbound_addr')
    _check_connect_uri(migrate_data.connect_uri)
    ports = migrate_data.serial_listen_ports
    if not isinstance(ports, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and
            0 < p < 65536 for p in ports):
        raise exception.MigrationError(
            reason='the destination gave serial_listen_ports %r: not a '
                   'list of tcp ports' % (ports,))
    _check_int(migrate_data.virtlogd_max_size, 'virtlogd_max_size',
               MIN_VIRTLOGD_MAX_SIZE, MAX_VIRTLOGD_MAX_SIZE)
    _check_int(migrate_data.virtlogd_max_backups, 'virtlogd_max_backups',
               0, MAX_VIRTLOGD_MAX_BACKUPS)


def _check_int(value, field, low, high):
    if value is None:
        return
    if (isinstance(value, bool) or not isinstance(value, int) or
            not low <= value <= high):
        raise exception.MigrationError(
            reason='the destination gave %s %r: not a whole number from '
                   '%d to %d' % (field, value, low, high))


def checked_port_count(migrate_data):
    """``serial_port_count`` from the source, as an int the destination
    can act on; MigrationError naming the field otherwise."""
    count = migrate_data.serial_port_count
    if (isinstance(count, bool) or not isinstance(count, int) or
            not 0 <= count <= MAX_SERIAL_PORTS):
        raise exception.MigrationError(
            reason='serial_port_count %r from the source is not a whole '
                   'number from 0 to %d' % (count, MAX_SERIAL_PORTS))
    return count


def _retarget_path(path, src_dir, dest_dir):
    """``path`` moved from the source instance folder to the destination's."""
    if not path or not src_dir or not dest_dir:
        return path
    src_dir = os.path.normpath(src_dir)
    if os.path.normpath(os.path.dirname(path)) != src_dir:
        return path
    return os.path.join(dest_dir, os.path.basename(path))


def _retarget_cached(path, src_dir, dest_dir):
    """``path`` of a file in the source's image cache
    (``<instances_path>/<cache folder>/<name>``, beside the instance
    folders) moved to the destination's, which pre_live_migration
    filled."""
    if not path or not src_dir or not dest_dir:
        return path
    src_root = os.path.dirname(os.path.normpath(src_dir))
    relative = os.path.relpath(os.path.normpath(path), src_root)
    if relative.startswith(os.pardir) or len(relative.split(os.sep)) != 2:
        return path
    return os.path.join(os.path.dirname(os.path.normpath(dest_dir)),
                        relative)


def serial_port_count(guest):
    """How many tcp serial ports (by target port) the guest has."""
    ports = [dev.target_port or 0 for dev in guest.char_devices
             if dev.type == 'tcp']
    return max(ports) + 1 if ports else 0


def check_serial_addr(guest, migrate_data):
    if serial_port_count(guest) and not migrate_data.serial_listen_addr:
        raise exception.MigrationError(
            reason='guest %s has tcp serial ports but the destination gave '
                   'no serial listen address (is [serial_console] enabled '
                   'there?)' % guest.uuid)


def writes_file(guest, path):
    """Whether a char device of ``guest`` writes to ``path`` when it runs."""
    for dev in guest.char_devices:
        if dev.log is not None and dev.log.file == path:
            return True
        if dev.type == 'file' and dev.source_path == path:
            return True
    return False


def update_guest_xml(guest_xml, migrate_data, src_instance_dir):
    """The guest's XML as it must be on the destination host.

    * tcp serial/console sources listen on the destination's address and
      on its port for their target port;
    * paths in the source's instance folder (virtlogd logs, file
      consoles) point at the destination's instance folder, a kernel and
      ramdisk in its image cache at the destination's;
    * when the destination cannot use virtlogd, every ``<log>`` goes: the
      guest keeps its tcp console there, unlogged (the blueprint's
      N+1 -> N case).

    Raises MigrationError when the destination did not say where the
    guest's tcp serial ports may listen.
    """
    guest = vconfig.LibvirtConfigGuest.from_xml(guest_xml)
    check_serial_addr(guest, migrate_data)
    # A kernel and ramdisk from the image cache: the destination's copy.
    guest.os_kernel = _retarget_cached(guest.os_kernel, src_instance_dir,
                                       migrate_data.instance_dir)
    guest.os_initrd = _retarget_cached(guest.os_initrd, src_instance_dir,
                                       migrate_data.instance_dir)
    for dev in guest.char_devices:
        if dev.type == 'tcp':
            dev.listen_host = migrate_data.serial_listen_addr
            dev.listen_port = _dest_port(dev, migrate_data, guest.uuid)
        if dev.type == 'file':
            dev.source_path = _retarget_path(
                dev.source_path, src_instance_dir, migrate_data.instance_dir)
        if dev.log is not None:
            if migrate_data.supports_virtlogd:
                dev.log.file = _retarget_path(
                    dev.log.file, src_instance_dir,
                    migrate_data.instance_dir)
            else:
                dev.log = None
    return guest.to_xml()


def _dest_port(dev, migrate_data, uuid):
    # libvirt mirrors serial port 0 as <console> with target port 0 (or
    # none): both are the same port on the destination too.
    index = dev.target_port or 0
    ports = migrate_data.serial_listen_ports
    if index >= len(ports):
        raise exception.MigrationError(
            reason='guest %s serial port %d has no port on the destination '
                   '(it acquired %d)' % (uuid, index, len(ports)))
    return ports[index]
