"""Live migration: what the destination tells the source, and the XML rewrite.

The guest's XML names things that belong to the host it runs on: the
address and ports its tcp serial ports listen on, and the files virtlogd
writes. Before the guest moves, the source rewrites those for the
destination, from the ``LibvirtLiveMigrateData`` the destination filled
in (``nova.objects.migrate_data``). Everything else in the XML is passed
through untouched (the config model keeps what it does not model).
"""

import errno
import ipaddress
import os
import re
import stat
import tempfile
from urllib import parse as urlparse

import libvirt

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
    _check_int(migrate_data.disk_available_mb, 'disk_available_mb',
               0, MAX_DISK_MB)
    if migrate_data.filename is not None:
        _checked_check_file_name(migrate_data.filename)


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
      consoles, the disk) point at the destination's instance folder, a
      kernel and ramdisk in its image cache at the destination's; a
      disk's ``<backingStore>`` goes (the destination's overlay names
      its own cached image);
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
    _retarget_disks(guest, src_instance_dir, migrate_data.instance_dir)
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


# -- block migration --------------------------------------------------------
# Nova's way to find whether two hosts share the instances folder: the
# destination creates a file in its own, the source looks for that name
# in its own. The names are ours alone: the source never looks up a
# name the destination chose freely (it could name any file).

SHARED_CHECK_PREFIX = 'nova-shared-check-'
_CHECK_FILE_NAME = re.compile(re.escape(SHARED_CHECK_PREFIX) +
                              r'[A-Za-z0-9_]{1,64}')

# Bounds of what the other host says about disks: a free space beyond
# an exbibyte, or a disk beyond 64 TiB, is not a real host's answer.
MAX_DISK_MB = 1 << 40
MAX_DISK_BYTES = 64 << 40
MIB = 1024 * 1024

# libvirt copies the disks libvirt is told to (VIR_MIGRATE_PARAM_
# MIGRATE_DISKS) into the destination's pre-created overlays over NBD;
# "INC": only the overlay's own data, the destination has the backing
# image in its own image cache.
BLOCK_MIGRATION_FLAG = libvirt.VIR_MIGRATE_NON_SHARED_INC


def _checked_check_file_name(name):
    if not isinstance(name, str) or not _CHECK_FILE_NAME.fullmatch(name):
        raise exception.MigrationError(
            reason='the destination gave filename %r: not a shared-storage '
                   'check file name (%s<letters and digits>)'
                   % (name, SHARED_CHECK_PREFIX))
    return name


def create_shared_check_file(instances_path):
    """On the destination: a new empty file in ``instances_path``; its
    base name (MigrationPreCheckError when it cannot be made)."""
    try:
        fd, path = tempfile.mkstemp(prefix=SHARED_CHECK_PREFIX,
                                    dir=instances_path)
    except OSError as e:
        raise exception.MigrationPreCheckError(
            reason='cannot create a file in the instances folder %s of '
                   'the destination: %s' % (instances_path, e.strerror))
    os.close(fd)
    return os.path.basename(path)


def shared_check_file_exists(instances_path, name):
    """On the source: whether the destination's file ``name`` is in
    this host's ``instances_path`` (the folder is shared). A link is
    not followed and never counts; None ``name``: not shared (a
    destination that made no file)."""
    if name is None:
        return False
    path = os.path.join(instances_path, _checked_check_file_name(name))
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def remove_shared_check_file(instances_path, name):
    """On the destination: remove its file ``name`` (a regular file of
    that name only); never raises for a file already gone."""
    if name is None:
        return
    path = os.path.join(instances_path, _checked_check_file_name(name))
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise


