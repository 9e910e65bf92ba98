"""nova-serialproxy's plain session copy loop: cost and bounds.

The loop reads the client in large pieces, decodes the frames where they
lie, passes each side's bytes on at once, and still holds no more than
its bounds say. Costs are counted (reads, poll() rounds), never timed:
the machine is shared.
"""

import random
import select
import socket
import threading
import time
from unittest import mock

import fixtures
import websocket
from websockify import websocket as ws_frames

from nova.console import frames
from nova.console import websocketproxy
from nova.tests.unit.console import test_websocketproxy as base

KiB = 1024


def client_frame(opcode, payload, mask, fin=True):
    """A client frame (masked), its length in the shortest form."""
    size = len(payload)
    first = bytes([opcode | (0x80 if fin else 0)])
    if size < 126:
        head = first + bytes([0x80 | size])
    elif size < 1 << 16:
        head = first + bytes([0x80 | 126]) + size.to_bytes(2, 'big')
    else:
        head = first + bytes([0x80 | 127]) + size.to_bytes(8, 'big')
    key = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, 'big') ^
              int.from_bytes(key, 'big')).to_bytes(size, 'big')
    return head + mask + masked


def server_socket(sock, max_message=1 << 20):
    ws = frames.SessionSocket(mock.Mock())
    ws.socket = sock
    ws.client = False
    ws.max_message = max_message
    return ws


