import webob

from nova.tests.unit.api import base


class VersionsTestCase(base.APITestCase):
    def test_root_lists_v21_without_authentication(self):
        response = self.request('GET', '/', token=None)
        self.assertStatus(200, response)
        self.assertEqual({'versions': [{
            'id': 'v2.1',
            'status': 'CURRENT',
            'version': '2.30',
            'min_version': '2.1',
            'updated': '2013-07-23T11:33:21Z',
            'links': [{'rel': 'self', 'href': 'http://localhost/v2.1/'}],
        }]}, self.json(response))

    def test_v21_document_without_authentication(self):
        for path in ('/v2.1', '/v2.1/'):
            response = self.request('GET', path, token=None)
            self.assertStatus(200, response)
            version = self.json(response)['version']
            self.assertEqual('v2.1', version['id'])
            self.assertEqual('CURRENT', version['status'])
            self.assertEqual('2.30', version['version'])
            self.assertEqual('2.1', version['min_version'])
            self.assertEqual(
                {'rel': 'self', 'href': 'http://localhost/v2.1/'},
                version['links'][0])
            self.assertEqual('describedby', version['links'][1]['rel'])
            self.assertEqual(
                [{'base': 'application/json',
                  'type': 'application/vnd.openstack.compute+json;'
                          'version=2.1'}],
                version['media-types'])

    def test_version_documents_only_get(self):
        for path in ('/', '/v2.1'):
            response = self.request('POST', path, body={})
            self.assertFault(response, 405, 'badMethod', 'GET')
            self.assertEqual('GET', response.headers['Allow'])

    def test_unknown_top_level_path_is_404(self):
        for path in ('/v3', '/v2', '/v2.10/servers', '/servers'):
            self.assertFault(self.request('GET', path), 404, 'itemNotFound')

    def test_links_follow_a_mount_point(self):
        self.compute.add_server()
        req = webob.Request.blank(
            '/v2.1/servers', base_url='https://api.example.org/compute')
        req.headers['X-Auth-Token'] = base.DEMO_TOKEN
        response = req.get_response(self.app)
        self.assertStatus(200, response)
        server = self.json(response)['servers'][0]
        self.assertEqual(
            'https://api.example.org/compute/v2.1/servers/%s' % server['id'],
            server['links'][0]['href'])
        self.assertEqual(
            'https://api.example.org/compute/servers/%s' % server['id'],
            server['links'][1]['href'])

        req = webob.Request.blank('/', base_url='https://api.example.org/c')
        versions = self.json(req.get_response(self.app))['versions']
        self.assertEqual('https://api.example.org/c/v2.1/',
                         versions[0]['links'][0]['href'])

    def test_request_id_headers(self):
        response = self.request('GET', '/v2.1/flavors')
        request_id = response.headers['x-openstack-request-id']
        self.assertRegex(request_id, '^req-[0-9a-f-]{36}$')
        self.assertEqual(request_id, response.headers['x-compute-request-id'])
        self.assertEqual(request_id, self.compute.contexts[-1].request_id)
        other = self.request('GET', '/v2.1/flavors')
        self.assertNotEqual(request_id,
                            other.headers['x-openstack-request-id'])
