"""The console log followers a compute host holds for live consoles.

nova-serialproxy follows a guest's console log through this host: the
first call opens a LogFollower (nova.virt.libvirt.console_follow) and gets
its id and the history; later calls read what the guest wrote since,
each waiting a little (a long poll) when there is nothing yet.

The table guards the host, not the follower:

* an id is a random ``secrets.token_urlsafe(16)`` bound to one instance:
  the id of another instance's follower is refused exactly as an unknown
  one (ConsoleFollowNotFound);
* at most ``[serial_console] max_console_followers`` are open
  (TooManyConsoleFollowers beyond);
* a follower nobody read for ``console_follower_idle_timeout`` seconds
  is closed by a sweep that every call runs first and that a timer runs
  too (every half idle timeout, while any follower is open): a proxy that
  died frees its followers without being asked, even when no other call
  ever comes;
* a read waits at most ``console_follow_max_wait`` seconds, and never more
  than half of ``[DEFAULT] rpc_response_timeout``; at most
  ``max_console_follow_waiters`` reads wait at once, the others answer
  now, so long polls never take every RPC worker thread. A read of a
  follower another read holds answers now too (it never waits for it).
  An empty answer that did not wait as long as asked carries
  ``retry_after`` (seconds): the proxy pauses that long before asking
  again, so a full host is polled at a bounded rate, never in a loop;
* one read hands out at most READ_LIMIT bytes (the rest waits for the
  next read, which then answers at once).

A LogFollower is not thread-safe: each entry has its own lock, and the
table's lock is never held while a follower reads or waits. A read waits
in poll() on the follower's descriptor and on its entry's wake-up
eventfd: ending a follower (end_console_follow, the idle sweep,
close_all) wakes a read waiting on it, which answers at once, so the
follower and its waiting slot are freed at once, not when the wait
times out.
"""

import collections
import os
import select
import secrets
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging

from nova import exception
from nova.virt import driver

LOG = logging.getLogger(__name__)

READ_LIMIT = 256 * 1024     # bytes one read hands out at most
# Seconds a proxy should pause before asking again after an empty answer
# that did not wait (see FollowerTable.follow): its polling rate then.
RETRY_AFTER = 1.0
# The idle sweep's timer runs at least this often and at most this rarely
# (seconds), at half the idle timeout in between.
_SWEEP_MIN_INTERVAL = 0.5
_SWEEP_MAX_INTERVAL = 30.0
MAX_HISTORY_BYTES = driver.MAX_CONSOLE_BYTES
# Longer ids are not ours: refused before any look-up.
_MAX_ID_LENGTH = 64


def check_history_bytes(value):
    """``value`` (None: MAX_HISTORY_BYTES) as an int in [0, 102400].

    :raises nova.exception.Invalid: naming ``history_bytes``.
    """
    if value is None:
        return MAX_HISTORY_BYTES
    if (isinstance(value, bool) or not isinstance(value, int) or
            not 0 <= value <= MAX_HISTORY_BYTES):
        raise exception.Invalid(
            reason='history_bytes must be an integer from 0 to %d, not %r'
            % (MAX_HISTORY_BYTES, value))
    return value


def check_wait(value):
    """``value`` (seconds, int or float, None: 0) as a float >= 0.

    :raises nova.exception.Invalid: naming ``wait``.
    """
    if value is None:
        return 0.0
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or
            not 0 <= value < float('inf')):
        raise exception.Invalid(
            reason='wait must be a number of seconds >= 0, not %r'
            % (value,))
    return float(value)


