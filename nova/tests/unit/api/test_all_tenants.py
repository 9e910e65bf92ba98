"""GET /servers?all_tenants=: a strict boolean, for admins."""

from nova.tests.unit.api import base

SERVERS = '/v2.1/servers'


class AllTenantsTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.demo = self.compute.add_server(name='demo-vm')
        self.admins = self.compute.add_server(project_id='admin',
                                              user_id='admin',
                                              name='admin-vm')

    def names(self, query, token=base.ADMIN_TOKEN, path=SERVERS):
        response = self.request('GET', path + query, token=token)
        self.assertStatus(200, response)
        return sorted(s['name'] for s in self.json(response)['servers'])

    def test_admin_true_lists_every_project(self):
        for value in ('true', 'True', '1', 'yes', 'on', 'YES', 't', 'y',
                      ''):
            for path in (SERVERS, SERVERS + '/detail'):
                self.assertEqual(
                    ['admin-vm', 'demo-vm'],
                    self.names('?all_tenants=' + value, path=path), value)
        self.assertEqual(['admin-vm', 'demo-vm'], self.names('?all_tenants'))

    def test_admin_false_lists_its_own_project(self):
        for value in ('false', 'False', '0', 'no', 'off', 'f', 'n'):
            for path in (SERVERS, SERVERS + '/detail'):
                self.assertEqual(
                    ['admin-vm'],
                    self.names('?all_tenants=' + value, path=path), value)

    def test_without_it_admins_still_see_every_project(self):
        self.assertEqual(['admin-vm', 'demo-vm'], self.names(''))

    def test_other_values_are_400_naming_the_parameter(self):
        for value in ('maybe', '2', 'truthy', 'no%20way', '%C3%A9t%C3%A9',
                      'x' * 1000):
            for path in (SERVERS, SERVERS + '/detail'):
                response = self.request(
                    'GET', path + '?all_tenants=' + value,
                    token=base.ADMIN_TOKEN)
                message = self.assertFault(
                    response, 400, 'badRequest',
                    'query parameter all_tenants', 'boolean')
                # A long value is quoted cut, never whole.
                self.assertLess(len(message), 200)
        self.assertEqual([], [c for c in self.compute.calls
                              if c[0] == 'list'])

    def test_non_admin_true_is_403_false_is_own_project(self):
        for path, rule in ((SERVERS, 'index'), (SERVERS + '/detail',
                                                'detail')):
            self.assertFault(
                self.request('GET', path + '?all_tenants=1'), 403,
                'forbidden', 'os_compute_api:servers:%s:get_all_tenants'
                % rule)
            self.assertEqual(['demo-vm'], self.names(
                '?all_tenants=false', token=base.DEMO_TOKEN, path=path))
