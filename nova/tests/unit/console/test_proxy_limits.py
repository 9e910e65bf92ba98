"""nova-serialproxy against idle, slow and many connections.

A real proxy on 127.0.0.1 (see test_websocketproxy). The attacker's
sockets are bound to other loopback source addresses (127.0.0.2...), so
per-address caps can be told from the total one; every socket a test
opens is closed at its cleanup.
"""

import errno
import logging
import os
import resource
import select
import socket
import threading
import time

import fixtures
import websocket

from nova.console import acceptor
from nova import utils
from nova.tests.unit.console import test_websocketproxy as helpers

TIMEOUT = helpers.TIMEOUT
HALF_REQUEST = b'GET /?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\n'


def wait_for(predicate, timeout=TIMEOUT, what='condition'):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('%s not met within %s s' % (what, timeout))
        time.sleep(0.02)


def closed_by_peer(sock, timeout=TIMEOUT):
    """Read until EOF (or reset); what was read."""
    sock.settimeout(timeout)
    data = b''
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data


def still_open(sock):
    sock.settimeout(0.05)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b''
    except (TimeoutError, BlockingIOError):
        return True
    except OSError:
        return False


class LimitsTestCase(helpers.ProxyTestCase):
    def idle(self, source='127.0.0.2', send=HALF_REQUEST):
        """A connection that sends half a request and waits."""
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.bind((source, 0))
        sock.settimeout(TIMEOUT)
        sock.connect(('127.0.0.1', self.proxy.port))
        if send:
            sock.sendall(send)
        return sock

    def idles(self, count, source='127.0.0.2'):
        socks = [self.idle(source) for _ in range(count)]
        acc = self.proxy.server.acceptor
        opts = helpers.CONF.serial_console
        wait_for(lambda: acc.count(source) >= min(
            count, opts.max_connections_per_client) or
            acc.total >= opts.max_connections,
            what='connections accepted')
        return socks

    def session(self, source='127.0.0.1'):
        """A genuine session from ``source``, echoing one message."""
        sock = socket.socket()
        sock.bind((source, 0))
        sock.settimeout(TIMEOUT)
        sock.connect(('127.0.0.1', self.proxy.port))
        ws = websocket.create_connection(
            'ws://127.0.0.1:%d/?token=%s' % (
                self.proxy.port, self.tokens.add(self.guest.port)),
            timeout=TIMEOUT, socket=sock)
        self.addCleanup(ws.close, timeout=1)
        ws.send_binary(b'hello')
        self.assertEqual(b'hello', helpers.recv_exactly(ws, 5))
        return ws


class TestHandshakeDeadline(LimitsTestCase):
    def test_trickling_client_is_cut_off_at_the_deadline(self):
        # One byte every 0.2 s: a timeout per read would never fire.
        self.flags(handshake_timeout=1, group='serial_console')
        sock = self.idle(send=b'G')
        sock.settimeout(0.2)
        start = time.monotonic()
        data = b''
        for byte in b'ET / HTTP/1.1\r\nX-Slow: ' + b'a' * 100:
            try:
                sock.send(bytes([byte]))
                data = sock.recv(200)
                break
            except TimeoutError:
                continue
            except OSError:
                break
        elapsed = time.monotonic() - start
        self.assertTrue(data.startswith(b'HTTP/1.1 408 '), data)
        self.assertLess(elapsed, 10)
        self.assertIn('no complete HTTP request within [serial_console] '
                      'handshake_timeout', self.log.output)
        # The proxy goes on serving.
        self.session()

    def test_head_and_first_frame_in_one_packet(self):
        # What follows the head stays for the websocket code.
        token = self.tokens.add(self.guest.port)
        frame = websocket.ABNF.create_frame(
            b'early', websocket.ABNF.OPCODE_BINARY).format()
        request = ('GET /?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                   'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                   'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n'
                   '\r\n' % (token, helpers.WS_KEY)).encode()
        sock = self.idle(source='127.0.0.1', send=None)
        # The head in two pieces, the second with the frame behind it.
        sock.sendall(request[:20])
        time.sleep(0.1)
        sock.sendall(request[20:] + frame)
        data = b''
        while b'early' not in data:
            chunk = sock.recv(4096)
            self.assertNotEqual(b'', chunk, data)
            data += chunk
        self.assertTrue(data.startswith(b'HTTP/1.1 101 '), data)

    def test_oversized_head(self):
        sock = self.idle(send=b'GET / HTTP/1.1\r\n' + b'X: %s\r\n' % (
            b'a' * acceptor.MAX_HEAD_BYTES))
        self.assertTrue(closed_by_peer(sock).startswith(
            b'HTTP/1.1 431 '))


