"""nova-serialproxy's side of the websocket close handshake (RFC 6455 7.1).

Whatever ends a connection, the proxy's close frame is followed by a
half-close and a bounded wait for the client's close frame: a client
that answers the close (websocket-client's recv_data(), browsers), with
its own frames still in flight, gets the code and reason and then the
end of stream, never a reset. A client that does not answer is cut after
frames.CLOSE_WAIT_TIMEOUT seconds or frames.CLOSE_WAIT_BYTES bytes.
"""

import os
import socket
import struct
import threading
import time

import fixtures
import websocket

from nova.console import frames
from nova.console import websocketproxy
from nova.tests.unit.console import test_websocketproxy as base


def masked(opcode, payload, length=None):
    """A client's frame (masked), its header declaring ``length``."""
    size = len(payload) if length is None else length
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        header = bytes((0x80 | opcode, 0xfe)) + struct.pack('!H', size)
    else:
        header = bytes((0x80 | opcode, 0xff)) + struct.pack('!Q', size)
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + body


class RawClient:
    """A websocket client on a plain socket: every byte is the test's."""

    def __init__(self, port, path, headers=()):
        self.sock = socket.create_connection(('127.0.0.1', port),
                                             timeout=base.TIMEOUT)
        lines = ['GET %s HTTP/1.1' % path, 'Host: 127.0.0.1:%d' % port,
                 'Upgrade: websocket', 'Connection: Upgrade',
                 'Sec-WebSocket-Key: %s' % base.WS_KEY,
                 'Sec-WebSocket-Version: 13']
        lines.extend(headers)
        self.sock.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode())
        self.buf = b''
        while b'\r\n\r\n' not in self.buf:
            self._read()
        head, _, self.buf = self.buf.partition(b'\r\n\r\n')
        if not head.startswith(b'HTTP/1.1 101 '):
            raise AssertionError('no upgrade: %r' % head)

    def _read(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError('end of stream before a close frame')
        self.buf += chunk

    def frame(self):
        """(opcode, payload) of the next frame from the proxy."""
        while True:
            header = frames.declared(self.buf)
            if header is not None:
                opcode, length = header
                marker = self.buf[1] & 0x7f
                start = 10 if marker == 127 else 4 if marker == 126 else 2
                if len(self.buf) >= start + length:
                    payload = self.buf[start:start + length]
                    self.buf = self.buf[start + length:]
                    return opcode, payload
            self._read()

    def close_frame(self):
        """The proxy's close frame, skipping data before it: (code,
        reason, payload)."""
        while True:
            opcode, payload = self.frame()
            if opcode == 0x8:
                code, = struct.unpack('!H', payload[:2])
                return code, payload[2:].decode(), payload

    def answer_close(self, test):
        """What a browser does: its frames still in flight reach the
        proxy after the close frame, then its close reply; then it reads
        to the end of stream. Returns the proxy's (code, reason)."""
        code, reason, payload = self.close_frame()
        # Time for anything the proxy does at once (a close, a reset).
        time.sleep(0.2)
        self.sock.sendall(masked(0x2, b'typed before the close came'))
        time.sleep(0.2)
        self.sock.sendall(masked(0x8, payload[:2]))
        test.assertEqual(b'', self.buf)
        test.assertEqual(b'', self.sock.recv(100))
        return code, reason

    def close(self):
        self.sock.close()


class CloseHandshakeTestCase(base.ProxyTestCase):
    def raw(self, path=None, headers=()):
        client = RawClient(self.proxy.port, path or '/?token=%s' %
                           self.tokens.add(self.guest.port), headers)
        self.addCleanup(client.close)
        return client

    def settle(self, limit=base.TIMEOUT):
        """Seconds until the proxy let go of every connection."""
        start = time.monotonic()
        while (self.proxy.server.acceptor.total and
               time.monotonic() < start + limit):
            time.sleep(0.02)
        self.assertEqual(0, self.proxy.server.acceptor.total)
        return time.monotonic() - start


class TestClientAnswersTheClose(CloseHandshakeTestCase):
    """Each way the proxy closes: the answering client sees no reset."""

    def test_refused_token(self):
        client = self.raw('/?token=unknown-token-5a1e')
        self.assertEqual(
            (1008, websocketproxy.REFUSED_TOKEN), client.answer_close(self))

    def test_refused_origin(self):
        client = self.raw(headers=('Origin: http://evil.example',))
        self.assertEqual(
            (1008, websocketproxy.REFUSED_ORIGIN), client.answer_close(self))

    def test_busy_port(self):
        token = self.tokens.add(self.guest.port)
        first = self.connect(token)
        first.send_binary(b'x')
        self.assertEqual(b'x', base.recv_exactly(first, 1))
        client = self.raw('/?token=%s' % token)
        self.assertEqual((websocketproxy.CLOSE_BUSY_PORT,
                          websocketproxy.BUSY_PORT),
                         client.answer_close(self))

    def test_unreachable_guest(self):
        with socket.socket() as unused:
            unused.bind(('127.0.0.1', 0))
            port = unused.getsockname()[1]
        client = self.raw('/?token=%s' % self.tokens.add(port))
        self.assertEqual((frames.CLOSE_INTERNAL_ERROR,
                          websocketproxy.UNREACHABLE),
                         client.answer_close(self))

    def test_guest_gone(self):
        client = self.raw()
        client.sock.sendall(masked(0x2, b'bye\x04'))
        self.assertEqual((1000, 'Target closed'), client.answer_close(self))

    def test_message_too_big(self):
        self.flags(max_message_bytes=4096, group='serial_console')
        client = self.raw()
        # The whole frame is sent, as a client does, header first.
        client.sock.sendall(masked(0x2, b'y' * 5000))
        self.assertEqual((frames.CLOSE_TOO_BIG, frames.TOO_BIG % 4096),
                         client.answer_close(self))

    def test_protocol_error(self):
        client = self.raw()
        client.sock.sendall(masked(0x9, b'p' * 200))
        self.assertEqual((frames.CLOSE_PROTOCOL_ERROR, frames.BAD_CONTROL),
                         client.answer_close(self))

    def test_unmasked_frame(self):
        # Refused by websockify itself, in the middle of a session.
        client = self.raw()
        client.sock.sendall(b'\x82\x02ab')
        code, reason = client.answer_close(self)
        self.assertEqual(frames.CLOSE_PROTOCOL_ERROR, code)
        self.assertIn('not masked', reason)
        self.settle()

    def test_shutting_down(self):
        client = self.raw()
        client.sock.sendall(masked(0x2, b'x'))
        self.assertEqual((0x2, b'x'), client.frame())
        stop = threading.Thread(target=self.proxy.stop)
        stop.start()
        self.addCleanup(stop.join, base.TIMEOUT)
        self.assertEqual((1001, websocketproxy.SHUTTING_DOWN),
                         client.answer_close(self))

    def test_websocket_client_recv_data_reads_the_close(self):
        # The user's report: websocket-client answers the close frame
        # in recv_data(); with a keystroke unread by the proxy it got
        # BrokenPipeError instead of the 1008.
        gate = threading.Event()
        checks = self.proxy.server.RequestHandlerClass._connect_info

        def slow_checks(handler, token):
            gate.wait(base.TIMEOUT)
            return checks(handler, token)
        self.useFixture(fixtures.MockPatchObject(
            self.proxy.server.RequestHandlerClass, '_connect_info',
            slow_checks))
        ws = self.connect('revoked-by-a-migration-7c2d')
        ws.send_binary(b'\r')
        time.sleep(0.2)
        gate.set()
        opcode, data = ws.recv_data()
        self.assertEqual(websocket.ABNF.OPCODE_CLOSE, opcode)
        self.assertEqual(struct.pack('!H', 1008) +
                         websocketproxy.REFUSED_TOKEN.encode(), data)

    def test_close_started_by_the_client_is_echoed(self):
        client = self.raw()
        client.sock.sendall(masked(0x8, struct.pack('!H', 1000) + b'bye'))
        code, reason, _ = client.close_frame()
        self.assertEqual((1000, 'bye'), (code, reason))
        self.assertEqual(b'', client.sock.recv(100))
        self.settle()


class TestClientDoesNotAnswer(CloseHandshakeTestCase):
    """The wait for the client's close is bounded in time and bytes."""

    def test_silent_client_is_cut_after_the_wait(self):
        self.useFixture(fixtures.MockPatchObject(
            frames, 'CLOSE_WAIT_TIMEOUT', 0.5))
        client = self.raw('/?token=unknown-token-5a1e')
        self.assertEqual(1008, client.close_frame()[0])
        # Half-closed at once: a client reading to the end is not held.
        self.assertEqual(b'', client.sock.recv(100))
        # The client holds its end open and says nothing.
        self.settle()

    def test_trickling_client_is_cut_after_the_wait(self):
        self.useFixture(fixtures.MockPatchObject(
            frames, 'CLOSE_WAIT_TIMEOUT', 0.5))
        client = self.raw('/?token=unknown-token-5a1e')
        self.assertEqual(1008, client.close_frame()[0])
        stop = threading.Event()
        self.addCleanup(stop.set)

        def trickle():
            # One byte of a never-ending frame each 50 ms.
            try:
                client.sock.sendall(masked(0x2, b'', length=1 << 40))
                while not stop.wait(0.05):
                    client.sock.sendall(b'z')
            except OSError:
                pass  # cut, as it should be
        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        self.addCleanup(thread.join, base.TIMEOUT)
        self.settle()

    def test_flooding_client_is_cut_after_the_bytes(self):
        # A wait long enough that only the byte bound can end it.
        self.useFixture(fixtures.MockPatchObject(
            frames, 'CLOSE_WAIT_TIMEOUT', 60))
        self.useFixture(fixtures.MockPatchObject(
            frames, 'CLOSE_WAIT_BYTES', 64 * 1024))
        client = self.raw('/?token=unknown-token-5a1e')
        self.assertEqual(1008, client.close_frame()[0])
        stop = threading.Event()
        self.addCleanup(stop.set)

        def flood():
            frame = masked(0x2, b'f' * 4096)
            try:
                while not stop.is_set():
                    client.sock.sendall(frame)
            except OSError:
                pass  # cut, as it should be
        thread = threading.Thread(target=flood, daemon=True)
        thread.start()
        self.addCleanup(thread.join, base.TIMEOUT)
        self.settle()

    def test_silent_client_after_a_frame_websockify_refuses(self):
        # websockify's own close (an unmasked frame) used to leave the
        # session open until the client answered: never, here.
        self.useFixture(fixtures.MockPatchObject(
            frames, 'CLOSE_WAIT_TIMEOUT', 0.5))
        client = self.raw()
        client.sock.sendall(b'\x82\x02ab')
        self.assertEqual(frames.CLOSE_PROTOCOL_ERROR, client.close_frame()[0])
        self.settle()
        self.assertEqual(b'', client.sock.recv(100))
