"""nova-serialproxy on 127.0.0.1: a real proxy, guest port and client.

The proxy serves in a thread of the test process; a tcp echo server stands
in for the guest's serial port; clients are websocket-client and, where
every byte the client gets matters, a raw socket. The token store and the
console API are fakes keeping to their contracts, given to the proxy as
nova-serialproxy gives it the real ones.
"""

import datetime
import logging
import os
import re
import socket
import socketserver
import struct
import threading
import time
import uuid

import fixtures
import websocket
from websockify import websocketproxy as websockify_proxy

import nova.conf
from nova import context
from nova.console import api as console_api
from nova.console import frames
from nova.console.tokens import ConnectInfo
from nova.console import websocketproxy
from nova import exception
from nova import test

CONF = nova.conf.CONF
TIMEOUT = 5
# A fixed Sec-WebSocket-Key makes whole raw responses comparable.
WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='


def now():
    return datetime.datetime.now(datetime.timezone.utc)


class FakeTokens:
    """``nova.console.tokens.validate`` as its contract says."""

    def __init__(self):
        self.infos = {}
        self.calls = []
        self.error = None

    def add(self, port, console_type='serial', ttl=600, token=None):
        token = token or str(uuid.uuid4())
        self.infos[token] = ConnectInfo(
            instance_uuid=str(uuid.uuid4()), console_type=console_type,
            host='127.0.0.1', port=port,
            expires_at=now() + datetime.timedelta(seconds=ttl))
        return token

    def validate(self, token):
        self.calls.append(token)
        if self.error is not None:
            raise self.error
        info = self.infos.get(token)
        if info is None or info.expires_at <= now():
            raise exception.InvalidToken()
        return info


class FakeComputeAPI:
    """The proxy's console API (``nova.console.api.API``):
    ``validate_console_port`` True unless told otherwise per instance."""

    def __init__(self):
        self.calls = []
        self.results = {}

    def validate_console_port(self, ctxt, instance_uuid, host, port,
                              console_type):
        self.calls.append((ctxt, instance_uuid, host, port, console_type))
        result = self.results.get(instance_uuid, True)
        if isinstance(result, Exception):
            raise result
        return result


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.connections += 1
        self.request.settimeout(TIMEOUT * 4)
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                # EOT: the guest hangs up after echoing.
                self.request.sendall(data)
                if b'\x04' in data:
                    break
        except OSError:
            pass
        finally:
            self.server.closed.set()


class GuestSerialPort(fixtures.Fixture):
    """A tcp echo server standing in for a guest's serial port."""

    def _setUp(self):
        server = socketserver.ThreadingTCPServer(('127.0.0.1', 0),
                                                 EchoHandler)
        server.daemon_threads = True
        server.connections = 0
        server.closed = threading.Event()
        self.server = server
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.1}, daemon=True)
        thread.start()
        self.addCleanup(thread.join, TIMEOUT)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)

    @property
    def connections(self):
        return self.server.connections


def make_server(consoles=None, tokens=None):
    """make_server() on fakes: no compute RPC client, no token store."""
    return websocketproxy.make_server(
        CONF, None, tokens or FakeTokens(),
        consoles=consoles or FakeComputeAPI())


class ProxyServer(fixtures.Fixture):
    """make_server() serving in a thread; stopped and checked at cleanup."""

    def __init__(self, consoles, tokens):
        super().__init__()
        self.consoles = consoles
        self.tokens = tokens

    def _setUp(self):
        self.server = make_server(self.consoles, self.tokens)
        self.port = self.server.listen()[1]
        self.thread = threading.Thread(target=self.server.start_server,
                                       daemon=True)
        self.thread.start()
        self.addCleanup(self.stop)

    def stop(self):
        self.server.request_stop('test over')
        self.thread.join(websocketproxy.STOP_GRACE * 2 + TIMEOUT)
        if self.thread.is_alive():
            raise AssertionError('the proxy did not stop')


def close_frame(ws):
    """(code, reason) of the next frame, which must be a close frame."""
    frame = ws.recv_frame()
    if frame.opcode != websocket.ABNF.OPCODE_CLOSE:
        raise AssertionError('expected a close frame, got opcode %s: %r'
                             % (frame.opcode, frame.data[:100]))
    code, = struct.unpack('!H', frame.data[:2])
    return code, frame.data[2:].decode()


