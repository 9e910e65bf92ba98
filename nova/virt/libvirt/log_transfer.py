"""Carry a guest's console log to another host after a live migration.

The files go over the remote file system transport between compute hosts
(nova.virt.libvirt.remotefs: ssh, or rsync over ssh, per ``[libvirt]
remote_filesystem_transport``): key-only logins to the destination's
sshd, its host key checked against known_hosts, connect and keepalive
timeouts so a dead peer costs seconds, not a hung migration. The bytes
are encrypted on the migration network; no listener on the destination
takes writes without that login.

Two layouts, chosen by the caller:

* ``as_backups``: the destination's virtlogd already appends to its own
  ``console.log`` (the guest writes there from the moment it runs there).
  The source's history becomes the destination's ``console.log.0``,
  ``.1`` ... re-cut to the destination's ``max_size``/``max_backups``, so
  virtlogd's disk bound holds and the reader returns source history
  followed by new output, nothing twice.
* unchanged names: nothing writes the log on the destination (an older
  host without virtlogd); the files arrive as they were.

Only regular files with one name inside the instance folder are sent
(lstat, O_NOFOLLOW, fstat): a symlink or hard link is never followed out
of it, and the transport sends no links, devices or special files. The
folder itself is opened (instance_files.open_dir: never a link,
ours, writable by nobody else) and the files are looked at relative to
that descriptor, so a folder swapped for a link is not followed either.
virtlogd's files are root's and 0600: their bytes are read a piece at a
time in the privsep daemon (nova.privsep.console.read_log_piece), which
keeps these rules, opening the folder again for each piece; a file
replaced between two pieces is refused.
The files to send are staged in a private folder of our own (mkdtemp in
the system's temporary folder), never in the instance folder, whose name
others could swap before the transport reads it. On the destination the
files land in its instance folder (the destination names it:
``migrate_data.instance_dir``), each written to a new name and renamed,
so a link planted there is replaced, never written through.
"""

import os
import shutil
import stat
import tempfile

from oslo_log import log as logging

from nova import exception
from nova.privsep import console as privsep_console
from nova.virt.libvirt import instance_files
from nova.virt.libvirt import remotefs

LOG = logging.getLogger(__name__)

STAGING_DIR_PREFIX = '.console-log-transfer-'


class LogTransferFailed(exception.NovaException):
    msg_fmt = "Console log of %(instance_uuid)s not copied: %(reason)s"


