"""Read the newest bytes of a guest console log that virtlogd rotates.

virtlogd appends the guest's serial console to ``console.log``. Once that
file reaches ``max_size`` it rotates: ``console.log.N-2`` is renamed over
``console.log.N-1`` (dropping the oldest backup), and so on down to
``console.log`` -> ``console.log.0``; then it opens a new, empty
``console.log``. The log stream is therefore::

    ... + console.log.1 + console.log.0 + console.log

and a line may be split between two files.

Reading its tail means looking at several files by name while virtlogd may
rename them under us. We never lock anything (virtlogd would not honour
it); instead we take a snapshot we can prove consistent:

1. Open ``path``, then ``path.0``, ``path.1`` ... newest first, and stop as
   soon as the opened files hold ``max_bytes``. Each file's identity
   (st_dev, st_ino) comes from fstat() of the descriptor we hold, so it
   cannot be reused for another file while we look.
2. stat() every name again. virtlogd only ever moves a file to an older
   name, never back, so a file found under the same name when opened and
   when checked sat there the whole time in between. All opens come before
   all checks, hence at the moment of the last open every name held the
   file we opened: they form one consistent chain. A mismatch means a
   rotation ran in between: close everything and start again.
3. Read with pread() from the descriptors. Renames and the unlink of the
   oldest backup no longer matter: an open descriptor keeps its bytes.
   Backups never change and ``path`` only grows, so the bytes up to the
   size we saw at open time are fixed. Appends after that are simply not
   part of this answer.

A rotation in progress leaves a hole in the names for a moment
(``path.1`` already renamed to ``path.2`` but ``path.0`` not yet to
``path.1``; or ``path`` renamed but not yet recreated). So a missing name
with a file right after it is taken as a rotation in progress and retried,
not as the end of the chain. After ``_MAX_ATTEMPTS`` tries (a log rotating
that often, or a backup that really is missing) we settle for the files at
the newest end that did check out: possibly fewer bytes than asked, never
wrong or reordered ones, and we log a warning.

A missing ``path`` is an empty log only if ``path.0`` and then
``path.1`` are missing too. Looking at ``path.0`` alone is not enough: a
reader descheduled between its open of ``path`` and that look may sleep
through a whole rotation and into the next one, which renames ``path.0``
to ``path.1`` before ``path`` to ``path.0`` (this happened on a loaded
CI host). Once virtlogd has rotated, one of the two always exists, so the
remaining case is only wrong if ``path.1`` was also renamed away in that
time: a third rotation started between two stat calls.

Cost: a few stat/open/fstat calls per file touched and one pread per file
for exactly the bytes returned. Nothing depends on the size of the log or
of any file in it, so a 1 GiB log (rotated or one big legacy file) costs
what a 1 MiB one does.

Only regular files with one name are read. Instance folders are written
by others (virtlogd, QEMU, a log copy from another host), so a name in
them may have been replaced by a symlink or a hard link to a host file, or
by a fifo or a device: such a name raises InstanceFileUnsafe naming it (a
warning is logged too), and nothing is read through it. Names are looked
at with lstat(), opened with O_NOFOLLOW and checked again with fstat() on
the descriptor, so a link swapped in between is refused as well.

The folder itself is opened once (O_DIRECTORY | O_NOFOLLOW, or a
descriptor the caller checked: see instance_files.open_dir) and every
lstat() and open() above is relative to that descriptor. So the names of
the proof are names in that one directory, whatever happens to the path
leading to it: a folder renamed away and replaced by a link to another
directory afterwards changes nothing we look at, and a folder that is a
link when we start is refused.
"""

import errno
import os
import stat
import time

from oslo_log import log as logging

from nova import exception
from nova.virt import driver

LOG = logging.getLogger(__name__)

MAX_CONSOLE_BYTES = driver.MAX_CONSOLE_BYTES