class _Entry:
    def __init__(self, instance_uuid, follower, now):
        self.instance_uuid = instance_uuid
        self.follower = follower
        self.last_read = now
        # Held by the one read in progress, while it reads or waits.
        self.read_lock = threading.Lock()
        # Guards the two flags: a follower is closed by whoever sees it
        # dropped and not being read, or by its reader when it is done.
        self.mutex = threading.Lock()
        self.reading = False
        self.dropped = False
        # Read but not yet handed out, in order: [gap before it, bytes].
        self.pending = collections.deque()
        # Written by drop() to wake a read waiting on this follower.
        self.wakeup = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def push(self, data):
        if not data:
            return
        if self.pending:
            self.pending[-1][1] += data
        else:
            self.pending.append([False, bytearray(data)])

    def push_gap(self):
        self.pending.append([True, bytearray()])

    def take(self, limit):
        """(bytes, gap) from the first pending piece, at most ``limit``.

        A gap is only ever at the start of an answer: the bytes of one
        answer are contiguous in the log.
        """
        piece = self.pending[0]
        gap, data = piece[0], bytes(piece[1][:limit])
        del piece[1][:limit]
        piece[0] = False
        if not piece[1]:
            self.pending.popleft()
        return data, gap

    def begin_read(self):
        """Under read_lock: False if the follower was dropped."""
        with self.mutex:
            if self.dropped:
                return False
            self.reading = True
            return True

    def end_read(self):
        """Under read_lock: close the follower if it was dropped
        meanwhile."""
        with self.mutex:
            self.reading = False
            if self.dropped:
                self._close()

    def drop(self):
        """Close now unless a read is in progress (it closes then)."""
        with self.mutex:
            self.dropped = True
            if not self.reading:
                self._close()
            elif self.wakeup is not None:
                os.eventfd_write(self.wakeup, 1)

    def _close(self):
        self.pending.clear()
        self.follower.close()   # idempotent, as LogFollower.close()
        if self.wakeup is not None:
            os.close(self.wakeup)
            self.wakeup = None


