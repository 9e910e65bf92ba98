"""nova-api's server against idle, slow and half-open clients.

A real APIServer on 127.0.0.1 with a trivial WSGI application; the
"attackers" connect from other loopback addresses (127.0.0.2, ...), so
that the limits per address can tell them from the ordinary client.
"""

import http.client
import logging
import resource
import socket
import struct
import threading
import time
from unittest import mock

import fixtures

from nova.api import http_server
from nova.cmd import api as cmd_api
from nova import test

ORDINARY = '127.0.0.1'
ATTACKER = '127.0.0.2'
OTHER = '127.0.0.3'
PARTIAL_HEAD = b'GET / HTTP/1.1\r\nHost: x\r\n'


BIG = 8 * 1024 * 1024


class _App:
    """200 "ok"; ``/block`` waits for ``gate`` first (a busy request);
    ``/big`` answers BIG bytes."""

    def __init__(self):
        self.gate = threading.Event()
        self.blocked = threading.Semaphore(0)

    def __call__(self, environ, start_response):
        if environ['PATH_INFO'] == '/block':
            self.blocked.release()
            self.gate.wait(20)
        if environ['PATH_INFO'] == '/big':
            start_response('200 OK', [('Content-Length', str(BIG))])
            return [b'x' * BIG]
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', '2')])
        return [b'ok']


def connect(port, source=ATTACKER):
    sock = socket.socket()
    try:
        sock.bind((source, 0))
        sock.connect((ORDINARY, port))
    except OSError:
        sock.close()
        raise
    return sock


