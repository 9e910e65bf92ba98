"""nova.image.glance against a small fake Glance over real HTTP."""

import http.server
import json
import threading

from nova import context
from nova import exception
from nova.image import glance
from nova import test

IMAGE_ID = '55555555-5555-4555-8555-555555555555'
BODY = {'id': IMAGE_ID, 'name': 'tiny', 'status': 'active',
        'disk_format': 'ami', 'container_format': 'ami', 'size': 4,
        'min_ram': 0, 'min_disk': None, 'os_hash_algo': 'sha512',
        'os_hash_value': 'ab', 'visibility': 'public',
        'created_at': '2026-11-30T08:00:00Z',
        'updated_at': '2026-11-30T08:00:01Z',
        'kernel_id': 'k', 'ramdisk_id': 'r', 'hw_serial_port_count': '2'}


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append((self.path,
                                 self.headers.get('X-Auth-Token')))
        if self.path == '/v2/images/%s' % IMAGE_ID:
            self._send(200, json.dumps(BODY).encode(), 'application/json')
        elif self.path == '/v2/images/%s/file' % IMAGE_ID:
            self._send(200, b'data', 'application/octet-stream')
        elif self.path.startswith('/v2/images?'):
            self._send(200, json.dumps({'images': [BODY]}).encode(),
                       'application/json')
        else:
            self._send(404, b'{}', 'application/json')

    def _send(self, status, body, ctype):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class GlanceAPITestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        server.seen = []
        self.seen = server.seen
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.endpoint = 'http://127.0.0.1:%d' % server.server_address[1]
        self.flags(enabled=True, group='glance')

    def _service_auth(self):
        self.flags(auth_type='admin_token', group='glance')
        self.conf.conf.register_opts(
            glance.ks_loading.get_auth_plugin_conf_options('admin_token'),
            group='glance')
        # (keystoneauth's admin_token plugin has no catalog: the
        # endpoint is named, as for a compute host without Keystone.)
        self.flags(endpoint=self.endpoint, token='service-token',
                   endpoint_override=self.endpoint, group='glance')

    def test_image_with_its_properties_and_the_users_token(self):
        self.flags(endpoint_override=self.endpoint, group='glance')
        ctx = context.RequestContext('u', 'p', auth_token='user-token')
        image = glance.API(self.conf.conf).get(ctx, IMAGE_ID)
        self.assertEqual({'kernel_id': 'k', 'ramdisk_id': 'r',
                          'hw_serial_port_count': '2'}, image['properties'])
        self.assertEqual(('tiny', 'ami', 0, 0, 4),
                         (image['name'], image['disk_format'],
                          image['min_ram'], image['min_disk'],
                          image['size']))
        self.assertEqual([('/v2/images/%s' % IMAGE_ID, 'user-token')],
                         self.seen)

    def test_service_credentials_without_a_user_token(self):
        self._service_auth()
        api = glance.API(self.conf.conf)
        self.assertEqual([IMAGE_ID], [i['id'] for i in api.list(None)])
        chunks = []
        api.download(None, IMAGE_ID, chunks.append, 4096)
        self.assertEqual(b'data', b''.join(chunks))
        self.assertEqual({'service-token'}, {t for _p, t in self.seen})

    def test_unknown_and_malformed_ids_are_404(self):
        self.flags(endpoint_override=self.endpoint, group='glance')
        ctx = context.RequestContext('u', 'p', auth_token='t')
        api = glance.API(self.conf.conf)
        self.assertRaises(exception.ImageNotFound, api.get, ctx,
                          '66666666-6666-4666-8666-666666666666')
        for bad in ('../../v3/auth', IMAGE_ID + '/file', '?x', '', None,
                    'a' * 37):
            self.assertRaises(exception.ImageNotFound, api.get, ctx, bad)
        self.assertEqual(1, len(self.seen))  # the malformed never left

    def test_no_token_and_no_credentials_says_so(self):
        self.flags(endpoint_override=self.endpoint, group='glance')
        e = self.assertRaises(exception.GlanceConnectionFailed,
                              glance.API(self.conf.conf).get, None, IMAGE_ID)
        self.assertIn('no service credentials', str(e))
        self.assertEqual(503, e.code)

    def test_glance_unreachable_is_503(self):
        self.flags(endpoint_override='http://127.0.0.1:9', group='glance')
        ctx = context.RequestContext('u', 'p', auth_token='t')
        e = self.assertRaises(exception.GlanceConnectionFailed,
                              glance.API(self.conf.conf).get, ctx, IMAGE_ID)
        self.assertEqual(503, e.code)