class TestCaps(LimitsTestCase):
    def test_per_client_cap_drops_that_clients_oldest_handshake(self):
        self.flags(max_connections_per_client=5, group='serial_console')
        other = self.idle(source='127.0.0.3')
        first, *rest = self.idles(5)
        self.assertTrue(still_open(first))
        self.idle()  # a sixth from 127.0.0.2
        self.assertEqual(b'', closed_by_peer(first))
        acc = self.proxy.server.acceptor
        wait_for(lambda: acc.count('127.0.0.2') == 5)
        self.assertTrue(all(still_open(sock) for sock in rest))
        self.assertTrue(still_open(other))
        # A genuine client from the attacker's address gets through.
        self.session(source='127.0.0.2')

    def test_per_client_cap_refuses_when_all_are_sessions(self):
        self.flags(max_connections_per_client=2, group='serial_console')
        self.session(source='127.0.0.2')
        self.session(source='127.0.0.2')
        data = closed_by_peer(self.idle())
        self.assertTrue(data.startswith(b'HTTP/1.1 503 '), data)
        self.assertIn(b'Too many connections from your address', data)
        self.session(source='127.0.0.3')

    def test_trusted_proxy_is_not_capped_per_client(self):
        self.flags(max_connections_per_client=2, group='serial_console')
        self.flags(trusted_proxies=['127.0.0.2'], group='console')
        socks = [self.idle() for _ in range(4)]
        wait_for(lambda: self.proxy.server.acceptor.count('127.0.0.2') == 4)
        self.assertTrue(all(still_open(sock) for sock in socks))

    def test_total_cap_drops_the_oldest_handshake(self):
        self.flags(max_connections=20, group='serial_console')
        socks = []
        for n in range(4):
            socks += self.idles(5, source='127.0.0.%d' % (n + 2))
        acc = self.proxy.server.acceptor
        self.assertEqual(20, acc.total)
        self.session()
        self.assertEqual(b'', closed_by_peer(socks[0]))
        self.assertTrue(still_open(socks[-1]))
        self.assertLessEqual(acc.total, 20)
        self.assertIn('connection caps reached: dropping the oldest '
                      'pending handshakes', self.log.output)

    def test_total_cap_refuses_when_all_are_sessions(self):
        self.flags(max_connections=2, group='serial_console')
        self.session()
        self.session(source='127.0.0.2')
        data = closed_by_peer(self.idle(source='127.0.0.3'))
        self.assertIn(b'HTTP/1.1 503 ', data)
        self.assertIn(b'too many connections', data)

    def test_closed_sessions_are_released(self):
        acc = self.proxy.server.acceptor
        ws = self.session()
        self.assertEqual(1, acc.total)
        ws.close(timeout=TIMEOUT)
        wait_for(lambda: acc.total == 0, what='the session released')

    def test_idle_connections_cost_no_thread(self):
        before = threading.active_count()
        self.idles(100)
        self.assertLess(threading.active_count(), before + 5)

    def test_limits_are_clamped_to_the_open_files_limit(self):
        self.assertEqual((1024 - acceptor.FD_RESERVE) // 3,
                         acceptor.connection_budget(1024))
        self.proxy.server._budget = 7
        self.assertEqual(7, self.proxy.server.limits()[1])


class TestManyDescriptors(LimitsTestCase):
    """Past descriptor 1024, where select() fails."""

    def setUp(self):
        super().setUp()
        needed = 1200 + 200
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < needed:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096),
                                                        hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                            (soft, hard))
        fds = []
        self.addCleanup(lambda: [os.close(fd) for fd in fds])
        while not fds or fds[-1] < 1100:
            fds.append(os.open(os.devnull, os.O_RDONLY))

    def test_sessions_and_handshakes_above_1024(self):
        socks = self.idles(50)
        self.assertGreater(socks[-1].fileno(), 1024)
        ws = self.session()
        ws.send_binary(b'again')
        self.assertEqual(b'again', helpers.recv_exactly(ws, 5))
        self.assertTrue(self.proxy.thread.is_alive())
        self.assertNotIn('out of range', self.log.output)


