"""The web terminal's page in headless Chromium, against a scripted proxy.

nova-serialproxy serves the page from a web root filled by
tools/install-web-console.sh, as in production; only its websocket side
is replaced by a script speaking the history protocol (mode, history,
live and gap text frames, close codes), so each behaviour of the page
is checked on its own: history then live, the read-only badge and no
input from viewers, keystrokes as binary frames, the close reason, and
``after=`` resumes from sessionStorage (same instance, another one).
"""

import base64
import json
import select
import threading
import time
import urllib.parse
import uuid

import fixtures

import nova.conf
from nova.console import websocketproxy
from nova import test
from nova.tests import browser
from nova.tests.unit.console import test_websocketproxy as proxy_helpers

CONF = nova.conf.CONF
TIMEOUT = 20


class ScriptedHandler(websocketproxy.SerialProxyRequestHandler):
    """Runs ``server.script(session)`` instead of proxying."""

    def new_websocket_client(self):
        session = Session(self)
        with self.server.sessions_lock:
            self.server.sessions.append(session)
        self.server.script(session)


class Session:
    """One websocket the page opened: what it asked and sent."""

    def __init__(self, handler):
        self.handler = handler
        self.query = urllib.parse.parse_qs(
            urllib.parse.urlsplit(handler.path).query)
        self.received = []
        self.closed_by_client = False

    @property
    def after(self):
        values = self.query.get('after')
        if not values:
            return None
        value = values[0]
        return base64.urlsafe_b64decode(value + '=' * (-len(value) % 4))

    def text(self, **message):
        data = json.dumps({'nova_console': message}).encode()
        self.handler.request._sendmsg(0x1, data)

    def binary(self, data):
        self.handler.request.sendmsg(data)

    def serve(self, seconds=TIMEOUT, echo=False, until=None):
        """Read the client's frames (echoing them if ``echo``) until it
        closes, ``until`` is set, or ``seconds`` pass."""
        ws = self.handler.request
        poller = select.poll()
        poller.register(self.handler.connection.fileno(), select.POLLIN)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if until is not None and until.is_set():
                return
            if not poller.poll(100) and not ws.pending():
                continue
            bufs, closed = self.handler.recv_frames()
            self.received.extend(bufs)
            if echo and bufs:
                self.handler.send_frames(bufs)
            if closed:
                self.closed_by_client = True
                return

    def close(self, code, reason):
        raise self.handler.CClose(code, reason)


class ScriptedProxy(fixtures.Fixture):
    def __init__(self, script):
        super().__init__()
        self.script = script

    def _setUp(self):
        server = proxy_helpers.make_server()
        server.RequestHandlerClass = ScriptedHandler
        server.script = self.script
        server.sessions = []
        server.sessions_lock = threading.Lock()
        self.server = server
        self.port = server.listen()[1]
        thread = threading.Thread(target=server.start_server, daemon=True)
        thread.start()
        self.addCleanup(thread.join, websocketproxy.STOP_GRACE * 2 + 5)
        self.addCleanup(server.request_stop, 'test over')

    def url(self, token):
        return 'http://127.0.0.1:%d/console.html?token=%s' % (self.port,
                                                              token)

    def wait_sessions(self, count, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.server.sessions) < count:
            if time.monotonic() > deadline:
                raise AssertionError('the page opened %d websocket(s), not '
                                     '%d' % (len(self.server.sessions),
                                             count))
            time.sleep(0.05)
        return self.server.sessions[count - 1]


def history(count, start=1):
    return b''.join(b'line-%04d\r\n' % n for n in range(start, start + count))


class PageTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.flags(web_root=browser.web_root(), serialproxy_host='127.0.0.1',
                   serialproxy_port=0, group='serial_console')
        self.release = threading.Event()
        self.addCleanup(self.release.set)

    def start(self, script):
        self.proxy = self.useFixture(ScriptedProxy(script))
        # The page's Origin is the proxy's address: base_url's host.
        self.flags(base_url='ws://127.0.0.1:%d/' % self.proxy.port,
                   group='serial_console')
        return self.proxy

    def open_browser(self):
        chromium = browser.Browser()
        self.addCleanup(chromium.quit)
        return chromium

    def wait(self, condition, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError('timed out waiting for %s' % what)
            time.sleep(0.1)


class TestModes(PageTestCase):
    def test_interactive_history_then_live_and_typing(self):
        instance = str(uuid.uuid4())

        def script(session):
            session.text(mode='interactive', instance_uuid=instance,
                         history_bytes=len(history(30)))
            session.binary(history(30))
            session.text(live=True)
            session.binary(b'live-output\r\n')
            session.serve(echo=True, until=self.release)
        self.start(script)
        chromium = self.open_browser()
        chromium.open(self.proxy.url('tok'))
        session = self.proxy.wait_sessions(1)
        self.assertEqual(['102400'], session.query['history'])
        self.assertIsNone(session.after)
        text = chromium.wait_text(r'live-output')
        self.assertIn('line-0001\nline-0002\n', text)
        self.assertLess(text.index('line-0030'), text.index('live-output'))
        self.wait(lambda: 'live' in chromium.bar(), 'the live status')
        self.assertIn(instance, chromium.bar())
        self.assertFalse(chromium.element('badge').is_displayed())
        chromium.type('ls -l\n')
        chromium.wait_text(r'ls -l')
        # Keystrokes went as binary frames, Enter as a carriage return.
        self.assertEqual(b'ls -l\r', b''.join(session.received))

    def test_read_only_shows_the_badge_and_sends_nothing(self):
        instance = str(uuid.uuid4())

        def script(session):
            session.text(mode='read-only', instance_uuid=instance,
                         history_bytes=len(history(5)))
            session.binary(history(5))
            session.text(live=True)
            session.serve(until=self.release)
        self.start(script)
        chromium = self.open_browser()
        chromium.open(self.proxy.url('viewer'))
        session = self.proxy.wait_sessions(1)
        chromium.wait_text(r'line-0005')
        self.wait(lambda: chromium.element('badge').is_displayed(),
                  'the read-only badge')
        self.assertEqual('READ-ONLY', chromium.element('badge').text)
        self.assertIn('Read-only viewer', chromium.bar())
        chromium.type('reboot\n')
        time.sleep(1)  # what a viewer types would have arrived by now
        self.assertEqual([], session.received)

    def test_plain_serial_console_without_text_frames(self):
        # Today's proxy for a serial token: raw bytes, no mode frame.
        def script(session):
            session.serve(echo=True, until=self.release)
        self.start(script)
        chromium = self.open_browser()
        chromium.open(self.proxy.url('plain'))
        session = self.proxy.wait_sessions(1)
        # Typed before any frame: sent once the page takes the console
        # for a plain one.
        chromium.type('echo hi\n')
        chromium.wait_text(r'echo hi')
        self.assertEqual(b'echo hi\r', b''.join(session.received))
        self.assertIn('Interactive (no history)', chromium.bar())

    def test_gap_and_close_reason(self):
        def script(session):
            session.text(mode='read-only', instance_uuid=str(uuid.uuid4()),
                         history_bytes=10)
            session.binary(b'before\r\n')
            session.text(gap=True)
            session.binary(b'after\r\n')
            session.text(live=True)
            self.release.wait(TIMEOUT)
            session.close(4008, 'Too slow: fell more than 1048576 bytes '
                          'behind')
        self.start(script)
        chromium = self.open_browser()
        chromium.open(self.proxy.url('t'))
        text = chromium.wait_text(r'after')
        self.assertRegex(text, r'before\n\n?\[some console output may be '
                               r'missing here\]\nafter')
        self.release.set()
        self.wait(lambda: 'Closed' in chromium.bar(), 'the close reason')
        self.assertIn('Closed (4008): Too slow: fell more than 1048576 '
                      'bytes behind', chromium.bar())
        self.assertTrue(chromium.element('reconnect').is_displayed())
        self.assertEqual({'code': 4008, 'reason': 'Too slow: fell more '
                          'than 1048576 bytes behind'},
                         chromium.state()['closed'])


class TestBusy(PageTestCase):
    BUSY_REASON = ('An interactive session is already open on this console; '
                   'open a read-only viewer to watch it')

    def test_one_more_try_after_busy(self):
        # Right after a reload the tab's own old session may still hold
        # the port.
        def script(session):
            if len(self.proxy.server.sessions) == 1:
                session.close(4409, self.BUSY_REASON)
            session.text(mode='interactive', instance_uuid=str(uuid.uuid4()),
                         history_bytes=10)
            session.binary(b'served\r\n')
            session.serve(until=self.release)
        self.start(script)
        chromium = self.open_browser()
        chromium.open(self.proxy.url('t'))
        chromium.wait_text(r'served')
        self.assertEqual(2, len(self.proxy.server.sessions))
        self.assertIsNone(chromium.state()['closed'])

    def test_busy_again_shows_the_reason(self):
        def script(session):
            session.close(4409, self.BUSY_REASON)
        self.start(script)
        chromium = self.open_browser()
        chromium.open(self.proxy.url('t'))
        self.wait(lambda: 'Closed' in chromium.bar(), 'the close reason')
        self.assertIn('Closed (4409): ' + self.BUSY_REASON, chromium.bar())
        time.sleep(2)  # no third try
        self.assertEqual(2, len(self.proxy.server.sessions))


class TestResume(PageTestCase):
    def test_new_url_for_the_same_instance_goes_on_without_gap(self):
        instance = str(uuid.uuid4())
        first = history(300)  # 3300 bytes: more than the 1024 kept

        def script(session):
            if session.after is None:
                session.text(mode='interactive', instance_uuid=instance,
                             history_bytes=len(first))
                session.binary(first)
                session.text(live=True)
                self.release.wait(TIMEOUT)
                session.close(4000, 'The console moved or the instance is '
                              'gone: ask for a new console URL')
            # The proxy's side of after=: what follows it in its window.
            window = first + history(2, start=301)
            rest = window[window.rindex(session.after) +
                          len(session.after):]
            session.text(mode='interactive', instance_uuid=instance,
                         history_bytes=len(rest))
            session.binary(rest)
            session.text(live=True)
            session.serve(until=self.release)
        self.start(script)
        chromium = self.open_browser()
        chromium.open(self.proxy.url('old-token'))
        chromium.wait_text(r'line-0300')
        time.sleep(0.6)  # the page saves its tail within 250 ms
        self.release.set()
        self.wait(lambda: 'Closed (4000)' in chromium.bar(), 'close 4000')
        self.assertIn('ask for a new console URL', chromium.bar())
        self.release.clear()
        # The user gets a new URL and opens it in the same tab.
        chromium.open(self.proxy.url('new-token'))
        session = self.proxy.wait_sessions(2)
        self.assertEqual(first[-1024:], session.after)
        text = chromium.wait_text(r'line-0302')
        # The kept tail, then exactly what followed it: no gap marker,
        # no line twice, nothing missing.
        self.assertNotIn('missing', text)
        lines = [line for line in text.split('\n') if line.strip()]
        numbers = [int(line[5:9]) for line in lines]
        self.assertEqual(list(range(numbers[0], 303)), numbers)
        self.assertLess(numbers[0], 300)

    def test_stored_tail_of_another_instance_is_not_used(self):
        first, second = str(uuid.uuid4()), str(uuid.uuid4())

        def script(session):
            token = session.query['token'][0]
            if token == 'a':
                session.text(mode='read-only', instance_uuid=first,
                             history_bytes=20)
                session.binary(b'instance-A-output\r\n')
                session.serve(until=self.release)
                return
            # The page guessed its last instance: this is another one.
            session.text(mode='read-only', instance_uuid=second,
                         history_bytes=20)
            session.binary(b'instance-B-%s\r\n' % (
                b'resumed' if session.after else b'whole'))
            session.serve(until=self.release)
        self.start(script)
        chromium = self.open_browser()
        chromium.open(self.proxy.url('a'))
        chromium.wait_text(r'instance-A-output')
        time.sleep(0.6)
        chromium.open(self.proxy.url('b'))
        self.assertEqual(b'instance-A-output\r\n',
                         self.proxy.wait_sessions(2).after)
        text = chromium.wait_text(r'instance-B-whole')
        # The guessed connection was dropped and its output not shown.
        self.assertIsNone(self.proxy.wait_sessions(3).after)
        self.assertNotIn('instance-B-resumed', text)
        self.assertNotIn('instance-A', text)
        self.assertEqual(second, chromium.state()['uuid'])
