"""nova-serialproxy's front door: accept, read the upgrade request, cap.

One thread runs :class:`Acceptor`: a ``selectors.DefaultSelector`` (epoll
on Linux, never ``select()``, which fails on descriptors >= 1024) watches
the listening socket and every connection still sending its HTTP upgrade
request. A connection costs a descriptor and a buffer here, not a thread:
only a *complete* request head is handed on (``on_request``), to a thread
that answers it and, for a websocket, proxies the session. So the threads
are bounded by the connections that finished their handshake, which the
caps below bound too.

Limits, read from ``[serial_console]`` at each connection:

* ``handshake_timeout``: seconds from accept to the end of the request
  head (its blank line). A deadline, not a per-read timeout, so a client
  trickling a byte at a time is cut off as surely as a silent one (it
  gets ``408``).
* ``max_connections_per_client``: connections (handshakes and sessions)
  from one client address. Addresses in ``[console] trusted_proxies`` are
  exempt: a load balancer carries many users.
* ``max_connections``: connections in total.

When a cap is reached the *oldest connection still in its handshake*
(of that address, or of anyone for the total) is dropped to make room:
a genuine client sends its request at once, so idle or slow connections
cannot lock users out. Only when every counted connection is an
established session is the new one refused (``503``).

A head longer than ``MAX_HEAD_BYTES`` gets ``431``; a TLS client hello is
dropped (TLS is terminated in front of the proxy). Bytes after the head
stay in the socket for the websocket code: the head is read with
``MSG_PEEK`` first and then consumed exactly.
"""

import collections
import errno
import ipaddress
import selectors
import socket
import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

MAX_HEAD_BYTES = 32 * 1024
# Connections accepted per wake-up, so a flood cannot starve the reads.
ACCEPT_BATCH = 64
# Seconds between two warnings that a cap is reached.
WARN_INTERVAL = 60
# Descriptors kept for everything else in the process (logs, database,
# RPC, and in nova-all the API): the caps never spend these.
FD_RESERVE = 256
# Descriptors one session holds, in its most costly mode: the client's
# socket, plus the guest's tcp port (plain serial: 2), or the wake-up
# eventfd of its hub subscription (read-only viewer: 2), or both
# (interactive with history: 3). The mode is known only after the
# handshake, so every connection is budgeted at the most.
SESSION_FDS = 3

# accept(2) on Linux passes on a pending connection's network error and
# says to retry as for EAGAIN: the client or the network causes these, so
# they must neither pause accepting nor log a traceback.
ACCEPT_RETRY_ERRORS = frozenset((
    errno.ENETDOWN, errno.EPROTO, errno.ENOPROTOOPT, errno.EHOSTDOWN,
    errno.ENONET, errno.EHOSTUNREACH, errno.EOPNOTSUPP, errno.ENETUNREACH))

_TLS_FIRST_BYTES = (0x16, 0x80)  # TLS record, SSLv2-style client hello
_HEAD_ENDS = (b'\r\n\r\n', b'\n\n', b'\n\r\n')


def _response(status, text):
    body = text.encode() + b'\n'
    return (('HTTP/1.1 %s\r\nServer: nova-serialproxy\r\n'
             'Content-Type: text/plain; charset=utf-8\r\n'
             'Content-Length: %d\r\nConnection: close\r\n\r\n'
             % (status, len(body))).encode() + body)


TIMED_OUT = _response('408 Request Timeout',
                      'The HTTP upgrade request took too long')
TOO_LARGE = _response('431 Request Header Fields Too Large',
                      'The HTTP upgrade request is too large')
BUSY_CLIENT = _response('503 Service Unavailable',
                        'Too many connections from your address')
BUSY = _response('503 Service Unavailable',
                 'nova-serialproxy has too many connections')


def head_end(data, start=0):
    """Index just past the blank line ending an HTTP head, or -1."""
    ends = [(i, len(end)) for end in _HEAD_ENDS
            for i in (data.find(end, start),) if i >= 0]
    if not ends:
        return -1
    i, size = min(ends)
    return i + size