def get(port, source=ORDINARY, path='/'):
    conn = http.client.HTTPConnection(ORDINARY, port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request('GET', path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def read_until_closed(sock, seconds):
    """What ``sock`` received until the server closed it, or None when it
    is still open after ``seconds``."""
    received = b''
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return received
        if not data:
            return received
        received += data


def still_open(sock, seconds=0.3):
    return read_until_closed(sock, seconds) is None


class GuardedServerTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger())
        self.app = _App()
        self.addCleanup(self.app.gate.set)
        self.socks = []
        self.addCleanup(self._close_socks)

    def _close_socks(self):
        for sock in self.socks:
            sock.close()

    def start(self, **api_flags):
        self.flags(group='api', **api_flags)
        server = cmd_api.make_server(self.app, ORDINARY, 0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.stop)
        self.server, self.thread = server, thread
        return server

    def connect(self, source=ATTACKER, send=b''):
        sock = connect(self.server.port, source)
        self.socks.append(sock)
        if send:
            sock.sendall(send)
        return sock

    def wait_channels(self, count, timeout=5):
        deadline = time.monotonic() + timeout
        while len(self.server.guard.channels) != count:
            if time.monotonic() > deadline:
                self.fail('%d connections, not %d' % (
                    len(self.server.guard.channels), count))
            time.sleep(0.01)

    def assertServed(self, source=ORDINARY, path='/'):
        start = time.monotonic()
        self.assertEqual((200, b'ok'), get(self.server.port, source, path))
        self.assertTrue(self.thread.is_alive())
        return time.monotonic() - start


class HeaderTimeoutTestCase(GuardedServerTestCase):
    def test_trickling_head_is_closed_while_others_are_served(self):
        self.start(request_header_timeout=1)
        slow = self.connect(send=PARTIAL_HEAD)
        silent = self.connect()
        # One header line every 0.2 s: never idle, never complete.
        closed_at = None
        deadline = time.monotonic() + 6
        received = b''
        while closed_at is None and time.monotonic() < deadline:
            try:
                slow.sendall(b'X-Slow: 1\r\n')
            except OSError:
                closed_at = time.monotonic()
                break
            data = read_until_closed(slow, 0.2)
            if data is not None:
                received, closed_at = data, time.monotonic()
            self.assertServed()
        self.assertIsNotNone(closed_at, 'the trickling client is still '
                             'connected after 6 s')
        self.assertIn(b'408 Request Timeout', received)
        self.assertIn(b'"code": 408', received)
        # Nothing was asked on this one: closed without an answer.
        self.assertEqual(b'', read_until_closed(silent, 5))
        self.assertIn('past request_header_timeout', self.logger.output)

    def test_deadline_restarts_after_each_keep_alive_request(self):
        self.start(request_header_timeout=1)
        conn = http.client.HTTPConnection(ORDINARY, self.server.port,
                                          timeout=10)
        self.addCleanup(conn.close)
        # Three requests over 1.8 s on one connection: each head came
        # within 1 s of the previous response.
        for _ in range(3):
            conn.request('GET', '/')
            response = conn.getresponse()
            self.assertEqual(b'ok', response.read())
            time.sleep(0.6)
        sock = conn.sock
        # Idle after its response: closed, without a 408.
        self.assertEqual(b'', read_until_closed(sock, 5))

    def test_a_slow_body_is_not_cut_by_the_head_deadline(self):
        self.start(request_header_timeout=1)
        sock = self.connect(send=b'POST / HTTP/1.1\r\nHost: x\r\n'
                                 b'Content-Length: 4\r\n\r\nab')
        time.sleep(1.6)
        sock.sendall(b'cd')
        self.assertIn(b'200 OK', sock.recv(4096))


class BodyTimeoutTestCase(GuardedServerTestCase):
    def test_trickling_body_is_closed_while_others_are_served(self):
        self.start(request_body_timeout=1)
        slow = self.connect(send=b'POST / HTTP/1.1\r\nHost: x\r\n'
                                 b'Content-Length: 1000\r\n\r\n')
        # One body byte every 0.2 s: never idle, never complete.
        closed, received = False, b''
        deadline = time.monotonic() + 6
        while not closed and time.monotonic() < deadline:
            try:
                slow.sendall(b'a')
            except OSError:
                closed = True
                break
            data = read_until_closed(slow, 0.2)
            if data is not None:
                received, closed = data, True
            self.assertServed()
        self.assertTrue(closed, 'the trickling body is still being '
                        'received after 6 s')
        self.assertIn(b'408 Request Timeout', received)
        self.assertIn(b'"code": 408', received)
        self.assertIn(b'request body', received)
        self.assertIn('past request_body_timeout', self.logger.output)

    def test_a_body_within_its_deadline_is_served(self):
        # The head's deadline is not the body's, nor the other way round.
        self.start(request_header_timeout=1, request_body_timeout=3)
        sock = self.connect(send=b'POST / HTTP/1.1\r\nHost: x\r\n'
                                 b'Content-Length: 4\r\n\r\nab')
        time.sleep(1.5)
        sock.sendall(b'cd')
        self.assertIn(b'200 OK', sock.recv(4096))

    def test_default_is_generous(self):
        self.start()
        self.assertEqual(60, self.server.guard.body_timeout)


class MisbehavingClientsTestCase(GuardedServerTestCase):
    """What any client can do at will is never an error in the log."""

    ROUNDS = 20

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG,
            format='%(levelname)s %(name)s %(message)s'))
        self.start()

    @staticmethod
    def reset(sock):
        # SO_LINGER 0: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack('ii', 1, 0))
        sock.close()

    def assert_quiet_and_serving(self):
        # Accepted in order: served means the server got to the others.
        self.assertServed()
        self.wait_channels(0)
        # Let the worker threads finish what the resets interrupted.
        time.sleep(0.5)
        output = self.logger.output
        self.assertNotIn('Traceback', output)
        errors = [line for line in output.splitlines()
                  if line.startswith(('ERROR', 'CRITICAL'))]
        self.assertEqual([], errors, output[-3000:])

    def test_reset_after_head_and_part_of_a_body(self):
        for _ in range(self.ROUNDS):
            sock = self.connect(send=b'POST / HTTP/1.1\r\nHost: x\r\n'
                                     b'Content-Length: 100\r\n\r\nab')
            self.reset(sock)
        self.assert_quiet_and_serving()

    def test_reset_after_a_complete_request(self):
        for path in ('/', '/big') * (self.ROUNDS // 2):
            sock = self.connect(send=b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n'
                                % path.encode())
            self.reset(sock)
        self.assert_quiet_and_serving()

    def test_half_close_after_head(self):
        for _ in range(self.ROUNDS):
            sock = self.connect(send=b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            sock.shutdown(socket.SHUT_WR)
        self.assert_quiet_and_serving()

    def test_garbage(self):
        for junk in (b'\x00\xff' * 100 + b'\r\n\r\n',
                     b'GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\r\n\r\n',
                     b'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n'
                     b'\r\nzz\r\n'):
            sock = self.connect(send=junk)
            read_until_closed(sock, 2)
            self.reset(sock)
        self.assert_quiet_and_serving()

    def test_oversized_head(self):
        sock = self.connect()
        try:
            sock.sendall(b'GET / HTTP/1.1\r\nX: ' + b'a' * (
                cmd_api.MAX_REQUEST_HEADER_BYTES + 1024) + b'\r\n\r\n')
        except OSError:
            pass  # closed before all of it was sent
        self.reset(sock)
        self.assert_quiet_and_serving()

    def test_tls_hello(self):
        for _ in range(self.ROUNDS):
            sock = self.connect(send=b'\x16\x03\x01\x00\x05hello')
            self.reset(sock)
        self.assert_quiet_and_serving()


class LoopPassesTestCase(GuardedServerTestCase):
    """The server's loop driven pass by pass."""

    def passes_until(self, condition, timeout=10):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.fail('the server did not get there in %d s' % timeout)
            self.server._server.run_once(0.1)

    def test_closing_at_the_deadline_spares_a_new_connection(self):
        # A connection closed during a pass frees its descriptor number
        # for a connection accepted later in that pass, which must not
        # get the closed one's pending events.
        self.flags(request_header_timeout=1, group='api')
        self.server = cmd_api.make_server(self.app, ORDINARY, 0)
        self.addCleanup(self.server.stop)
        for count in (1, 2, 3):
            self.connect()
            self.passes_until(lambda: len(self.server.guard.channels)
                              == count)
        time.sleep(1.2)
        ordinary = self.connect(ORDINARY)
        time.sleep(0.1)
        self.passes_until(lambda: ORDINARY in self.server.guard.per_client)
        ordinary.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n'
                         b'Connection: close\r\n\r\n')
        ordinary.setblocking(False)
        received = []

        def answered():
            try:
                received.append(ordinary.recv(4096))
            except BlockingIOError:
                return False
            return True
        self.passes_until(answered)
        self.assertIn(b'200 OK', received[0])
        # The closed ones left no count behind. The ordinary one may be
        # gone by now too (it asked for Connection: close), never counted
        # twice.
        per_client = dict(self.server.guard.per_client)
        self.assertLessEqual(per_client.pop(ORDINARY, 0), 1)
        self.assertEqual({}, per_client)

    def test_evictions_spare_the_new_connections(self):
        # Two connections arrive in one pass at the limit: each evicts a
        # waiting one, and the second may get the number of the first
        # evicted, which has a read event pending in that pass.
        self.flags(max_connections=2, max_connections_per_client=0,
                   group='api')
        self.server = cmd_api.make_server(self.app, ORDINARY, 0)
        self.addCleanup(self.server.stop)
        waiting = []
        for count in (1, 2):
            waiting.append(self.connect(send=PARTIAL_HEAD))
            self.passes_until(lambda: len(self.server.guard.channels)
                              == count)
        waiting[0].sendall(b'X-More: 1\r\n')
        new = [self.connect(ORDINARY), self.connect(OTHER)]
        time.sleep(0.1)
        self.passes_until(lambda: set(self.server.guard.per_client) ==
                          {ORDINARY, OTHER})
        for sock in new:
            sock.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n'
                         b'Connection: close\r\n\r\n')
            sock.setblocking(False)
        received = {}

        def answered():
            for sock in new:
                try:
                    received.setdefault(sock, sock.recv(4096))
                except BlockingIOError:
                    pass
            return len(received) == 2
        self.passes_until(answered)
        for sock in new:
            self.assertIn(b'200 OK', received[sock])


