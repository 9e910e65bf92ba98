"""The compute API's HTTP server: waitress, held to limits that idle, slow
and half-open clients cannot get round.

waitress hands a request to a worker thread only once its head and body
have arrived, so slow clients hold connections, not threads. Left alone,
waitress 3 has three weak spots, closed here:

* Its loop waits in select() unless told otherwise, which raises once a
  descriptor number passes 1023 and ends the loop (and nova-all with it).
  Here the loop always uses poll().
* At its connection_limit it stops accepting, so a thousand clients that
  never finish a request lock everybody else out. Here every connection
  is accepted and then judged by a ConnectionGuard.
* Its channel_timeout closes only idle connections: a client sending one
  header line every few seconds is never idle. Here a connection has
  ``[api] request_header_timeout`` seconds for each request head, and
  ``[api] request_body_timeout`` seconds from the end of a head to the
  end of its body (a body trickled a byte at a time is never idle
  either).

The guard's policy for a new connection:

1. An address that already holds ``max_per_client`` connections gets the
   new one closed at once; other addresses are not affected.
2. At ``max_connections`` the connection that has waited longest for a
   request head (a slow or idle client, an idle keep-alive connection) is
   closed to make room, failing that the one that has been sending a body
   longest, failing that the one whose client has left a response
   unread longest. Connections whose requests are being served are never
   closed for this; only when all of them are is the new one closed.

A client that keeps sending its head can so hold a slot only until the
deadline or until newer clients need it, whichever comes first.

Why not waitress's public API alone (``waitress.serve`` /
``create_server`` and their documented adjustments)? Those give the
poll() loop (``asyncore_use_poll``), the head and body sizes, the
threads and ``clear_untrusted_proxy_headers``, and nova-api passes them.
They cannot give what test_api_connections proves:

* ``connection_limit`` only stops accepting: the server's ``readable()``
  turns False and new clients wait in the kernel's listen backlog until
  some connection ends, so clients that hold connections lock everyone
  out. There is no public hook to pick a connection to close instead.
* There is no limit per client address.
* ``channel_timeout`` is an inactivity timeout, reset by every byte
  received: there is no deadline for a whole head or body.

So this module, and only this module, subclasses waitress's channel,
TCP server and multi-socket loop (the fewest methods each: what a
connection is waiting for, who is admitted, the deadlines between two
passes of the loop). nova-api and nova-all use create_server() below
and the returned object's run(), close_all() and
close_from_any_thread(); nothing else of waitress. The unit tests
(test_http_server) drive these methods through real sockets (deadlines,
evictions, slow readers, accept errors), so a waitress release that
changes them fails there first. Under another WSGI server
(nova.wsgi.osapi_compute), a reverse proxy in front provides these
limits.
"""

import collections
import errno
import json
import threading
import time

from oslo_log import log as logging
from waitress import adjustments
from waitress import channel
from waitress import server
from waitress import task
from waitress import trigger
from waitress import wasyncore

LOG = logging.getLogger(__name__)

# How often the deadlines are checked, and the summary of the connections
# the guard closed is logged (not one line per connection: under attack
# that would flood the log).
CHECK_INTERVAL = 0.25
REPORT_INTERVAL = 60
# Accept errors that mean "no descriptor or memory for a new socket".
_NO_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
# When no connection can be closed to get a descriptor back, pause
# accepting (the listening socket would stay readable: a busy loop).
ACCEPT_PAUSE = 1.0
# Connections accepted per readiness event: a burst of connects must not
# take one loop pass (over every connection) each.
ACCEPTS_PER_EVENT = 64


def _response(status, message, extra_headers=''):
    body = json.dumps({'computeFault': {
        'code': int(status.split()[0]), 'message': message}}).encode()
    return ('HTTP/1.1 %s\r\nContent-Type: application/json\r\n'
            'Content-Length: %d\r\nConnection: close\r\n%s\r\n' % (
                status, len(body), extra_headers)).encode() + body