def recv_exactly(ws, size):
    data = b''
    while len(data) < size:
        chunk = ws.recv()
        if not chunk:
            raise AssertionError('connection closed after %r' % data[:100])
        data += chunk
    return data


class ProxyTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.flags(serialproxy_host='127.0.0.1', serialproxy_port=0,
                   base_url='ws://127.0.0.1:6083/', group='serial_console')
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova', level=logging.DEBUG,
            format='%(levelname)s %(name)s %(message)s'))
        self.tokens = FakeTokens()
        # Runs after the proxy stopped: nothing it logged names a token.
        self.addCleanup(self.assert_no_token_logged)
        self.compute = self.fake_consoles()
        self.guest = self.useFixture(GuestSerialPort())
        self.proxy = self.useFixture(ProxyServer(self.compute, self.tokens))

    def fake_consoles(self):
        """The console API the proxy is given."""
        return FakeComputeAPI()

    def assert_no_token_logged(self):
        output = self.log.output
        for token in list(self.tokens.infos) + self.tokens.calls:
            if token and token in output:
                raise AssertionError('token %r logged:\n%s'
                                     % (token, output))

    def url(self, token=None, port=None):
        url = 'ws://127.0.0.1:%d/' % (port or self.proxy.port)
        return url + ('?token=%s' % token if token is not None else '')

    def connect(self, token=None, **kwargs):
        kwargs.setdefault('timeout', TIMEOUT)
        ws = websocket.create_connection(self.url(token), **kwargs)
        self.addCleanup(ws.close, timeout=1)
        return ws

    def raw(self, request_path, headers=(), send=None):
        """Every byte the proxy sends for a websocket request, to EOF."""
        lines = ['GET %s HTTP/1.1' % request_path,
                 'Host: 127.0.0.1:%d' % self.proxy.port,
                 'Upgrade: websocket', 'Connection: Upgrade',
                 'Sec-WebSocket-Key: %s' % WS_KEY,
                 'Sec-WebSocket-Version: 13']
        lines.extend(headers)
        request = ('\r\n'.join(lines) + '\r\n\r\n').encode()
        if send is not None:
            request = send
        data = b''
        with socket.create_connection(('127.0.0.1', self.proxy.port),
                                      timeout=TIMEOUT) as sock:
            sock.sendall(request)
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    return data
                data += chunk
        raise AssertionError('the proxy did not close: %r' % data)


