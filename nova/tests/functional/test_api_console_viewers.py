"""POST /servers/{id}/console-viewers on the real stack.

nova-all runs as its own process against qemu:///system; the test reads
the services' token store directly (as test_api does) to see what a
viewer's URL leads to and when it stops leading anywhere.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

import websocket

from nova.console import tokens
from nova import exception
from nova.tests.functional import services
from nova.tests.functional import test_api

VIEWER_BODY = {'console_viewer': {}}


def token_of(url):
    [token] = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)[
        'token']
    return token


class ConsoleViewersTestCase(test_api.APITestCase):
    def viewer(self, server_id, version=None, token=services.USER_TOKEN,
               body=VIEWER_BODY):
        return self.services.request(
            'POST', '/servers/%s/console-viewers' % server_id, body,
            token=token, version=version)

    def new_viewer(self, server_id, version=None):
        status, body = self.viewer(server_id, version=version)
        self.assertEqual(200, status, body)
        return body['console_viewer']

    def assertRevoked(self, *urls):
        for url in urls:
            self.assertRaises(exception.InvalidToken, tokens.validate,
                              token_of(url))

    def test_viewer_urls_and_token(self):
        server = self.boot()
        proxy = '127.0.0.1:%d' % self.services.proxy_port
        remote_port = tokens.validate(token_of(
            self.remote_console_url(server))).port
        for version in (None, '2.1', '2.6', '2.25', 'latest'):
            viewer = self.new_viewer(server.id, version=version)
            self.assertEqual({'protocol', 'type', 'url', 'web_url'},
                             set(viewer))
            self.assertEqual(('serial', 'serial-readonly'),
                             (viewer['protocol'], viewer['type']))
            token = token_of(viewer['url'])
            self.assertEqual('ws://%s/?token=%s' % (proxy, token),
                             viewer['url'])
            self.assertEqual('http://%s/console.html?token=%s'
                             % (proxy, token), viewer['web_url'])
            info = tokens.validate(token)
            self.assertEqual(
                (server.id, 'serial-readonly', remote_port),
                (info.instance_uuid, info.console_type, info.port))

    def test_viewer_keystrokes_never_reach_the_guest(self):
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        viewer = self.new_viewer(server.id)
        # Whether the proxy serves the viewer or refuses it, what the
        # viewer sends must not be typed into the guest.
        try:
            ws = websocket.create_connection(viewer['url'], timeout=10)
        except (websocket.WebSocketException, OSError):
            ws = None
        if ws is not None:
            try:
                ws.send_binary(b'\recho VIEWER-TYPED-$((6*7))\r')
                ws.recv_data(control_frame=True)
            except (websocket.WebSocketException, OSError):
                pass  # refused or closed: nothing more to send
            finally:
                ws.close()
        # An interactive session afterwards: the guest reads its serial
        # input in order, so a command of the viewer would have run first.
        shell = self.shell(self.remote_console_url(server))
        shell.run('echo typed-here')
        # Neither typed (the guest echoes input) nor run.
        self.assertNotIn(b'VIEWER-TYPED', shell.received)
        output = self.wait_output(server, 'typed-here')
        self.assertFalse('VIEWER-TYPED' in output, output[-500:])

    def test_errors(self):
        server = self.boot()
        # Another project's server, like an unknown one, does not exist.
        for server_id, token in ((server.id, 'intruder:other'),
                                 ('nope', services.USER_TOKEN)):
            status, body = self.viewer(server_id, token=token)
            self.assertEqual(404, status, body)
            self.assertIn('itemNotFound', body)
        for body, field in (({}, 'console_viewer'),
                            ({'console_viewer': {'history': 10}},
                             'console_viewer.history'),
                            ({'console_viewer': None}, 'console_viewer')):
            status, fault = self.viewer(server.id, body=body)
            self.assertEqual(400, status, fault)
            self.assertIn('field/attribute %s:' % field,
                          fault['badRequest']['message'])
        # The upstream calls still hand out interactive consoles only.
        status, fault = self.services.request(
            'POST', '/servers/%s/remote-consoles' % server.id,
            {'remote_console': {'protocol': 'serial',
                                'type': 'serial-readonly'}}, version='2.6')
        self.assertEqual(400, status, fault)
        self.assertIn('field/attribute remote_console.type:',
                      fault['badRequest']['message'])
        status, fault = self.services.request(
            'POST', '/servers/%s/action' % server.id,
            {'os-getSerialConsole': {'type': 'serial-readonly'}},
            version='2.1')
        self.assertEqual(400, status, fault)
        self.assertIn('field/attribute os-getSerialConsole.type:',
                      fault['badRequest']['message'])

    def test_bad_input_is_a_4xx_never_a_500(self):
        server = self.boot()
        path = '/servers/%s/console-viewers' % server.id
        for raw in (b'', b'{', b'[]', b'null', b'\xff\xfe',
                    b'{"console_viewer": {"\\ud800": 1}}',
                    b'{"console_viewer": {}, "x": 1' + b'1' * 5000 + b'}',
                    b'{"console_viewer": {"history": 1e999}}'):
            status, body = self.raw_post(path, raw)
            self.assertEqual(400, status, (raw[:60], body))
            [fault] = body.values()
            self.assertNotIn('Traceback', fault['message'])
        for server_id in ('\u00e9t\u00e9', 'x' * 300, '%00'):
            status, body = self.raw_post(
                '/servers/%s/console-viewers'
                % urllib.parse.quote(server_id), b'{"console_viewer": {}}')
            self.assertEqual(404, status, body)

    def raw_post(self, path, raw):
        req = urllib.request.Request(self.services.endpoint + path,
                                     data=raw, method='POST')
        req.add_header('Content-Type', 'application/json')
        req.add_header('X-Auth-Token', services.USER_TOKEN)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or 'null')
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_reboot_rebuild_delete_revoke_viewers(self):
        server = self.boot()
        before = [self.new_viewer(server.id)['url'],
                  self.remote_console_url(server)]
        self.conn.compute.reboot_server(server, 'HARD')
        self.assertRevoked(*before)
        # Not ready while it reboots: 409, as for the other consoles.
        status, body = self.viewer(server.id)
        if status != 200:  # the reboot may be over already
            self.assertEqual(409, status, body)
            self.assertIn('conflictingRequest', body)
        server = self.wait_active(server)
        after_reboot = [self.new_viewer(server.id)['url']]
        self.conn.compute.rebuild_server(server, image=services.IMAGE_ID)
        self.assertRevoked(*after_reboot)
        server = self.wait_active(server)
        last = self.new_viewer(server.id)['url']
        tokens.validate(token_of(last))
        self.conn.compute.delete_server(server)
        self.assertRevoked(last)
        self.conn.compute.wait_for_delete(server, wait=120)
        status, body = self.viewer(server.id)
        self.assertEqual(404, status, body)