class PerClientLimitTestCase(GuardedServerTestCase):
    def test_extra_connections_of_one_address_are_closed(self):
        self.start(max_connections_per_client=3, max_connections=100)
        held = [self.connect(send=PARTIAL_HEAD) for _ in range(3)]
        self.wait_channels(3)
        extra = [self.connect() for _ in range(5)]
        for sock in extra:
            self.assertEqual(b'', read_until_closed(sock, 5))
        for sock in held:
            self.assertTrue(still_open(sock))
        # Other addresses are served while the first one is at its cap.
        self.assertServed(ORDINARY)
        self.assertServed(OTHER)
        # Logged at once, then summed up at most once a minute.
        self.assertIn('1 over max_connections_per_client; most from '
                      '127.0.0.2 (1)', self.logger.output)

    def test_a_closed_connection_frees_its_place(self):
        self.start(max_connections_per_client=1)
        sock = self.connect()
        self.wait_channels(1)
        sock.close()
        self.wait_channels(0)
        self.assertServed(ATTACKER)

    def test_zero_is_no_limit(self):
        self.start(max_connections_per_client=0, max_connections=100)
        socks = [self.connect() for _ in range(20)]
        self.wait_channels(20)
        self.assertServed(ATTACKER)
        self.assertTrue(all(still_open(sock, 0.05) for sock in socks))