class TestProxying(ProxyTestCase):
    def test_bytes_reach_the_guest_and_come_back(self):
        token = self.tokens.add(self.guest.port)
        ws = self.connect(token)
        payload = b'root\r\n\x00\xff\x1b[6n'
        ws.send_binary(payload)
        self.assertEqual(payload, recv_exactly(ws, len(payload)))
        ws.send_binary(b'second')
        self.assertEqual(b'second', recv_exactly(ws, 6))
        self.assertEqual(1, self.guest.connections)

    def test_checks_token_then_port_with_an_admin_context(self):
        token = self.tokens.add(self.guest.port)
        info = self.tokens.infos[token]
        ws = self.connect(token)
        ws.send_binary(b'x')
        recv_exactly(ws, 1)
        self.assertEqual([token], self.tokens.calls)
        self.assertEqual(1, len(self.compute.calls))
        ctxt, *args = self.compute.calls[0]
        self.assertIsInstance(ctxt, context.RequestContext)
        self.assertTrue(ctxt.is_admin)
        self.assertEqual([info.instance_uuid, '127.0.0.1', self.guest.port,
                          'serial'], args)
        self.assertIn('connected to serial port 127.0.0.1:%d of instance %s'
                      % (self.guest.port, info.instance_uuid),
                      self.log.output)
        self.assertIn(websocketproxy.token_id(token), self.log.output)

    def test_large_message(self):
        token = self.tokens.add(self.guest.port)
        ws = self.connect(token)
        # Without EOT, on which the guest hangs up; as big as
        # [serial_console] max_message_bytes lets a message be.
        payload = os.urandom(CONF.serial_console.max_message_bytes).replace(
            b'\x04', b'\x05')
        ws.send_binary(payload)
        self.assertEqual(payload, recv_exactly(ws, len(payload)))

    def test_sessions_run_side_by_side(self):
        first = self.connect(self.tokens.add(self.guest.port))
        second = self.connect(self.tokens.add(self.guest.port))
        # Each session answers while the other stays open and idle.
        second.send_binary(b'two')
        self.assertEqual(b'two', recv_exactly(second, 3))
        first.send_binary(b'one')
        self.assertEqual(b'one', recv_exactly(first, 3))
        self.assertEqual(2, self.guest.connections)

    def test_token_in_cookie(self):
        token = self.tokens.add(self.guest.port)
        ws = self.connect(cookie='lang=en; token=%s' % token)
        ws.send_binary(b'cookie')
        self.assertEqual(b'cookie', recv_exactly(ws, 6))
        self.assertEqual([token], self.tokens.calls)

    def test_query_token_wins_over_cookie(self):
        good = self.tokens.add(self.guest.port)
        unknown = str(uuid.uuid4())
        ws = self.connect(unknown, cookie='token=%s' % good)
        self.assertEqual((1008, websocketproxy.REFUSED_TOKEN),
                         close_frame(ws))
        self.assertEqual([unknown], self.tokens.calls)

    def test_guest_hangs_up(self):
        ws = self.connect(self.tokens.add(self.guest.port))
        ws.send_binary(b'bye\x04')
        self.assertEqual(b'bye\x04', recv_exactly(ws, 4))
        self.assertEqual(1000, close_frame(ws)[0])

    def test_client_hangs_up(self):
        ws = self.connect(self.tokens.add(self.guest.port))
        ws.send_binary(b'x')
        recv_exactly(ws, 1)
        ws.close(timeout=TIMEOUT)
        self.assertTrue(self.guest.server.closed.wait(TIMEOUT),
                        'the guest connection stayed open')