class GuardedChannel(channel.HTTPChannel):
    """An HTTP connection that tells its guard where its request stands."""

    def __init__(self, server, sock, addr, adj, map=None):
        self.guard = server.guard
        self.client = addr[0]
        # Monotonic time the wait for the next request head began: the
        # connection, or the end of the previous response. None from the
        # end of a head until its request has been served.
        self.head_wait_start = self.head_done_at = time.monotonic()
        # A worker thread ends a request while this thread may be reading
        # the next: both update the two times above under this lock.
        self._head_lock = threading.Lock()
        super().__init__(server, sock, addr, adj, map=map)
        self.guard.added(self)

    def received(self, data):
        with self._head_lock:
            result = super().received(data)
            if self.head_wait_start is not None and (
                    self.requests or (self.request is not None and
                                      self.request.headers_finished)):
                self.head_wait_start = None
                self.head_done_at = time.monotonic()
        return result

    def service(self):
        super().service()
        with self._head_lock:
            self.head_wait_start = time.monotonic()

    def handle_write(self):
        pending = self.total_outbufs_len
        super().handle_write()
        # A slow reader's wait starts when it has its whole response.
        if pending and not self.total_outbufs_len:
            with self._head_lock:
                if self.head_wait_start is not None:
                    self.head_wait_start = time.monotonic()

    def wait_state(self):
        """``(0, since)`` while waiting for a request head, ``(1, since)``
        while receiving a body, ``(2, since)`` while its client has not
        taken all of a response, None while a request is being served
        or when closing. ``since`` is a monotonic time."""
        if self.requests or self.will_close or not self.connected:
            return None
        start = self.head_wait_start
        if self.total_outbufs_len or self.close_when_flushed:
            return 2, start or self.head_done_at
        if start is not None:
            return 0, start
        return 1, self.head_done_at

    def drop(self, response):
        """Close soon: the loop closes it before its next pass. A client
        that sent part of a request first gets ``response`` (bytes), as
        far as its socket takes it at once."""
        if self.request is not None and self.socket is not None:
            try:
                self.socket.send(response)
            except OSError:
                pass
        self.will_close = True
        self.guard.dropped.append(self)

    def del_channel(self, map=None):
        super().del_channel(map)
        self.guard.removed(self)


class ConnectionGuard:
    """The limits shared by every listening socket of one server."""

    def __init__(self, max_connections, max_per_client, header_timeout,
                 body_timeout=60):
        """``max_per_client`` 0: no limit per address. Seconds for
        ``header_timeout`` (connection or previous response to the end of
        a request head) and ``body_timeout`` (end of the head to the end
        of its body)."""
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.channels = set()
        # Connections drop() marked, closed by maintain() between two
        # passes of the loop.
        self.dropped = []
        self.per_client = collections.Counter()
        self.accept_paused_until = 0.0
        self._next_check = 0.0
        self._closed = collections.Counter()
        self._offenders = collections.Counter()
        self._next_report = 0.0
        self._timeout_response = _response(
            '408 Request Timeout',
            'The request head was not complete within %d seconds.'
            % header_timeout)
        self._body_timeout_response = _response(
            '408 Request Timeout',
            'The request body was not complete within %d seconds of its '
            'head.' % body_timeout)
        self._busy_response = _response(
            '503 Service Unavailable',
            'The server has too many connections; try again.',
            'Retry-After: 1\r\n')

    def added(self, chan):
        self.channels.add(chan)
        self.per_client[chan.client] += 1

    def removed(self, chan):
        if chan in self.channels:
            self.channels.discard(chan)
            self.per_client[chan.client] -= 1
            if self.per_client[chan.client] <= 0:
                del self.per_client[chan.client]

    def admit(self, client):
        """Whether a new connection from address ``client`` may stay; may
        close another connection to make room for it."""
        if (self.max_per_client and
                self.per_client[client] >= self.max_per_client):
            self._note('over max_connections_per_client', client)
            return False
        if len(self.channels) >= self.max_connections:
            if not self.make_room():
                self._note('refused at max_connections (all busy)', client)
                return False
        return True

    def make_room(self):
        """Close the connection that has waited longest for its request
        (see the module's policy). False when every one is busy."""
        oldest, victim = None, None
        for chan in self.channels:
            state = chan.wait_state()
            if state is not None and (oldest is None or state < oldest):
                oldest, victim = state, chan
        if victim is None:
            return False
        self._note('evicted at max_connections', victim.client)
        victim.drop(self._busy_response)
        return True

    def out_of_descriptors(self, error):
        """accept() failed for want of a descriptor: free one, or pause
        accepting for a moment."""
        if not self.make_room():
            LOG.error('Cannot accept API connections: %s; every '
                      'connection is busy, pausing %.1f s', error,
                      ACCEPT_PAUSE)
            self.accept_paused_until = time.monotonic() + ACCEPT_PAUSE

    def maintain(self, now):
        """Between two passes of the loop only: close the connections
        dropped since the last pass, and those past their head or body
        deadline;
        log what was closed, at most every REPORT_INTERVAL seconds.
        ``now``: a monotonic time.

        During a pass a socket closed by another connection's handler
        would free its descriptor number for the next accept() in the
        same pass, which would then get the closed socket's pending
        events (and be closed for them).
        """
        if now >= self._next_check:
            self._next_check = now + CHECK_INTERVAL
            head_cutoff = now - self.header_timeout
            body_cutoff = now - self.body_timeout
            for chan in list(self.channels):
                state = chan.wait_state()
                if state is None:
                    continue
                if state[0] == 0 and state[1] < head_cutoff:
                    self._note('past request_header_timeout', chan.client)
                    chan.drop(self._timeout_response)
                elif state[0] == 1 and state[1] < body_cutoff:
                    self._note('past request_body_timeout', chan.client)
                    chan.drop(self._body_timeout_response)
            self._report(now)
        dropped, self.dropped = self.dropped, []
        for chan in dropped:
            if chan.socket is not None:
                chan.handle_close()

    def _note(self, what, client):
        LOG.debug('API connection from %s closed: %s', client, what)
        self._closed[what] += 1
        self._offenders[client] += 1
        self._report(time.monotonic())

    def _report(self, now):
        if not self._closed or now < self._next_report:
            return
        self._next_report = now + REPORT_INTERVAL
        LOG.warning(
            'API connections closed by their limits: %s; most from %s '
            '(%d connections open)',
            ', '.join('%d %s' % (n, what)
                      for what, n in sorted(self._closed.items())),
            ', '.join('%s (%d)' % item
                      for item in self._offenders.most_common(3)),
            len(self.channels))
        self._closed.clear()
        self._offenders.clear()