# Rotation takes virtlogd a handful of renames, i.e. microseconds, and
# happens once per max_size (2 MiB by default) of output: one retry almost
# always suffices, five leave a wide margin.
_MAX_ATTEMPTS = 5
# Seconds to wait before retry n is n times this: lets a virtlogd that was
# descheduled in the middle of a rotation finish it.
_RETRY_DELAY = 0.001
# virtlogd keeps a few backups (max_backups, default 3). Only very small or
# empty backups make us walk far; the cap bounds the descriptors we hold.
_MAX_BACKUPS = 100

# O_NONBLOCK: if a fifo replaces the file between our lstat() and open(),
# open() must not wait for a writer. O_NOCTTY: same for a terminal.
# O_NOFOLLOW: a symlink swapped in after lstat() fails with ELOOP.
_OPEN_FLAGS = (os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC |
               os.O_NOFOLLOW)


def _sync_point(event, name):
    """Do nothing; tests patch this to act as virtlogd between our calls.

    Called before each system call that looks at ``name`` (events:
    "stat", "open", "lookahead", "verify", "read") and before a retry
    ("retry").
    """


class _Shrunk(Exception):
    """A file got shorter while we read it: not virtlogd's doing, retry."""


class _LogFile(object):
    __slots__ = ('name', 'fd', 'ident', 'size')

    def __init__(self, name, fd, st):
        self.name = name  # the full path, for messages
        self.fd = fd
        self.ident = (st.st_dev, st.st_ino)
        self.size = st.st_size


def open_folder(path):
    """A descriptor of directory ``path``, never through a symbolic link.

    :raises nova.exception.InstanceFileUnsafe: if ``path`` is a link or
        not a directory.
    :raises FileNotFoundError: if it does not exist.
    :raises OSError: for any other failure to open it.
    """
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW |
                       os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            refuse(path, 'a symbolic link; not following it')
        if e.errno == errno.ENOTDIR:
            refuse(path, 'not a directory')
        raise


def read_log_tail(path, max_bytes=MAX_CONSOLE_BYTES, dir_fd=None):
    """Return the newest ``max_bytes`` bytes of the log rotated from ``path``.

    The log is ``... + path.1 + path.0 + path``; the result is a contiguous
    piece of it that ends with the last byte ``path`` held when we looked.
    It is shorter than ``max_bytes`` only when the whole log is, or when
    the log changed under every one of our attempts (then a warning is
    logged; see the module docstring).

    ``dir_fd``: a descriptor of the folder holding ``path`` that the
    caller checked (instance_files.open_dir); without it the folder is
    opened here with open_folder(). Either way every file is looked at
    relative to it (see the module docstring).

    :returns: bytes; ``b""`` if ``path`` does not exist (yet) or
        ``max_bytes`` <= 0.
    :raises TypeError: if ``max_bytes`` is not an int.
    :raises nova.exception.InstanceFileUnsafe: if ``path`` or a backup
        that is needed is a symlink, a hard link or not a regular file,
        or if its folder is a symlink.
    :raises nova.exception.ConsoleLogUnreadable: if ``path`` or a backup
        that is needed cannot be opened or read.
    """
    # bool is an int subclass, but read_log_tail(p, True) is surely a bug.
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError('max_bytes must be an int, not %s'
                        % type(max_bytes).__name__)
    if max_bytes <= 0:
        return b''
    data, newest = open_log_tail(path, max_bytes, dir_fd)
    if newest is not None:
        os.close(newest.fd)
    return data


def open_log_tail(path, max_bytes, dir_fd=None):
    """Like read_log_tail, and also hand over the file the tail ends in.

    For a reader that goes on where the tail ends (console_follow): the
    tail ends at byte ``newest.size`` of the file ``newest`` (same
    snapshot, same proof), and that file is still open, so its identity
    cannot be reused while the caller holds it.

    :param max_bytes: int >= 0; 0 returns no bytes but still the file.
    :param dir_fd: as read_log_tail's.
    :returns: (bytes, _LogFile or None); None if ``path`` does not exist.
        The caller must ``os.close(newest.fd)``.
    :raises: as read_log_tail.
    """
    if dir_fd is not None:
        return _read_log_tail(path, max_bytes, dir_fd)
    try:
        own_fd = open_folder(os.path.dirname(os.path.abspath(path)))
    except FileNotFoundError:
        return b'', None
    except OSError as e:
        raise exception.ConsoleLogUnreadable(path=path, reason=e.strerror)
    try:
        return _read_log_tail(path, max_bytes, own_fd)
    finally:
        os.close(own_fd)


