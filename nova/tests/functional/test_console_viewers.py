"""Console history and read-only viewers on the real hypervisor.

A booted guest (real libvirtd, virtlogd, QEMU), the real compute manager
with its follower table on the real driver, the real token store, and
nova-serialproxy serving in this process on 127.0.0.1. Only the RPC hop
between the proxy and the compute manager is left out (the proxy is given
a console API calling the ``ComputeManager``'s methods directly, with the
instance).
"""

import json
import re
import tempfile
import threading
import time

import websocket

import nova.conf
from nova.compute import manager as compute_manager
from nova.console import tokens
from nova.console import websocketproxy
from nova.db import api as db
from nova.tests.functional import base

CONF = nova.conf.CONF
LIVE = {'nova_console': {'live': True}}


class InProcessComputeAPI:
    """What nova-serialproxy calls on its console API
    (``nova.console.api.API``), answered by this host's ComputeManager
    without RPC or database."""

    def __init__(self, manager):
        self.manager = manager
        self.instances = {}

    def validate_console_port(self, ctxt, instance_uuid, host, port,
                              console_type):
        # Both token types lead to the serial port: the API side maps
        # serial-readonly onto the same check (ISSUE16-SPEC, section 2).
        self.console_types = getattr(self, 'console_types', [])
        self.console_types.append(console_type)
        return self.manager.validate_console_port(
            ctxt, self.instances[instance_uuid], host, port, 'serial')

    def follow_console_log(self, ctxt, instance_uuid, host=None,
                           follow_id=None, history_bytes=None, wait=0):
        answer = self.manager.follow_console_log(
            ctxt, self.instances[instance_uuid], follow_id=follow_id,
            history_bytes=history_bytes, wait=wait)
        return dict(answer, host=self.manager.host,
                    data=answer['data'].encode('latin-1'))

    def end_console_follow(self, ctxt, instance_uuid, host, follow_id):
        self.manager.end_console_follow(
            ctxt, self.instances[instance_uuid], follow_id)


class Client:
    """A websocket client of a history mode: bytes and text frames."""

    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=60)
        self.data = b''
        self.texts = []
        self.close = None
        self.history = None  # bytes before the live marker

    def read(self):
        opcode, payload = self.ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_BINARY:
            self.data += payload
        elif opcode == websocket.ABNF.OPCODE_TEXT:
            self.texts.append(json.loads(payload))
            if self.texts[-1] == LIVE:
                self.history = len(self.data)
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            self.close = (int.from_bytes(payload[:2], 'big'),
                          payload[2:].decode())
            raise AssertionError('closed: %r' % (self.close,))

    def until(self, pattern, start=0, timeout=base.BOOT_TIMEOUT):
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while not regex.search(self.data, start):
            if time.monotonic() > deadline:
                raise AssertionError('%r not received: %r'
                                     % (pattern, self.data[-300:]))
            self.read()
        return regex.search(self.data, start)

    def until_live(self, timeout=60):
        deadline = time.monotonic() + timeout
        while self.history is None:
            if time.monotonic() > deadline:
                raise AssertionError('no live marker: %r' % self.texts)
            self.read()

    def close_code(self):
        try:
            while True:
                self.read()
        except AssertionError:
            if self.close is None:
                raise
        return self.close


class ConsoleViewersTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        folder = tempfile.mkdtemp(prefix='nova-viewers-db-')
        self.addCleanup(base.subprocess.run, ['rm', '-rf', folder])
        self.flags(connection='sqlite:///%s/nova.sqlite' % folder,
                   group='database')
        db.dispose()
        self.addCleanup(db.dispose)
        self.flags(serialproxy_host='127.0.0.1', serialproxy_port=0,
                   base_url='ws://127.0.0.1:6083/', group='serial_console')
        self.manager = compute_manager.ComputeManager(self.driver)
        self.addCleanup(self.manager._followers.close_all)
        self.api = InProcessComputeAPI(self.manager)
        self.proxy = websocketproxy.make_server(CONF, None, tokens,
                                                consoles=self.api)
        self.port = self.proxy.listen()[1]
        thread = threading.Thread(target=self.proxy.start_server,
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 30)
        self.addCleanup(self.proxy.request_stop, 'test over')

    def open(self, inst, console_type, query=''):
        console = self.driver.get_serial_console(None, inst)
        token = tokens.authorize(inst.uuid, console_type, console.host,
                                 console.port)
        client = Client('ws://127.0.0.1:%d/?token=%s%s'
                        % (self.port, token, query))
        self.addCleanup(client.ws.close, timeout=1)
        return client

    def test_one_terminal_and_viewers_see_the_same_bytes(self):
        inst = self.boot()
        self.api.instances[inst.uuid] = inst
        self.wait_for_output(inst, base.BANNER)
        term = self.open(inst, 'serial', '&history=102400')
        views = [self.open(inst, 'serial-readonly') for _ in range(2)]
        for client in [term] + views:
            client.until_live()
            # The boot so far is the history.
            self.assertRegex(client.data[:client.history], base.BANNER)
        self.assertEqual({'nova_console': {
            'mode': 'interactive', 'instance_uuid': inst.uuid,
            'history_bytes': term.history}}, term.texts[0])
        for client in views:
            self.assertEqual({'nova_console': {
                'mode': 'read-only', 'instance_uuid': inst.uuid,
                'history_bytes': client.history}}, client.texts[0])
        self.assertEqual(['serial', 'serial-readonly', 'serial-readonly'],
                         self.api.console_types)

        # The terminal types; everybody sees the command and its answer
        # (from the log: the proxy drops what the tcp port echoes).
        start = [len(c.data) for c in [term] + views]
        term.ws.send_binary(b'\r')
        term.until(base.PROMPT, start[0])
        term.ws.send_binary(b'echo hello-$((6*7))\r')
        for client, offset in zip([term] + views, start):
            client.until(rb'hello-42\r?\n', offset)

        # A viewer's keystrokes never reach the guest.
        views[0].ws.send_binary(b'echo VIEWER-$((5*5))\r')
        views[0].ws.send(b'echo TEXT-$((4*4))\r'.decode())
        term.ws.send_binary(b'echo done-$((7*7))\r')
        for client, offset in zip([term] + views, start):
            client.until(rb'done-49\r?\n', offset)
        time.sleep(1)  # anything the viewer's typing caused shows by now
        output = self.driver.get_console_output(None, inst)
        for needle in (b'VIEWER-', b'TEXT-'):
            self.assertNotIn(needle, output)
            for client in [term] + views:
                self.assertNotIn(needle, client.data)

        # The same bytes: every stream is the log's newest bytes, and
        # the shorter ones are the longer ones' ends (they started at
        # once from the same window; each joint history/live is exact).
        term.until(rb'done-49\r?\n' + re.escape(base.PROMPT), start[0])
        for client in views:
            client.until(rb'done-49\r?\n' + re.escape(base.PROMPT))
        streams = [c.data[:c.data.rfind(base.PROMPT)]
                   for c in [term] + views]
        shortest = min(map(len, streams))
        self.assertGreater(shortest, 1000)
        tails = {s[-shortest:] for s in streams}
        self.assertEqual(1, len(tails))
        self.assertIn(tails.pop()[-2000:], output)
        for client in [term] + views:
            self.assertEqual(1, client.texts.count(LIVE))
            self.assertNotIn({'nova_console': {'gap': True}}, client.texts)

    def test_second_interactive_session_gets_4409(self):
        inst = self.boot()
        self.api.instances[inst.uuid] = inst
        self.wait_for_output(inst, base.BANNER)
        term = self.open(inst, 'serial', '&history=0')
        term.until_live()
        started = time.monotonic()
        for query in ('', '&history=100'):
            second = self.open(inst, 'serial', query)
            self.assertEqual(4409, second.close_code()[0])
        self.assertLess(time.monotonic() - started, 30)
        # The first session still types.
        term.ws.send_binary(b'echo still-$((2*3))\r')
        term.until(rb'still-6\r?\n')
