"""Follow a guest console log that virtlogd appends to and rotates.

A LogFollower hands out the newest bytes of the log (its history), then
every byte virtlogd appends after them, in order, across rotations, each
byte once. See console_log for the log's shape (``... + path.1 + path.0 +
path``) and for how a snapshot of it is proven consistent; this module
builds on that proof.

The position is a cursor: an open descriptor of one log file (so its
identity, st_dev and st_ino, cannot be reused while we hold it), and a
byte offset in it. Behind the cursor the follower may hold the files it
has seen become newer than the cursor's file, also open, oldest first.

1. History. The watch (below) is set up first. Then
   console_log.open_log_tail() takes the newest ``history_bytes`` of one
   consistent snapshot; its tail ends at byte ``size`` of the newest file
   of that snapshot, and that file is handed over still open. The cursor
   starts there: the history and the live bytes join at one offset of one
   file identity, so nothing is lost or repeated at the joint, whatever
   virtlogd did since.

2. Live, the file behind the cursor is the newest known. Read it from the
   offset to its end. Then lstat() ``path``: if it is the same file, we
   are done until the next wake-up. Every byte appended after our read
   raises an event (the watch was set before the read), so none is left
   waiting.

3. A file that has left ``path`` never grows again: virtlogd writes to
   the file it holds open, and renames it only when it rotates, after its
   last write to it, then writes to the new ``path``. So once lstat()
   shows another file (or none) at ``path``, a read of the cursor's file
   to its end *after that* has all of it. We then look for its newer
   files: open ``path``, ``path.0``, ... until the cursor's identity is
   found, and check every name again as console_log does (all opens
   before all checks give a consistent chain; a changed name, or a
   missing name with a file after it, is a rotation in progress: we do
   nothing until its next rename or create wakes us, which is our retry
   and costs no sleep). The files between ``path``
   and the cursor's file are, newest first, exactly the ones written after
   it: virtlogd only ever moves a file to the next older name. They are
   queued, the cursor's file is read to its end (it had left ``path``)
   and closed, and the cursor moves to the next file at offset 0. A queued
   file that is no longer the newest one known has left ``path`` before
   the chain that showed its successor was checked, so it too is read to
   its end and left, until the cursor reaches the newest file: step 2.

4. Too slow a follower. If the cursor's file is no longer anywhere in the
   chain, it was rotated out beyond ``max_backups`` (or deleted by
   someone). Its bytes are not lost: we hold it open and read it to its
   end. But files virtlogd created and deleted after it, while we did not
   look, may be: we cannot tell them from none, so read() raises LogGap
   (after handing out every byte before it) and goes on from the oldest
   file still there, at offset 0. Never a wrong or reordered byte. A
   follower that looks at least once per ``max_backups`` rotations never
   gets a gap: the newest file it knows is then still in the chain. (With
   ``max_backups = 0`` every rotation may report one: no backup tells
   which file came next.)

   If the log did not exist when the follower started, the first chain it
   finds is read whole, from its oldest file: those bytes all came after
   the (empty) history.

Waking. An inotify watch (inotify_simple: a thin ctypes wrapper of the
system calls, no thread, its descriptor usable in any poll loop) on the
instance folder reports names created, renamed or deleted there, i.e. a
rotation; a second watch on the newest file itself, set through
``/proc/self/fd/N`` so it is the very file we opened, reports appends.
The folder watch does not ask for IN_MODIFY: QEMU's writes to the disk
overlay, in the same folder, must not wake us. IN_CLOSE_WRITE is not
needed: virtlogd keeps the file open and every append is an IN_MODIFY.
Events are only a reason to look: each wake-up reads the whole state
again, so a lost event (queue overflow) or a spurious one does no harm,
and a quiet guest costs nothing: the follower sleeps in poll().

A virtlogd re-exec (SIGUSR1) keeps its descriptors and its files: nothing
changes on disk, so nothing changes here.

Safety: every log file is opened through console_log's opener (no link
followed, regular files with one name only, identity from fstat()); the
instance folder is opened and checked with instance_files.open_dir(), every
look at it is relative to that descriptor, and it is watched (IN_ONLYDIR)
through /proc/self/fd/N, the descriptor itself, and the newest file the same
way; nothing else is watched.
"""

import collections
import math
import os
import time

import inotify_simple
from oslo_log import log as logging

from nova import exception
from nova.virt.libvirt import console_log
from nova.virt import driver
from nova.virt.libvirt import instance_files

LOG = logging.getLogger(__name__)

