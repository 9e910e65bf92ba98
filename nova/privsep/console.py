"""Privileged reads of a guest's console (see nova.privsep).

Each entrypoint does one narrow thing and keeps the instance folder
rules of nova.virt.libvirt.instance_files: the folder is opened with
open_dir() (O_DIRECTORY | O_NOFOLLOW, owned by the nova-compute that
asks, writable by nobody else, its parent likewise), every file is looked
at relative to that descriptor, opened O_NOFOLLOW and checked with
fstat(): a regular file with one name, or it is refused
(InstanceFileUnsafe). Only the console log's names (``console.log``,
``console.log.N``) in a folder named by a canonical instance uuid, and
only ptys (``/dev/pts/N``), are ever opened. Nothing is written.

``owner`` is the uid of the nova-compute that asks (os.geteuid() on its
side): the daemon runs as root, so its own uid says nothing about whose
folder it is.

open_log_file is the one entrypoint that hands out more than bytes: a
read-only descriptor of one checked log file, passed over an abstract
unix socket the caller bound (open_log_fd), for the live console's
follower, which holds its files to prove what it reads.

Errors cross the privsep socket as their class and message (their
``kwargs`` stay behind): InstanceFileUnsafe, ConsoleLogUnreadable,
InvalidUUID, ValueError, OSError.
"""

import errno
import os
import re
import socket
import stat
import struct
import sys
import time
import uuid

from lxml import etree
from oslo_log import log as logging

from nova import exception
import nova.privsep
from nova.objects import instance as objects
from nova.virt.libvirt import console_log
from nova.virt.libvirt import instance_files

LOG = logging.getLogger(__name__)

LOG_NAME = 'console.log'
# The most one call hands back: one log tail is MAX_CONSOLE_BYTES; a log
# copy asks a piece at a time (privsep messages are held in memory).
MAX_PIECE = 1 << 20
_LOG_NAMES = re.compile(r'^console\.log(\.\d+)?$')
_PTY = re.compile(r'^/dev/pts/\d+$')
_READ_FLAGS = (os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC |
               os.O_NOFOLLOW)


def _caller_uid():
    """The uid of the user whose sudo started this process, when it is
    oslo.privsep's daemon (the documented helper_command); otherwise
    None: entrypoints called in a root nova-compute's own process, or a
    daemon not started by sudo."""
    spec = getattr(sys.modules.get('__main__'), '__spec__', None)
    if getattr(spec, 'name', None) != 'oslo_privsep.daemon':
        return None
    uid = os.environ.get('SUDO_UID', '')
    return int(uid) if uid.isdigit() else None


def _checked_folder(folder, owner):
    """``folder`` if it is ``<absolute path>/<canonical uuid>``, and
    ``owner`` the uid of the user who started the daemon (when sudo
    did): ``owner`` comes from the caller, who must not name root's or
    another user's folders."""
    if not isinstance(folder, str) or not os.path.isabs(folder) or (
            os.path.normpath(folder) != folder):
        raise ValueError('instance folder must be an absolute, normalized '
                         'path, not %r' % (folder,))
    objects.check_uuid(os.path.basename(folder), 'instance folder name')
    if isinstance(owner, bool) or not isinstance(owner, int) or owner < 0:
        raise ValueError('owner must be a uid, not %r' % (owner,))
    caller = _caller_uid()
    if caller is not None and owner != caller:
        raise ValueError('owner must be the uid that started this daemon '
                         '(%d), not %d' % (caller, owner))
    return folder


def _checked_length(value, what, limit):
    if (isinstance(value, bool) or not isinstance(value, int) or
            not 0 <= value <= limit):
        raise ValueError('%s must be an integer from 0 to %d, not %r'
                         % (what, limit, value))
    return value