class GuardedServer(server.TcpWSGIServer):
    """One listening socket; its connections are GuardedChannels."""

    channel_class = GuardedChannel

    def __init__(self, application, guard, **kw):
        self.guard = guard
        super().__init__(application, **kw)

    def readable(self):
        return (super().readable() and
                time.monotonic() >= self.guard.accept_paused_until)

    def handle_accept(self):
        for _ in range(ACCEPTS_PER_EVENT):
            try:
                pair = self.accept()
            except OSError as e:
                if e.errno in _NO_RESOURCES:
                    self.guard.out_of_descriptors(e)
                else:
                    LOG.warning('API accept() failed: %s', e)
                return
            if pair is None:
                return  # no more waiting connections
            self._admit(*pair)

    def _admit(self, conn, addr):
        if not self.guard.admit(addr[0]):
            conn.close()
            return
        try:
            self.set_socket_options(conn)
            self.channel_class(self, conn, self.fix_addr(addr), self.adj,
                               map=self._map)
        except OSError:
            # Reset by the peer already: an error here must not reach
            # the loop, which would close the listening socket.
            conn.close()


class GuardedServers(server.MultiSocketServer):
    """The listening sockets of one server and their connections, served
    by one poll() loop."""

    def __init__(self, guard, *args):
        super().__init__(*args)
        self.guard = guard

    def run(self):
        """Serve until the map is empty, SystemExit or KeyboardInterrupt;
        then close everything."""
        try:
            while self.map:
                self.run_once(self.adj.asyncore_loop_timeout)
        except (SystemExit, KeyboardInterrupt):
            self.close()

    def run_once(self, timeout):
        """One pass: wait at most ``timeout`` seconds for events, and
        handle them."""
        self.guard.maintain(time.monotonic())
        wasyncore.poll2(timeout, self.map)

    def close_all(self):
        """Close every listening socket and connection (the loop's
        thread, or when the loop is not running)."""
        wasyncore.close_all(self.map)

    def close_from_any_thread(self):
        """Have the running loop close everything on its next pass:
        the loop is not thread safe. Quiet when it is already closing
        (its wake-up pipe is closed then)."""
        for dispatcher in list(self.map.values()):
            if isinstance(dispatcher, trigger.trigger):
                try:
                    dispatcher.pull_trigger(self.close_all)
                except OSError:
                    pass
                return


def create_server(application, guard, **kw):
    """Listen on every address of ``kw``'s host and port, for
    ``application``; ``kw`` are waitress adjustments (listen, threads,
    ...), except connection_limit and asyncore_use_poll, which this sets.

    Returns GuardedServers (``run()``, ``close()``, ``map``,
    ``effective_listen``, ``task_dispatcher``). OSError when an address
    cannot be bound; nothing is left open then.
    """
    # The guard decides which connections stay: waitress must never stop
    # accepting on its own.
    kw.update(connection_limit=1 << 30, asyncore_use_poll=True)
    adj = adjustments.Adjustments(**kw)
    sockets = {}
    # Threads start only once every address is bound.
    dispatcher = task.ThreadedTaskDispatcher()
    listen = []
    try:
        for sockinfo in adj.listen:
            srv = GuardedServer(application, guard, map=sockets,
                                dispatcher=dispatcher, adj=adj,
                                sockinfo=sockinfo)
            listen.append((srv.effective_host, srv.effective_port))
    except BaseException:
        wasyncore.close_all(sockets)
        raise
    dispatcher.set_thread_count(adj.threads)
    return GuardedServers(guard, sockets, adj, listen, dispatcher,
                          srv.log_info)