class TestTokenRefusals(ProxyTestCase):
    def refusals(self):
        """Every token problem: name -> (request path, extra headers)."""
        expired = self.tokens.add(self.guest.port, ttl=-1)
        vnc = self.tokens.add(self.guest.port, console_type='novnc')
        moved = self.tokens.add(self.guest.port)
        self.compute.results[self.tokens.infos[moved].instance_uuid] = False
        gone = self.tokens.add(self.guest.port)
        self.compute.results[self.tokens.infos[gone].instance_uuid] = (
            exception.InstanceNotFound(instance_id='x'))
        return {
            'unknown': ('/?token=%s' % uuid.uuid4(), ()),
            'expired': ('/?token=%s' % expired, ()),
            'malformed': ('/?token=%27%3Cscript%3E' + 'x' * 300, ()),
            'missing': ('/', ()),
            'empty': ('/?token=', ()),
            'expired in cookie': ('/', ('Cookie: token=%s' % expired,)),
            'for a vnc console': ('/?token=%s' % vnc, ()),
            'port moved': ('/?token=%s' % moved, ()),
            'instance deleted': ('/?token=%s' % gone, ()),
        }

    def test_every_token_problem_looks_the_same_to_the_client(self):
        seen = {}
        for name, (path, headers) in self.refusals().items():
            data = self.raw(path, headers)
            # Only the Date header may differ.
            seen[name] = re.sub(rb'\r\nDate: [^\r]*', b'', data)
        reference = seen.pop('unknown')
        head, _, frame = reference.partition(b'\r\n\r\n')
        self.assertTrue(head.startswith(b'HTTP/1.1 101 '), head)
        reason = websocketproxy.REFUSED_TOKEN.encode()
        self.assertEqual(b'\x88' + bytes([2 + len(reason)]) +
                         struct.pack('!H', 1008) + reason, frame)
        for name, data in seen.items():
            self.assertEqual(reference, data, name)
        self.assertNotIn(b'Traceback', reference)
        self.assertEqual(0, self.guest.connections)

    def test_websocket_client_sees_a_policy_close(self):
        for token in (str(uuid.uuid4()),
                      self.tokens.add(self.guest.port, ttl=-1),
                      'malformed-%s' % uuid.uuid4()):
            ws = self.connect(token)
            self.assertEqual((1008, websocketproxy.REFUSED_TOKEN),
                             close_frame(ws))

    def test_reasons_are_logged_without_the_token(self):
        cases = self.refusals()
        expected = {
            'unknown': 'is malformed, unknown or expired',
            'missing': 'none given',
            'for a vnc console': "is for a 'novnc' console",
            'port moved': 'no longer a serial port of instance',
            'instance deleted': 'no longer a serial port of instance',
        }
        for name, text in expected.items():
            path, headers = cases[name]
            self.raw(path, headers)
            self.assertIn(text, self.log.output, name)
        self.assertIn('refused: invalid token: sha256:', self.log.output)
        self.assertNotIn('Traceback', self.log.output)

    def test_token_store_detail_is_logged(self):
        self.tokens.error = exception.InvalidToken(reason='expired')
        self.assertEqual((1008, websocketproxy.REFUSED_TOKEN),
                         close_frame(self.connect('abc')))
        self.assertIn('malformed, unknown or expired (expired)',
                      self.log.output)

    def test_token_store_failure(self):
        token = str(uuid.uuid4())
        self.tokens.error = RuntimeError('database gone while reading %s'
                                         % token)
        data = self.raw('/?token=%s' % token)
        reason = frames.INTERNAL_ERROR.encode()
        self.assertTrue(data.endswith(struct.pack('!H', 1011) + reason),
                        data)
        self.assertNotIn(b'Traceback', data)
        self.assertNotIn(b'database', data)
        # The operator gets the traceback, with the token masked.
        self.assertIn('Traceback', self.log.output)
        self.assertIn('database gone while reading ***', self.log.output)

    def test_compute_api_failure(self):
        token = self.tokens.add(self.guest.port)
        info = self.tokens.infos[token]
        self.compute.results[info.instance_uuid] = ValueError('rpc timeout')
        ws = self.connect(token)
        self.assertEqual((1011, frames.INTERNAL_ERROR),
                         close_frame(ws))
        self.assertIn('ValueError: rpc timeout', self.log.output)
        self.assertEqual(0, self.guest.connections)

    def test_unreachable_guest_port(self):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            closed_port = sock.getsockname()[1]
        ws = self.connect(self.tokens.add(closed_port))
        code, reason = close_frame(ws)
        self.assertEqual((1011, websocketproxy.UNREACHABLE), (code, reason))
        self.assertNotIn(str(closed_port), reason)
        self.assertIn('cannot reach serial port 127.0.0.1:%d' % closed_port,
                      self.log.output)


