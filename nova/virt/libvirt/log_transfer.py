"""Carry a guest's console log to another host after a live migration.

Why rsync, to a daemon module: it is what Nova's remote file system
drivers already use between compute hosts; a daemon module with
``use chroot = yes`` confines every write to the destination's instances
folder without handing out ssh keys; and it has connect and I/O timeouts,
so a dead peer costs seconds, not a hung migration.

Two layouts, chosen by the caller:

* ``as_backups``: the destination's virtlogd already appends to its own
  ``console.log`` (the guest writes there from the moment it runs there).
  The source's history becomes the destination's ``console.log.0``,
  ``.1`` ... re-cut to the destination's ``max_size``/``max_backups``, so
  virtlogd's disk bound holds and the reader returns source history
  followed by new output, nothing twice.
* unchanged names: nothing writes the log on the destination (an older
  host without virtlogd); the files arrive as they were.

Only regular files inside the instance folder are sent: a symlink is
never followed out of it.
"""

import os
import shutil
import stat
import tempfile

from oslo_concurrency import processutils
from oslo_log import log as logging

from nova import exception

LOG = logging.getLogger(__name__)

STAGING_DIR_PREFIX = '.console-log-transfer-'


class LogTransferFailed(exception.NovaException):
    msg_fmt = "Console log of %(instance_uuid)s not copied: %(reason)s"


def log_chain(log_path):
    """Existing files of the log, oldest first: ... .1, .0, console.log.

    Stops at the first missing backup. Refuses anything that is not a
    regular file (a symlink included) so nothing outside the instance
    folder can be read through it.
    """
    names = [log_path]
    index = 0
    while os.path.lexists('%s.%d' % (log_path, index)):
        names.append('%s.%d' % (log_path, index))
        index += 1
    chain = []
    for name in names:
        try:
            mode = os.lstat(name).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            raise LogTransferFailed(
                instance_uuid=os.path.basename(os.path.dirname(log_path)),
                reason='%s is not a regular file; not following it' % name)
        chain.append(name)
    return list(reversed(chain))


def log_chain_exists(log_path):
    return os.path.lexists(log_path) or os.path.lexists(log_path + '.0')


def _read_tail(paths, limit):
    """The newest ``limit`` bytes of the concatenation of ``paths``."""
    pieces, wanted = [], limit
    for path in reversed(paths):
        if wanted <= 0:
            break
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            size = os.fstat(fd).st_size
            take = min(size, wanted)
            pieces.append(os.pread(fd, take, size - take))
            wanted -= take
        finally:
            os.close(fd)
    return b''.join(reversed(pieces))


def _stage(chain, staging, basename, as_backups, max_size, max_backups):
    """Write the files to send into ``staging``; returns their names."""
    if not as_backups:
        names = []
        for path in chain:
            name = os.path.basename(path)
            with open(os.path.join(staging, name), 'wb') as out:
                out.write(_read_tail([path], os.path.getsize(path)))
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
        with open(os.path.join(staging, name), 'wb') as out:
            out.write(data[start:end])
        names.append(name)
        end = start
    return names


def _rsync_url(addr, port, module, instance_uuid):
    if ':' in addr:
        addr = '[%s]' % addr
    return 'rsync://%s:%d/%s/%s/' % (addr, port, module, instance_uuid)


def copy_console_log(instance_uuid, log_path, dest_addr, as_backups,
                     max_size, max_backups, conf):
    """Send the log at ``log_path`` to the destination's instance folder.

    Raises LogTransferFailed with the cause; the caller decides that a
    failed copy never fails the migration.
    """
    chain = log_chain(log_path)
    if not chain:
        LOG.info('No console log of %s to copy', instance_uuid)
        return []
    staging = tempfile.mkdtemp(prefix=STAGING_DIR_PREFIX,
                               dir=os.path.dirname(log_path))
    try:
        names = _stage(chain, staging, os.path.basename(log_path),
                       as_backups, max_size, max_backups)
        timeout = conf.libvirt.console_log_transfer_timeout
        try:
            processutils.execute(
                'rsync', '--recursive', '--times', '--chmod=F0600',
                '--timeout=%d' % timeout, '--contimeout=%d' % timeout,
                '--', *[os.path.join(staging, n) for n in names],
                _rsync_url(dest_addr, conf.libvirt.console_log_rsync_port,
                           conf.libvirt.console_log_rsync_module,
                           instance_uuid))
        except processutils.ProcessExecutionError as e:
            reason = (e.stderr or e.description or str(e)).strip()
            raise LogTransferFailed(instance_uuid=instance_uuid,
                                    reason='rsync to %s failed: %s' % (
                                        dest_addr, reason))
        except OSError as e:
            raise LogTransferFailed(instance_uuid=instance_uuid,
                                    reason='cannot run rsync: %s' % e)
        return names
    finally:
        shutil.rmtree(staging, ignore_errors=True)