def decide_block_migration(migrate_data, uuid, has_local_disk, source):
    """On the source, as Nova decides: ``block_migration`` None ("auto")
    becomes True when the instance folder is not shared
    (``is_shared_instance_path``); block migration with a shared folder
    is refused, and so is a server with a local disk moving without it
    to a host that does not share the folder (it would lose its disk).
    Sets and returns ``migrate_data.block_migration``.

    :raises MigrationPreCheckError: naming why (400 at the API).
    """
    shared = bool(migrate_data.is_shared_instance_path)
    if migrate_data.block_migration is None:
        migrate_data.block_migration = not shared
    if migrate_data.block_migration and shared:
        raise exception.MigrationPreCheckError(
            reason='block migration of server %s cannot be used with '
                   'shared storage: the instance folder on %s is shared '
                   'with the destination' % (uuid, source))
    if not migrate_data.block_migration and not shared and has_local_disk:
        raise exception.MigrationPreCheckError(
            reason='server %s has a local disk and its instance folder on '
                   '%s is not shared with the destination: live migrate '
                   'it with block_migration true (or "auto" from '
                   'microversion 2.25) to copy the disk' % (uuid, source))
    return migrate_data.block_migration


def check_disk_space(migrate_data, uuid, virtual_size, actual_size):
    """Before microversion 2.25 (``disk_over_commit`` not None), as
    Nova: the destination's free space must hold the disk's actual size
    when over-committing, its virtual size otherwise (bytes).

    :raises MigrationPreCheckError: naming both figures in MiB.
    """
    if migrate_data.disk_over_commit is None:
        return
    available = migrate_data.disk_available_mb
    if available is None:
        return  # the destination did not say (a host without the check)
    needed = actual_size if migrate_data.disk_over_commit else virtual_size
    if available * MIB < needed:
        raise exception.MigrationPreCheckError(
            reason='the disk of server %s is too large for the '
                   'destination: %d MiB free there, %d MiB needed (%s '
                   'size, disk_over_commit %s)' % (
                       uuid, available, -(-needed // MIB),
                       'actual' if migrate_data.disk_over_commit
                       else 'virtual',
                       migrate_data.disk_over_commit))


def checked_disk_size(migrate_data):
    """``disk_virtual_size`` from the source, in bytes, for the
    destination's overlay: MigrationError naming the field unless a
    whole number from 1 to MAX_DISK_BYTES."""
    size = migrate_data.disk_virtual_size
    if (isinstance(size, bool) or not isinstance(size, int) or
            not 0 < size <= MAX_DISK_BYTES):
        raise exception.MigrationError(
            reason='disk_virtual_size %r from the source is not a whole '
                   'number of bytes from 1 to %d' % (size, MAX_DISK_BYTES))
    return size


def local_disks(guest, instance_dir):
    """Target names (``vda``) of the guest's disks whose file is in its
    instance folder: what a block migration copies."""
    return [disk.target_dev
            for disk in guest.devices_of(vconfig.LibvirtConfigGuestDisk)
            if disk.source_path and disk.target_dev and
            _in_folder(disk.source_path, instance_dir)]


def _in_folder(path, folder):
    return os.path.normpath(os.path.dirname(path)) == os.path.normpath(
        folder)


def migration_flags(base_flags, disks):
    """libvirt's flags for the job: ``base_flags``, plus the incremental
    disk copy when there are ``disks`` to copy (none: a block migration
    of a server without a local disk moves memory only)."""
    return base_flags | BLOCK_MIGRATION_FLAG if disks else base_flags


def _retarget_disks(guest, src_dir, dest_dir):
    """Disk files in the source's instance folder point at the
    destination's; their ``<backingStore>`` (the source's image cache)
    goes, so that the destination's libvirt reads the chain from its own
    overlay, whose backing file is its own cached image."""
    for disk in guest.devices_of(vconfig.LibvirtConfigGuestDisk):
        moved = _retarget_path(disk.source_path, src_dir, dest_dir)
        if moved == disk.source_path:
            continue
        disk.source_path = moved
        # The parsed element keeps what the model does not know (the
        # chain libvirt reported): drop it from what is formatted.
        origin = getattr(disk, '_origin', None)
        if origin is not None:
            for element in origin.findall('backingStore'):
                origin.remove(element)