def _lexists(path, dir_fd):
    try:
        os.lstat(os.path.basename(path), dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    return True


def log_chain(log_path, dir_fd):
    """Existing files of the log, oldest first: ... .1, .0, console.log.

    ``dir_fd`` is a descriptor of the log's folder (open_dir); the names
    returned are full paths, looked at relative to it. Stops at the first
    missing backup. Refuses anything that is not a regular file (a
    symlink included) so nothing outside the instance folder can be read
    through it.
    """
    names = [log_path]
    index = 0
    while _lexists('%s.%d' % (log_path, index), dir_fd):
        names.append('%s.%d' % (log_path, index))
        index += 1
    chain = []
    for name in names:
        try:
            mode = os.lstat(os.path.basename(name), dir_fd=dir_fd).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            _refuse(log_path, name, 'not a regular file; not following it')
        chain.append(name)
    return list(reversed(chain))


def _refuse(log_path, name, reason):
    LOG.warning('Refusing to copy %s: %s (planted by someone else?)',
                name, reason)
    raise LogTransferFailed(
        instance_uuid=os.path.basename(os.path.dirname(log_path)),
        reason='%s is %s' % (name, reason))


def log_chain_exists(log_path):
    return os.path.lexists(log_path) or os.path.lexists(log_path + '.0')


# Bytes read or copied at a time: one pread() returns at most about
# 2 GiB, and a legacy file console may be larger than memory allows.
# One privsep message holds one piece.
_CHUNK = privsep_console.MAX_PIECE


def _piece(first, path, offset, length):
    """(bytes, size, identity) of ``path`` (privsep_console.read_log_piece:
    virtlogd's files are root's, 0600). ``first`` names the chain in
    refusals."""
    folder = os.path.dirname(path)
    try:
        return privsep_console.read_log_piece(
            folder, os.geteuid(), os.path.basename(path), offset, length)
    except exception.InstanceFileUnsafe as e:
        _refuse(first, path, getattr(e, 'kwargs', {}).get('reason') or
                str(e))
    except OSError as e:
        _refuse(first, path, e.strerror or str(e))


def _open_checked(first, path):
    """(size, identity) of ``path``, opened without following a link and
    checked with fstat() (see _piece)."""
    _data, size, ident = _piece(first, path, 0, 0)
    return size, tuple(ident)


def _pread_chunks(first, path, ident, length, offset):
    """Yield the ``length`` bytes at ``offset`` in pieces of at most
    _CHUNK (fewer if the file is shorter now); refuse a file that is
    not the one measured (``ident``) any more."""
    while length > 0:
        data, _size, now = _piece(first, path, offset, min(length, _CHUNK))
        if tuple(now) != ident:
            _refuse(first, path, 'replaced while being copied')
        if not data:
            return
        yield data
        offset += len(data)
        length -= len(data)


def _read_tail(paths, limit):
    """The newest ``limit`` bytes of the concatenation of ``paths``."""
    pieces, wanted = [], limit
    for path in reversed(paths):
        if wanted <= 0:
            break
        size, ident = _open_checked(paths[0], path)
        take = min(size, wanted)
        pieces.append(b''.join(_pread_chunks(paths[0], path, ident, take,
                                             size - take)))
        wanted -= take
    return b''.join(reversed(pieces))


def _copy_whole(path, out):
    """Copy the file ``path`` to ``out``, a chunk at a time (checked as
    _read_tail's)."""
    size, ident = _open_checked(path, path)
    for data in _pread_chunks(path, path, ident, size, 0):
        out.write(data)


def _create(staging, name):
    """A new 0600 file in our own staging folder."""
    fd = os.open(os.path.join(staging, name),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW |
                 os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, 'wb')


def _stage(chain, staging, basename, as_backups, max_size, max_backups):
    """Write the files to send into ``staging``; returns their names."""
    if not as_backups:
        names = []
        for path in chain:
            name = os.path.basename(path)
            with _create(staging, name) as out:
                _copy_whole(path, out)
            names.append(name)
        return names
    # Re-cut the whole history into at most max_backups files of max_size,
    # newest in .0, as virtlogd itself would have rotated it.
    data = _read_tail(chain, max_size * max_backups)
    names = []
    end = len(data)
    for index in range(max_backups):
        if end <= 0:
            break
        start = max(0, end - max_size)
        name = '%s.%d' % (basename, index)
        with _create(staging, name) as out:
            out.write(data[start:end])
        names.append(name)
        end = start
    return names


def copy_console_log(instance_uuid, log_path, dest_addr, as_backups,
                     max_size, max_backups, conf, dest_dir=None):
    """Send the log at ``log_path`` to the destination's instance folder.

    ``dest_dir``: that folder on the destination (default: this host's
    ``instances_path``/<uuid>, hosts sharing one layout). Returns the
    names sent. Raises LogTransferFailed with the cause (the host and
    what failed); the caller decides that a failed copy never fails the
    migration.
    """
    try:
        dir_fd = instance_files.open_dir(os.path.dirname(log_path))
    except exception.InstanceFileUnsafe as e:
        raise LogTransferFailed(instance_uuid=instance_uuid,
                                reason=str(e))
    except OSError as e:
        raise LogTransferFailed(instance_uuid=instance_uuid,
                                reason='instance folder %s: %s' % (
                                    os.path.dirname(log_path), e.strerror))
    dest_dir = dest_dir or os.path.join(conf.instances_path, instance_uuid)
    try:
        return _copy(instance_uuid, log_path, dir_fd, dest_addr, dest_dir,
                     as_backups, max_size, max_backups, conf)
    finally:
        os.close(dir_fd)


def _copy(instance_uuid, log_path, dir_fd, dest_addr, dest_dir, as_backups,
          max_size, max_backups, conf):
    chain = log_chain(log_path, dir_fd)
    if not chain:
        LOG.info('No console log of %s to copy', instance_uuid)
        return []
    staging = tempfile.mkdtemp(prefix=STAGING_DIR_PREFIX)
    try:
        names = _stage(chain, staging, os.path.basename(log_path),
                       as_backups, max_size, max_backups)
        try:
            # The staging folder holds exactly the files to send, each a
            # 0600 regular file of ours.
            remotefs.RemoteFilesystem(conf).copy_to(dest_addr, staging,
                                                    dest_dir)
        except remotefs.RemoteFSError as e:
            raise LogTransferFailed(instance_uuid=instance_uuid,
                                    reason=str(e))
        return names
    finally:
        shutil.rmtree(staging, ignore_errors=True)
