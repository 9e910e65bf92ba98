"""Tests for reading the tail of a virtlogd-rotated console log."""

import errno
import logging
import os
import random
import shutil
import stat
import sys
import tempfile
import threading
import time
from unittest import mock

import fixtures
import hypothesis
from hypothesis import strategies as st
import testtools

from nova import exception
from nova.virt.libvirt import console_log


def backup(path, i):
    return '%s.%d' % (path, i)


def write_chain(path, newest_first):
    """Write ``path``, ``path.0``, ... from a list of contents (None: skip).
    """
    names = [path] + [backup(path, i) for i in range(len(newest_first) - 1)]
    for name, data in zip(names, newest_first):
        if data is not None:
            with open(name, 'wb') as f:
                f.write(data)


def open_fds():
    return set(os.listdir('/proc/self/fd'))


class FakeVirtlogd(object):
    """Writes a byte stream into a console log the way virtlogd does.

    Every call to step() is one atomic file system change that virtlogd
    makes: create the log, append to it, or one rename (or unlink) of a
    rotation. After each step the state is remembered, so a test can ask
    which states the log went through while a reader ran.

    Positions: 0 is ``path``, k >= 1 is ``path.(k-1)``.
    """

    def __init__(self, path, max_size, max_backups, seed=0):
        self.path = path
        self.max_size = max_size
        self.max_backups = max_backups
        self.rng = random.Random(seed)
        self.stream = bytearray()   # every byte ever written, in order
        self.durable = 0            # how much of it is in a file already
        self.at = {}                # position -> file id
        self.spans = []             # file id -> [start, end] in stream
        self.moves = []             # rotation steps still to do
        self.states = []

    def name(self, pos):
        return self.path if pos == 0 else backup(self.path, pos - 1)

    def clean(self):
        """No rotation half done: the files are path, path.0, ... path.k.
        """
        return sorted(self.at) == list(range(len(self.at)))

    def snapshot(self):
        """(clean, stream length, oldest offset, file id of path).

        The oldest offset is where the newest run of names begins: in a
        clean state every file, in the middle of a rotation the files from
        ``path`` (or, once it is renamed and not yet created, ``path.0``)
        to the hole. Those hold the newest bytes of the stream whatever the
        rotation does next, so a reader that needs no more than they hold
        may answer from them (console_log stops opening files once it has
        enough). None when no such run exists.
        """
        if not self.at:
            return (True, self.durable, self.durable, None)
        clean = self.clean()
        pos = min(self.at)
        if pos > 1:
            return (False, None, None, None)
        while pos + 1 in self.at:
            pos += 1
        oldest = self.at[pos]
        return (clean, self.durable, self.spans[oldest][0],
                self.at.get(0))

    def _record(self):
        self.states.append(self.snapshot())

    def step(self, chunk=1, early=False):
        """Do one step; ``chunk`` bytes are appended if it is a write.

        ``early`` rotates after this write even if the file is not full,
        like virtlogd does to end a file at a newline.
        """
        if self.moves:
            self.moves.pop(0)()
        elif 0 not in self.at:
            fid = len(self.spans)
            self.spans.append([self.durable, self.durable])
            with open(self.path, 'xb'):
                pass
            self.at[0] = fid
        else:
            fid = self.at[0]
            size = self.spans[fid][1] - self.spans[fid][0]
            data = self.rng.randbytes(min(chunk, self.max_size - size))
            # Into the record first, so that no reader can see a byte on
            # disk that the record does not have yet.
            self.stream += data
            with open(self.path, 'ab') as f:
                f.write(data)
            self.durable += len(data)
            self.spans[fid][1] += len(data)
            if size + len(data) >= self.max_size or early:
                self._plan_rotation()
        self._record()

    def _plan_rotation(self):
        if self.max_backups == 0:
            self.moves = [self._unlink_newest]
            return
        # Oldest first: path.(n-2) over path.(n-1), ..., path over path.0.
        for src in range(self.max_backups - 1, -1, -1):
            if src in self.at:
                self.moves.append(lambda src=src: self._move(src))

    def _move(self, src):
        os.rename(self.name(src), self.name(src + 1))
        self.at[src + 1] = self.at.pop(src)

    def _unlink_newest(self):
        os.unlink(self.path)
        del self.at[0]

    def finish_rotation(self):
        """Do the rest of a rotation that is due or half done."""
        while self.moves or not self.clean():
            self.step()

    def rotate_now(self):
        """A whole rotation, as if the current file had just filled up."""
        self._plan_rotation()
        self.finish_rotation()
        if 0 not in self.at:
            self.step()   # the new, empty path (max_backups=0 case)

    def write(self, nbytes):
        """Append nbytes, rotating whenever a file fills up."""
        target = self.durable + nbytes
        while self.durable < target:
            self.step(chunk=target - self.durable)
        self.finish_rotation()

    def retained(self):
        """Everything the files hold now, oldest first (state is clean)."""
        clean, length, lo, fid = self.snapshot()
        assert clean
        return bytes(self.stream[lo:length])

    def hi(self, state):
        """Where the path of ``state`` ended up: it kept growing after."""
        clean, length, lo, fid = state
        return length if fid is None else self.spans[fid][1]