def _read_log_tail(path, max_bytes, dir_fd):
    """(bytes, the newest file still open, or None): see open_log_tail."""
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        last = attempt == _MAX_ATTEMPTS
        files = []
        try:
            at_end = _open_chain(path, max_bytes, files, dir_fd)
            unchanged = _count_unchanged(files, dir_fd)
            if at_end and unchanged == len(files):
                return _read_tail(files, max_bytes), _pop_newest(files)
            if last:
                # The files that checked out are a consistent newest part
                # of the log. The newest file alone always is one, even if
                # it was rotated away since we opened it.
                keep = files[:max(unchanged, 1)]
                LOG.warning('No consistent view of console log %(path)s '
                            'in %(attempts)d attempts (rotating very '
                            'often, or a backup is missing); returning '
                            'the tail of its newest %(files)d file(s) '
                            'only.',
                            {'path': path, 'attempts': attempt,
                             'files': len(keep)})
                return _read_tail(keep, max_bytes), _pop_newest(files)
        except _Shrunk as e:
            if last:
                raise exception.ConsoleLogUnreadable(
                    path=str(e), reason='file shrank while being read')
        finally:
            for f in files:
                os.close(f.fd)
        _sync_point('retry', path)
        time.sleep(_RETRY_DELAY * attempt)


def _pop_newest(files):
    """Take the newest file out of ``files`` (so it is not closed)."""
    return files.pop(0) if files else None


def _names(path):
    yield path
    for i in range(_MAX_BACKUPS):
        yield '%s.%d' % (path, i)


def _open_chain(path, max_bytes, files, dir_fd):
    """Open the log's files newest first, appending them to ``files``.

    Stops once they hold ``max_bytes`` or at the first missing name.
    Returns False if that missing name looks like a hole left by a rotation
    in progress rather than the end of the chain.
    """
    held = 0
    names = _names(path)
    for name in names:
        f = _open_regular(name, dir_fd)
        if f is None:
            # With the newest file missing, look two names ahead: our
            # reader may sleep through a whole rotation between the open
            # and this look, and virtlogd renames .0 to .1 before the log
            # to .0, so one of the two exists once it has ever rotated.
            # (Looking at .0 only, that race read as an empty log.)
            for _ in range(1 if files else 2):
                following = next(names, None)
                if following is None:
                    return True
                _sync_point('lookahead', following)
                if _stat(following, dir_fd) is not None:
                    return False
            return True
        files.append(f)
        held += f.size
        if held >= max_bytes:
            break
    return True


def _count_unchanged(files, dir_fd):
    """How many of ``files``, newest first, are still under their name."""
    for i, f in enumerate(files):
        _sync_point('verify', f.name)
        st = _stat(f.name, dir_fd)
        if st is None or (st.st_dev, st.st_ino) != f.ident:
            return i
    return len(files)


def _read_tail(files, max_bytes):
    """Read the last ``max_bytes`` of ``files`` (newest first), oldest first.
    """
    chunks = []
    wanted = max_bytes
    for f in files:
        if wanted <= 0:
            break
        take = min(f.size, wanted)
        chunks.append(_pread_exact(f, f.size - take, take))
        wanted -= take
    chunks.reverse()
    return b''.join(chunks)