def parse_networks(entries):
    """``ip_network`` objects for IP or CIDR strings; ValueError names a
    bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(),
                                                 strict=False))
        except ValueError:
            raise ValueError('%r is not an IP address or CIDR' % entry)
    return networks


def address_in(address, networks):
    """Whether ``address`` (a string; IPv4-mapped IPv6 counts as IPv4) is
    in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address.split('%', 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


class _Pending:
    __slots__ = ('sock', 'peer', 'address', 'deadline', 'head')

    def __init__(self, sock, peer, deadline):
        self.sock = sock
        self.peer = peer
        self.address = peer[0]
        self.deadline = deadline
        self.head = b''


class Acceptor:
    """Accepts on ``lsock`` and reads request heads; see the module doc.

    ``on_request(sock, peer, head)`` runs in this thread for each
    complete head, with ``sock`` blocking and ``peer`` the address
    ``accept()`` returned (a tuple, host first: the socket may be reset
    by now, so ``getpeername()`` could fail); it must start the work
    elsewhere and later call ``release(peer[0])`` once ``sock`` is
    closed. An ``OSError`` it raises is taken for a client gone away
    (logged at debug level, rate-limited); any other exception is a
    bug, logged with its traceback. ``limits()`` returns
    ``(handshake_timeout, max_connections, max_connections_per_client,
    trusted_networks)``.
    """

    def __init__(self, lsock, limits, on_request, clock=time.monotonic):
        self._lsock = lsock
        self._limits = limits
        self._on_request = on_request
        self._clock = clock
        self._selector = selectors.DefaultSelector()
        self._selector.register(lsock, selectors.EVENT_READ)
        # Handshakes in accept order (the first is the oldest), by socket;
        # and per address, for eviction among one client's.
        self._pending = collections.OrderedDict()
        self._pending_of = collections.defaultdict(collections.OrderedDict)
        # Every counted connection, handshakes and sessions.
        self._lock = threading.Lock()
        self._count = collections.Counter()
        self._total = 0
        self._paused_until = None
        self._warned = {}

    @property
    def handshakes(self):
        return len(self._pending)

    @property
    def total(self):
        with self._lock:
            return self._total

    def count(self, address):
        with self._lock:
            return self._count[address]

    def release(self, address):
        """A handed-on connection is closed (any thread)."""
        with self._lock:
            self._uncount(address)

    def _uncount(self, address):
        self._total -= 1
        self._count[address] -= 1
        if self._count[address] <= 0:
            del self._count[address]

    def serve_once(self, timeout):
        """Wait up to ``timeout`` s for events and handle them."""
        now = self._clock()
        if self._pending:
            first = next(iter(self._pending.values()))
            timeout = max(0, min(timeout, first.deadline - now))
        if self._paused_until is not None:
            timeout = max(0, min(timeout, self._paused_until - now))
        for key, _ in self._selector.select(timeout):
            if key.fileobj is self._lsock:
                self._accept_batch()
            elif key.fileobj in self._pending:
                self._read(self._pending[key.fileobj])
        self._expire()
        self._resume_accepting()

    def close(self):
        """Drop every handshake (sessions are the caller's)."""
        for pending in list(self._pending.values()):
            self._drop(pending)
        self._selector.close()

    # -- accepting ---------------------------------------------------

    def _accept_batch(self):
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = self._lsock.accept()
            except (BlockingIOError, InterruptedError,
                    ConnectionAbortedError):
                return
            except OSError as e:
                if e.errno in ACCEPT_RETRY_ERRORS:
                    self.client_gone('(being accepted)', e)
                    continue
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS,
                               errno.ENOMEM):
                    self._out_of_descriptors(e)
                    return
                raise
            self._admit(sock, address)

    def _out_of_descriptors(self, error):
        # Free one for the next client; with none to free, stop accepting
        # for a moment rather than spin on a listening socket that stays
        # readable.
        self.log_limited('fds', 'cannot accept: %s; dropping the oldest '
                         'pending handshake (raise the open files limit or '
                         'lower [serial_console] max_connections)', error)
        if not self._evict(None):
            self._selector.unregister(self._lsock)
            self._paused_until = self._clock() + 0.1

    def _resume_accepting(self):
        if (self._paused_until is not None and
                self._clock() >= self._paused_until):
            self._paused_until = None
            self._selector.register(self._lsock, selectors.EVENT_READ)

    def _admit(self, sock, peer):
        address = peer[0]
        timeout, total_cap, client_cap, trusted = self._limits()
        counted = not address_in(address, trusted)
        if counted and self.count(address) >= client_cap:
            if not self._evict(address):
                self.log_limited('client', '%s: refused a connection: '
                                 '[serial_console] max_connections_per_client '
                                 '(%d) sessions open', address, client_cap)
                return self._refuse(sock, BUSY_CLIENT)
        if self.total >= total_cap and not self._evict(None):
            self.log_limited('total', '%s: refused a connection: '
                             '[serial_console] max_connections (%d) sessions '
                             'open', address, total_cap)
            return self._refuse(sock, BUSY)
        with self._lock:
            self._total += 1
            self._count[address] += 1
        sock.setblocking(False)
        pending = _Pending(sock, peer, self._clock() + timeout)
        self._pending[sock] = pending
        self._pending_of[address][sock] = pending
        self._selector.register(sock, selectors.EVENT_READ)

    def _evict(self, address):
        """Drop the oldest handshake (of ``address``, or of anyone)."""
        group = self._pending if address is None else self._pending_of.get(
            address)
        if not group:
            return False
        pending = next(iter(group.values()))
        LOG.debug('%s: dropped a pending handshake to make room (cap '
                  'reached)', pending.address)
        self.log_limited('evict', 'connection caps reached: dropping the '
                         'oldest pending handshakes for new connections '
                         '(%d pending)', len(self._pending))
        self._drop(pending)
        return True

    @staticmethod
    def _refuse(sock, response):
        try:
            sock.setblocking(False)
            sock.send(response)
        except OSError:
            pass
        sock.close()

    def log_limited(self, key, msg, *args, level=logging.WARNING):
        """Log, but at most once per WARN_INTERVAL for each ``key``.

        For events any client can cause at will: one line a minute says
        they happen, the debug log has each one. Any thread.
        """
        now = self._clock()
        if now - self._warned.get(key, -WARN_INTERVAL) >= WARN_INTERVAL:
            self._warned[key] = now
            LOG.log(level, msg, *args)

    # -- reading the head --------------------------------------------

    def _read(self, pending):
        sock = pending.sock
        room = MAX_HEAD_BYTES - len(pending.head)
        try:
            peeked = sock.recv(room, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.client_gone(pending.address, e)
            return self._drop(pending)
        if not peeked:
            return self._drop(pending)
        if not pending.head and peeked[0] in _TLS_FIRST_BYTES:
            LOG.debug('%s: refused a TLS handshake', pending.address)
            self.log_limited('tls', '%s: refused a TLS handshake: '
                             'nova-serialproxy serves plain ws://, '
                             'terminate TLS in front of it',
                             pending.address, level=logging.INFO)
            # Read first: closing with unread bytes would send a reset.
            self._discard(sock, len(peeked))
            return self._drop(pending)
        seen = len(pending.head)
        end = head_end(pending.head + peeked, max(0, seen - 3))
        want = len(peeked) if end < 0 else end - seen
        try:
            pending.head += sock.recv(want)
        except OSError as e:
            self.client_gone(pending.address, e)
            return self._drop(pending)
        if end >= 0 and len(pending.head) == end:
            return self._hand_on(pending)
        if len(pending.head) >= MAX_HEAD_BYTES:
            LOG.debug('%s: refused: HTTP request head over %d bytes',
                      pending.address, MAX_HEAD_BYTES)
            self.log_limited('too-large', 'refusing HTTP request heads '
                             'over %d bytes (latest from %s)',
                             MAX_HEAD_BYTES, pending.address,
                             level=logging.INFO)
            return self._drop(pending, TOO_LARGE)

    def client_gone(self, address, error):
        """A client's connection failed (reset, broken pipe, ...)."""
        LOG.debug('%s: connection ended: %s', address, error)
        self.log_limited('gone', 'connections ended by their clients '
                         '(latest from %s: %s)', address, error,
                         level=logging.INFO)

    @staticmethod
    def _discard(sock, size):
        try:
            sock.recv(size)
        except OSError:
            pass

    def _expire(self):
        now = self._clock()
        while self._pending:
            pending = next(iter(self._pending.values()))
            if pending.deadline > now:
                return
            LOG.debug('%s: no complete HTTP request within '
                      '[serial_console] handshake_timeout; closed',
                      pending.address)
            # Per connection only at debug level: a flood must not flood
            # the log too.
            self.log_limited('deadline', 'closing connections that sent '
                             'no complete HTTP request within '
                             '[serial_console] handshake_timeout (latest '
                             'from %s)', pending.address, level=logging.INFO)
            self._drop(pending, TIMED_OUT)

    def _forget(self, pending):
        self._selector.unregister(pending.sock)
        del self._pending[pending.sock]
        group = self._pending_of[pending.address]
        del group[pending.sock]
        if not group:
            del self._pending_of[pending.address]

    def _drop(self, pending, response=None):
        self._forget(pending)
        if response:
            try:
                pending.sock.send(response)
            except OSError:
                pass
        pending.sock.close()
        self.release(pending.address)

    def _hand_on(self, pending):
        self._forget(pending)
        pending.sock.setblocking(True)
        try:
            self._on_request(pending.sock, pending.peer, pending.head)
        except OSError as e:
            # The client reset or closed the connection: its doing, so
            # not an error, and not a line per connection either.
            self.client_gone(pending.address, e)
            pending.sock.close()
            self.release(pending.address)
        except Exception:
            LOG.exception('%s: cannot serve the connection', pending.address)
            pending.sock.close()
            self.release(pending.address)


def connection_budget(open_files):
    """Connections the caps may allow: each may become the session that
    holds the most descriptors (``SESSION_FDS``), and FD_RESERVE stay for
    the rest of the process.
    """
    if open_files is None:
        return None
    return max(1, (open_files - FD_RESERVE) // SESSION_FDS)