class TotalLimitTestCase(GuardedServerTestCase):
    def test_the_oldest_waiting_connection_makes_room(self):
        self.start(max_connections=4, max_connections_per_client=0)
        oldest = self.connect(send=PARTIAL_HEAD)
        self.wait_channels(1)
        others = []
        for count in (2, 3, 4):
            others.append(self.connect())
            self.wait_channels(count)
        self.assertServed()
        received = read_until_closed(oldest, 5)
        self.assertIn(b'503 Service Unavailable', received)
        self.assertIn(b'Retry-After: 1', received)
        self.assertTrue(all(still_open(sock) for sock in others))
        # The next one in line goes when the limit is reached again.
        others.append(self.connect(OTHER))
        self.wait_channels(4)
        self.assertServed()
        self.assertEqual(b'', read_until_closed(others[0], 5))
        self.assertIn('1 evicted at max_connections', self.logger.output)

    def test_waiting_for_a_head_goes_before_sending_a_body(self):
        self.start(max_connections=2, max_connections_per_client=0)
        body = self.connect(send=b'POST / HTTP/1.1\r\nHost: x\r\n'
                                 b'Content-Length: 4\r\n\r\nab')
        self.wait_channels(1)
        idle = self.connect()
        self.wait_channels(2)
        self.assertServed()
        self.assertEqual(b'', read_until_closed(idle, 5))
        body.sendall(b'cd')
        self.assertIn(b'200 OK', body.recv(4096))

    def test_an_unread_response_goes_before_busy_requests(self):
        self.start(max_connections=2, max_connections_per_client=0)
        reader = socket.socket()
        self.socks.append(reader)
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.bind((ATTACKER, 0))
        reader.connect((ORDINARY, self.server.port))
        reader.sendall(b'GET /big HTTP/1.1\r\nHost: x\r\n\r\n')
        self.wait_channels(1)
        [unread] = self.server.guard.channels
        deadline = time.monotonic() + 10
        # Answered, and the rest of its response waits for its client.
        while not unread.total_outbufs_len or unread.requests:
            self.assertLess(time.monotonic(), deadline, 'never unread')
            time.sleep(0.01)
        self.connect(send=b'GET /block HTTP/1.1\r\nHost: x\r\n\r\n')
        self.assertTrue(self.app.blocked.acquire(timeout=5))
        self.assertServed(OTHER)
        self.assertLess(len(read_until_closed(reader, 10)), BIG)

    def test_busy_connections_are_kept_and_the_new_one_closed(self):
        self.start(max_connections=2, max_connections_per_client=0)
        busy = []
        for _ in range(2):
            busy.append(self.connect(send=b'GET /block HTTP/1.1\r\n'
                                          b'Host: x\r\n\r\n'))
            self.assertTrue(self.app.blocked.acquire(timeout=5))
        refused = self.connect(OTHER)
        self.assertEqual(b'', read_until_closed(refused, 5))
        self.app.gate.set()
        for sock in busy:
            self.assertIn(b'200 OK', sock.recv(4096))
        self.assertIn('refused at max_connections (all busy)',
                      self.logger.output)


