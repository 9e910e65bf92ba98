"""nova-serialproxy's history modes and viewers, end to end on 127.0.0.1.

A real proxy (see test_websocketproxy) with a fake compute API that
follows in-memory console logs (fake_follow) and a recording tcp server
for the guest's serial port.
"""

import base64
import datetime
import gc
import json
import os
import socket
import socketserver
import threading
import time
import uuid

import fixtures
import websocket
from websockify import websocket as ws_frames

from nova.console import acceptor
from nova.console import frames
from nova.console import history_session
from nova.console.tokens import ConnectInfo
from nova.console import viewers
from nova.console import websocketproxy
from nova import exception
from nova import test
from nova.tests.unit.console import fake_follow
from nova.tests.unit.console import test_proxy_limits
from nova.tests.unit.console import test_websocketproxy as helpers

TIMEOUT = helpers.TIMEOUT
READ_ONLY = 'serial-readonly'


class RecordingHandler(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server
        with server.lock:
            server.connections += 1
        self.request.settimeout(TIMEOUT * 4)
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                with server.lock:
                    server.received += data
                # Echoed like a guest's tty; a history session drops it.
                self.request.sendall(b'ECHO:' + data)
        except OSError:
            pass


class RecordingGuest(fixtures.Fixture):
    """A guest's serial port that records what it receives."""

    def _setUp(self):
        server = socketserver.ThreadingTCPServer(('127.0.0.1', 0),
                                                 RecordingHandler)
        server.daemon_threads = True
        server.connections = 0
        server.received = b''
        server.lock = threading.Lock()
        self.server = server
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.1}, daemon=True)
        thread.start()
        self.addCleanup(thread.join, TIMEOUT)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)

    @property
    def received(self):
        with self.server.lock:
            return self.server.received


