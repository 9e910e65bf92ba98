"""nova.image.glance: a user whose token Glance refuses (revoked or
expired) never reads an image as nova itself."""

import http.server
import json
import threading

from nova import context
from nova import exception
from nova.image import glance
from nova import test

PRIVATE_ID = '99999999-9999-4999-8999-999999999999'
BODY = {'id': PRIVATE_ID, 'name': 'service-private', 'status': 'active',
        'disk_format': 'raw', 'container_format': 'bare', 'size': 6,
        'os_hash_algo': 'sha512', 'os_hash_value': 'ab',
        'visibility': 'private', 'owner': 'service'}


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        token = self.headers.get('X-Auth-Token')
        self.server.seen.append((self.path, token))
        if token == 'revoked':
            return self._send(401, b'{}')
        if token != 'service-token':  # private to nova's project
            return self._send(404, b'{}')
        if self.path == '/v2/images/%s' % PRIVATE_ID:
            return self._send(200, json.dumps(BODY).encode())
        if self.path == '/v2/images/%s/file' % PRIVATE_ID:
            return self._send(200, b'secret')
        self._send(404, b'{}')

    def _send(self, status, body):
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RevokedTokenTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        server.seen = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        endpoint = 'http://127.0.0.1:%d' % server.server_address[1]
        self.flags(enabled=True, group='glance')
        self.flags(auth_type='admin_token', group='glance')
        self.conf.conf.register_opts(
            glance.ks_loading.get_auth_plugin_conf_options('admin_token'),
            group='glance')
        self.flags(endpoint=endpoint, token='service-token',
                   endpoint_override=endpoint, group='glance')

    def test_revoked_token_does_not_read_as_nova(self):
        api = glance.API(self.conf.conf)
        ctx = context.RequestContext('u', 'p', auth_token='revoked')
        # With a valid token the user cannot see it (404)...
        valid = context.RequestContext('u', 'p', auth_token='valid')
        self.assertRaises(exception.ImageNotFound, api.get, valid,
                          PRIVATE_ID)
        # ...so revoking the token must not show it either.
        self.assertRaises(exception.NovaException, api.get, ctx,
                          PRIVATE_ID)
        chunks = []
        self.assertRaises(exception.NovaException, api.download, ctx,
                          PRIVATE_ID, chunks.append, 4096)
        self.assertEqual(b'', b''.join(chunks))