class ManyDescriptorsTestCase(GuardedServerTestCase):
    def test_more_than_1024_descriptors(self):
        count = 1100
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                        resource.getrlimit(resource.RLIMIT_NOFILE))
        soft = cmd_api.raise_open_file_limit()
        # Both ends of each connection live in this process.
        self.assertGreater(soft, 2 * count + 200,
                           'open-file hard limit too low for this test')
        self.start(max_connections=2 * count,
                   max_connections_per_client=0)
        for _ in range(count):
            self.connect(send=PARTIAL_HEAD)
        self.wait_channels(count, timeout=30)
        self.assertGreater(max(c._fileno for c in
                               self.server.guard.channels), 1024)
        self.assertServed()
        self.assertServed()


class OpenFileLimitTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger())
        self.setrlimit = self.useFixture(fixtures.MockPatchObject(
            resource, 'setrlimit')).mock

    def limits(self, soft, hard):
        self.useFixture(fixtures.MockPatchObject(
            resource, 'getrlimit', return_value=(soft, hard)))

    def test_soft_limit_raised_to_the_hard_one(self):
        self.limits(1024, 524288)
        self.assertEqual(524288, cmd_api.raise_open_file_limit())
        self.setrlimit.assert_called_once_with(resource.RLIMIT_NOFILE,
                                               (524288, 524288))
        self.assertNotIn('max_connections', self.logger.output)

    def test_unlimited_hard_limit_means_nr_open(self):
        self.limits(1024, resource.RLIM_INFINITY)
        with open('/proc/sys/fs/nr_open') as f:
            nr_open = int(f.read())
        self.assertEqual(nr_open, cmd_api.raise_open_file_limit())
        self.setrlimit.assert_called_once_with(
            resource.RLIMIT_NOFILE, (nr_open, resource.RLIM_INFINITY))

    def test_a_low_hard_limit_is_reported(self):
        self.limits(256, 1024)
        self.flags(max_connections=1000, group='api')
        self.assertEqual(1024, cmd_api.raise_open_file_limit())
        self.assertIn('[api] max_connections = 1000 leaves too few of the '
                      '1024 descriptors', self.logger.output)

    def test_setrlimit_refused(self):
        self.limits(1024, 4096)
        self.setrlimit.side_effect = ValueError('not allowed')
        self.assertEqual(1024, cmd_api.raise_open_file_limit())
        self.assertIn('Cannot raise the open-file limit from 1024 to 4096',
                      self.logger.output)


class AcceptTestCase(GuardedServerTestCase):
    def test_out_of_descriptors_at_accept(self):
        self.flags(max_connections=10, group='api')
        server = cmd_api.make_server(self.app, ORDINARY, 0)
        self.addCleanup(server.stop)
        [listener] = [d for d in server._map.values()
                      if isinstance(d, http_server.GuardedServer)]
        error = OSError(24, 'Too many open files')
        with mock.patch.object(listener, 'accept', side_effect=error):
            listener.handle_accept()
        # No connection to close: accepting pauses instead of spinning.
        self.assertFalse(listener.readable())
        self.assertIn('Cannot accept API connections: [Errno 24] Too many '
                      'open files; every connection is busy, pausing',
                      self.logger.output)

    def test_out_of_descriptors_frees_one_or_pauses(self):
        guard = http_server.ConnectionGuard(10, 0, 30)
        waiting = mock.Mock(client=ATTACKER)
        waiting.wait_state.return_value = (0, 5.0)
        guard.added(waiting)
        error = OSError(24, 'Too many open files')
        guard.out_of_descriptors(error)
        waiting.drop.assert_called_once_with(guard._busy_response)
        self.assertEqual(0.0, guard.accept_paused_until)
        waiting.wait_state.return_value = None  # busy now
        guard.out_of_descriptors(error)
        self.assertGreater(guard.accept_paused_until, time.monotonic())