class TestOrigin(ProxyTestCase):
    def assert_allowed(self, **kwargs):
        ws = self.connect(self.tokens.add(self.guest.port), **kwargs)
        ws.send_binary(b'ok')
        self.assertEqual(b'ok', recv_exactly(ws, 2))

    def assert_refused(self, **kwargs):
        ws = self.connect(self.tokens.add(self.guest.port), **kwargs)
        self.assertEqual((1008, websocketproxy.REFUSED_ORIGIN),
                         close_frame(ws))
        # Checked before the token: a hostile page learns nothing of it.
        self.assertEqual([], self.tokens.calls)
        self.assertEqual(0, self.guest.connections)

    def test_own_host_any_port(self):
        self.assert_allowed(origin='http://127.0.0.1:8080')

    def test_host_header_is_not_trusted(self):
        # DNS rebinding: a hostile page's name now points at the proxy, so
        # the browser sends that name as both Host and Origin.
        self.assert_refused(host='evil.example:6083',
                            origin='http://evil.example')
        self.assertIn("Origin host 'evil.example' is neither the host of "
                      "[serial_console] base_url nor in [console] "
                      "allowed_origins", self.log.output)

    def test_base_url_host(self):
        self.flags(base_url='ws://Console.Example.org:6083/',
                   group='serial_console')
        self.assert_allowed(host='console.example.org:6083',
                            origin='http://console.example.org:8080')

    def test_address_connected_to_is_not_trusted(self):
        # Only base_url's host counts, not the address the client used.
        self.flags(base_url='ws://console.example.org:6083/',
                   group='serial_console')
        self.assert_refused(origin='http://127.0.0.1')

    def test_missing_origin_is_allowed(self):
        self.assert_allowed(suppress_origin=True)

    def test_other_host_refused(self):
        self.assert_refused(origin='http://evil.example.com')
        self.assertIn("refused: bad origin: Origin host 'evil.example.com'",
                      self.log.output)
        self.assertIn('WARNING', self.log.output)

    def test_other_host_refused_even_with_a_valid_looking_prefix(self):
        self.assert_refused(origin='http://127.0.0.1.evil.example.com')

    def test_null_origin_refused(self):
        self.assert_refused(origin='null')

    def test_unparsable_origin_refused(self):
        self.assert_refused(origin='http://[127.0.0.1')
        self.assertNotIn('Traceback', self.log.output)

    def test_allowed_origins(self):
        self.flags(allowed_origins=['Dash.Example.org', 'other.example.org'],
                   group='console')
        self.assert_allowed(origin='http://dash.example.org:8443')

    def test_allowed_origins_is_read_at_each_connection(self):
        self.assert_refused(origin='http://dash.example.org')
        self.flags(allowed_origins=['dash.example.org'], group='console')
        self.assert_allowed(origin='http://dash.example.org')

    def test_scheme_must_match_ws(self):
        self.assert_refused(origin='https://127.0.0.1')
        self.assertIn("Origin scheme 'https'", self.log.output)

    def test_ws_scheme_origin(self):
        self.assert_allowed(origin='ws://127.0.0.1')

    def test_scheme_must_match_wss(self):
        self.flags(base_url='wss://127.0.0.1:6083/', group='serial_console')
        self.assert_refused(origin='http://127.0.0.1')

    def test_https_origin_for_wss(self):
        self.flags(base_url='wss://console.example.org/',
                   group='serial_console')
        self.assert_allowed(origin='https://console.example.org')


class TestForwardedProto(ProxyTestCase):
    """TLS terminated by a proxy: what haproxy sends for a wss:// URL."""

    HAPROXY = ['X-Forwarded-Proto: https']

    def setUp(self):
        super().setUp()
        self.flags(base_url='wss://127.0.0.1:6083/', group='serial_console')

    def test_honoured_from_a_trusted_proxy(self):
        self.flags(trusted_proxies=['192.0.2.1', '127.0.0.0/8'],
                   group='console')
        TestOrigin.assert_allowed(self, origin='http://127.0.0.1',
                                  header=self.HAPROXY)

    def test_last_element_counts(self):
        # A client's own "https" followed by what the proxy appended.
        self.flags(trusted_proxies=['127.0.0.1'], group='console')
        TestOrigin.assert_refused(
            self, origin='http://127.0.0.1',
            header=['X-Forwarded-Proto: https, http'])

    def test_ignored_from_other_peers(self):
        self.flags(trusted_proxies=['192.0.2.0/24'], group='console')
        TestOrigin.assert_refused(self, origin='http://127.0.0.1',
                                  header=self.HAPROXY)
        self.assertIn('ignored X-Forwarded-Proto', self.log.output)

    def test_ignored_when_no_proxy_is_trusted(self):
        TestOrigin.assert_refused(self, origin='http://127.0.0.1',
                                  header=self.HAPROXY)

    def test_does_not_widen_the_hosts(self):
        self.flags(trusted_proxies=['127.0.0.1'], group='console')
        TestOrigin.assert_refused(self, origin='http://evil.example',
                                  header=self.HAPROXY)

    def test_bad_option_value_is_refused_at_parse(self):
        self.assertRaises(ValueError, self.flags,
                          trusted_proxies=['not-an-address'],
                          group='console')