def _pread_exact(f, offset, length):
    _sync_point('read', f.name)
    parts = []
    while length:
        try:
            data = os.pread(f.fd, length, offset)
        except OSError as e:
            raise exception.ConsoleLogUnreadable(path=f.name,
                                                 reason=e.strerror)
        if not data:
            # We only read below the size fstat() reported; virtlogd never
            # truncates, so someone else did.
            raise _Shrunk(f.name)
        parts.append(data)
        offset += len(data)
        length -= len(data)
    return b''.join(parts)


def _stat(name, dir_fd):
    """lstat() of ``name`` in folder ``dir_fd``; None if it is missing."""
    try:
        return os.lstat(os.path.basename(name), dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise exception.ConsoleLogUnreadable(path=name, reason=e.strerror)


def _open_regular(name, dir_fd):
    """Open ``name`` for reading; None if it does not exist."""
    _sync_point('stat', name)
    # Look before opening: opening a fifo or a device can block or have
    # side effects, and there is no reason to ever do it.  lstat(): a link
    # is refused as itself, whatever it points to.
    st = _stat(name, dir_fd)
    if st is None:
        return None
    _check_regular(name, st)
    _sync_point('open', name)
    try:
        fd = os.open(os.path.basename(name), _OPEN_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        # Renamed away since stat(): a hole like any other, see above.
        return None
    except PermissionError as e:
        if os.geteuid() == 0:
            raise exception.ConsoleLogUnreadable(path=name,
                                                 reason=e.strerror)
        # virtlogd's file (root's, 0600) and nova-compute runs
        # unprivileged: the privsep daemon opens it, checked as here.
        fd = _open_privileged(name, dir_fd, e)
        if fd is None:
            return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            refuse(name, 'a symbolic link; not following it')
        raise exception.ConsoleLogUnreadable(path=name, reason=e.strerror)
    try:
        try:
            st = os.fstat(fd)
        except OSError as e:
            raise exception.ConsoleLogUnreadable(path=name,
                                                 reason=e.strerror)
        # The name may have been pointed at something else since stat().
        _check_regular(name, st)
    except BaseException:
        os.close(fd)
        raise
    if st.st_nlink == 0:
        # The oldest backup, deleted by a rotation since lstat(): a hole.
        os.close(fd)
        return None
    return _LogFile(name, fd, st)


def _open_privileged(name, dir_fd, denied):
    """privsep_console.open_log_fd; its OSErrors as ConsoleLogUnreadable,
    and ``denied`` (our own PermissionError) for a file it may not open
    (not a console log of an instance folder)."""
    # Imported here: nova.privsep.console builds on this module.
    from nova.privsep import console as privsep_console
    try:
        return privsep_console.open_log_fd(name, dir_fd)
    except (ValueError, exception.InvalidUUID):
        raise exception.ConsoleLogUnreadable(path=name,
                                             reason=denied.strerror)
    except OSError as e:
        raise exception.ConsoleLogUnreadable(
            path=name, reason=e.strerror or str(e))


_KINDS = (
    (stat.S_ISDIR, 'directory'),
    (stat.S_ISFIFO, 'fifo'),
    (stat.S_ISCHR, 'character device'),
    (stat.S_ISBLK, 'block device'),
    (stat.S_ISSOCK, 'socket'),
)


def describe_unsafe(st):
    """Why a file with lstat() result ``st`` must not be used; None if it
    is a regular file with one name."""
    if stat.S_ISLNK(st.st_mode):
        return 'a symbolic link; not following it'
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _KINDS if test(st.st_mode)),
                    'unknown')
        return 'not a regular file (%s)' % kind
    if st.st_nlink > 1:
        # virtlogd and rsync only ever rename; a second name is a hard
        # link someone made to a file that may live outside the folder.
        return 'a regular file with %d hard links' % st.st_nlink
    return None


def refuse(name, reason):
    """Log a warning naming ``name`` and raise InstanceFileUnsafe."""
    LOG.warning('Refusing to use %s: %s (planted by someone else?)',
                name, reason)
    raise exception.InstanceFileUnsafe(path=name, reason=reason)


def _check_regular(name, st):
    reason = describe_unsafe(st)
    if reason:
        refuse(name, reason)
