"""A shelved guest's console log: read when it is offloaded, written
back on the host that unshelves it.

Where it lives meanwhile, and why (see doc/source/admin/shelve.rst): in
the database, through the conductor, as a ShelvedConsoleLog object. The
host that offloads a server may be gone (or full, or down) by the time
it is unshelved, on any host; the database is there whenever the
conductor is, so no host has to fetch from another. An image property
or a second Glance image would put the log where users (and other
projects, for a shared image) see it, outlive the server, and cost a
Glance round trip per shelve.

The bound: virtlogd keeps at most ``max_size x (max_backups + 1)`` bytes
of a guest's log (the current file and its backups), and so does the
database row: of a longer chain (an older host's plain console.log,
which nothing rotates) only the newest bytes are kept, and the object
says ``truncated``.

Writing back follows log_transfer's layouts:

* as backups, when this host's virtlogd writes the guest's
  ``console.log`` (it opens a new one when the guest starts): the whole
  history re-cut into ``console.log.0`` (newest) .. ``console.log.N-1``
  of this host's ``max_size``, at most its ``max_backups`` files, as
  virtlogd itself would have rotated it (older bytes past that are
  dropped, as virtlogd drops them). The reader then returns the history
  followed by the new boot's output, nothing twice.
* unchanged, when nothing writes the log here (a host without
  virtlogd): the files as they were, under their own names.

Files are read with the rules of every log read (privsep, no links, one
name, the folder opened once) and written new (O_EXCL, O_NOFOLLOW,
0600) into a folder that was just made empty: nothing that was there is
ever opened.
"""

import errno
import os
import time

from oslo_log import log as logging

from nova import exception
from nova.objects import shelve as shelve_obj
from nova.privsep import console as privsep_console
from nova.virt.libvirt import instance_files
from nova.virt.libvirt import log_transfer

LOG = logging.getLogger(__name__)

CONSOLE_LOG_NAME = shelve_obj.CONSOLE_LOG_NAME
_PIECE = privsep_console.MAX_PIECE


def bound(max_size, max_backups):
    """What virtlogd keeps of one guest's log: ``max_size x
    (max_backups + 1)`` bytes."""
    return max_size * (max_backups + 1)


def _read_file(folder, name, limit):
    """The newest ``limit`` bytes of ``folder/name`` and whether older
    bytes were left out."""
    _data, size, ident = privsep_console.read_log_piece(
        folder, os.geteuid(), name, 0, 0)
    start = max(0, size - limit)
    pieces, offset = [], start
    while offset < size:
        data, _size, now = privsep_console.read_log_piece(
            folder, os.geteuid(), name, offset, min(size - offset, _PIECE))
        if tuple(now) != tuple(ident):
            raise exception.InstanceFileUnsafe(
                path=os.path.join(folder, name),
                reason='replaced while being read')
        if not data:
            break
        pieces.append(data)
        offset += len(data)
    return b''.join(pieces), start > 0


def read_log(inst_dir, limit, virtlogd):
    """The guest's log chain in ``inst_dir`` as a ShelvedConsoleLog, its
    newest ``limit`` bytes at most; None when there is no log.

    :raises InstanceFileUnsafe, OSError: a file is not what Nova made,
        or cannot be read (the caller decides: never a failed shelve).
    """
    log_path = os.path.join(inst_dir, CONSOLE_LOG_NAME)
    dir_fd = instance_files.open_dir(inst_dir)
    try:
        chain = log_transfer.log_chain(log_path, dir_fd)
    except log_transfer.LogTransferFailed as e:
        raise exception.InstanceFileUnsafe(path=log_path, reason=str(e))
    finally:
        os.close(dir_fd)
    if not chain:
        return None
    files, left, truncated = [], limit, False
    for path in reversed(chain):  # newest first
        name = os.path.basename(path)
        if left <= 0:
            truncated = True
            break
        data, cut = _read_file(inst_dir, name, left)
        truncated = truncated or cut
        files.append((name, data))
        left -= len(data)
    files.reverse()
    if truncated:
        LOG.warning('Console log of %s is longer than the %d bytes kept '
                    'while shelved: its oldest bytes are dropped',
                    os.path.basename(inst_dir), limit)
    return shelve_obj.ShelvedConsoleLog.from_files(
        files, truncated=truncated, virtlogd=virtlogd)


def _recut(history, max_size, max_backups):
    """``history`` as virtlogd's backups: [(name, bytes)], ``.0`` the
    newest, each at most ``max_size``, at most ``max_backups`` files."""
    files, end = [], len(history)
    for index in range(max_backups):
        if end <= 0:
            break
        start = max(0, end - max_size)
        files.append(('%s.%d' % (CONSOLE_LOG_NAME, index),
                      history[start:end]))
        end = start
    if end > 0:
        LOG.warning('%d bytes of the oldest console history dropped: this '
                    'host\'s virtlogd keeps %d backups of %d bytes', end,
                    max_backups, max_size)
    return files


def write_log(inst_dir, console_log, as_backups, max_size, max_backups):
    """Write ``console_log`` (a ShelvedConsoleLog) into the new, empty
    instance folder ``inst_dir``; returns the names written.

    :raises BadConsoleLog: the object is not a log (sender's fault).
    :raises InstanceFileUnsafe, OSError: the folder or a name in it is
        not what Nova made (a name already there is never opened).
    """
    if as_backups:
        files = _recut(console_log.history(), max_size, max_backups)
    else:
        files = console_log.contents()
    dir_fd = instance_files.open_dir(inst_dir)
    written = []
    try:
        for name, data in files:
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                             os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                             dir_fd=dir_fd)
            except FileExistsError:
                raise exception.InstanceFileUnsafe(
                    path=os.path.join(inst_dir, name),
                    reason='already there before the log was written back')
            with os.fdopen(fd, 'wb') as out:
                out.write(data)
            written.append(name)
    finally:
        os.close(dir_fd)
    return written


def clear_dir(inst_dir):
    """Move a folder left from an earlier stay aside (kept for the
    operator), so the log is written into an empty one."""
    try:
        entries = os.listdir(inst_dir)
    except FileNotFoundError:
        return
    except OSError as e:
        if e.errno != errno.ENOTDIR:
            raise
        entries = [inst_dir]
    if not entries and not os.path.islink(inst_dir):
        return
    aside = '%s.orphaned-%d' % (inst_dir, time.time())
    LOG.warning('Instance folder %s already exists here; moved to %s',
                inst_dir, aside)
    os.rename(inst_dir, aside)
