"""nova.image.glance's create, upload and delete (a shelved server's
disk) against a small fake Glance over real HTTP."""

import http.server
import json
import os
import threading

from nova import context
from nova import exception
from nova.image import glance
from nova import test

NEW_ID = '66666666-6666-4666-8666-666666666666'


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _body(self):
        return self.rfile.read(int(self.headers.get('Content-Length', 0)))

    def _record(self, body):
        self.server.seen.append((self.command, self.path,
                                 self.headers.get('X-Auth-Token'),
                                 self.headers.get('Content-Type'), body))

    def do_POST(self):
        body = self._body()
        self._record(json.loads(body))
        answer = dict(json.loads(body), id=NEW_ID, status='queued')
        self._send(201, json.dumps(answer).encode())

    def do_PUT(self):
        self._record(self._body())
        self._send(self.server.put_status, b'')

    def do_DELETE(self):
        self._record(None)
        self._send(204 if self.path.endswith(NEW_ID) else 404, b'')

    def _send(self, status, body):
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class GlanceSnapshotTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        server.seen = []
        server.put_status = 204
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.flags(enabled=True, endpoint_override='http://127.0.0.1:%d' %
                   server.server_address[1], group='glance')
        self.ctx = context.RequestContext('u', 'p', auth_token='user-token')
        self.api = glance.API(self.conf.conf)

    def test_create_as_the_caller_private_with_string_properties(self):
        image = self.api.create(self.ctx, 'web-shelved', properties={
            'image_type': 'snapshot', 'hw_serial_port_count': 2,
            'id': 'forged', 'status': 'active'})
        self.assertEqual((NEW_ID, 'queued'), (image['id'], image['status']))
        method, path, token, _ctype, body = self.server.seen[0]
        self.assertEqual(('POST', '/v2/images', 'user-token'),
                         (method, path, token))
        # Core keys are Glance's; every property a string, as Glance
        # takes them.
        self.assertEqual({'name': 'web-shelved', 'disk_format': 'qcow2',
                          'container_format': 'bare',
                          'visibility': 'private',
                          'image_type': 'snapshot',
                          'hw_serial_port_count': '2'}, body)

    def test_upload_streams_the_file(self):
        path = os.path.join(self.instances_path, 'saved.qcow2')
        with open(path, 'wb') as f:
            f.write(b'QFI\xfb' + b'x' * 5000)
        self.api.upload(self.ctx, NEW_ID, path)
        method, url, token, ctype, body = self.server.seen[0]
        self.assertEqual(('PUT', '/v2/images/%s/file' % NEW_ID,
                          'user-token', 'application/octet-stream'),
                         (method, url, token, ctype))
        self.assertEqual(b'QFI\xfb' + b'x' * 5000, body)

    def test_upload_errors_are_nova_s(self):
        path = os.path.join(self.instances_path, 'saved.qcow2')
        with open(path, 'wb') as f:
            f.write(b'x')
        self.server.put_status = 413
        self.assertRaises(exception.GlanceConnectionFailed, self.api.upload,
                          self.ctx, NEW_ID, path)
        self.server.put_status = 404
        self.assertRaises(exception.ImageNotFound, self.api.upload,
                          self.ctx, NEW_ID, path)
        e = self.assertRaises(exception.GlanceConnectionFailed,
                              self.api.upload, self.ctx, NEW_ID,
                              os.path.join(self.instances_path, 'missing'))
        self.assertIn('No such file', str(e))
        self.assertRaises(exception.ImageNotFound, self.api.upload,
                          self.ctx, '../../v2/x', path)

    def test_delete_of_a_gone_image_is_no_error(self):
        self.api.delete(self.ctx, NEW_ID)
        self.api.delete(self.ctx, '77777777-7777-4777-8777-777777777777')
        self.assertEqual(['DELETE', 'DELETE'],
                         [s[0] for s in self.server.seen])
