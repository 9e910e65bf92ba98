"""The /images proxy's metadata and DELETE (issue 13: tempest's
ImagesMetadataTestJSON got 404 for /images/{id}/metadata, and
ListImageFiltersTestJSON's clean-up 405 for DELETE /images/{id}),
through the REST API and the real compute API to a small fake Glance
over real HTTP: what Glance is asked (a JSON patch, a DELETE, with the
caller's token) and how its answers come back (Nova's codes)."""

import http.server
import json
import threading

import fixtures

from nova.api.openstack.compute import auth
from nova.tests.unit.api import test_server_records
from nova.tests.unit.compute import test_api

ALICE = 'alice:pa'
IMAGE = '11111111-1111-4111-8111-111111111111'
OTHER = '22222222-2222-4222-8222-222222222222'
PATCH_TYPE = 'application/openstack-images-v2.1-json-patch'


class _Glance(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body=None):
        data = b'' if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _image(self):
        image_id = self.path.rsplit('/', 1)[-1]
        return image_id, self.server.images.get(image_id)

    def do_GET(self):
        _id, image = self._image()
        self._send(404) if image is None else self._send(200, image)

    def do_PATCH(self):
        body = json.loads(self.rfile.read(
            int(self.headers['Content-Length'])))
        self.server.seen.append(('PATCH', self.path,
                                 self.headers.get('X-Auth-Token'),
                                 self.headers.get('Content-Type'), body))
        _id, image = self._image()
        if image is None:
            return self._send(404)
        if self.server.refuse:
            return self._send(self.server.refuse, {'message': 'no'})
        for op in body:
            key = op['path'][1:]
            if op['op'] == 'remove':
                del image[key]
            elif op['op'] == 'replace':
                assert key in image, op
                image[key] = op['value']
            else:
                assert key not in image, op
                image[key] = op['value']
        self._send(200, image)

    def do_DELETE(self):
        self.server.seen.append(('DELETE', self.path,
                                 self.headers.get('X-Auth-Token'), None,
                                 None))
        image_id, image = self._image()
        if image is None:
            return self._send(404)
        if self.server.refuse:
            return self._send(self.server.refuse, {'message': 'no'})
        del self.server.images[image_id]
        self._send(204)