class FollowerTable:
    """The open followers of one compute service.

    :param host: the service's host name (for messages).
    :param conf: its ConfigOpts (``[serial_console]`` options; and
        ``rpc_response_timeout`` if registered).
    :param clock: monotonic seconds (tests pass their own).
    """

    def __init__(self, host, conf, clock=time.monotonic):
        self.host = host
        self.conf = conf
        self._clock = clock
        self._lock = threading.Lock()
        self._entries = {}      # follow id -> _Entry
        self._opening = 0       # slots taken by followers being opened
        self._waiting = 0       # reads waiting for bytes now
        # The idle sweep's timer: a thread that runs while followers are
        # open (started by start(), ends when the table is empty or by
        # close_all(), which sets _closing).
        self._sweeper = None
        self._closing = threading.Event()

    def __len__(self):
        with self._lock:
            return len(self._entries)

    # -- limits, read from the configuration on every call ----------------

    def _max_wait(self):
        """Seconds a read may wait: console_follow_max_wait, at most half
        of rpc_response_timeout (when this conf has it)."""
        limit = self.conf.serial_console.console_follow_max_wait
        try:
            rpc_timeout = self.conf.rpc_response_timeout
        except cfg.NoSuchOptError:
            rpc_timeout = None
        if rpc_timeout:
            limit = min(limit, rpc_timeout / 2.0)
        return limit

    def _idle_timeout(self):
        return self.conf.serial_console.console_follower_idle_timeout

    # -- the calls ---------------------------------------------------------

    def start(self, instance_uuid, open_follower):
        """Open a follower with ``open_follower()`` and keep it.

        :param instance_uuid: str, the instance it follows: the only one
            whose reads may use its id.
        :param open_follower: callable returning a LogFollower-like object
            (``read(timeout)``, ``close()``); its errors pass through.
        :returns: the follower's id, a str of 22 URL-safe characters.
        :raises nova.exception.TooManyConsoleFollowers: the host holds
            ``max_console_followers`` already (after the idle sweep).
        """
        limit = self.conf.serial_console.max_console_followers
        self.sweep()
        with self._lock:
            if len(self._entries) + self._opening >= limit:
                raise exception.TooManyConsoleFollowers(host=self.host,
                                                        limit=limit)
            self._opening += 1
        try:
            # Outside the lock: reading the history takes a while, and
            # other followers' calls must not wait for it.
            follower = open_follower()
        finally:
            with self._lock:
                self._opening -= 1
        follow_id = secrets.token_urlsafe(16)
        with self._lock:
            self._entries[follow_id] = _Entry(instance_uuid, follower,
                                              self._clock())
            self._start_sweeper()
        LOG.debug('Console follower opened for %s (%d open)',
                  instance_uuid, len(self))
        return follow_id

    def follow(self, instance_uuid, follow_id, wait=0, alive=None):
        """The follower's next bytes, waiting up to ``wait`` for some.

        :param instance_uuid: str, the instance the caller means.
        :param follow_id: str, from start().
        :param wait: seconds (>= 0, see check_wait), cut to the limits of
            the module docstring; 0 answers at once.
        :param alive: callable -> bool, whether the guest still runs on
            this host (None: it does). Asked when nothing is pending; once
            it says no, the log is read to its end without waiting, and
            when nothing more comes the follower is closed and ``ended``
            is True.
        :returns: (data, gap, ended, retry_after): data bytes (at most
            READ_LIMIT, b'' if none came in time); gap True when bytes
            may be missing before data (the follower fell behind
            virtlogd's rotations); ended as above; retry_after a float
            >= 0, seconds the caller should pause before its next read:
            > 0 only when the answer is empty, not ended, and the read
            waited less than ``wait`` and less than RETRY_AFTER (every
            waiting slot was taken, ``console_follow_max_wait`` is
            below, or another read held this follower).
        :raises nova.exception.ConsoleFollowNotFound: unknown, closed or
            expired id, or the id of another instance's follower.
        :raises nova.exception.Invalid: a bad ``wait``.
        :raises nova.exception.InstanceFileUnsafe,
            nova.exception.ConsoleLogUnreadable: from the follower (or
            any other error of it); it is closed then (the next read is
            told it is unknown).
        """
        asked = check_wait(wait)
        wait = min(asked, self._max_wait())
        self.sweep()
        entry = self._get(instance_uuid, follow_id)
        # One read at a time per follower. A second one (a proxy that
        # retried) does not wait for the first: it would hold an RPC
        # worker thread outside the waiters' count. It answers now and
        # tells the proxy to pause.
        if not entry.read_lock.acquire(blocking=False):
            return b'', False, False, self._retry_after(asked, 0.0)
        try:
            if not entry.begin_read():
                raise self._not_found(instance_uuid)
            try:
                data, gap, ended, waited = self._read(entry, follow_id,
                                                      wait, alive)
            except Exception:
                # A follower that failed once is not trusted again (a
                # planted link, a truncated log): it is closed, and the
                # proxy may open a new one, checked from scratch.
                self._drop(follow_id, entry)
                raise
            finally:
                entry.last_read = self._clock()
                entry.end_read()
        finally:
            entry.read_lock.release()
        retry_after = 0.0
        if not data and not gap and not ended:
            retry_after = self._retry_after(asked, waited)
        return data, gap, ended, retry_after

    @staticmethod
    def _retry_after(asked, waited):
        """Seconds to pause after an empty answer that waited ``waited``
        of the ``asked`` seconds: the rest of min(asked, RETRY_AFTER)."""
        return max(0.0, min(asked, RETRY_AFTER) - waited)

    def _read(self, entry, follow_id, wait, alive):
        """(data, gap, ended, seconds it was allowed to wait)."""
        gone = False
        waited = 0.0
        if not entry.pending:
            gone = not self._alive(entry, alive)
            if gone:
                wait = 0
            waited = self._fill(entry, wait)
        if entry.pending:
            data, gap = entry.take(READ_LIMIT)
            return data, gap, False, waited
        if gone:
            LOG.debug('Console follower of %s ended: the guest left this '
                      'host and its log was read to the end',
                      entry.instance_uuid)
            self._drop(follow_id, entry)
            return b'', False, True, waited
        return b'', False, False, waited

    @staticmethod
    def _alive(entry, alive):
        """Whether the guest is still here; yes when it cannot be told
        (a libvirt hiccup must not end every follow of the host)."""
        if alive is None:
            return True
        try:
            return bool(alive())
        except Exception as e:
            LOG.debug('Cannot tell whether guest %s is still here (%s); '
                      'following on', entry.instance_uuid, e)
            return True

    def _fill(self, entry, wait):
        """Read from the follower into ``entry.pending``; the seconds it
        was allowed to wait (0 when every waiting slot was taken)."""
        if wait > 0:
            with self._lock:
                limit = self.conf.serial_console.max_console_follow_waiters
                if self._waiting < limit:
                    self._waiting += 1
                else:
                    wait = 0    # answer now: the waiting reads are enough
        try:
            self._read_follower(entry, wait)
        finally:
            if wait > 0:
                with self._lock:
                    self._waiting -= 1
        return wait

    @classmethod
    def _read_follower(cls, entry, wait):
        # A LogGap is raised after every byte before it was returned, and
        # once: the bytes after it follow at once (read again, no wait).
        for _ in range(8):
            try:
                entry.push(cls._wait_and_read(entry, wait))
                return
            except exception.ConsoleLogGap as e:
                LOG.info('Console log of %s rotated away before it was '
                         'read: bytes may be missing (%s)',
                         entry.instance_uuid, e)
                entry.push_gap()
                wait = 0

    @staticmethod
    def _wait_and_read(entry, wait):
        """follower.read(0) until bytes come, ``wait`` seconds pass or
        the entry is dropped (its wake-up is written): b'' then."""
        follower = entry.follower
        fileno = getattr(follower, 'fileno', None)
        if wait <= 0 or fileno is None:
            # A follower without a descriptor can only wait in read().
            return follower.read(wait)
        deadline = time.monotonic() + wait
        poller = select.poll()
        poller.register(fileno(), select.POLLIN)
        poller.register(entry.wakeup, select.POLLIN)
        while True:
            data = follower.read(0)
            if data:
                return data
            left = deadline - time.monotonic()
            if left <= 0 or entry.dropped:
                return b''
            ready = poller.poll(int(left * 1000) + 1)
            if any(fd == entry.wakeup for fd, _ in ready):
                return b''      # ended meanwhile: answer now

    def end(self, instance_uuid, follow_id):
        """Close a follower now; True if it was open for that instance.

        An unknown id or another instance's is ignored (a cast has no
        answer): it changes nothing.
        """
        self.sweep()
        try:
            entry = self._get(instance_uuid, follow_id)
        except exception.ConsoleFollowNotFound:
            return False
        self._drop(follow_id, entry)
        LOG.debug('Console follower of %s ended by its proxy',
                  instance_uuid)
        return True

    def sweep(self):
        """Close followers nobody read for the idle timeout; how many."""
        idle = self._idle_timeout()
        now = self._clock()
        with self._lock:
            stale = [(fid, entry) for fid, entry in self._entries.items()
                     if now - entry.last_read > idle and
                     not entry.reading]
        for fid, entry in stale:
            LOG.info('Console follower of %s closed: not read for %d s '
                     '([serial_console] console_follower_idle_timeout)',
                     entry.instance_uuid, idle)
            self._drop(fid, entry)
        return len(stale)

    def close_all(self):
        """Close every follower and stop the sweep's timer (the service
        stops). A later start() starts the timer again."""
        with self._lock:
            entries = list(self._entries.items())
            sweeper, self._sweeper = self._sweeper, None
            self._closing.set()
        for fid, entry in entries:
            self._drop(fid, entry)
        if sweeper is not None and sweeper is not threading.current_thread():
            sweeper.join(5)

    # -- the sweep's timer ---------------------------------------------------

    def _sweep_interval(self):
        return min(_SWEEP_MAX_INTERVAL,
                   max(_SWEEP_MIN_INTERVAL, self._idle_timeout() / 2.0))

    def _start_sweeper(self):
        """Under self._lock: make sure the timer runs."""
        if self._sweeper is not None:
            return
        self._closing = threading.Event()
        self._sweeper = threading.Thread(
            target=self._sweep_loop, args=(self._closing,),
            name='console-follower-sweep-%s' % self.host, daemon=True)
        self._sweeper.start()

    def _sweep_loop(self, closing):
        # Sweeps until the table is empty (start() runs a new timer for
        # the next follower) or close_all() sets ``closing``.
        while not closing.wait(self._sweep_interval()):
            try:
                self.sweep()
            except Exception:
                LOG.exception('Console follower sweep failed')
            with self._lock:
                if closing.is_set():
                    return
                if not self._entries and not self._opening:
                    if self._sweeper is threading.current_thread():
                        self._sweeper = None
                    return

    # -- helpers -----------------------------------------------------------

    def _not_found(self, instance_uuid):
        return exception.ConsoleFollowNotFound(
            instance_uuid=instance_uuid, host=self.host,
            idle=self._idle_timeout())

    def _get(self, instance_uuid, follow_id):
        entry = None
        if isinstance(follow_id, str) and len(follow_id) <= _MAX_ID_LENGTH:
            with self._lock:
                entry = self._entries.get(follow_id)
        # Another instance's id answers as an unknown one: an id leaks
        # nothing of the guest it follows.
        if entry is None or entry.instance_uuid != instance_uuid:
            raise self._not_found(instance_uuid)
        return entry

    def _drop(self, follow_id, entry):
        """Forget ``entry`` and close its follower: now if no read holds
        it, else when that read ends."""
        with self._lock:
            if self._entries.get(follow_id) is entry:
                del self._entries[follow_id]
        entry.drop()
