"""GET /os-services: admins only, forced_down from 2.11, filters."""

import datetime

from nova import exception
from nova.tests.unit.api import base

PATH = '/v2.1/os-services'
POLICY = 'os_compute_api:os-services:list'


class ServicesTestCase(base.APITestCase):
    def services(self, query='', version=None, token=base.ADMIN_TOKEN):
        response = self.request('GET', PATH + query, version=version,
                                token=token)
        self.assertStatus(200, response)
        return self.json(response)['services']

    def test_list_at_21(self):
        self.assertEqual([
            {'id': 10, 'binary': 'nova-compute', 'host': 'compute-1',
             'zone': 'nova', 'status': 'enabled', 'state': 'up',
             'updated_at': '2024-05-01T12:06:00Z', 'disabled_reason': None},
            {'id': 11, 'binary': 'nova-compute', 'host': 'compute-2',
             'zone': 'nova', 'status': 'enabled', 'state': 'up',
             'updated_at': '2024-05-01T12:06:00Z', 'disabled_reason': None},
        ], self.services())
        self.assertEqual(('service_list',), self.compute.calls[-1])

    def test_forced_down_from_211(self):
        self.compute.hosts['compute-2'].update(forced_down=True, up=False)
        for version in ('2.1', '2.10'):
            for service in self.services(version=version):
                self.assertNotIn('forced_down', service)
        for version in ('2.11', '2.25'):
            services = self.services(version=version)
            self.assertEqual([False, True],
                             [s['forced_down'] for s in services])
            self.assertEqual(['up', 'down'], [s['state'] for s in services])

    def test_disabled_down_and_never_reported(self):
        self.compute.hosts['compute-1'].update(
            disabled=True, disabled_reason='maintenance until Monday')
        self.compute.hosts['compute-2'].update(up=False, updated_at=None)
        one, two = self.services(version='2.11')
        self.assertEqual(('disabled', 'up', 'maintenance until Monday'),
                         (one['status'], one['state'],
                          one['disabled_reason']))
        self.assertEqual(('enabled', 'down', None, False),
                         (two['status'], two['state'], two['updated_at'],
                          two['forced_down']))

    def test_updated_at_in_utc(self):
        tz = datetime.timezone(datetime.timedelta(hours=-5))
        self.compute.hosts['compute-1']['updated_at'] = datetime.datetime(
            2024, 5, 1, 7, 6, 0, tzinfo=tz)
        self.assertEqual('2024-05-01T12:06:00Z',
                         self.services()[0]['updated_at'])

    def test_filters(self):
        def hosts(query):
            return [s['host'] for s in self.services(query)]

        self.assertEqual(['compute-2'], hosts('?host=compute-2'))
        self.assertEqual([], hosts('?host=compute'))
        self.assertEqual([], hosts('?host=nope'))
        self.assertEqual(['compute-1', 'compute-2'],
                         hosts('?binary=nova-compute'))
        self.assertEqual([], hosts('?binary=nova-scheduler'))
        self.assertEqual(['compute-1'],
                         hosts('?binary=nova-compute&host=compute-1'))
        # Empty values filter nothing; other parameters are ignored.
        self.assertEqual(['compute-1', 'compute-2'],
                         hosts('?host=&binary=&zone=x'))

    def test_other_binaries_are_in_the_internal_zone(self):
        real = self.compute.service_list

        def with_conductor(ctx):
            return real(ctx) + [{
                'id': 3, 'binary': 'nova-conductor', 'host': 'control',
                'topic': 'conductor', 'disabled': False,
                'disabled_reason': None, 'forced_down': False,
                'updated_at': None, 'up': True}]

        self.compute.service_list = with_conductor
        services = self.services('?binary=nova-conductor')
        self.assertEqual([('control', 'internal')],
                         [(s['host'], s['zone']) for s in services])

    def test_non_admin_is_403(self):
        for token in (base.DEMO_TOKEN, base.OTHER_TOKEN):
            self.assertFault(
                self.request('GET', PATH, token=token, version='2.11'),
                403, 'forbidden',
                "Policy doesn't allow %s to be performed." % POLICY)
        self.assertEqual([], self.compute.calls)

    def test_compute_api_forbidden_is_403(self):
        self.compute.fail['service_list'] = exception.Forbidden(
            action='os-services')
        self.assertFault(self.request('GET', PATH, token=base.ADMIN_TOKEN),
                         403, 'forbidden')

    def test_only_get_on_the_collection(self):
        for method in ('POST', 'PUT', 'DELETE'):
            response = self.request(method, PATH, body={},
                                    token=base.ADMIN_TOKEN)
            self.assertFault(response, 405, 'badMethod')
            self.assertEqual('GET', response.headers['Allow'])
        # force-down is a 2.11 call: before, there is no such thing.
        self.assertFault(self.request('PUT', PATH + '/force-down', body={},
                                      token=base.ADMIN_TOKEN),
                         404, 'itemNotFound')
