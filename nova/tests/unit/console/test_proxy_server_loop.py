"""What nova-serialproxy's serving loop keeps that websockify's would lose.

``SerialProxy`` is websockify's ``WebSocketProxy`` with its request
handler, socket set-up and settings, but its own ``start_server``
(``nova.console.websocketproxy`` says why). Each test here fails if the
proxy served through websockify's ``WebSockifyServer.start_server``
(0.13), which installs SIGINT/SIGTERM/SIGCHLD handlers (and so raises
ValueError outside the main thread, where nova-all serves), forks a
process per connection, waits with ``select()`` (ValueError past
descriptor 1024) and, in its one-process mode, reads a connection's
first bytes and TLS handshake in the accepting loop.
"""

import os
import resource
import signal
import socket
import threading

import fixtures
import websocket

from nova.tests.unit.console import test_proxy_limits as limits
from nova.tests.unit.console import test_websocketproxy as helpers

TIMEOUT = helpers.TIMEOUT


class RecordingConsoles(helpers.FakeComputeAPI):
    """Notes the process and thread each port check runs in."""

    def __init__(self):
        super().__init__()
        self.where = []

    def validate_console_port(self, *args):
        self.where.append((os.getpid(), threading.current_thread()))
        return super().validate_console_port(*args)


class ServerLoopTestCase(helpers.ProxyTestCase):
    def fake_consoles(self):
        return RecordingConsoles()

    def session(self, port=None):
        """A genuine session on ``port`` (default: the test's proxy)."""
        ws = websocket.create_connection(
            'ws://127.0.0.1:%d/?token=%s' % (
                port or self.proxy.port, self.tokens.add(self.guest.port)),
            timeout=TIMEOUT)
        self.addCleanup(ws.close, timeout=1)
        ws.send_binary(b'echo')
        self.assertEqual(b'echo', helpers.recv_exactly(ws, 4))
        return ws


class TestServerLoop(ServerLoopTestCase):
    def test_served_in_this_process_by_a_thread_of_its_own(self):
        # A forked child would check the port in its own copy of the
        # fake: nothing would be recorded here.
        self.session()
        self.session()
        self.assertEqual(2, len(self.compute.where))
        for pid, thread in self.compute.where:
            self.assertEqual(os.getpid(), pid)
            self.assertIsNot(threading.main_thread(), thread)
            self.assertIsNot(self.proxy.thread, thread)

    def test_serving_installs_no_signal_handler(self):
        # nova-serialproxy's SIGTERM/SIGINT handlers are its command's
        # (a stop request, then a clean exit); nova-all serves from a
        # thread, where installing one raises ValueError.
        installed = self.useFixture(
            fixtures.MockPatch('signal.signal')).mock
        before = {sig: signal.getsignal(sig)
                  for sig in (signal.SIGINT, signal.SIGTERM,
                              signal.SIGCHLD)}
        proxy = self.useFixture(helpers.ProxyServer(self.compute,
                                                    self.tokens))
        self.session(proxy.port)
        proxy.stop()
        self.assertEqual([], installed.call_args_list)
        self.assertEqual(before, {sig: signal.getsignal(sig)
                                  for sig in before})

    def test_stalled_tls_hello_holds_up_no_one(self):
        # A TLS record header cut short, then silence: refused at its
        # first byte, never a handshake waited for while others queue.
        with socket.create_connection(('127.0.0.1', self.proxy.port),
                                      timeout=TIMEOUT) as tls:
            tls.sendall(b'\x16\x03\x01')
            self.session()
            self.assertEqual(b'', limits.closed_by_peer(tls))
        self.assertIn('refused a TLS handshake', self.log.output)

    def test_silent_connections_hold_up_no_one(self):
        # Connected, nothing sent: no wait on the first bytes in the
        # serving loop, and no thread each.
        before = threading.active_count()
        socks = []
        self.addCleanup(lambda: [sock.close() for sock in socks])
        for _ in range(20):
            socks.append(socket.create_connection(
                ('127.0.0.1', self.proxy.port), timeout=TIMEOUT))
        limits.wait_for(lambda: self.proxy.server.acceptor.total >= 20,
                        what='connections accepted')
        self.session()
        self.assertLess(threading.active_count(), before + 5)
        self.assertTrue(all(limits.still_open(sock) for sock in socks))


class TestListeningAbove1024(ServerLoopTestCase):
    """The listening socket itself past descriptor 1024, as in a process
    that opened many files before it listened."""

    def setUp(self):
        super().setUp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1400:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (min(hard, 4096), hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                            (soft, hard))
        fds = []
        self.addCleanup(lambda: [os.close(fd) for fd in fds])
        while not fds or fds[-1] < 1100:
            fds.append(os.open(os.devnull, os.O_RDONLY))

    def test_serves_with_its_listening_socket_above_1024(self):
        proxy = self.useFixture(helpers.ProxyServer(self.compute,
                                                    self.tokens))
        self.assertGreater(proxy.server._lsock.fileno(), 1024)
        self.session(proxy.port)
        self.assertTrue(proxy.thread.is_alive())
        self.assertNotIn('out of range', self.log.output)