class Session:
    """A websocket client that sorts what it gets into events."""

    def __init__(self, ws):
        self.ws = ws
        self.events = []  # dicts (text frames) and bytes
        self.close = None

    @property
    def data(self):
        return b''.join(e for e in self.events if isinstance(e, bytes))

    @property
    def header(self):
        return self.events[0]['nova_console']

    def read(self):
        opcode, data = self.ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_TEXT:
            self.events.append(json.loads(data))
        elif opcode == websocket.ABNF.OPCODE_BINARY:
            self.events.append(data)
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            self.close = (int.from_bytes(data[:2], 'big'),
                          data[2:].decode())
        return opcode

    def until(self, predicate, what='data'):
        deadline = time.monotonic() + TIMEOUT
        while not predicate(self):
            if self.close or time.monotonic() > deadline:
                raise AssertionError('%s not received (close %r): %r'
                                     % (what, self.close, self.events[-5:]))
            self.read()

    def until_live(self):
        self.until(lambda s: {'nova_console': {'live': True}} in s.events,
                   'the live marker')

    def until_close(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while self.close is None:
            if time.monotonic() > deadline:
                raise AssertionError('no close frame: %r' % self.events[-5:])
            self.read()
        return self.close

    def history(self):
        """Events between the header and the live marker."""
        return self.events[1:self.events.index(
            {'nova_console': {'live': True}})]


class ViewersTestCase(helpers.ProxyTestCase):
    def fake_consoles(self):
        return fake_follow.FakeFollowAPI()

    def setUp(self):
        super().setUp()
        self.guest = self.useFixture(RecordingGuest())
        self.uuid = str(uuid.uuid4())

    def token(self, console_type='serial', instance=None, port=None):
        token = str(uuid.uuid4())
        self.tokens.infos[token] = ConnectInfo(
            instance_uuid=instance or self.uuid, console_type=console_type,
            host='127.0.0.1', port=port or self.guest.port,
            expires_at=helpers.now() + datetime.timedelta(seconds=600))
        return token

    def open(self, console_type='serial', query='', **kwargs):
        url = '%s%s' % (self.url(self.token(console_type, **kwargs)), query)
        ws = websocket.create_connection(url, timeout=TIMEOUT)
        self.addCleanup(ws.close, timeout=1)
        return Session(ws)

    def viewer(self, query='', **kwargs):
        return self.open(READ_ONLY, query, **kwargs)


class TestViewer(ViewersTestCase):
    def test_history_then_live(self):
        self.compute.write(self.uuid, b'boot line 1\r\nboot line 2\r\n')
        view = self.viewer()
        view.until_live()
        self.assertEqual({'mode': 'read-only', 'instance_uuid': self.uuid,
                          'history_bytes': 26}, view.header)
        self.assertEqual([b'boot line 1\r\nboot line 2\r\n'], view.history())
        self.compute.write(self.uuid, b'login: ')
        view.until(lambda s: s.data.endswith(b'login: '))
        self.assertEqual(b'login: ', view.events[-1])
        # Checked like any console: token, then its port, for its type.
        self.assertEqual(READ_ONLY, self.compute.calls[-1][-1])

    def test_never_connects_to_the_guest_and_drops_input(self):
        self.compute.write(self.uuid, b'$ ')
        view = self.viewer()
        view.until_live()
        view.ws.send_binary(b'rm -rf /\r')
        view.ws.send(b'reboot\r'.decode())  # a text frame too
        view.ws.ping(b'still there?')
        # Still served after dropping them: a marker written now arrives.
        self.compute.write(self.uuid, b'MARK')
        view.until(lambda s: s.data.endswith(b'MARK'))
        self.assertIsNone(view.close)
        self.assertEqual(0, self.guest.server.connections)
        self.assertEqual(b'', self.guest.received)
        self.assertIn('viewer of instance %s' % self.uuid, self.log.output)
        view.ws.close(timeout=TIMEOUT)
        helpers_wait(lambda: 'sent 16 bytes; dropped' in self.log.output)

    def test_history_parameter(self):
        self.compute.write(self.uuid, b'0123456789')
        view = self.viewer('&history=4')
        view.until_live()
        self.assertEqual(4, view.header['history_bytes'])
        self.assertEqual([b'6789'], view.history())

    def test_viewers_see_the_same_bytes(self):
        views = [self.viewer('&history=0') for _ in range(3)]
        for view in views:
            view.until_live()
        for n in range(20):
            self.compute.write(self.uuid, b'line %d\n' % n)
        expected = b''.join(b'line %d\n' % n for n in range(20))
        for view in views:
            view.until(lambda s: s.data == expected)
        self.assertEqual(1, len(self.compute.open_followers(self.uuid)))

    def test_resume_after(self):
        self.compute.write(self.uuid, b'one\nMARK two\nMARK three\n')
        after = base64.urlsafe_b64encode(b'MARK').decode().rstrip('=')
        view = self.viewer('&after=' + after)
        view.until_live()
        self.assertEqual([b' three\n'], view.history())
        self.assertEqual(7, view.header['history_bytes'])

    def test_after_not_found_is_a_gap(self):
        self.compute.write(self.uuid, b'0123456789')
        after = base64.urlsafe_b64encode(b'missing').decode()
        view = self.viewer('&history=3&after=' + after)
        view.until_live()
        self.assertEqual([{'nova_console': {'gap': True}}, b'789'],
                         view.history())

    def test_gap_in_live_output(self):
        view = self.viewer()
        view.until_live()
        self.compute.write(self.uuid, b'a')
        view.until(lambda s: s.data == b'a')
        self.compute.write(self.uuid, b'b', gap=True)
        view.until(lambda s: s.data == b'ab')
        self.assertEqual([b'a', {'nova_console': {'gap': True}}, b'b'],
                         view.events[-3:])


class TestInteractiveWithHistory(ViewersTestCase):
    def test_output_from_the_log_input_to_the_guest(self):
        self.compute.write(self.uuid, b'history\n')
        term = self.open(query='&history=100')
        term.until_live()
        self.assertEqual({'mode': 'interactive', 'instance_uuid': self.uuid,
                          'history_bytes': 8}, term.header)
        term.ws.send_binary(b'uname\r')
        helpers_wait(lambda: self.guest.received == b'uname\r')
        # The guest's own echo on its tcp port is dropped; what the log
        # gets (the same bytes in a real guest) is shown.
        self.compute.write(self.uuid, b'Linux\r\n')
        term.until(lambda s: s.data.endswith(b'Linux\r\n'))
        self.assertNotIn(b'ECHO', term.data)
        self.assertEqual(1, self.guest.server.connections)

    def test_guest_port_closing_ends_the_session(self):
        listener = socket.create_server(('127.0.0.1', 0))
        self.addCleanup(listener.close)
        term = self.open(query='&history=0',
                         port=listener.getsockname()[1])
        term.until_live()
        conn, _ = listener.accept()
        conn.close()  # QEMU went away
        self.assertEqual((1000, 'Target closed'), term.until_close())

    def test_after_alone_selects_the_mode(self):
        self.compute.write(self.uuid, b'abc')
        term = self.open(query='&after=' + base64.urlsafe_b64encode(
            b'b').decode())
        term.until_live()
        self.assertEqual('interactive', term.header['mode'])
        self.assertEqual([b'c'], term.history())

    def test_viewer_keystrokes_never_reach_the_guest(self):
        term = self.open(query='&history=0')
        view = self.viewer()
        term.until_live()
        view.until_live()
        view.ws.send_binary(b'VIEWER')
        term.ws.send_binary(b'TERM')
        helpers_wait(lambda: self.guest.received == b'TERM')
        self.compute.write(self.uuid, b'TERM echoed')
        for session in (term, view):
            session.until(lambda s: s.data.endswith(b'TERM echoed'))
        self.assertEqual(b'TERM', self.guest.received)


class TestPlainSerial(ViewersTestCase):
    def test_no_text_frames_and_no_follow(self):
        session = self.open()
        session.ws.send_binary(b'raw')
        session.until(lambda s: s.data == b'ECHO:raw')
        self.assertTrue(all(isinstance(e, bytes) for e in session.events))
        self.assertEqual([], self.compute.follow_calls)


class TestOneInteractiveSession(ViewersTestCase):
    def assert_busy(self, session):
        self.assertEqual((4409, 'An interactive session is already open on '
                          'this console; open a read-only viewer to watch '
                          'it'), session.until_close())

    def test_second_plain_session_is_refused_at_once(self):
        first = self.open()
        first.ws.send_binary(b'x')
        first.until(lambda s: s.data == b'ECHO:x')
        started = time.monotonic()
        self.assert_busy(self.open())
        self.assert_busy(self.open(query='&history=10'))
        self.assertLess(time.monotonic() - started, TIMEOUT)
        # The first one is untouched, and viewers are still welcome.
        first.ws.send_binary(b'y')
        first.until(lambda s: s.data == b'ECHO:xECHO:y')
        self.viewer().until_live()
        self.assertEqual(1, self.guest.server.connections)

    def test_history_session_holds_the_port_too(self):
        self.open(query='&history=10').until_live()
        self.assert_busy(self.open())

    def test_port_is_free_again_after_the_session(self):
        first = self.open()
        first.ws.send_binary(b'x')
        first.until(lambda s: s.data == b'ECHO:x')
        first.ws.close(timeout=TIMEOUT)
        helpers_wait(lambda: not self.proxy.server._ports)
        second = self.open()
        second.ws.send_binary(b'z')
        second.until(lambda s: s.data == b'ECHO:z')


class TestParameters(ViewersTestCase):
    def assert_refused(self, query, name):
        data = self.raw('/?token=%s%s' % (self.token(), query))
        status = data.split(b'\r\n', 1)[0]
        self.assertEqual(b'HTTP/1.1 400 Bad %s parameter' % name.encode(),
                         status, data)
        self.assertIn(name.encode(), data.split(b'\r\n\r\n', 1)[1])
        self.assertNotIn(b'Upgrade', data)

    def test_bad_history(self):
        for value in ('-1', '102401', 'ten', '', '1e3', '%201'):
            self.assert_refused('&history=' + value, 'history')
        self.assert_refused('&history=1&history=2', 'history')

    def test_bad_after(self):
        too_long = base64.urlsafe_b64encode(b'x' * 1025).decode()
        for value in ('', '***', 'Y', 'YWI==', too_long, '%2F%2F%2F%2F'):
            self.assert_refused('&after=' + value, 'after')
        self.assert_refused('&after=YQ&after=YQ', 'after')

    def test_refused_before_the_token_is_looked_at(self):
        self.assert_refused('&history=x', 'history')
        self.assertEqual([], self.tokens.calls)

    def test_bounds_accepted(self):
        self.compute.write(self.uuid, b'x' * 200000)
        view = self.viewer('&history=102400')
        view.until_live()
        self.assertEqual(102400, view.header['history_bytes'])
        view = self.viewer('&history=0')
        view.until_live()
        self.assertEqual(0, view.header['history_bytes'])


class TestHardening(ViewersTestCase):
    def test_origin_is_checked_before_the_token(self):
        url = self.url(self.token(READ_ONLY)) + '&history=5'
        ws = websocket.create_connection(url, timeout=TIMEOUT,
                                         origin='http://evil.example')
        self.addCleanup(ws.close, timeout=1)
        self.assertEqual((1008, websocketproxy.REFUSED_ORIGIN),
                         Session(ws).until_close())
        self.assertEqual([], self.tokens.calls)
        self.assertEqual([], self.compute.follow_calls)

    def test_token_refusals_are_identical(self):
        stale = self.token(READ_ONLY)
        self.compute.results[self.uuid] = False  # its port moved
        other = self.token('novnc', instance=str(uuid.uuid4()))
        for token in (stale, other, str(uuid.uuid4()),
                      self.token(READ_ONLY)[:-1]):
            ws = websocket.create_connection(
                self.url(token) + '&history=1', timeout=TIMEOUT)
            self.addCleanup(ws.close, timeout=1)
            self.assertEqual((1008, websocketproxy.REFUSED_TOKEN),
                             Session(ws).until_close())
        self.assertEqual([], self.compute.follow_calls)
        self.assertEqual(0, self.guest.server.connections)

    def test_after_is_never_logged(self):
        # after= is console output the user saw: no more loggable than the
        # token, however its name is spelled in the query.
        secret = b'root password is hunter2'
        after = base64.urlsafe_b64encode(secret).decode().rstrip('=')
        self.compute.write(self.uuid, b'login: ' + secret + b'\r\n$ ')
        for name in ('after', '%61fter', 'AFTER'):
            view = self.viewer('&%s=%s' % (name, after))
            view.until(lambda s: s.close or s.events, 'the header')
            view.ws.close(timeout=TIMEOUT)
        helpers_wait(lambda: self.proxy.server.hubs.viewers == 0)
        self.assertIn('after=***', self.log.output)
        self.assertNotIn(after, self.log.output)

    def test_viewers_count_against_the_connection_caps(self):
        self.flags(max_connections=2, group='serial_console')
        self.viewer().until_live()
        self.viewer().until_live()
        sock = socket.create_connection(('127.0.0.1', self.proxy.port),
                                        timeout=TIMEOUT)
        self.addCleanup(sock.close)
        sock.sendall(b'GET /?token=x HTTP/1.1\r\n')
        self.assertIn(b'HTTP/1.1 503 ', test_proxy_limits.closed_by_peer(
            sock))


class TestHubPerConsolePort(ViewersTestCase):
    def test_a_token_for_another_port_gets_its_own_hub(self):
        # After a live migration the new token names the destination's
        # port: its viewer must not join the old host's hub (which would
        # end it with 4000 a moment later).
        old = self.viewer()
        old.until_live()
        new = self.viewer(port=self.guest.port + 1)
        new.until_live()
        hubs = self.proxy.server.hubs
        old_hub = hubs.get(self.uuid, ('127.0.0.1', self.guest.port))
        new_hub = hubs.get(self.uuid, ('127.0.0.1', self.guest.port + 1))
        self.assertIsNotNone(old_hub)
        self.assertIsNotNone(new_hub)
        self.assertIsNot(old_hub, new_hub)


class TestLimitsAndEnds(ViewersTestCase):
    def test_viewers_per_instance(self):
        self.flags(max_viewers_per_instance=2, group='serial_console')
        self.viewer().until_live()
        self.viewer().until_live()
        self.assertEqual((4429, 'Too many viewers'),
                         self.viewer().until_close())
        self.viewer(instance=str(uuid.uuid4())).until_live()

    def test_viewers_in_total(self):
        self.flags(max_viewers=1, group='serial_console')
        self.viewer().until_live()
        self.assertEqual((4429, 'Too many viewers'),
                         self.viewer(instance=str(uuid.uuid4())).until_close())

    def test_hub_end_is_4000_after_the_last_bytes(self):
        view = self.viewer()
        view.until_live()
        self.compute.write(self.uuid, b'Power down.\r\n')
        self.compute.leave(self.uuid)
        self.assertEqual((4000, 'The console moved or the instance is gone: '
                          'ask for a new console URL'), view.until_close())
        self.assertTrue(view.data.endswith(b'Power down.\r\n'))

    def test_last_viewer_leaving_ends_the_follow(self):
        views = [self.viewer(), self.viewer()]
        for view in views:
            view.until_live()
        fid = self.compute.open_followers(self.uuid)[0]
        for view in views:
            view.ws.close(timeout=TIMEOUT)
        helpers_wait(lambda: self.compute.ended_follows)
        self.assertEqual([(self.uuid, fake_follow.HOST, fid)],
                         self.compute.ended_follows)
        self.assertEqual(0, self.proxy.server.hubs.viewers)

    def test_slow_viewer_is_closed_others_go_on(self):
        self.flags(viewer_backlog_bytes=256 * 1024, group='serial_console')
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(TIMEOUT)
        slow.connect(('127.0.0.1', self.proxy.port))
        ws = websocket.WebSocket(timeout=TIMEOUT)
        ws.connect(self.url(self.token(READ_ONLY)) + '&history=0',
                   socket=slow)
        self.addCleanup(ws.close, timeout=1)
        # The slow one's subscription, known before the fast one's: its
        # end is looked at, not the hub's list, which it leaves as soon as
        # its thread sees the end (a busy test thread may look later).
        hubs = self.proxy.server.hubs
        target = ('127.0.0.1', self.guest.port)   # where token() leads
        helpers_wait(lambda: hubs.get(self.uuid, target) and
                     len(hubs.get(self.uuid, target).subscribers) == 1)
        hub = hubs.get(self.uuid, target)
        [slow_sub] = list(hub.subscribers)
        fast = self.viewer('&history=0')
        fast.until_live()
        [fast_sub] = list(hub.subscribers - {slow_sub})
        # Its close frame waits behind what its socket holds until this
        # thread reads it, however late: not the proxy's few seconds.
        self.useFixture(fixtures.MockPatch(
            'nova.console.frames.CLOSE_SEND_TIMEOUT', TIMEOUT * 6))
        chunk = b'y' * 64 * 1024
        total = 0
        # The slow one reads nothing while the guest writes plenty.
        while slow_sub.end is None:
            self.compute.write(self.uuid, chunk)
            total += len(chunk)
            fast.until(lambda s: len(s.data) == total)
            self.assertLess(total, 64 * 1024 * 1024, 'never dropped')
        self.assertIsNone(fast_sub.end)
        slow_session = Session(ws)
        # All it was sent first, through a 4 KiB receive buffer.
        self.assertEqual((4008, 'Too slow: fell more than 262144 bytes '
                          'behind'), slow_session.until_close(TIMEOUT * 6))
        self.compute.write(self.uuid, b'more')
        fast.until(lambda s: s.data.endswith(b'more'))

    def test_clean_close_is_the_sessions_end(self):
        # The client's close frame, answered: websockify has closed the
        # socket by then, and that is an ordinary end, not an error.
        ended = 'session to instance %s ended: close code 1000' % self.uuid
        for count, (query, mode) in enumerate(
                (('', READ_ONLY), ('&history=0', 'serial')), 1):
            session = self.open(mode, query)
            session.until_live()
            session.ws.close(timeout=TIMEOUT)
            helpers_wait(lambda: not self.proxy.server._clients)
            self.assertEqual(count, self.log.output.count(ended))
        self.assertNotIn('Bad file descriptor', self.log.output)
        self.assertNotIn('ended by their clients', self.log.output)

    def test_each_mode_fits_the_descriptor_budget(self):
        # What a session of each mode holds in the proxy, found in this
        # process's descriptors: sockets accepted on the proxy's port or
        # connected to the guest's (by inode, from /proc/net/tcp), and
        # eventfds (fewer or more of those in other threads is noise the
        # delta leaves out: none is opened here meanwhile).
        held = {}
        for name, query, mode in (('plain', '', 'serial'),
                                  ('viewer', '', READ_ONLY),
                                  ('history', '&history=0', 'serial')):
            eventfds = proxy_fds(self.proxy.port, self.guest.port)[2]
            session = self.open(mode, query)
            if name == 'plain':
                session.ws.send_binary(b'x')
                helpers_wait(lambda: self.guest.received.endswith(b'x'))
            else:
                session.until_live()
            clients, guests, now = proxy_fds(self.proxy.port,
                                             self.guest.port)
            held[name] = clients + guests + now - eventfds
            session.ws.close(timeout=TIMEOUT)
            helpers_wait(lambda: not self.proxy.server._clients)
        self.assertEqual({'plain': 2, 'viewer': 2, 'history': 3}, held)
        self.assertEqual(max(held.values()), acceptor.SESSION_FDS)

    def test_stop_closes_viewers_with_1001(self):
        view = self.viewer()
        view.until_live()
        self.proxy.stop()
        self.assertEqual((1001, websocketproxy.SHUTTING_DOWN),
                         view.until_close())

    def test_no_log_to_follow(self):
        self.compute.errors[self.uuid] = (
            exception.ConsoleLogFollowUnavailable(instance_uuid=self.uuid,
                                                  reason='a pty'))
        self.assertEqual((1011, viewers.NO_LOG), self.viewer().until_close())


def frame_header(opcode, length, fin=True):
    """A masked frame header (mask 0: payload bytes go as they are)."""
    first = opcode | (0x80 if fin else 0)
    if length < 126:
        size = bytes([0x80 | length])
    elif length < 1 << 16:
        size = bytes([0x80 | 126]) + length.to_bytes(2, 'big')
    else:
        size = bytes([0x80 | 127]) + length.to_bytes(8, 'big')
    return bytes([first]) + size + b'\0' * 4


class TestClientMessageCap(ViewersTestCase):
    """[serial_console] max_message_bytes in every kind of session: a
    message (all its fragments) or frame over it is refused with 1009 from
    its header, before its bytes are held."""

    CAP = 64 * 1024
    MODES = (('plain', lambda t: t.open()),
             ('history', lambda t: t.open(query='&history=0')),
             ('viewer', lambda t: t.viewer()))

    def setUp(self):
        super().setUp()
        self.compute.write(self.uuid, b'$ ')
        # Each refusal is an ordinary session end, never an error.
        self.addCleanup(lambda: self.assertNotIn('Traceback',
                                                 self.log.output))

    def cap(self):
        self.flags(max_message_bytes=self.CAP, group='serial_console')

    def started(self, mode, opener):
        session = opener(self)
        if mode != 'plain':
            session.until_live()
        return session

    def assert_too_big(self, session):
        self.assertEqual(
            (1009, 'Message too big: over %d bytes' % self.CAP),
            session.until_close())

    def test_unfinished_message_over_the_cap(self):
        self.cap()
        for mode, opener in self.MODES:
            session = self.started(mode, opener)
            sock = session.ws.sock
            piece = 16 * 1024
            sock.sendall(frame_header(0x2, piece, fin=False) + b'x' * piece)
            for _ in range(self.CAP // piece - 1):
                sock.sendall(frame_header(0x0, piece, fin=False) +
                             b'x' * piece)
            # The cap is reached: the next header is refused, payload or
            # not (none is sent, so the close frame is not lost to a reset).
            sock.sendall(frame_header(0x0, 1, fin=False))
            self.assert_too_big(session)

    def test_frame_claiming_more_than_the_cap(self):
        self.cap()
        for mode, opener in self.MODES:
            for opcode in (0x1, 0x2):
                if opcode == 0x1 and mode != 'viewer':
                    continue  # text frames are a viewer's data only
                session = self.started(mode, opener)
                session.ws.sock.sendall(frame_header(opcode, 1 << 30))
                self.assert_too_big(session)

    def test_control_frame_over_125_bytes(self):
        for mode, opener in self.MODES:
            session = self.started(mode, opener)
            session.ws.sock.sendall(frame_header(0x9, 126) + b'p' * 126)
            self.assertEqual((1002, 'Control frame over 125 bytes'),
                             session.until_close())

    def test_message_at_the_cap_reaches_the_guest(self):
        self.cap()
        for mode, opener in self.MODES[:2]:
            received = len(self.guest.received)
            session = self.started(mode, opener)
            piece = self.CAP // 4
            for i in range(4):
                session.ws.send_frame(websocket.ABNF.create_frame(
                    b'k' * piece, websocket.ABNF.OPCODE_BINARY if i == 0
                    else websocket.ABNF.OPCODE_CONT, fin=int(i == 3)))
            helpers_wait(lambda: len(self.guest.received) ==
                         received + self.CAP)
            session.ws.close(timeout=TIMEOUT)

    def test_viewer_input_is_dropped_as_it_arrives(self):
        view = self.started('viewer', lambda t: t.viewer())
        for i in range(4):
            view.ws.send_frame(websocket.ABNF.create_frame(
                b'v' * 1000, websocket.ABNF.OPCODE_TEXT if i == 0
                else websocket.ABNF.OPCODE_CONT, fin=0))
        view.ws.ping(b'still here')
        self.assertEqual(websocket.ABNF.OPCODE_PONG, view.read())
        # Nothing of the unfinished message is held, only counted.
        [handler_socket] = self.session_sockets()
        self.assertEqual(b'', handler_socket._partial_msg)
        self.assertEqual(4000, handler_socket.dropped)

    def test_pings_without_reading_queue_a_bounded_reply(self):
        # A viewer that pings and never reads: the pongs the proxy cannot
        # send stop it reading more pings, instead of piling up.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TIMEOUT)
        sock.connect(('127.0.0.1', self.proxy.port))
        ws = websocket.WebSocket(timeout=TIMEOUT)
        ws.connect(self.url(self.token(READ_ONLY)), socket=sock)
        self.addCleanup(ws.close, timeout=1)
        Session(ws).until_live()
        ping = frame_header(0x9, 125) + b'p' * 125
        sock.settimeout(1)
        sent = 0
        try:
            while sent < 16 * 1024 * 1024:
                sock.sendall(ping * 64)
                sent += len(ping) * 64
        except TimeoutError:
            pass  # the proxy stopped reading: what we want
        self.assertLess(sent, 16 * 1024 * 1024, 'every ping taken')
        [session] = self.session_sockets()
        self.assertLess(len(session._send_buffer),
                        history_session.IN_STOP_PENDING + 64 * 1024)

    def session_sockets(self):
        return [obj for obj in gc.get_objects()
                if isinstance(obj, frames.SessionSocket) and
                obj.socket is not None and obj.socket.fileno() != -1]

    def test_flood_is_refused_in_every_mode(self):
        # With the default cap: a client sending a never-ending message,
        # or a frame claiming 1 GiB, is closed long before 32 MiB.
        chunk = b'x' * (60 * 1024)  # 16-bit length form
        for mode, opener in self.MODES:
            for start in (frame_header(0x2, 1 << 30),
                          frame_header(0x2, len(chunk), fin=False)):
                session = self.started(mode, opener)
                sock = session.ws.sock
                sock.settimeout(TIMEOUT)
                sent = 0
                try:
                    sock.sendall(start + chunk)
                    while sent * len(chunk) < 32 * 1024 * 1024:
                        if start[1] & 0x7f == 126:
                            sock.sendall(frame_header(
                                0x0, len(chunk), fin=False))
                        sock.sendall(chunk)
                        sent += 1
                    self.fail('%s: 32 MiB taken' % mode)
                except TimeoutError:
                    self.fail('%s: neither read nor closed' % mode)
                except OSError:
                    pass  # refused: closed or reset


def proxy_fds(proxy_port, guest_port):
    """(sockets accepted on proxy_port, sockets connected to guest_port,
    eventfds) among this process's descriptors."""
    ports = {}  # socket inode: (local port, remote port)
    with open('/proc/self/net/tcp') as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = (int(a.split(':')[1], 16) for a in fields[1:3])
            ports[fields[9]] = (local, remote)
    clients = guests = eventfds = 0
    for fd in os.listdir('/proc/self/fd'):
        try:
            link = os.readlink('/proc/self/fd/' + fd)
        except OSError:
            continue  # closed meanwhile
        if link == 'anon_inode:[eventfd]':
            eventfds += 1
        elif link.startswith('socket:['):
            local, remote = ports.get(link[8:-1], (None, None))
            clients += local == proxy_port and remote != 0
            guests += remote == guest_port
    return clients, guests, eventfds


def helpers_wait(predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('condition not met within %s s' % timeout)
        time.sleep(0.02)


class TestViewerChurn(ViewersTestCase):
    """A client that opens and closes viewers of one console in a loop."""

    def fake_consoles(self):
        # A compute host that long-polls as a real one does.
        return fake_follow.FakeFollowAPI(max_wait=viewers.FOLLOW_WAIT)

    def hub_threads(self):
        name = 'console-hub-%s' % self.uuid
        return [t for t in threading.enumerate()
                if t.name == name and t.is_alive()]

    def test_churn_does_not_pile_up_hub_threads_and_followers(self):
        # Each viewer that leaves stops its hub while the hub's long-poll
        # is in flight: neither that thread nor its follower on the
        # compute host (and its waiting slot) may outlive it for the
        # poll's whole wait while the next viewer starts another.
        for _ in range(20):
            session = self.viewer()
            session.until_live()
            helpers_wait(lambda: any(call[5] for call in
                                     self.compute.follow_calls
                                     if call[3] is not None))
            session.ws.close(timeout=1)
            helpers_wait(lambda: self.proxy.server.hubs.viewers == 0)
            self.compute.follow_calls[:] = []
            self.assertLessEqual(len(self.hub_threads()), 2)
            self.assertLessEqual(
                len(self.compute.open_followers(self.uuid)), 1)
        helpers_wait(lambda: not self.hub_threads())
        self.assertEqual([], self.compute.open_followers(self.uuid))


class TestStalledClient(ViewersTestCase):
    """A history-mode client that stops reading (its TCP window shut).

    Its socket is non-blocking while the session runs, so the send
    timeout of a plain session does not bound it: the session's own
    deadlines do. Both are shortened here.
    """

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'nova.console.websocketproxy.SerialProxyRequestHandler.timeout',
            1))
        self.useFixture(fixtures.MockPatch(
            'nova.console.frames.CLOSE_SEND_TIMEOUT', 1))
        # Far above what is written: the 4008 backlog cap never fires,
        # only a deadline can end the session.
        self.flags(viewer_backlog_bytes=256 * 1024 * 1024,
                   group='serial_console')

    def stalled(self, console_type):
        """A client that does the handshake, then never reads again."""
        query = '' if console_type == READ_ONLY else '&history=0'
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TIMEOUT)
        sock.connect(('127.0.0.1', self.proxy.port))
        self.addCleanup(sock.close)
        sock.sendall((
            'GET /?token=%s%s HTTP/1.1\r\nHost: 127.0.0.1\r\n'
            'Upgrade: websocket\r\nConnection: Upgrade\r\n'
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
            'Sec-WebSocket-Version: 13\r\n\r\n'
            % (self.token(console_type), query)).encode())
        head = b''
        while b'\r\n\r\n' not in head:
            head += sock.recv(1)
        self.assertIn(b' 101 ', head.split(b'\r\n')[0])

    def flood(self):
        # Far more than the loopback socket buffers hold: the output to
        # the stalled client cannot drain.
        helpers_wait(lambda: self.compute.open_followers(self.uuid))
        chunk = b'x' * 64 * 1024
        for _ in range(256):    # 16 MiB
            self.compute.write(self.uuid, chunk)

    def assert_freed(self, baseline):
        """The session's thread, connection, eventfd and slot are gone."""
        server = self.proxy.server
        helpers_wait(lambda: server.hubs.viewers == 0 and
                     not server._clients, timeout=TIMEOUT * 3)
        helpers_wait(lambda: proxy_fds(self.proxy.port, self.guest.port) ==
                     (0, 0, baseline))

    def _stalled_is_closed(self, console_type, end_hub=False):
        baseline = proxy_fds(self.proxy.port, self.guest.port)[2]
        self.stalled(console_type)
        self.flood()
        if end_hub:
            self.compute.leave(self.uuid)
        self.assert_freed(baseline)

    def test_stalled_viewer_is_closed(self):
        self._stalled_is_closed(READ_ONLY)
        self.assertIn('read nothing for 1 s; closing it', self.log.output)

    def test_stalled_interactive_with_history_is_closed(self):
        self._stalled_is_closed('serial')
        self.assertIn('read nothing for 1 s; closing it', self.log.output)

    def test_stalled_viewer_is_dropped_after_its_hub_ended(self):
        # No send deadline would fire (an hour): the hub's end does, after
        # CLOSE_SEND_TIMEOUT for the rest to drain.
        self.useFixture(fixtures.MockPatch(
            'nova.console.websocketproxy.SerialProxyRequestHandler.timeout',
            3600))
        self._stalled_is_closed(READ_ONLY, end_hub=True)
        self.assertIn('ended: close code 4000', self.log.output)


