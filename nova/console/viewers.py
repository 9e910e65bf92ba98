"""nova-serialproxy's console hubs: one log stream, many websockets.

A :class:`Hub` follows one instance's console log on its compute host
(the proxy's console API, ``nova.console.api.API.follow_console_log``,
long-polled by one thread) and fans it out to every connection showing
that console's output: read-only viewers and interactive sessions opened
with history. It keeps the newest ``MAX_CONSOLE_BYTES`` of the log in
memory, so a new subscriber gets its history from here, not from the
compute host.

The joint between history and live output is exact: a subscriber's
history is a snapshot of the window taken under the hub's lock, and every
chunk appended after it goes to the subscriber's queue under that same
lock. So no byte is shown twice and none is missed, however the appends
and subscriptions interleave. Before the hub's first answer (which
carries the history) subscribers wait; their snapshot is taken when it
arrives.

A subscriber wakes its connection through an eventfd the connection
polls with its sockets, never by sleeping. A subscriber that lets more
than ``[serial_console] viewer_backlog_bytes`` pile up is dropped (the
hub never waits for anyone). Chunks are shared between the queues, so a
chunk costs its size once, however many subscribers hold it.

:class:`Hubs` holds the hubs of a proxy process by instance uuid and
where the token that opened them leads (the guest's serial host and
port): after a live migration, a new token's clients start a hub that
follows the instance's new host instead of joining the old host's hub
that is about to end. It counts
viewers against ``max_viewers_per_instance`` and ``max_viewers``, starts a
hub for the first subscriber and stops it (``end_console_follow`` on the
compute host) when the last one leaves. A subscription is all or
nothing: when one part fails (no descriptor left, no thread) nothing of
it stays registered.

A hub never asks the compute host in a loop: after an empty answer it
pauses for the answer's ``retry_after`` (a host whose waiting slots are
all taken, or whose reads may not wait) and at least until POLL_FLOOR
seconds have passed since the call began, whatever the host says; a
failed call pauses RETRY_DELAY. :meth:`Hub.stop` cuts any pause short.
"""

import base64
import binascii
import os
import re
import threading
import time

from oslo_log import log as logging

from nova import context
from nova import exception
from nova.virt import driver

LOG = logging.getLogger(__name__)

# The console log's window, as the compute driver interface defines it.
MAX_CONSOLE_BYTES = driver.MAX_CONSOLE_BYTES
# Bytes of an ``after`` marker, decoded.
MAX_AFTER_BYTES = 1024
# Seconds each long-poll asks the compute host to wait for new bytes (it
# caps this by its own [serial_console] console_follow_max_wait).
FOLLOW_WAIT = 10
# Least seconds from one empty follow call to the next: a host that
# answers at once (an old one, or one whose reads may not wait) is then
# polled at most 1 / POLL_FLOOR times a second. The host's retry_after is
# obeyed above it, up to FOLLOW_WAIT.
POLL_FLOOR = 0.5
# Failed follow calls in a row before a hub gives up, and the pause
# before each retry, in seconds.
MAX_FAILURES = 3
RETRY_DELAY = 2

CLOSE_GONE = 4000
GONE = ('The console moved or the instance is gone: '
        'ask for a new console URL')
CLOSE_TOO_SLOW = 4008
TOO_SLOW = 'Too slow: fell more than %d bytes behind'
CLOSE_TOO_MANY = 4429
TOO_MANY = 'Too many viewers'
CLOSE_NO_LOG = 1011
NO_LOG = ('This console has no log to follow; '
          'connect without history')
CLOSE_TRY_LATER = 1013
TRY_LATER = ('The compute host follows too many consoles; '
             'try again later')

# What a subscriber's queue holds besides bytes.
GAP = 'gap'

_DIGITS = re.compile(r'[0-9]{1,9}\Z')
_BASE64URL = re.compile(r'[A-Za-z0-9_-]+={0,2}\Z')


def parse_history(value):
    """``history=N``: an int 0..MAX_CONSOLE_BYTES, else ValueError."""
    if not _DIGITS.match(value) or int(value) > MAX_CONSOLE_BYTES:
        raise ValueError('history must be an integer from 0 to %d (bytes)'
                         % MAX_CONSOLE_BYTES)
    return int(value)