class TestSubprotocol(ProxyTestCase):
    def head(self, value):
        data = self.raw('/', ['Sec-WebSocket-Protocol: %s' % value])
        return data.partition(b'\r\n\r\n')[0].decode()

    def test_binary_selected_wherever_it_stands(self):
        for value in ('base64, binary', 'foo,binary', 'binary',
                      'binary , base64', ' base64 ,\tbinary,,'):
            head = self.head(value)
            self.assertTrue(head.startswith('HTTP/1.1 101 '), (value, head))
            self.assertIn('\r\nSec-WebSocket-Protocol: binary', head,
                          value)

    def test_browser_offering_base64_and_binary(self):
        ws = self.connect(self.tokens.add(self.guest.port),
                          subprotocols=['base64', 'binary'])
        self.assertEqual('binary', ws.getsubprotocol())
        ws.send_binary(b'sub')
        self.assertEqual(b'sub', recv_exactly(ws, 3))

    def test_no_binary_offered_is_refused_clearly(self):
        data = self.raw('/?token=x', ['Sec-WebSocket-Protocol: foo'])
        self.assertTrue(data.startswith(b'HTTP/1.1 400 '), data[:60])
        self.assertIn(b"speaks the 'binary' sub-protocol only; "
                      b"offered: foo", data)
        self.assertEqual([], self.tokens.calls)

    def test_malformed_list_is_refused_clearly(self):
        data = self.raw('/', ['Sec-WebSocket-Protocol: bin ary'])
        self.assertTrue(data.startswith(b'HTTP/1.1 400 '), data[:60])
        self.assertIn(b'is not a sub-protocol name', data)

    def test_none_offered(self):
        head = self.head('')
        self.assertTrue(head.startswith('HTTP/1.1 101 '), head)
        self.assertNotIn('Sec-WebSocket-Protocol', head)

    def test_parse(self):
        self.assertEqual(
            ['a', 'binary', 'c'],
            websocketproxy.parse_subprotocols(['a ,\tbinary', ',c,']))
        self.assertRaises(ValueError, websocketproxy.parse_subprotocols,
                          ['a b'])


class TestConnection(ProxyTestCase):
    def test_plain_http_gets_405_without_details(self):
        # A GET without Upgrade is the web terminal's (test_web.py).
        request = ('POST /?token=secret-%s HTTP/1.1\r\nHost: x\r\n'
                   'Connection: close\r\n\r\n' % uuid.uuid4())
        data = self.raw(None, send=request.encode())
        self.assertTrue(data.startswith(b'HTTP/1.0 405 ') or
                        data.startswith(b'HTTP/1.1 405 '), data[:40])
        self.assertNotIn(b'Traceback', data)
        self.assertIn(b'\r\nServer: nova-serialproxy\r\n', data)
        self.assertNotIn(b'Python', data)
        self.assertNotIn('secret-', self.log.output)

    def test_garbage_request(self):
        data = self.raw(None, send=b'\x00\x01 nonsense token=abc\r\n\r\n')
        self.assertNotIn(b'Traceback', data)
        self.assertNotIn('token=abc', self.log.output)

    def test_tls_client_hello_is_refused(self):
        data = self.raw(None, send=b'\x16\x03\x01\x00\x05hello')
        self.assertEqual(b'', data)
        self.assertIn('refused a TLS handshake', self.log.output)

    def test_request_path_is_logged_redacted(self):
        token = self.tokens.add(self.guest.port)
        ws = self.connect(token)
        ws.send_binary(b'x')
        recv_exactly(ws, 1)
        self.assertIn("Path: '/?token=***'", self.log.output)

    def test_slow_request_is_cut_off(self):
        self.flags(handshake_timeout=1, group='serial_console')
        with socket.create_connection(('127.0.0.1', self.proxy.port),
                                      timeout=TIMEOUT) as sock:
            sock.sendall(b'GET / HTTP/1.1\r\n')
            self.assertTrue(sock.recv(100).startswith(
                b'HTTP/1.1 408 Request Timeout\r\n'))


class TestShutdown(ProxyTestCase):
    def test_open_sessions_get_a_going_away_close(self):
        ws = self.connect(self.tokens.add(self.guest.port))
        ws.send_binary(b'x')
        recv_exactly(ws, 1)
        start = time.monotonic()
        self.proxy.stop()
        self.assertLess(time.monotonic() - start, websocketproxy.STOP_GRACE)
        self.assertEqual((1001, websocketproxy.SHUTTING_DOWN),
                         close_frame(ws))
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          ('127.0.0.1', self.proxy.port), TIMEOUT)
        self.assertIn('nova-serialproxy stopping (test over)',
                      self.log.output)

    def test_connection_stuck_in_handshake_does_not_block_stop(self):
        self.useFixture(fixtures.MockPatchObject(
            websocketproxy, 'STOP_GRACE', 0.2))
        with socket.create_connection(('127.0.0.1', self.proxy.port),
                                      timeout=TIMEOUT) as sock:
            sock.sendall(b'GET / HTTP/1.1\r\n')
            time.sleep(0.2)
            start = time.monotonic()
            self.proxy.stop()
            self.assertLess(time.monotonic() - start, 2)
            self.assertEqual(b'', sock.recv(100))


