from nova.tests.unit.api import base


class FlavorsTestCase(base.APITestCase):
    def test_index(self):
        response = self.request('GET', '/v2.1/flavors')
        self.assertStatus(200, response)
        flavors = self.json(response)['flavors']
        self.assertEqual({'1', 'm1.small'}, {f['id'] for f in flavors})
        tiny = [f for f in flavors if f['id'] == '1'][0]
        self.assertEqual({
            'id': '1', 'name': 'm1.tiny',
            'links': [
                {'rel': 'self', 'href': 'http://localhost/v2.1/flavors/1'},
                {'rel': 'bookmark', 'href': 'http://localhost/flavors/1'}],
        }, tiny)

    def test_detail_and_show(self):
        expected = {
            'id': '1', 'name': 'm1.tiny', 'ram': 512, 'vcpus': 1, 'disk': 1,
            'OS-FLV-EXT-DATA:ephemeral': 0, 'swap': '', 'rxtx_factor': 1.0,
            'OS-FLV-DISABLED:disabled': False,
            'os-flavor-access:is_public': True,
            'links': [
                {'rel': 'self', 'href': 'http://localhost/v2.1/flavors/1'},
                {'rel': 'bookmark', 'href': 'http://localhost/flavors/1'}],
        }
        detail = self.json(self.request('GET', '/v2.1/flavors/detail'))
        self.assertIn(expected, detail['flavors'])
        shown = self.json(self.request('GET', '/v2.1/flavors/1'))
        self.assertEqual({'flavor': expected}, shown)

    def test_flavor_id_with_dots(self):
        shown = self.json(self.request('GET', '/v2.1/flavors/m1.small'))
        self.assertEqual('m1.small', shown['flavor']['id'])

    def test_unknown_flavor_is_404(self):
        self.assertFault(self.request('GET', '/v2.1/flavors/42'), 404,
                         'itemNotFound', 'Flavor 42')

    def test_extra_specs(self):
        response = self.request('GET', '/v2.1/flavors/1/os-extra_specs')
        self.assertEqual({'extra_specs': {'hw:serial_port_count': '2'}},
                         self.json(response))
        response = self.request(
            'GET', '/v2.1/flavors/1/os-extra_specs/hw:serial_port_count')
        self.assertEqual({'hw:serial_port_count': '2'}, self.json(response))
        self.assertFault(
            self.request('GET', '/v2.1/flavors/1/os-extra_specs/nope'),
            404, 'itemNotFound', 'nope')
        self.assertFault(
            self.request('GET', '/v2.1/flavors/42/os-extra_specs'),
            404, 'itemNotFound')

    def test_create_and_delete_are_admin_only(self):
        # Served since issue 13 (they were 405); the policy says who.
        self.assertFault(
            self.request('POST', '/v2.1/flavors', body={'flavor': {
                'name': 'x', 'ram': 64, 'vcpus': 1, 'disk': 0}}),
            403, 'forbidden', 'os_compute_api:os-flavor-manage:create')
        self.assertFault(self.request('DELETE', '/v2.1/flavors/1'), 403,
                         'forbidden', 'os_compute_api:os-flavor-manage:'
                                      'delete')
        self.assertFault(self.request('PUT', '/v2.1/flavors/1', body={}),
                         405, 'badMethod')