def parse_after(value):
    """``after=B``: base64url (padding optional) of 1..MAX_AFTER_BYTES
    bytes, decoded; else ValueError."""
    error = ValueError('after must be base64url (padding optional) of 1 to '
                       '%d bytes' % MAX_AFTER_BYTES)
    if not _BASE64URL.match(value):
        raise error
    bare = value.rstrip('=')
    if len(bare) % 4 == 1 or (len(value) != len(bare) and len(value) % 4):
        raise error
    try:
        data = base64.b64decode(bare + '=' * (-len(bare) % 4),
                                altchars=b'-_', validate=True)
    except (binascii.Error, ValueError):
        raise error
    if not 1 <= len(data) <= MAX_AFTER_BYTES:
        raise error
    return data


class TooManyViewers(Exception):
    """A viewer cap is reached."""


class Subscriber:
    """One connection's share of a hub: a queue and a wake-up descriptor.

    The connection polls :meth:`fileno` and calls :meth:`take`. Queue
    items: ``('start', history_bytes, pieces)`` first (``pieces`` are
    bytes and ``GAP``), then bytes and ``GAP``. :attr:`end` becomes
    ``(close_code, reason)`` when the hub is done with it; the connection
    closes once the queue is empty, or at once when :attr:`drop_now`.
    """

    def __init__(self, hub, read_only, history, after):
        self.hub = hub
        self.read_only = read_only
        self.history = history
        self.after = after
        self.items = []
        self.queued = 0
        self.end = None
        self.drop_now = False
        self.started = False
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def fileno(self):
        return self._fd

    def wake(self):
        # Only under the hub's lock, while subscribed: close() takes the
        # subscriber out under that lock before closing the descriptor.
        os.eventfd_write(self._fd, 1)

    def clear(self):
        """Reset the wake-up (before taking, so no wake-up is lost)."""
        try:
            os.eventfd_read(self._fd)
        except BlockingIOError:
            pass

    def take(self, max_bytes):
        """Items queued so far, about ``max_bytes`` of data at most."""
        with self.hub.lock:
            taken, size = [], 0
            while self.items and (not taken or size < max_bytes):
                item = self.items.pop(0)
                taken.append(item)
                if isinstance(item, bytes):
                    size += len(item)
                elif item[0] == 'start':
                    size += item[1]
            self.queued -= size
            return taken

    def done(self):
        """(code, reason) once the connection should close, else None."""
        with self.hub.lock:
            if self.end and (self.drop_now or not self.items):
                return self.end
            return None

    def close(self):
        """Leave the hub (once) and free the descriptor."""
        if self._fd is None:
            return
        self.hub.hubs.unsubscribe(self)
        self.discard()

    def discard(self):
        """Free the descriptor of a subscriber never added to its hub."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Hub:
    """One instance's console log stream; see the module docstring."""

    def __init__(self, hubs, instance_uuid, consoles, backlog_bytes,
                 target=None, predecessor=None):
        self.hubs = hubs
        self.instance_uuid = instance_uuid
        # Hubs' key; see Hubs.subscribe.
        self.key = (instance_uuid, target)
        self.lock = threading.Lock()
        self.subscribers = set()
        self.viewers = 0
        self._api = consoles
        self._backlog = backlog_bytes
        self._window = bytearray()
        self._end = 0  # offset in the whole stream of the window's end
        self._gaps = []  # stream offsets before which bytes may be missing
        self._primed = False
        self._ended = None
        self._stop = threading.Event()
        # Set (under the Hubs' lock) once the thread is committed to exit:
        # from then on a stopped hub can no longer be resumed.
        self._exiting = False
        # The follower stop() ended already (not ended twice).
        self._ended_early = None
        # The thread of the stopped hub of the same key this one replaces,
        # still ending its follower: waited for before the first call, so
        # one key never has two follows at once.
        self._predecessor = predecessor
        # The first call asks the instance's host of now.
        self._host = None
        self._follow_id = None
        self._thread = threading.Thread(
            target=self._run, name='console-hub-%s' % instance_uuid,
            daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        """No subscriber left: the thread ends the follow and exits.

        It exits at once if it was pausing between calls; a call in
        flight (a long-poll) is cut short by ending the follower now,
        which wakes the compute host's read, so the host's follower and
        waiter slots are freed at once. Until the thread has committed to
        exit, :meth:`resume` may take the stop back.
        """
        self._stop.set()
        self._end_now()

    def resume(self):
        """Under the Hubs' lock: cancel a stop the thread did not act on
        yet; False if it is exiting (or ended) already."""
        if self._exiting or self._ended is not None:
            return False
        self._stop.clear()
        return True

    @property
    def ended(self):
        return self._ended is not None or self._stop.is_set()

    def _should_exit(self):
        """Whether the thread is stopped; if so it is committed to exit
        (atomically with resume(), under the Hubs' lock)."""
        with self.hubs._lock:
            if self._stop.is_set():
                self._exiting = True
            return self._exiting

    def _end_now(self):
        # The follower of the call in flight, if any: read once, as the
        # thread may change it meanwhile (ending it twice is harmless).
        follow_id, host = self._follow_id, self._host
        if follow_id and self._stop.is_set():
            self._ended_early = follow_id
            self._end_follow(context.get_admin_context(), follow_id, host)

    # -- subscribers (under the Hubs' lock) --------------------------

    def add(self, sub):
        with self.lock:
            self.subscribers.add(sub)
            if sub.read_only:
                self.viewers += 1
            if self._ended:
                sub.end = self._ended
                sub.wake()
            elif self._primed:
                self._start(sub)

    def remove(self, sub):
        with self.lock:
            if sub in self.subscribers:
                self.subscribers.discard(sub)
                if sub.read_only:
                    self.viewers -= 1
            return not self.subscribers

    # -- the window (under self.lock) --------------------------------

    def _start(self, sub):
        """Queue ``sub``'s history: the exact point its live part joins."""
        start = self._end - min(sub.history, len(self._window))
        gap_first = False
        if sub.after is not None:
            found = self._window.rfind(sub.after)
            if found < 0:
                gap_first = True
            else:
                resume = self._end - len(self._window) + found + len(
                    sub.after)
                if self._end - resume > sub.history:
                    gap_first = True  # more than asked for: cut, and say so
                else:
                    start = resume
        pieces = [GAP] if gap_first else []
        at = start
        for gap in self._gaps:
            if start <= gap <= self._end and not (gap_first and
                                                  gap == start):
                pieces.append(self._slice(at, gap))
                pieces.append(GAP)
                at = gap
        pieces.append(self._slice(at, self._end))
        pieces = [p for p in pieces if p]
        sub.items.append(('start', self._end - start, pieces))
        sub.queued += self._end - start
        sub.started = True
        sub.wake()

    def _slice(self, begin, end):
        offset = self._end - len(self._window)
        return bytes(self._window[begin - offset:end - offset])

    def _append(self, data, gap):
        if gap and not (self._gaps and self._gaps[-1] == self._end):
            self._gaps.append(self._end)
        if data:
            self._window += data
            self._end += len(data)
            del self._window[:-MAX_CONSOLE_BYTES]
            floor = self._end - len(self._window)
            self._gaps = [g for g in self._gaps if g >= floor]
        if not self._primed:
            self._primed = True
            for sub in self.subscribers:
                self._start(sub)
            return
        for sub in list(self.subscribers):
            if sub.end:
                continue
            if sub.queued + len(data) > self._backlog:
                LOG.info('Console of instance %s: dropped a subscriber '
                         'more than %d bytes behind', self.instance_uuid,
                         self._backlog)
                sub.items = []
                sub.queued = 0
                sub.end = (CLOSE_TOO_SLOW, TOO_SLOW % self._backlog)
                sub.drop_now = True
                sub.wake()
                continue
            if gap:
                sub.items.append(GAP)
            if data:
                sub.items.append(data)
                sub.queued += len(data)
            sub.wake()

    def _finish(self, code, reason):
        with self.lock:
            self._ended = (code, reason)
            for sub in self.subscribers:
                if not sub.end:
                    sub.end = self._ended
                    sub.wake()
        self.hubs.forget(self)

    # -- the follow thread -------------------------------------------

    def _run(self):
        ctxt = context.get_admin_context()
        failures = 0
        history = MAX_CONSOLE_BYTES
        gap = False
        reopened = None
        if self._predecessor is not None:
            self._predecessor.join()
            self._predecessor = None
        try:
            while not self._should_exit():
                began = time.monotonic()
                if self._follow_id and self._follow_id == self._ended_early:
                    # Stopped (its follower ended), then resumed by a new
                    # subscriber: follow again from now; bytes written in
                    # between may be missing.
                    self._follow_id, history, gap = None, 0, True
                # The first call only fetches the history: no wait. Nor
                # does a call that opens a follower: stop() could not cut
                # its wait short, not knowing the follower's id yet.
                waits = self._primed
                try:
                    answer = self._api.follow_console_log(
                        ctxt, self.instance_uuid, host=self._host,
                        follow_id=self._follow_id, history_bytes=history,
                        wait=FOLLOW_WAIT if waits and self._follow_id
                        else 0)
                except Exception as e:
                    if self._should_exit():
                        return
                    verdict = self._failed(e, failures)
                    if verdict == 'reopen':
                        # The compute host forgot the follower (idle
                        # sweep, restart): start again from now, and say
                        # bytes may be missing. At most once per
                        # RETRY_DELAY: a host that forgets every follower
                        # at once must not be asked in a loop.
                        self._follow_id, history, gap = None, 0, True
                        if (reopened is not None and
                                began - reopened < RETRY_DELAY):
                            self._stop.wait(RETRY_DELAY)
                        reopened = time.monotonic()
                        continue
                    if verdict:
                        return self._finish(*verdict)
                    failures += 1
                    self._stop.wait(RETRY_DELAY)
                    continue
                failures = 0
                self._host = answer.get('host') or self._host
                self._follow_id = answer.get('follow_id')
                with self.lock:
                    self._append(answer.get('data') or b'',
                                 gap or bool(answer.get('gap')))
                gap = False
                if answer.get('ended'):
                    LOG.info('Console of instance %s: the instance left '
                             'host %s; closing its viewers',
                             self.instance_uuid, self._host)
                    self._follow_id = None
                    return self._finish(CLOSE_GONE, GONE)
                if waits and self._follow_id != self._ended_early:
                    # (An answer cut short by stop() needs no pause.)
                    self._pause(answer, began)
        except Exception:
            LOG.exception('Console of instance %s: follow failed',
                          self.instance_uuid)
            self._finish(CLOSE_GONE, GONE)
        finally:
            with self.hubs._lock:
                self._exiting = True
            if self._follow_id != self._ended_early:
                self._end_follow(ctxt, self._follow_id, self._host)
            self.hubs.forget(self)

    def _pause(self, answer, began):
        """After an empty answer: wait for the host's ``retry_after``,
        and until POLL_FLOOR has passed since ``began``; stop() ends the
        wait. An answer with data is followed at once."""
        if answer.get('data') or answer.get('gap'):
            return
        retry_after = answer.get('retry_after') or 0
        if (isinstance(retry_after, bool) or
                not isinstance(retry_after, (int, float)) or
                not retry_after >= 0):
            retry_after = 0     # not a number of seconds: the floor only
        pause = max(min(retry_after, FOLLOW_WAIT),
                    began + POLL_FLOOR - time.monotonic())
        if pause > 0:
            self._stop.wait(pause)

    def _failed(self, error, failures):
        """What a failed follow call means: 'reopen', a close, or None
        to retry."""
        if (isinstance(error, exception.ConsoleFollowNotFound) and
                self._follow_id):
            LOG.info('Console of instance %s: follower expired on host '
                     '%s; opening a new one', self.instance_uuid,
                     self._host)
            return 'reopen'
        if isinstance(error, exception.ConsoleLogFollowUnavailable):
            LOG.info('Console of instance %s has no log to follow: %s',
                     self.instance_uuid, error)
            return CLOSE_NO_LOG, NO_LOG
        if isinstance(error, exception.TooManyConsoleFollowers):
            LOG.warning('Console of instance %s: %s', self.instance_uuid,
                        error)
            return CLOSE_TRY_LATER, TRY_LATER
        if isinstance(error, (exception.InstanceNotFound,
                              exception.InstanceNotReady)):
            LOG.info('Console of instance %s: %s', self.instance_uuid,
                     error)
            return CLOSE_GONE, GONE
        if failures + 1 >= MAX_FAILURES:
            LOG.warning('Console of instance %s: giving up after %d failed '
                        'follow calls: %s', self.instance_uuid,
                        failures + 1, error)
            return CLOSE_GONE, GONE
        LOG.info('Console of instance %s: follow call failed (%s); '
                 'retrying', self.instance_uuid, error)
        return None

    def _end_follow(self, ctxt, follow_id, host):
        if not follow_id:
            return
        try:
            self._api.end_console_follow(ctxt, self.instance_uuid,
                                         host, follow_id)
        except Exception as e:
            # The compute host's idle sweep frees it anyway.
            LOG.info('Console of instance %s: could not end follower on '
                     'host %s: %s', self.instance_uuid, host, e)


class Hubs:
    """The hubs of one proxy process; see the module docstring.

    ``consoles``: the proxy's console API (``nova.console.api.API``:
    ``follow_console_log`` and ``end_console_follow``). ``limits()``
    returns ``(max_viewers_per_instance, max_viewers,
    viewer_backlog_bytes)``, read at each subscription.
    """

    def __init__(self, consoles, limits):
        self._api = consoles
        self._limits = limits
        self._lock = threading.Lock()
        self._hubs = {}
        self._viewers = 0
        # Viewers by instance uuid, across the instance's hubs.
        self._instance_viewers = {}
        # (code, reason) once close_all() ran.
        self._closed = None

    @property
    def viewers(self):
        with self._lock:
            return self._viewers

    def get(self, instance_uuid, target=None):
        """The running hub of that key, or None (none, or stopping)."""
        with self._lock:
            hub = self._hubs.get((instance_uuid, target))
            return None if hub is None or hub.ended else hub

    def subscribe(self, instance_uuid, read_only, history, after=None,
                  target=None):
        """A :class:`Subscriber` of the instance's hub for ``target``
        (started if new).

        :param target: hashable, where the connection's token leads: the
            ``(host, port)`` of the guest's serial port (ConnectInfo), or
            None. Clients with different targets never share a hub: after
            a live migration (new host, new port, new tokens) a new
            token starts a hub that follows the instance's new host,
            while the old host's hub ends (4000) for the old tokens. A
            hub always follows the instance wherever the database
            says it is; ``target`` only keys it.
        :raises TooManyViewers: a viewer over a cap.
        :raises OSError, RuntimeError: no descriptor or thread left; then
            nothing was registered (the next subscription starts afresh).
        """
        per_instance, total, backlog = self._limits()
        api = self._api
        key = (instance_uuid, target)
        with self._lock:
            if self._closed:
                # The proxy is stopping: the subscriber is ended at once
                # (its connection closes with close_all's reason); no hub
                # is started for it.
                sub = Subscriber(Hub(self, instance_uuid, api, backlog,
                                     target=target),
                                 read_only, history, after)
                sub.end = self._closed
                sub.drop_now = True
                sub.wake()
                return sub
            if read_only:
                if self._viewers >= total:
                    raise TooManyViewers('[serial_console] max_viewers '
                                         '(%d) reached' % total)
                # Counted per instance, whatever hubs (token targets) it
                # has in this proxy.
                if self._instance_viewers.get(instance_uuid,
                                              0) >= per_instance:
                    raise TooManyViewers(
                        '[serial_console] max_viewers_per_instance (%d) '
                        'reached for instance %s' % (per_instance,
                                                     instance_uuid))
            hub = self._hubs.get(key)
            predecessor = None
            if hub is not None and hub._stop.is_set() and hub._ended is None:
                # Stopped by its last subscriber's leaving: take the stop
                # back while its thread still runs, so a client that
                # closes and reopens in a loop never has more than one
                # hub thread of this key. One that is already exiting is
                # replaced, but its successor waits for its end.
                if not hub.resume():
                    predecessor = hub._thread
                    hub = None
            elif hub is not None and hub.ended:
                hub = None
            new = hub is None
            if new:
                hub = Hub(self, instance_uuid, api, backlog, target=target,
                          predecessor=predecessor)
            # Everything that may fail comes before anything is
            # registered: a hub in the table that never started would
            # hold every later subscriber of the instance for ever.
            sub = Subscriber(hub, read_only, history, after)
            if new:
                try:
                    # Under the lock, so nobody joins a hub that did not
                    # start. Its thread takes this lock only to forget
                    # it, after its first call.
                    hub.start()
                except Exception:
                    sub.discard()
                    raise
                self._hubs[key] = hub
            hub.add(sub)
            if read_only:
                self._viewers += 1
                self._instance_viewers[instance_uuid] = (
                    self._instance_viewers.get(instance_uuid, 0) + 1)
        return sub

    def unsubscribe(self, sub):
        with self._lock:
            hub = sub.hub
            if sub not in hub.subscribers:
                return
            if sub.read_only:
                self._viewers -= 1
                left = self._instance_viewers[hub.instance_uuid] - 1
                if left:
                    self._instance_viewers[hub.instance_uuid] = left
                else:
                    del self._instance_viewers[hub.instance_uuid]
            if not hub.remove(sub):
                return
            # The hub stays in the table until its thread exits (it
            # forgets itself then), so a subscriber that comes meanwhile
            # resumes it instead of starting a second thread.
            hub._stop.set()
        # Outside the lock: ending the follower is an RPC cast.
        hub._end_now()

    def forget(self, hub):
        """An ended hub: the next subscriber starts a new one."""
        with self._lock:
            if self._hubs.get(hub.key) is hub:
                del self._hubs[hub.key]

    def close_all(self, code, reason):
        """The proxy stops: end every subscriber and hub."""
        with self._lock:
            self._closed = (code, reason)
            hubs = list(self._hubs.values())
        for hub in hubs:
            hub.stop()
            with hub.lock:
                for sub in hub.subscribers:
                    sub.end = (code, reason)
                    sub.drop_now = True
                    sub.wake()