def tail_of_some_state(result, sim, states, max_bytes):
    """Is result the right answer for one state among ``states``?

    For a state (see FakeVirtlogd.snapshot for a rotation in progress):
    the log held stream[lo:length] and ``path`` went on to
    receive bytes up to hi. A reader may end anywhere in [length, hi] and
    must then return min(max_bytes, end - lo) bytes.
    """
    for state in states:
        clean, length, lo, fid = state
        if length is None:
            continue
        for end in range(length, sim.hi(state) + 1):
            if sim.stream[max(lo, end - max_bytes):end] == result:
                return True
    return False


class ReadLogTailTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.tmp, 'console.log')
        self.log = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        # Retries need not wait in tests.
        self.useFixture(fixtures.MockPatchObject(
            console_log, '_RETRY_DELAY', 0))

    def hook(self, func):
        """Run func(event, name) at each of the reader's sync points."""
        self.useFixture(fixtures.MockPatchObject(
            console_log, '_sync_point', side_effect=func))

    # Plain reading.

    def test_single_file_tail(self):
        write_chain(self.path, [b'0123456789'])
        self.assertEqual(b'6789', console_log.read_log_tail(self.path, 4))
        self.assertEqual(b'9', console_log.read_log_tail(self.path, 1))

    def test_default_max_bytes(self):
        data = random.Random(1).randbytes(250 * 1024)
        write_chain(self.path, [data])
        self.assertEqual(100 * 1024, console_log.MAX_CONSOLE_BYTES)
        self.assertEqual(data[-100 * 1024:],
                         console_log.read_log_tail(self.path))

    def test_chains_of_one_to_four_files(self):
        rng = random.Random(2)
        for nfiles in range(1, 5):
            files = [rng.randbytes(rng.randint(1, 40))
                     for _ in range(nfiles)]
            write_chain(self.path, files)
            stream = b''.join(reversed(files))
            for max_bytes in range(1, len(stream) + 3):
                self.assertEqual(
                    stream[-max_bytes:],
                    console_log.read_log_tail(self.path, max_bytes),
                    '%d files, max_bytes %d' % (nfiles, max_bytes))

    def test_line_split_across_files_comes_back_whole(self):
        write_chain(self.path, [b'ne two\n', b'line one\nli'])
        self.assertEqual(b'line one\nline two\n',
                         console_log.read_log_tail(self.path, 100))

    def test_exactly_at_boundary_does_not_open_older_files(self):
        write_chain(self.path, [b'PPPP', b'AAA', b'BB'])
        real_open = os.open
        opened = []

        def spy(name, *args, **kwargs):
            # Files are opened relative to the folder's descriptor.
            if kwargs.get('dir_fd') is not None:
                opened.append(os.path.join(self.tmp, name))
            return real_open(name, *args, **kwargs)

        with mock.patch.object(os, 'open', side_effect=spy):
            self.assertEqual(b'PPPP',
                             console_log.read_log_tail(self.path, 4))
            self.assertEqual([self.path], opened)
            del opened[:]
            self.assertEqual(b'AAAPPPP',
                             console_log.read_log_tail(self.path, 7))
            self.assertEqual([self.path, backup(self.path, 0)], opened)
            del opened[:]
            self.assertEqual(b'BAAAPPPP',
                             console_log.read_log_tail(self.path, 8))
            self.assertEqual(3, len(opened))

    def test_max_bytes_larger_than_everything(self):
        write_chain(self.path, [b'new', b'mid', b'old'])
        self.assertEqual(b'oldmidnew',
                         console_log.read_log_tail(self.path, 10 ** 9))

    def test_empty_current_file_reads_backups(self):
        # Right after a rotation console.log is empty.
        write_chain(self.path, [b'', b'before'])
        self.assertEqual(b'fore', console_log.read_log_tail(self.path, 4))

    def test_missing_file_is_empty(self):
        self.assertEqual(b'', console_log.read_log_tail(self.path, 10))

    def test_missing_file_with_missing_directory_is_empty(self):
        path = os.path.join(self.tmp, 'no-such-instance', 'console.log')
        self.assertEqual(b'', console_log.read_log_tail(path, 10))

    def test_missing_middle_backup_ends_the_chain(self):
        write_chain(self.path, [b'new', b'mid', None, b'old'])
        self.assertEqual(b'midnew',
                         console_log.read_log_tail(self.path, 100))
        # We retried, taking the hole for a rotation in progress, then
        # settled and said so.
        self.assertIn('No consistent view', self.log.output)

    def test_newest_and_first_backup_missing_is_no_empty_log(self):
        # A reader that slept through a whole rotation between its open of
        # console.log and its look at .0 finds both gone and .1 there: a
        # rotation in progress, never an empty log said without a word.
        write_chain(self.path, [None, None, b'old'])
        console_log.read_log_tail(self.path, 100)
        self.assertIn('No consistent view', self.log.output)

    def test_missing_last_backup_is_just_the_end(self):
        write_chain(self.path, [b'new', b'mid'])
        self.assertEqual(b'midnew',
                         console_log.read_log_tail(self.path, 100))
        self.assertNotIn('No consistent view', self.log.output)

    def _secret(self):
        """A root-only file outside the instance folder."""
        secret = os.path.join(self.tmp, 'secret')
        with open(secret, 'wb') as f:
            f.write(b'TOP-SECRET-BYTES')
        os.chmod(secret, 0o600)
        return secret

    def test_symlink_to_secret_file_gives_none_of_its_bytes(self):
        os.symlink(self._secret(), self.path)
        exc = self.assertRefused(self.path,
                                 'a symbolic link; not following it')
        self.assertNotIn('TOP-SECRET', str(exc))
        self.assertNotIn('secret', str(exc))  # nor where the link points

    def test_symlink_in_the_chain_is_refused(self):
        write_chain(self.path, [b'new'])
        os.symlink(self._secret(), backup(self.path, 0))
        exc = self.assertRefused(backup(self.path, 0),
                                 'a symbolic link; not following it',
                                 max_bytes=100)
        self.assertNotIn('TOP-SECRET', str(exc))

    def test_dangling_symlink_is_refused(self):
        os.symlink(os.path.join(self.tmp, 'gone'), self.path)
        self.assertRefused(self.path, 'a symbolic link; not following it')

    def test_hard_link_to_secret_file_is_refused(self):
        os.link(self._secret(), self.path)
        exc = self.assertRefused(self.path,
                                 'a regular file with 2 hard links')
        self.assertNotIn('TOP-SECRET', str(exc))

    def test_symlink_swapped_in_after_lstat_is_refused(self):
        # The name passes lstat(), then becomes a link before open():
        # O_NOFOLLOW makes open() fail instead of following it.
        write_chain(self.path, [b'new'])
        secret = self._secret()

        def swap(event, name):
            if event == 'open':
                os.unlink(name)
                os.symlink(secret, name)

        self.hook(swap)
        before = open_fds()
        self.assertRefused(self.path, 'a symbolic link; not following it')
        self.assertEqual(before, open_fds())

    # max_bytes checks.

    def test_max_bytes_zero_or_negative(self):
        write_chain(self.path, [b'data'])
        self.assertEqual(b'', console_log.read_log_tail(self.path, 0))
        self.assertEqual(b'', console_log.read_log_tail(self.path, -5))

    def test_max_bytes_not_int(self):
        write_chain(self.path, [b'data'])
        for bad in (1.0, '4', None, True, b'4'):
            self.assertRaises(TypeError, console_log.read_log_tail,
                              self.path, bad)

    # Files we must not or cannot read.

    def assertUnreadable(self, name, reason, max_bytes=10):
        exc = self.assertRaises(exception.ConsoleLogUnreadable,
                                console_log.read_log_tail,
                                self.path, max_bytes)
        self.assertEqual(name, exc.kwargs['path'])
        self.assertEqual(reason, exc.kwargs['reason'])
        self.assertIn(name, str(exc))
        return exc

    def assertRefused(self, name, reason, max_bytes=10):
        """InstanceFileUnsafe (HTTP 409) naming ``name``, and a warning."""
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt.console_log', level=logging.WARNING))
        exc = self.assertRaises(exception.InstanceFileUnsafe,
                                console_log.read_log_tail,
                                self.path, max_bytes)
        self.assertEqual(409, exc.code)
        self.assertEqual(name, exc.kwargs['path'])
        self.assertEqual(reason, exc.kwargs['reason'])
        self.assertIn(name, str(exc))
        self.assertIn('Refusing to use %s: %s' % (name, reason),
                      logs.output)
        return exc

    def test_directory(self):
        os.mkdir(self.path)
        self.assertRefused(self.path, 'not a regular file (directory)')

    def test_directory_as_needed_backup(self):
        write_chain(self.path, [b'new'])
        os.mkdir(backup(self.path, 0))
        self.assertRefused(backup(self.path, 0),
                           'not a regular file (directory)')
        # Not needed, not looked at.
        self.assertEqual(b'ew', console_log.read_log_tail(self.path, 2))

    def test_symlink_to_directory(self):
        os.symlink(self.tmp, self.path)
        self.assertRefused(self.path, 'a symbolic link; not following it')

    def test_character_device(self):
        os.mknod(self.path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        self.assertRefused(self.path,
                           'not a regular file (character device)')

    def test_fifo_does_not_hang(self):
        self.useFixture(fixtures.Timeout(10, gentle=True))
        os.mkfifo(self.path)
        self.assertRefused(self.path, 'not a regular file (fifo)')

    def test_non_regular_files_are_never_opened(self):
        # Opening a fifo or a device can block or have side effects.
        self.useFixture(fixtures.Timeout(10, gentle=True))
        os.mkfifo(self.path)
        real_open = os.open
        opened = []

        def spy(name, *args, **kwargs):
            # The folder is opened; no file in it may be.
            if kwargs.get('dir_fd') is not None:
                opened.append(name)
            return real_open(name, *args, **kwargs)

        with mock.patch.object(os, 'open', side_effect=spy):
            self.assertRefused(self.path, 'not a regular file (fifo)')
            os.unlink(self.path)
            os.symlink('/dev/null', self.path)
            self.assertRefused(self.path,
                               'a symbolic link; not following it')
        self.assertEqual([], opened)

    def test_fifo_backup_does_not_hang(self):
        self.useFixture(fixtures.Timeout(10, gentle=True))
        write_chain(self.path, [b'new'])
        os.mkfifo(backup(self.path, 0))
        self.assertRefused(backup(self.path, 0),
                           'not a regular file (fifo)')

    def test_fifo_swapped_in_after_stat_does_not_hang(self):
        # The name passes the lstat() check, then becomes a fifo before
        # open(): only O_NONBLOCK stops open() from waiting for a writer.
        self.useFixture(fixtures.Timeout(10, gentle=True))
        write_chain(self.path, [b'new'])

        def swap(event, name):
            if event == 'open':
                os.unlink(name)
                os.mkfifo(name)

        self.hook(swap)
        before = open_fds()
        self.assertRefused(self.path, 'not a regular file (fifo)')
        self.assertEqual(before, open_fds())

    def test_permission_denied(self):
        write_chain(self.path, [b'new'])
        with mock.patch.object(
                os, 'open', side_effect=PermissionError(
                    errno.EACCES, os.strerror(errno.EACCES))):
            self.assertUnreadable(self.path, os.strerror(errno.EACCES))

    def test_permission_denied_on_backup_closes_what_was_open(self):
        write_chain(self.path, [b'new', b'old'])
        real_open = os.open

        def deny_backup(name, *args, **kwargs):
            if kwargs.get('dir_fd') is not None and name != 'console.log':
                raise PermissionError(errno.EACCES,
                                      os.strerror(errno.EACCES))
            return real_open(name, *args, **kwargs)

        before = open_fds()
        with mock.patch.object(os, 'open', side_effect=deny_backup):
            self.assertUnreadable(backup(self.path, 0),
                                  os.strerror(errno.EACCES))
        self.assertEqual(before, open_fds())

    def test_stat_permission_denied(self):
        with mock.patch.object(os, 'lstat', side_effect=PermissionError(
                errno.EACCES, os.strerror(errno.EACCES))):
            self.assertUnreadable(self.path, os.strerror(errno.EACCES))

    def test_read_error(self):
        write_chain(self.path, [b'new'])
        with mock.patch.object(os, 'pread', side_effect=OSError(
                errno.EIO, os.strerror(errno.EIO))):
            self.assertUnreadable(self.path, os.strerror(errno.EIO))

    def test_file_that_stays_short_is_reported(self):
        write_chain(self.path, [b'new'])
        with mock.patch.object(os, 'pread', return_value=b''):
            self.assertUnreadable(self.path, 'file shrank while being read')

    def test_truncated_while_reading_is_read_again(self):
        write_chain(self.path, [b'0123456789'])
        done = []

        def truncate(event, name):
            if event == 'read' and not done:
                done.append(name)
                os.truncate(name, 3)

        self.hook(truncate)
        self.assertEqual(b'012', console_log.read_log_tail(self.path, 5))
        self.assertEqual([self.path], done)

    # Cost.

    def test_reads_only_what_it_returns_from_a_huge_legacy_file(self):
        tail = random.Random(3).randbytes(4096)
        with open(self.path, 'wb') as f:
            f.truncate(2 ** 30 - len(tail))    # sparse: costs no disk
            f.seek(0, os.SEEK_END)
            f.write(tail)
        real_pread = os.pread
        asked = []

        def spy(fd, n, offset):
            asked.append(n)
            return real_pread(fd, n, offset)

        with mock.patch.object(os, 'pread', side_effect=spy):
            self.assertEqual(tail[-1000:],
                             console_log.read_log_tail(self.path, 1000))
        self.assertEqual([1000], asked)

    def test_reads_only_what_it_returns_from_a_chain(self):
        files = [b'P' * 10, b'A' * 100, b'B' * 100, b'C' * 100]
        write_chain(self.path, files)
        real_pread = os.pread
        asked = []

        def spy(fd, n, offset):
            asked.append((n, offset))
            return real_pread(fd, n, offset)

        with mock.patch.object(os, 'pread', side_effect=spy):
            self.assertEqual(b'B' * 5 + b'A' * 100 + b'P' * 10,
                             console_log.read_log_tail(self.path, 115))
        self.assertEqual([(10, 0), (100, 0), (5, 95)], asked)

    def test_no_descriptor_leaks(self):
        write_chain(self.path, [b'new', b'mid', None, b'old'])
        before = open_fds()
        console_log.read_log_tail(self.path, 100)   # settles after retries
        console_log.read_log_tail(self.path, 2)
        os.mkdir(backup(self.path, 1))
        self.assertRaises(exception.InstanceFileUnsafe,
                          console_log.read_log_tail, self.path, 100)
        self.assertEqual(before, open_fds())

    # Rotation while we read, at chosen moments.

    def make_log(self, max_size=10, max_backups=3, nbytes=35):
        sim = FakeVirtlogd(self.path, max_size, max_backups, seed=4)
        sim.write(nbytes)
        return sim

    def test_rotation_between_opens_is_detected(self):
        # 35 bytes in files of 10: path has 5, then .0, .1, .2 have 10.
        # Rotating after path was opened but before path.0 turns path.0
        # into the file we already have: a reader that trusted it would
        # return those bytes twice.
        def rotate_once(event, name):
            if (event, name) == ('open', backup(self.path, 0)):
                if not rotated:
                    rotated.append(name)
                    sim.rotate_now()
                    sim.write(3)

        sim = self.make_log()
        rotated = []
        self.hook(rotate_once)
        # First show that the scenario matters: without the check the
        # result is not a piece of the stream at all.
        with mock.patch.object(console_log, '_count_unchanged',
                               side_effect=lambda files, dir_fd: len(files)):
            naive = console_log.read_log_tail(self.path, 20)
        self.assertEqual(1, len(rotated))
        self.assertNotIn(naive, bytes(sim.stream))

        shutil.rmtree(self.tmp)
        os.mkdir(self.tmp)
        sim = self.make_log()
        del rotated[:]
        result = console_log.read_log_tail(self.path, 20)
        self.assertEqual(1, len(rotated))
        self.assertEqual(bytes(sim.stream[-20:]), result)
        self.assertNotIn('No consistent view', self.log.output)

    def test_rotation_during_reads_keeps_the_snapshot(self):
        # Once the files are checked, rotations (even one that deletes the
        # oldest backup we are about to read) change nothing we return.
        sim = self.make_log(max_backups=2, nbytes=25)
        expected = bytes(sim.stream[-25:])

        def rotate(event, name):
            if event == 'read':
                sim.rotate_now()
                sim.write(7)

        self.hook(rotate)
        self.assertEqual(expected, console_log.read_log_tail(self.path, 100))

    def test_rotation_half_done_is_waited_out(self):
        # path.1 was renamed to path.2 but path.0 not yet to path.1.
        sim = self.make_log(nbytes=30)
        sim._plan_rotation()
        sim.step()
        self.assertFalse(os.path.exists(backup(self.path, 1)))

        def finish(event, name):
            if event == 'retry':
                sim.finish_rotation()

        self.hook(finish)
        result = console_log.read_log_tail(self.path, 100)
        # The first rename dropped the oldest 10 bytes.
        self.assertEqual(bytes(sim.stream[10:]), sim.retained())
        self.assertEqual(sim.retained(), result)
        self.assertNotIn('No consistent view', self.log.output)

    def test_path_missing_during_rotation_is_waited_out(self):
        sim = self.make_log(nbytes=30)
        sim._plan_rotation()
        while sim.moves:
            sim.step()
        self.assertFalse(os.path.exists(self.path))

        def create(event, name):
            if event == 'retry':
                sim.finish_rotation()

        self.hook(create)
        result = console_log.read_log_tail(self.path, 100)
        self.assertEqual(20, len(sim.retained()))
        self.assertEqual(sim.retained(), result)
        self.assertNotIn('No consistent view', self.log.output)

    def test_settles_for_a_consistent_part_if_always_rotating(self):
        sim = self.make_log(max_size=10, max_backups=3, nbytes=35)

        def rotate(event, name):
            if event == 'verify':
                sim.rotate_now()
                sim.write(8)

        self.hook(rotate)
        start = sim.durable
        result = console_log.read_log_tail(self.path, 30)
        self.assertIn('No consistent view', self.log.output)
        # Short: only the newest file of the last attempt, which had 8
        # bytes. But a true piece of the stream, ending after the start.
        self.assertEqual(8, len(result))
        at = sim.stream.find(result)
        self.assertNotEqual(-1, at)
        self.assertGreaterEqual(at + len(result), start)

    # Rotation at random moments.

    @hypothesis.settings(max_examples=200, deadline=None)
    @hypothesis.given(data=st.data())
    def test_property_concurrent_rotation(self, data):
        """Result is a tail of one state the log went through during the call.

        A fake virtlogd runs between any two of the reader's system calls
        (drawn by hypothesis, so failures shrink to a minimal schedule).
        It may rotate at most _MAX_ATTEMPTS - 2 times during the call, and
        never idles in the middle of a rotation, so the reader must not
        need to settle: the result must be exactly
        stream[max(lo, end - max_bytes):end] for a clean state (lo, length)
        seen during the call and some end between that state's length and
        the final size of its console.log.
        """
        max_size = data.draw(st.integers(1, 24), 'max_size')
        max_backups = data.draw(st.integers(0, 4), 'max_backups')
        max_bytes = data.draw(st.integers(1, 150), 'max_bytes')
        seed = data.draw(st.integers(0, 2 ** 32 - 1), 'seed')
        tmp = tempfile.mkdtemp(dir=self.tmp)
        self.addCleanup(shutil.rmtree, tmp, True)
        sim = FakeVirtlogd(os.path.join(tmp, 'console.log'),
                           max_size, max_backups, seed)

        def act():
            sim.step(chunk=data.draw(st.integers(1, max_size * 2)),
                     early=data.draw(st.integers(0, 5)) == 0)

        for _ in range(data.draw(st.integers(1, 60), 'steps before')):
            act()

        budget = [console_log._MAX_ATTEMPTS - 2]

        def virtlogd(event, name):
            if budget[0] > 0:
                low = 0 if sim.clean() else 1
                steps = data.draw(st.integers(low, 2))
                budget[0] -= steps > 0
                for _ in range(steps):
                    act()
            else:
                sim.finish_rotation()

        sim.states = [sim.snapshot()]
        with mock.patch.object(console_log, '_sync_point',
                               side_effect=virtlogd):
            with fixtures.FakeLogger(level=logging.WARNING) as log:
                result = console_log.read_log_tail(sim.path, max_bytes)
        self.assertEqual('', log.output)
        self.assertTrue(
            tail_of_some_state(result, sim, sim.states, max_bytes),
            'result %r\nstream %r\nstates %r' % (
                result, bytes(sim.stream), sim.states))

    def test_concurrent_writer_thread(self):
        """A real thread rotating as fast as it can while we read."""
        self.addCleanup(sys.setswitchinterval, sys.getswitchinterval())
        sys.setswitchinterval(1e-6)
        sim = FakeVirtlogd(self.path, 1024, 3, seed=5)
        sim.write(5000)
        stop = threading.Event()

        def writer():
            # Never stop halfway through a rotation: that would leave the
            # log without console.log for good.
            while not stop.is_set() or sim.moves or not sim.clean():
                sim.step(chunk=50)
                if sim.durable > 2 ** 26:
                    stop.set()

        thread = threading.Thread(target=writer)
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(stop.set)
        overlapped = 0
        deadline = time.monotonic() + 20
        while overlapped < 100 and time.monotonic() < deadline:
            start = sim.durable
            files_before = len(sim.spans)
            warned = len(self.log.output)
            result = console_log.read_log_tail(self.path, 1500)
            if len(self.log.output) == warned:
                # At least 3 full backups are kept: 1500 bytes are there.
                self.assertEqual(1500, len(result))
            if len(result) >= 16:   # long enough to occur only once
                # bytearray.rfind holds the GIL: the writer waits.
                at = sim.stream.rfind(result)
                self.assertNotEqual(-1, at, 'not a piece of the stream')
                self.assertGreaterEqual(at + len(result), start)
            overlapped += len(sim.spans) != files_before
        stop.set()
        # The writer did rotate while we read, many times.
        self.assertEqual(100, overlapped)