@nova.privsep.console_pctxt.entrypoint
def read_log_tail(folder, owner, max_bytes):
    """The newest ``max_bytes`` of the log rotated from
    ``<folder>/console.log`` (console_log.read_log_tail, with its
    consistency proof, all of it in this process).

    :param folder: the instance folder, ``<instances_path>/<uuid>``.
    :param owner: uid the folder must belong to.
    :param max_bytes: int, 0 to MAX_PIECE.
    :returns: bytes; ``b""`` if the folder or the log does not exist.
    :raises nova.exception.InstanceFileUnsafe: see open_dir, read_log_tail.
    :raises nova.exception.ConsoleLogUnreadable: a file or the folder
        cannot be opened or read.
    :raises ValueError, nova.exception.InvalidUUID: bad arguments.
    """
    _checked_folder(folder, owner)
    _checked_length(max_bytes, 'max_bytes', MAX_PIECE)
    path = os.path.join(folder, LOG_NAME)
    try:
        dir_fd = instance_files.open_dir(folder, owner)
    except FileNotFoundError:
        return b''
    except OSError as e:
        raise exception.ConsoleLogUnreadable(path=path, reason=e.strerror)
    try:
        return console_log.read_log_tail(path, max_bytes, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


@nova.privsep.console_pctxt.entrypoint
def read_log_piece(folder, owner, name, offset, length):
    """Up to ``length`` bytes at ``offset`` of the log file ``name`` of
    the instance folder ``folder``, for a log copy (log_transfer).

    :param name: ``console.log`` or ``console.log.N``.
    :param offset: int >= 0; length: int, 0 to MAX_PIECE.
    :returns: (bytes, size, (st_dev, st_ino)) of the file as opened: the
        caller sees a file replaced between two pieces by its identity.
        Fewer bytes than asked only at the end of the file.
    :raises FileNotFoundError: no such file, or no folder.
    :raises nova.exception.InstanceFileUnsafe: the folder (open_dir) or
        the file (a link, not a regular file, several names).
    :raises OSError: for any other failure to open or read.
    """
    _checked_folder(folder, owner)
    if not isinstance(name, str) or not _LOG_NAMES.match(name):
        raise ValueError('not a console log name: %r' % (name,))
    _checked_length(offset, 'offset', 1 << 62)
    _checked_length(length, 'length', MAX_PIECE)
    path = os.path.join(folder, name)
    dir_fd = instance_files.open_dir(folder, owner)
    try:
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                console_log.refuse(path, 'a symbolic link; not following '
                                   'it')
            raise
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(fd)
        reason = console_log.describe_unsafe(st)
        if reason:
            console_log.refuse(path, reason)
        data = os.pread(fd, length, offset) if length else b''
        return data, st.st_size, (st.st_dev, st.st_ino)
    finally:
        os.close(fd)


# libvirtd's records of the QEMU guests it runs (qemu:///system), each
# root's and 0600: the one word on which ptys are guests' consoles.
LIBVIRT_QEMU_STATE = '/run/libvirt/qemu'
_MAX_STATUS = 4 << 20
_STATUS_PARSER = etree.XMLParser(resolve_entities=False, no_network=True,
                                 huge_tree=False)


def _guest_ptys():
    """The pty paths of the serial ports and consoles of the running
    guests, from libvirtd's status files (only root's regular files,
    never through a link; others are skipped)."""
    ptys = set()
    try:
        names = os.listdir(LIBVIRT_QEMU_STATE)
    except FileNotFoundError:
        return ptys
    for name in names:
        if not name.endswith('.xml'):
            continue
        try:
            fd = os.open(os.path.join(LIBVIRT_QEMU_STATE, name),
                         _READ_FLAGS)
        except OSError:
            continue  # gone, or a link
        with os.fdopen(fd, 'rb') as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or (
                    st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
                continue
            try:
                root = etree.fromstring(f.read(_MAX_STATUS), _STATUS_PARSER)
            except etree.Error:
                continue  # being rewritten
        for dev in root.iter('serial', 'console'):
            source = dev.find('source')
            if dev.get('type') == 'pty' and source is not None:
                ptys.add(source.get('path'))
    return ptys


@nova.privsep.console_pctxt.entrypoint
def drain_pty(pty_path, max_bytes):
    """What is waiting to be read on the guest's pty, at most
    ``max_bytes`` (hosts without virtlogd: the caller appends it to the
    console log). Never waits for more.

    Only a pty that libvirt lists as a running guest's serial port or
    console (_guest_ptys) is read: every terminal of the host (a shell's,
    with what is typed into it) is a /dev/pts/N too. It is opened first
    and looked up after: while it is held open, its number cannot pass
    to another terminal.

    :param pty_path: ``/dev/pts/N`` (from the guest's live XML).
    :param max_bytes: int, 0 to MAX_PIECE.
    :returns: bytes, possibly ``b""``.
    :raises ValueError: not a pty path, not a character device, or not
        the console of a running guest.
    :raises OSError: it cannot be opened or read.
    """
    if not isinstance(pty_path, str) or not _PTY.match(pty_path):
        raise ValueError('not a pty: %r' % (pty_path,))
    _checked_length(max_bytes, 'max_bytes', MAX_PIECE)
    fd = os.open(pty_path, _READ_FLAGS)
    try:
        if not stat.S_ISCHR(os.fstat(fd).st_mode):
            raise ValueError('%s is not a character device' % pty_path)
        if pty_path not in _guest_ptys():
            raise ValueError('%s is not the console of a running guest '
                             '(no status file in %s lists it)'
                             % (pty_path, LIBVIRT_QEMU_STATE))
        chunks, held = [], 0
        while held < max_bytes:
            try:
                chunk = os.read(fd, min(65536, max_bytes - held))
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EIO):
                    break  # nothing more waiting, or no writer
                raise
            if not chunk:
                break
            chunks.append(chunk)
            held += len(chunk)
        return b''.join(chunks)
    finally:
        os.close(fd)


# Abstract unix socket names (no file, no permission to get wrong) on
# which open_log_file hands a descriptor over; the caller binds one first.
FD_SOCKET_PREFIX = 'nova-privsep-fd-'
_FD_SOCKET = re.compile(r'^%s[0-9a-f]{32}$' % FD_SOCKET_PREFIX)
_FD_TIMEOUT = 10


@nova.privsep.console_pctxt.entrypoint
def open_log_file(folder, owner, name, sock_name):
    """Open the log file ``name`` of ``folder`` for reading and send the
    descriptor (SCM_RIGHTS) to the abstract unix socket ``sock_name``
    (see open_log_fd): for a reader that must hold the file itself (the
    live console's LogFollower, console_log's proof by identity).

    :returns: (st_dev, st_ino) of the folder as opened here, or None (and
        nothing sent) when there is no such file.
    :raises nova.exception.InstanceFileUnsafe: as read_log_piece.
    :raises ValueError: a bad argument.
    :raises OSError: the file cannot be opened, or the socket reached.
    """
    _checked_folder(folder, owner)
    if not isinstance(name, str) or not _LOG_NAMES.match(name):
        raise ValueError('not a console log name: %r' % (name,))
    if not isinstance(sock_name, str) or not _FD_SOCKET.match(sock_name):
        raise ValueError('not a descriptor socket name: %r' % (sock_name,))
    path = os.path.join(folder, name)
    dir_fd = instance_files.open_dir(folder, owner)
    try:
        st = os.fstat(dir_fd)
        folder_ident = (st.st_dev, st.st_ino)
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:
                console_log.refuse(path, 'a symbolic link; not following '
                                   'it')
            raise
    finally:
        os.close(dir_fd)
    try:
        reason = console_log.describe_unsafe(os.fstat(fd))
        if reason:
            console_log.refuse(path, reason)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(_FD_TIMEOUT)
            sock.connect('\0' + sock_name)
            socket.send_fds(sock, [b'F'], [fd])
    finally:
        os.close(fd)
    return folder_ident


def open_log_fd(name, dir_fd):
    """A read-only descriptor of the log file ``name`` (a full path) in
    the folder ``dir_fd`` (instance_files.open_dir), opened by the privsep
    daemon: for files this process may not open (virtlogd's, root's
    0600). The caller still checks it with fstat().

    :returns: the descriptor (close it), or None if there is no such file.
    :raises nova.exception.InstanceFileUnsafe: see open_log_file; or the
        folder the daemon opened is not ``dir_fd``'s (swapped meanwhile).
    :raises nova.exception.ConsoleLogUnreadable: nothing (or something
        else than one descriptor from root or ourselves) came.
    """
    folder = os.path.dirname(name)
    sock_name = FD_SOCKET_PREFIX + uuid.uuid4().hex
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind('\0' + sock_name)
        # Any local user sees the name in /proc/net/unix and may connect
        # before the daemon does: room for many, each one looked at.
        listener.listen(socket.SOMAXCONN)
        ident = open_log_file(folder, os.geteuid(), os.path.basename(name),
                              sock_name)
        if ident is None:
            return None
        fd = _receive_fd(listener, name)
    st = os.fstat(dir_fd)
    if (st.st_dev, st.st_ino) != tuple(ident):
        os.close(fd)
        console_log.refuse(folder, 'replaced while being read')
    return fd


def _peer_uid(conn):
    _pid, uid, _gid = struct.unpack('3i', conn.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i')))
    return uid


def _receive_fd(listener, name):
    """The one descriptor the daemon (root, or this service's own uid)
    sent to ``listener``. Connections of other users are closed unread
    (they connected to a name they saw, to deny or inject); the daemon
    connected before open_log_file returned, so it is in the queue."""
    deadline = time.monotonic() + _FD_TIMEOUT
    while True:
        listener.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            conn, _addr = listener.accept()
        except OSError as e:
            raise exception.ConsoleLogUnreadable(
                path=name, reason='no descriptor from the privsep daemon '
                                  '(%s)' % e)
        with conn:
            uid = _peer_uid(conn)
            if uid not in (0, os.geteuid()):
                LOG.warning('Ignoring a connection of uid %d to the '
                            'descriptor socket of %s', uid, name)
                continue
            conn.settimeout(_FD_TIMEOUT)
            _msg, fds, _flags, _addr = socket.recv_fds(conn, 1, 4)
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise exception.ConsoleLogUnreadable(
                path=name, reason='%d descriptors from the privsep daemon, '
                                  'not one' % len(fds))
        return fds[0]