class TestMakeServer(test.TestCase):
    def setUp(self):
        super().setUp()
        self.flags(serialproxy_host='127.0.0.1', serialproxy_port=0,
                   group='serial_console')

    def test_configuration(self):
        self.flags(serialproxy_port=16083, group='serial_console')
        server = make_server()
        self.assertIsInstance(server, websockify_proxy.WebSocketProxy)
        self.assertTrue(issubclass(server.RequestHandlerClass,
                                   websockify_proxy.ProxyRequestHandler))
        self.assertEqual(('127.0.0.1', 16083),
                         (server.listen_host, server.listen_port))
        self.assertIs(CONF, server.conf)
        self.assertFalse(server.daemon)
        self.assertFalse(server.run_once)
        self.assertEqual('', server.record)
        self.assertEqual('', server.web)
        self.assertTrue(server.only_upgrade)
        self.assertIsNone(server.token_plugin)
        self.assertIsNone(server.server_address)

    def test_given_backends_serve_every_connection(self):
        # What the proxy talks to is what it is given, for every
        # connection: nothing is imported or built behind its back.
        tokens = FakeTokens()
        consoles = FakeComputeAPI()
        guest = self.useFixture(GuestSerialPort())
        proxy = self.useFixture(ProxyServer(consoles, tokens))
        issued = []
        for n in range(2):
            issued.append(tokens.add(guest.port))
            ws = websocket.create_connection(
                'ws://127.0.0.1:%d/?token=%s' % (proxy.port, issued[-1]),
                timeout=TIMEOUT)
            self.addCleanup(ws.close, timeout=1)
            ws.send_binary(b'n')
            self.assertEqual(b'n', recv_exactly(ws, 1))
        self.assertEqual(issued, tokens.calls)
        self.assertEqual([tokens.infos[t].instance_uuid for t in issued],
                         [call[1] for call in consoles.calls])
        self.assertIs(consoles, proxy.server.consoles)

    def test_console_api_on_the_given_rpc_client(self):
        rpcapi = object()
        tokens = FakeTokens()
        server = websocketproxy.make_server(CONF, rpcapi, tokens)
        self.assertIsInstance(server.consoles, console_api.API)
        self.assertIs(rpcapi, server.consoles.compute_rpcapi)
        self.assertIs(CONF, server.consoles.conf)
        self.assertIs(tokens, server.token_store)


class TestHelpers(test.TestCase):
    def test_token_id(self):
        self.assertEqual('none', websocketproxy.token_id(None))
        # sha256('abc') starts ba7816bf.
        self.assertEqual('sha256:ba7816bf', websocketproxy.token_id('abc'))

    def test_redact(self):
        self.assertEqual(
            "GET /?a=1&token=*** HTTP/1.1 'Cookie: x=1; TOKEN=***'",
            websocketproxy._redact(
                "GET /?a=1&token=s3cr3t HTTP/1.1 'Cookie: x=1; TOKEN=s3'"))
        # after= is console output; names may come percent-encoded.
        self.assertEqual(
            "GET /?after=***&%61fter=***&%74oken=***&x=after HTTP/1.1",
            websocketproxy._redact(
                "GET /?after=c2VjcmV0&%61fter=c2Vj&%74oken=s3&x=after "
                "HTTP/1.1"))

    def test_hostname(self):
        for value, host in (('Example.org:6083', 'example.org'),
                            ('https://Example.org:1/x', 'example.org'),
                            ('[::1]:6083', '::1'), ('', None),
                            ('[bad', None)):
            self.assertEqual(host, websocketproxy._hostname(value), value)