class ImageProxyTestCase(test_server_records.RESTMixin,
                         test_api.APITestCase):
    def setUp(self):
        super().setUp()
        glance = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Glance)
        glance.images = {IMAGE: {'id': IMAGE, 'name': 'img',
                                 'status': 'active', 'os_distro': 'debian',
                                 'os_version': '12'}}
        glance.seen = []
        glance.refuse = None
        self.glance = glance
        threading.Thread(target=glance.serve_forever, daemon=True).start()
        self.addCleanup(glance.server_close)
        self.addCleanup(glance.shutdown)
        self.flags(enabled=True, endpoint_override='http://127.0.0.1:%d' %
                   glance.server_address[1], group='glance')
        # noauth2 makes no token; with Keystone the caller's goes on.
        noauth = auth.context_from_noauth_token

        def with_token(req):
            ctx = noauth(req)
            ctx.auth_token = req.headers['X-Auth-Token']
            return ctx
        self.useFixture(fixtures.MockPatch(
            'nova.api.openstack.compute.auth.context_from_noauth_token',
            side_effect=with_token))
        self.app = self._app()
        self.path = '/images/%s/metadata' % IMAGE

    def _props(self):
        return {k: v for k, v in self.glance.images[IMAGE].items()
                if k not in ('id', 'name', 'status')}

    def test_list_and_show(self):
        self.assertEqual({'metadata': {'os_distro': 'debian',
                                       'os_version': '12'}},
                         self.check(200, self.call('GET', self.path)))
        self.assertEqual({'meta': {'os_distro': 'debian'}}, self.check(
            200, self.call('GET', self.path + '/os_distro')))
        body = self.check(404, self.call('GET', self.path + '/nope'))
        self.assertIn('Invalid metadata key', str(body))
        self.check(404, self.call('GET', '/images/%s/metadata' % OTHER))

    def test_post_merges_put_replaces_as_the_caller(self):
        body = self.check(200, self.call('POST', self.path, {
            'metadata': {'os_version': 'alt1', 'architecture': 'x86_64'}}))
        expected = {'os_distro': 'debian', 'os_version': 'alt1',
                    'architecture': 'x86_64'}
        self.assertEqual({'metadata': expected}, body)
        self.assertEqual(expected, self._props())
        method, _path, token, ctype, ops = self.glance.seen[-1]
        self.assertEqual(('PATCH', ALICE, PATCH_TYPE),
                         (method, token, ctype))
        self.assertEqual(
            [{'op': 'add', 'path': '/architecture', 'value': 'x86_64'},
             {'op': 'replace', 'path': '/os_version', 'value': 'alt1'}],
            ops)
        replaced = {'os_version': 'value2', 'architecture': 'value3'}
        self.assertEqual({'metadata': replaced}, self.check(200, self.call(
            'PUT', self.path, {'metadata': replaced})))
        self.assertEqual(replaced, self._props())

    def test_item_put_and_delete(self):
        self.assertEqual({'meta': {'os_version': 'alt'}}, self.check(
            200, self.call('PUT', self.path + '/os_version',
                           {'meta': {'os_version': 'alt'}})))
        self.assertEqual({'os_distro': 'debian', 'os_version': 'alt'},
                         self._props())
        body = self.check(400, self.call('PUT', self.path + '/os_version',
                                         {'meta': {'other': 'x'}}))
        self.assertIn('Request body and URI mismatch', str(body))
        self.check(400, self.call('PUT', self.path + '/os_version', {
            'meta': {'os_version': 'a', 'b': 'c'}}))
        response = self.call('DELETE', self.path + '/os_distro')
        self.assertEqual((204, b''), (response.status_int, response.body))
        self.assertEqual({'os_version': 'alt'}, self._props())
        self.check(404, self.call('DELETE', self.path + '/os_distro'))

    def test_limits_and_bad_bodies_change_nothing(self):
        before = dict(self._props())
        many = {'k%d' % i: 'v' for i in range(128)}
        # 128 new and the 2 there: past Nova's 128 items.
        body = self.check(403, self.call('POST', self.path,
                                         {'metadata': many}))
        self.assertIn('128', str(body))
        for body in ({'metadata': {'': 'v'}}, {'metadata': {'k' * 256: 'v'}},
                     {'metadata': {'k': 'v' * 256}}, {'metadata': {'k': 1}},
                     {'metadata': {'a/b': 'v'}}, {'meta': {'k': 'v'}}):
            self.check(400, self.call('POST', self.path, body))
        self.assertEqual(before, self._props())
        self.assertEqual([], self.glance.seen)
        # Exactly 128 is allowed; one more is not.
        self.check(200, self.call('PUT', self.path, {'metadata': many}))
        self.assertEqual(many, self._props())
        self.check(403, self.call('PUT', self.path + '/one_more',
                                  {'meta': {'one_more': 'x'}}))
        self.assertEqual(many, self._props())

    def test_glance_refusals_are_novas_codes(self):
        for status, expected in ((403, 403), (409, 409), (400, 400),
                                 (413, 403)):
            self.glance.refuse = status
            self.check(expected, self.call('POST', self.path, {
                'metadata': {'a': 'b'}}))
            self.check(expected, self.call('DELETE', self.path +
                                           '/os_distro'))
            if status != 413:
                self.check(expected, self.call('DELETE',
                                               '/images/%s' % IMAGE))
        self.assertIn(IMAGE, self.glance.images)

    def test_delete_image(self):
        self.check(404, self.call('DELETE', '/images/%s' % OTHER))
        response = self.call('DELETE', '/images/%s' % IMAGE)
        self.assertEqual((204, b''), (response.status_int, response.body))
        self.assertEqual(('DELETE', '/v2/images/%s' % IMAGE, ALICE),
                         self.glance.seen[-1][:3])
        self.assertNotIn(IMAGE, self.glance.images)
        self.check(404, self.call('GET', '/images/%s' % IMAGE))
        # Ids that could change Glance's path never reach it.
        self.check(404, self.call('DELETE', '/images/..%2f..%2fv2'))
        self.assertEqual(1, len([s for s in self.glance.seen
                                 if s[0] == 'DELETE']) - 1)


class LocalCatalogTestCase(test_server_records.RESTMixin,
                           test_api.APITestCase):
    """Without Glance, the catalog is nova-manage's: 403, never a 500."""

    def setUp(self):
        super().setUp()
        self.app = self._app()

    def test_writes_are_403_reads_work(self):
        self.check(200, self.call('GET', '/images/img-1/metadata'))
        self.check(403, self.call('POST', '/images/img-1/metadata',
                                  {'metadata': {'a': 'b'}}))
        self.check(403, self.call('DELETE', '/images/img-1'))
        self.check(404, self.call('DELETE', '/images/nope'))