class TestDecoding(base.test.TestCase):
    """SessionSocket's decoder: every message of a random stream, however
    the stream is cut into reads."""

    def messages(self, rng):
        """(wire bytes, [expected messages]) of a random frame stream."""
        wire, expected = b'', []
        sizes = [0, 1, 3, 125, 126, 127, 4096, 65535, 65536, 70001]
        for _ in range(40):
            mask = bytes(rng.randrange(256) for _ in range(4))
            payload = rng.randbytes(rng.choice(sizes))
            if rng.random() < 0.3 and len(payload) > 2:
                # One message in fragments (binary, continuation, ...).
                cut = rng.randrange(1, len(payload))
                wire += client_frame(0x2, payload[:cut], mask, fin=False)
                wire += client_frame(0x9, b'ping', mask)  # between them
                wire += client_frame(0x0, payload[cut:], mask)
            else:
                wire += client_frame(0x2, payload, mask)
            expected.append(payload)
        return wire, expected

    def decode(self, wire, cuts, count):
        """The first ``count`` messages recvmsg() returns for ``wire``
        sent in pieces."""
        theirs, ours = socket.socketpair()
        self.addCleanup(theirs.close)
        self.addCleanup(ours.close)
        ours.setblocking(False)
        ws = server_socket(ours)

        def send():
            pos = 0
            for cut in cuts + [len(wire)]:
                theirs.sendall(wire[pos:cut])
                pos = cut
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        self.addCleanup(sender.join, base.TIMEOUT)
        got = []
        deadline = time.monotonic() + base.TIMEOUT * 4
        while len(got) < count and time.monotonic() < deadline:
            select.select([ours], [], [], 0.1)
            while len(got) < count:
                try:
                    got.append(ws.recvmsg())
                except ws_frames.WebSocketWantReadError:
                    break
        return got

    def test_every_message_whatever_the_reads(self):
        for seed in range(6):
            rng = random.Random(seed)
            wire, expected = self.messages(rng)
            # Cuts anywhere: in headers, masks, payloads; and none.
            cuts = sorted(rng.sample(range(1, len(wire)), 60))
            for pieces in ([], cuts):
                self.assertEqual(
                    expected, self.decode(wire, pieces, len(expected)),
                    'seed %d' % seed)

    def test_reads_grow_to_read_bytes_with_a_bulk_transfer(self):
        theirs, ours = socket.socketpair()
        self.addCleanup(theirs.close)
        self.addCleanup(ours.close)
        ours.setblocking(False)
        ws = server_socket(ours)
        one = client_frame(0x2, b'k' * 1000, b'\x01\x02\x03\x04')
        count = 1000  # about 1 MiB
        sender = threading.Thread(target=theirs.sendall, args=(one * count,),
                                  daemon=True)
        sizes = []
        real_recv = ours.recv

        class Counting:
            def __getattr__(self, name):
                return getattr(ours, name)

            def recv(self, size):
                sizes.append(size)
                return real_recv(size)

        ws.socket = Counting()
        sender.start()
        self.addCleanup(sender.join, base.TIMEOUT)
        got = []
        deadline = time.monotonic() + base.TIMEOUT
        while len(got) < count and time.monotonic() < deadline:
            select.select([ours], [], [], 0.1)
            try:
                while len(got) < count:
                    got.append(ws.recvmsg())
            except ws_frames.WebSocketWantReadError:
                pass
        self.assertEqual([b'k' * 1000] * count, got)
        # websockify read 4 KiB at a time: 250 reads or more.
        self.assertLess(len(sizes), 60)
        self.assertEqual(frames.READ_BYTES, max(sizes))

    def test_next_read_size(self):
        small, big = frames.MIN_READ_BYTES, frames.READ_BYTES
        self.assertEqual(2 * small, frames.next_read_size(small, small,
                                                          small))
        self.assertEqual(big, frames.next_read_size(big, big, big))
        self.assertEqual(big, frames.next_read_size(big // 2, big // 2,
                                                    big // 2))
        # Keystrokes: back down to the smallest read.
        self.assertEqual(big // 2, frames.next_read_size(big, big, 66))
        self.assertEqual(small, frames.next_read_size(small, small, 3))
        # A read between the two: the size stays.
        self.assertEqual(big, frames.next_read_size(big, big, big // 2))

    def test_reads_shrink_while_replies_wait(self):
        # Each byte read may queue a byte of reply (a pong): a read takes
        # at most what READ_BYTES leaves beside the queued replies.
        theirs, ours = socket.socketpair()
        self.addCleanup(theirs.close)
        self.addCleanup(ours.close)
        ours.setblocking(False)
        ws = server_socket(ours)
        for queued, expected in ((0, frames.READ_BYTES),
                                 (100 * KiB, frames.READ_BYTES - 100 * KiB),
                                 (frames.READ_BYTES, frames.MIN_READ_BYTES),
                                 (10 * frames.READ_BYTES,
                                  frames.MIN_READ_BYTES)):
            ws._send_buffer = b'q' * queued
            ws._read_size = frames.READ_BYTES  # as in a bulk transfer
            with mock.patch.object(ws, 'socket') as sock:
                sock.recv.return_value = b'\x82'
                ws._recv()
                sock.recv.assert_called_once_with(expected)

    def test_partial_sends_keep_order_and_bounds(self):
        theirs, ours = socket.socketpair()
        self.addCleanup(theirs.close)
        self.addCleanup(ours.close)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        ours.setblocking(False)
        ws = server_socket(ours)
        out = frames.FrameWriter(ws)
        rng = random.Random(7)
        sent = []
        for size in (10, 70000, 0, 125, 126, 65535, 65536, 300000, 5):
            data = rng.randbytes(size)
            sent.append(data)
            out.binary(data)
            out.text({'live': True})
        received = b''
        theirs.settimeout(base.TIMEOUT)
        while out.pending:
            received += theirs.recv(1 << 20)
            out.flush()
        while len(received) < out.sent:
            received += theirs.recv(1 << 20)
        self.assertEqual(len(received), out.sent)
        # Decode what came: binary frames in order, a text one after each.
        got, pos = [], 0
        while pos < len(received):
            opcode, size = frames.declared(received[pos:])
            start = pos + {126: 4, 127: 10}.get(received[pos + 1], 2)
            got.append((opcode, received[start:start + size]))
            pos = start + size
        live = (0x1, b'{"nova_console": {"live": true}}')
        self.assertEqual([item for data in sent for item in ((0x2, data),
                                                             live)], got)


class PollCounter:
    """select.poll() objects that count their poll() calls."""

    def __init__(self):
        self.calls = 0
        self._real = select.poll

    def __call__(self):
        counter = self
        real = self._real()

        class Counted:
            def __getattr__(self, name):
                return getattr(real, name)

            def poll(self, *args):
                # The proxy's session threads only (not the client's).
                if threading.current_thread().name.startswith(
                        'serialproxy-'):
                    counter.calls += 1
                return real.poll(*args)
        return Counted()


class TestCopyLoop(base.ProxyTestCase):
    def test_keystroke_round_trip_is_two_poll_rounds(self):
        # The client's byte goes to the guest, and the guest's answer to
        # the client, as soon as each is read: one poll() wake-up each
        # (the loop used to wait a poll() round before each send).
        ws = self.connect(self.tokens.add(self.guest.port))
        ws.send_binary(b'warm')
        self.assertEqual(b'warm', base.recv_exactly(ws, 4))
        counter = PollCounter()
        rounds = 50
        with mock.patch('select.poll', counter):
            # A fresh session, so its loop uses the counted poll.
            ws.close(timeout=1)
            ws = self.connect(self.tokens.add(self.guest.port))
            ws.send_binary(b'k')
            self.assertEqual(b'k', base.recv_exactly(ws, 1))
            before = counter.calls
            for _ in range(rounds):
                ws.send_binary(b'k')
                self.assertEqual(b'k', base.recv_exactly(ws, 1))
            polls = counter.calls - before
        # Two per round trip, and some slack for a spurious wake-up.
        self.assertLessEqual(polls, rounds * 2 + 5)

    def test_large_messages_take_few_reads(self):
        counted = []
        real = frames.SessionSocket._recv

        def counting(ws):
            counted.append(1)
            return real(ws)

        self.useFixture(fixtures.MockPatchObject(
            frames.SessionSocket, '_recv', counting))
        self.flags(max_message_bytes=64 * KiB, group='serial_console')
        ws = self.connect(self.tokens.add(self.guest.port))
        # (No EOT byte: the echo guest hangs up on one.)
        data = bytes(range(5, 256)) * (64 * KiB // 251) + b'x' * 15
        for _ in range(16):   # 1 MiB
            ws.send_binary(data)
            self.assertEqual(data, base.recv_exactly(ws, len(data)))
        # websockify's 4 KiB reads took 256 or more; here one or two a
        # message (the pieces the kernel hands over).
        self.assertLess(len(counted), 64)


class SilentGuest(fixtures.Fixture):
    """A serial port that accepts and never reads."""

    def _setUp(self):
        self.lsock = socket.create_server(('127.0.0.1', 0))
        self.lsock.settimeout(base.TIMEOUT)
        self.addCleanup(self.lsock.close)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()

    def _accept(self):
        try:
            conn, _ = self.lsock.accept()
        except OSError:
            return
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.conns.append(conn)
        self.addCleanup(conn.close)


class TestBounds(base.ProxyTestCase):
    def test_a_guest_that_does_not_read_stops_the_client_being_read(self):
        guest = self.useFixture(SilentGuest())
        ws = self.connect(self.tokens.add(guest.port))
        sock = ws.sock
        sock.settimeout(1)
        chunk = client_frame(0x2, b'x' * (60 * KiB), b'\0\0\0\0')
        sent = 0
        try:
            while sent < 64 * 1024 * KiB:
                sock.sendall(chunk)
                sent += len(chunk)
        except TimeoutError:
            pass
        # Kernel buffers hold a few MiB; the proxy a read and a message.
        self.assertLess(sent, 32 * 1024 * KiB)

    def test_client_that_stops_reading_is_closed(self):
        # Before, a plain session waited for such a client for ever,
        # holding its thread and the guest's port.
        self.useFixture(fixtures.MockPatchObject(
            websocketproxy.SerialProxyRequestHandler, 'timeout', 1))
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(base.TIMEOUT)
        sock.connect(('127.0.0.1', self.proxy.port))
        ws = websocket.WebSocket(timeout=base.TIMEOUT)
        ws.connect(self.url(self.tokens.add(self.guest.port)), socket=sock)
        self.addCleanup(ws.close, timeout=1)
        # What the client sends comes back from the echo guest, and the
        # client reads none of it until it stopped sending.
        chunk = client_frame(0x2, b'y' * (60 * KiB), b'\0\0\0\0')
        sock.settimeout(1)
        try:
            for _ in range(1000):
                sock.sendall(chunk)
        except TimeoutError:
            pass
        # The session ends past the send timeout: the client, reading at
        # last, finds the end of the stream (the output it did not take
        # in time is dropped, so the frames before the end are cut).
        sock.settimeout(base.TIMEOUT)
        deadline = time.monotonic() + base.TIMEOUT * 2
        ended = False
        while time.monotonic() < deadline and not ended:
            try:
                ended = not sock.recv(1 << 20)
            except ConnectionResetError:
                ended = True
            except TimeoutError:
                break
        self.assertTrue(ended, 'the session is still open')
        self.assertIn('serial session read nothing for 1 s; closing it',
                      self.log.output)