class TestClientTextInLogs(ViewersTestCase):
    """What a client sends reaches the log escaped: no forged lines."""

    FORGED = 'CRITICAL nova.console.forged token=stolen accepted'

    def assert_no_forged_line(self):
        helpers_wait(lambda: 'ended: close code 1000' in self.log.output)
        self.assertNotIn(self.FORGED, self.log.output.splitlines())
        self.assertIn('bye\\x0aCRITICAL', self.log.output)

    def test_viewer_close_reason(self):
        session = self.viewer()
        session.until_live()
        session.ws.close(status=1000, reason=('bye\n' + self.FORGED).encode())
        self.assert_no_forged_line()

    def test_interactive_with_history_close_reason(self):
        session = self.open(query='&history=0')
        session.until_live()
        session.ws.close(status=1000, reason=('bye\n' + self.FORGED).encode())
        self.assert_no_forged_line()

    def test_plain_session_close_reason(self):
        session = self.open()
        session.ws.close(status=1000, reason=('bye\n' + self.FORGED).encode())
        self.assert_no_forged_line()

    def test_path(self):
        # websockify logs the path; an escape sequence in it would reach
        # an operator's terminal.
        session = self.open(query='&x=\x1b[2J\x1b[31mfake')
        session.ws.close(status=1000)
        helpers_wait(lambda: 'ended: close code 1000' in self.log.output)
        self.assertIn('\\x1b[2J', self.log.output)
        self.assertNotIn('\x1b', self.log.output)


class TestFrameWriterProgress(test.TestCase):
    """FrameWriter.sent: what a stalled client's deadline watches."""

    def test_sent_counts_what_the_socket_took(self):
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        self.addCleanup(theirs.close)
        ours.setblocking(False)
        ws = ws_frames.WebSocket()
        ws.socket, ws.client = ours, False   # as accept() leaves them
        out = frames.FrameWriter(ws)
        out.binary(b'x' * 10)
        out.text({'live': True})
        self.assertEqual(0, out.pending)
        self.assertEqual(len(theirs.recv(4096)), out.sent)
        # Nothing read on the other side: the socket fills, and only
        # what it took is counted.
        while not out.pending:
            out.binary(b'y' * 70000)
        stuck = out.sent
        out.flush()
        self.assertEqual(stuck, out.sent)
        theirs.setblocking(False)
        while True:
            try:
                theirs.recv(1 << 20)
            except BlockingIOError:
                break
        out.flush()
        self.assertGreater(out.sent, stuck)