_F = inotify_simple.flags
# The folder is watched through /proc/self/fd/N, the magic link to the
# descriptor we opened and checked: following that link is following our
# own descriptor (so no DONT_FOLLOW), never a name in the folder.
_DIR_MASK = (_F.CREATE | _F.DELETE | _F.MOVED_FROM | _F.MOVED_TO |
             _F.DELETE_SELF | _F.MOVE_SELF | _F.ONLYDIR)
_FILE_MASK = _F.MODIFY
_CHUNK = 64 * 1024


class LogGap(exception.ConsoleLogGap):
    """Bytes of the log may be missing here: the follower fell behind.

    ``lost_at_least`` is a lower bound of the bytes lost (0: some may have
    been, it cannot be told). Reading again goes on after the gap.
    """

    def __init__(self, path, lost_at_least=0):
        self.path = path
        super().__init__(path=path, lost_at_least=lost_at_least)


class LogFollower(driver.ConsoleFollower):
    """The newest bytes of a console log, then every byte appended.

    :param path: the log (``<instance folder>/console.log``); it may not
        exist yet.
    :param history_bytes: int >= 0, how many of the newest bytes to hand
        out first (default console_log.MAX_CONSOLE_BYTES).
    :raises nova.exception.InstanceFileUnsafe: if the instance folder or
        a log file is unsafe (see instance_files, console_log).
    :raises FileNotFoundError: if the instance folder does not exist.

    Not thread-safe: one reader at a time. Use read(timeout), or register
    fileno() in a poll loop and call read(0) when it is readable, until it
    returns b'' (the descriptor says only that something changed since
    the last read; the first read(0) hands out the history).
    """

    def __init__(self, path, history_bytes=console_log.MAX_CONSOLE_BYTES):
        if (isinstance(history_bytes, bool) or
                not isinstance(history_bytes, int)):
            raise TypeError('history_bytes must be an int, not %s'
                            % type(history_bytes).__name__)
        if history_bytes < 0:
            raise ValueError('history_bytes must be >= 0, not %d'
                             % history_bytes)
        self.path = path
        self._files = collections.deque()   # open _LogFile, oldest first
        self._offset = 0                     # in self._files[0]
        self._gap = None
        self._file_wd = None
        self._watched = None                 # ident of the watched file
        folder = os.path.dirname(os.path.abspath(path))
        # Every file is looked at relative to this checked descriptor, so
        # a folder swapped for a link later is never followed.
        self._dir_fd = instance_files.open_dir(folder)
        try:
            self._inotify = inotify_simple.INotify()
        except BaseException:
            os.close(self._dir_fd)
            raise
        try:
            # Before the history: a rotation after it must raise an event.
            # (Appends before the file watch below are found by the first
            # look, which reads to the end whatever the events said.)
            # The magic link names the folder we hold, as for the file.
            self._inotify.add_watch('/proc/self/fd/%d' % self._dir_fd,
                                    _DIR_MASK)
            self._history, newest = console_log.open_log_tail(
                path, history_bytes, self._dir_fd)
        except BaseException:
            self._inotify.close()
            os.close(self._dir_fd)
            raise
        if newest is not None:
            self._files.append(newest)
            self._offset = newest.size
            # Now, so that fileno() tells of appends before the first
            # look.
            try:
                self._watch(newest)
            except BaseException:
                self.close()
                raise

    def fileno(self):
        """The inotify descriptor: readable when the log may have grown."""
        return self._inotify.fileno()

    def read(self, timeout=None):
        """The next bytes of the log, waiting up to ``timeout`` for them.

        :param timeout: seconds (float); None waits forever, 0 not at all.
        :returns: bytes, b'' if none came in time.
        :raises LogGap: once, where bytes may be missing (see the module
            docstring, step 4); every byte before it was returned first.
        :raises nova.exception.InstanceFileUnsafe: a log file was replaced
            by a link or a non-regular file.
        :raises nova.exception.ConsoleLogUnreadable: a log file cannot be
            read, or shrank (not virtlogd's doing).
        """
        if self._inotify.closed:
            raise ValueError('read from a closed LogFollower')
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._history:
            data, self._history = self._history, b''
            return data
        while True:
            if self._gap is not None:
                gap, self._gap = self._gap, None
                raise gap
            self._inotify.read(timeout=0)   # drain: we look at all anyway
            data = b''.join(self._advance())
            if data or self._gap is not None:
                if data:
                    return data
                continue
            if deadline is None:
                wait = None
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    return b''
                wait = int(math.ceil(left * 1000))
            console_log._sync_point('wait', self.path)
            if not self._inotify.read(timeout=wait):
                return b''      # timed out: nothing changed

    def close(self):
        while self._files:
            os.close(self._files.popleft().fd)
        if not self._inotify.closed:
            self._inotify.close()
            os.close(self._dir_fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _advance(self):
        """Read what is there now; the list of chunks, in order."""
        chunks = []
        while True:
            if not self._files:
                newer, _found = _scan(self.path, None, self._dir_fd)
                if not newer:
                    return chunks
                self._files.extend(reversed(newer))
                self._offset = 0
            cur = self._files[0]
            if len(self._files) == 1:
                self._watch(cur)
            chunks.append(self._read_rest(cur))
            if len(self._files) > 1:
                # A newer file was seen at path, so cur had left path
                # before the read above: that read got the last of it.
                self._drop_oldest()
                continue
            console_log._sync_point('check', self.path)
            st = console_log._stat(self.path, self._dir_fd)
            if st is not None and (st.st_dev, st.st_ino) == cur.ident:
                return chunks
            newer, found = _scan(self.path, cur.ident, self._dir_fd)
            if not newer:
                # A rotation in progress: its next rename or create wakes
                # us again. (Or a backup someone deleted: then we wait
                # until rotations push that hole out of the chain.)
                return chunks
            self._files.extend(reversed(newer))
            if not found:
                chunks.append(self._read_rest(cur))
                self._drop_oldest()
                self._gap = LogGap(self.path)
                return chunks

    def _read_rest(self, f):
        parts = []
        while True:
            console_log._sync_point('read', f.name)
            try:
                data = os.pread(f.fd, _CHUNK, self._offset)
                if not data and os.fstat(f.fd).st_size < self._offset:
                    raise exception.ConsoleLogUnreadable(
                        path=f.name, reason='file shrank while followed')
            except OSError as e:
                raise exception.ConsoleLogUnreadable(path=f.name,
                                                     reason=e.strerror)
            if not data:
                return b''.join(parts)
            parts.append(data)
            self._offset += len(data)

    def _watch(self, f):
        if self._watched == f.ident:
            return
        self._unwatch()
        try:
            # The magic link names the file we hold, whatever its name
            # now.
            self._file_wd = self._inotify.add_watch(
                '/proc/self/fd/%d' % f.fd, _FILE_MASK)
        except PermissionError:
            # inotify wants read permission on the file itself, which an
            # unprivileged nova-compute lacks for virtlogd's (root's,
            # 0600; opened by the privsep daemon): watch appends to any
            # file of the folder instead (its disk's too: a few more
            # wake-ups, each only a look).
            self._inotify.add_watch('/proc/self/fd/%d' % self._dir_fd,
                                    _DIR_MASK | _F.MODIFY)
        self._watched = f.ident

    def _unwatch(self):
        if self._file_wd is not None:
            try:
                self._inotify.rm_watch(self._file_wd)
            except OSError:
                pass    # already gone with its deleted file
        self._file_wd = self._watched = None

    def _drop_oldest(self):
        f = self._files.popleft()
        if self._watched == f.ident:
            self._unwatch()
        os.close(f.fd)
        self._offset = 0


def _scan(path, ident, dir_fd):
    """The log files newer than the one ``ident`` names, open, newest first.

    Returns (files, found): found is False if no file had ``ident``
    (``ident`` None: the whole chain). The chain is consistent as
    console_log's; if it is not (a rotation in progress), ([], True):
    nothing to do until its next rename or create wakes us. No retry loop
    here: the wake-up is the retry, and it costs no sleep.
    """
    files = []
    keep = 0
    try:
        found, at_end = _open_until(path, ident, files, dir_fd)
        unchanged = console_log._count_unchanged(files, dir_fd)
        if at_end and unchanged == len(files):
            keep = len(files) - 1 if found else len(files)
            return files[:keep], found
        LOG.debug('Console log %s is rotating; looking again on its next '
                  'change', path)
        return [], True
    finally:
        for f in files[keep:]:
            os.close(f.fd)


def _open_until(path, ident, files, dir_fd):
    """Open ``path``, ``path.0`` ... into ``files`` until ``ident``.

    Returns (found, at_end); at_end is False if a missing name looks like
    a hole of a rotation in progress.
    """
    names = console_log._names(path)
    for name in names:
        f = console_log._open_regular(name, dir_fd)
        if f is None:
            following = next(names, None)
            if following is None:
                return False, True
            console_log._sync_point('lookahead', following)
            return False, console_log._stat(following, dir_fd) is None
        files.append(f)
        if f.ident == ident:
            return True, True
    return False, True