class TestOpenFilesLimit(helpers.ProxyTestCase):
    def test_soft_limit_raised_to_hard(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                        (soft, hard))
        lowered = min(1024, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
        self.assertEqual(hard, utils.raise_open_files_limit())
        self.assertEqual((hard, hard),
                         resource.getrlimit(resource.RLIMIT_NOFILE))

    def test_listen_raises_it(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                        (soft, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        self.useFixture(helpers.ProxyServer(self.compute, self.tokens))
        self.assertEqual(hard,
                         resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        self.assertIn('open files limit %d' % hard, self.log.output)


class FlakyListener:
    """A listening socket whose accept() fails with EMFILE when told."""

    def __init__(self, sock):
        self.sock = sock
        self.failures = 0
        self.error = errno.EMFILE

    def fileno(self):
        return self.sock.fileno()

    def accept(self):
        if self.failures:
            self.failures -= 1
            raise OSError(self.error, os.strerror(self.error))
        return self.sock.accept()


class TestOutOfDescriptors(helpers.test.TestCase):
    def setUp(self):
        super().setUp()
        self.lsock = socket.create_server(('127.0.0.1', 0))
        self.addCleanup(self.lsock.close)
        self.lsock.setblocking(False)
        self.listener = FlakyListener(self.lsock)
        self.handed = []
        self.acc = acceptor.Acceptor(
            self.listener, lambda: (10, 100, 100, []),
            self.hand_on)
        self.addCleanup(self.acc.close)

    def hand_on(self, sock, address, head):
        self.addCleanup(sock.close)
        self.handed.append((sock, address, head))

    def client(self):
        sock = socket.create_connection(self.lsock.getsockname(),
                                        timeout=TIMEOUT)
        self.addCleanup(sock.close)
        return sock

    def test_emfile_drops_the_oldest_handshake(self):
        first = self.client()
        self.acc.serve_once(0.5)
        self.assertEqual(1, self.acc.handshakes)
        self.listener.failures = 1
        self.client()
        self.acc.serve_once(0.5)
        self.assertEqual(b'', closed_by_peer(first))
        # The next wake-up accepts the waiting client.
        self.acc.serve_once(0.5)
        self.assertEqual(1, self.acc.handshakes)
        self.assertEqual(1, self.acc.total)

    def test_emfile_with_nothing_to_drop_pauses_accepting(self):
        self.listener.failures = 1
        sock = self.client()
        start = time.monotonic()
        self.acc.serve_once(0.5)
        self.assertEqual(0, self.acc.handshakes)
        # Paused, not spinning; then the client is accepted and served.
        sock.sendall(b'GET / HTTP/1.1\r\n\r\n')
        while not self.handed and time.monotonic() - start < TIMEOUT:
            self.acc.serve_once(0.5)
        self.assertEqual(1, len(self.handed))
        self.assertEqual(b'GET / HTTP/1.1\r\n\r\n', self.handed[0][2])

    def test_network_errors_of_pending_connections_are_skipped(self):
        # Linux's accept() reports a pending connection's network error
        # (accept(2): retry as for EAGAIN). A client can cause them: no
        # ERROR line, no traceback, and the next client is accepted in
        # the same wake-up.
        log = self.useFixture(fixtures.FakeLogger(
            name='nova', level=logging.DEBUG,
            format='%(levelname)s %(message)s'))
        for number in acceptor.ACCEPT_RETRY_ERRORS:
            self.listener.error = number
            self.listener.failures = 1
            sock = self.client()
            sock.sendall(b'GET / HTTP/1.1\r\n\r\n')
            self.acc.serve_once(0.5)
            while self.acc.handshakes and len(self.handed) < 1:
                self.acc.serve_once(0.5)
            self.assertEqual(1, len(self.handed), errno.errorcode[number])
            self.handed.pop()[0].close()
            self.acc.release('127.0.0.1')
        self.assertEqual(0, self.acc.total)
        self.assertNotIn('Traceback', log.output)
        self.assertNotIn('ERROR', log.output)
        self.assertIn(os.strerror(errno.EPROTO), log.output)


class TestBacklog(helpers.test.TestCase):
    def test_a_burst_waits_in_the_kernel_not_in_syn_retries(self):
        self.flags(serialproxy_host='127.0.0.1', serialproxy_port=0,
                   group='serial_console')
        server = helpers.make_server()
        port = server.listen()[1]
        self.addCleanup(server._acceptor.close)
        self.addCleanup(server._lsock.close)
        # Nothing accepts: only the listen backlog holds them. With
        # websockify's 100 the rest would wait for a SYN retry (1 s).
        poller = select.poll()
        socks = {}
        for _ in range(300):
            sock = socket.socket()
            self.addCleanup(sock.close)
            sock.setblocking(False)
            sock.connect_ex(('127.0.0.1', port))
            socks[sock.fileno()] = sock
            poller.register(sock, select.POLLOUT)
        connected = 0
        deadline = time.monotonic() + 0.5
        while socks and time.monotonic() < deadline:
            for fd, _ in poller.poll(100):
                poller.unregister(fd)
                sock = socks.pop(fd)
                if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    connected += 1
        self.assertEqual(300, connected)


class TestHelpers(helpers.test.TestCase):
    def test_head_end(self):
        self.assertEqual(-1, acceptor.head_end(b'GET / HTTP/1.1\r\nA: b\r\n'))
        self.assertEqual(5, acceptor.head_end(b'a\r\n\r\nrest'))
        self.assertEqual(3, acceptor.head_end(b'a\n\nrest'))

    def test_address_in(self):
        nets = acceptor.parse_networks(['192.0.2.0/24', '2001:db8::1'])
        self.assertTrue(acceptor.address_in('192.0.2.7', nets))
        self.assertTrue(acceptor.address_in('::ffff:192.0.2.7', nets))
        self.assertTrue(acceptor.address_in('2001:db8::1', nets))
        self.assertFalse(acceptor.address_in('198.51.100.1', nets))
        self.assertFalse(acceptor.address_in('garbage', nets))
        self.assertRaises(ValueError, acceptor.parse_networks, ['x'])
