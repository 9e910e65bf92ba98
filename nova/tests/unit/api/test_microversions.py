import webob.exc

from nova.api.openstack.compute import microversion
from nova.tests.unit.api import base

NEW = 'OpenStack-API-Version'
LEGACY = 'X-OpenStack-Nova-API-Version'


class APIVersionTestCase(base.test.TestCase):
    def test_parse_and_order(self):
        v = microversion.APIVersion.parse
        self.assertEqual(microversion.APIVersion(2, 10), v('2.10'))
        self.assertLess(v('2.6'), v('2.10'))
        self.assertLess(v('2.0'), v('2.1'))
        self.assertEqual('2.10', str(v('2.10')))

    def test_parse_rejects_malformed(self):
        for text in ('2', '2.', '.1', '2.1.1', '02.1', '2.01', 'a.b', '',
                     ' 2.1', '2.1\n', '２.１'):
            self.assertRaises(webob.exc.HTTPBadRequest,
                              microversion.APIVersion.parse, text)


class MicroversionTestCase(base.APITestCase):
    def get(self, headers):
        return self.request('GET', '/v2.1/flavors', headers=headers)

    def assertServedAt(self, version, response):
        self.assertStatus(200, response)
        self.assertEqual('compute %s' % version, response.headers[NEW])
        self.assertEqual(version, response.headers[LEGACY])
        vary = [v.strip() for v in response.headers['Vary'].split(',')]
        self.assertIn(NEW, vary)
        self.assertIn(LEGACY, vary)

    def test_default_is_minimum(self):
        self.assertServedAt('2.1', self.get({}))

    def test_new_header(self):
        self.assertServedAt('2.6', self.get({NEW: 'compute 2.6'}))
        self.assertServedAt('2.25', self.get({NEW: 'compute 2.25'}))
        self.assertServedAt('2.30', self.get({NEW: 'compute 2.30'}))
        self.assertServedAt('2.3', self.get({NEW: 'COMPUTE 2.3'}))

    def test_legacy_header(self):
        self.assertServedAt('2.5', self.get({LEGACY: '2.5'}))

    def test_new_header_wins_over_legacy(self):
        self.assertServedAt(
            '2.4', self.get({NEW: 'compute 2.4', LEGACY: '2.2'}))

    def test_new_header_for_other_services_falls_back(self):
        self.assertServedAt('2.1', self.get({NEW: 'volume 3.0'}))
        self.assertServedAt(
            '2.2', self.get({NEW: 'volume 3.0', LEGACY: '2.2'}))
        self.assertServedAt(
            '2.3', self.get({NEW: 'volume 3.0, compute 2.3'}))

    def test_several_values_are_read_as_microversion_parse_reads_them(self):
        # Repeated headers arrive joined by commas; the last compute
        # version in them is the one asked for.
        self.assertServedAt(
            '2.3', self.get({NEW: 'compute 2.2, volume 3.1, compute 2.3'}))
        self.assertServedAt('2.3', self.get({LEGACY: '2.2, 2.3'}))
        self.assertServedAt('2.4', self.get({'openstack-api-version':
                                             'compute 2.4'}))

    def test_latest(self):
        for headers in ({NEW: 'compute latest'}, {LEGACY: 'latest'},
                        {NEW: 'compute Latest'}):
            self.assertServedAt('2.30', self.get(headers))

    def test_malformed_is_400(self):
        for headers in ({NEW: 'compute 2'}, {NEW: 'compute two'},
                        {NEW: 'compute 2.01'}, {NEW: '2.6'},
                        {NEW: 'compute 2.6 extra'}, {LEGACY: 'abc'},
                        {LEGACY: '2.6.1'}, {LEGACY: ''}):
            response = self.get(headers)
            self.assertFault(response, 400, 'badRequest')
            self.assertNotIn(NEW, response.headers)

    def test_every_version_in_range_is_served(self):
        for minor in range(1, 31):
            version = '2.%d' % minor
            self.assertServedAt(version, self.get({NEW: 'compute ' + version}))

    def test_out_of_range_is_406(self):
        for text in ('2.0', '2.31', '2.95', '3.0', '1.1'):
            response = self.get({NEW: 'compute %s' % text})
            self.assertFault(response, 406, 'computeFault',
                             'Version %s is not supported' % text,
                             'Minimum is 2.1 and maximum is 2.30.')
            response = self.get({LEGACY: text})
            self.assertFault(response, 406, 'computeFault')

    def test_error_responses_carry_the_version(self):
        response = self.request('GET', '/v2.1/servers/nope', version='2.5')
        self.assertFault(response, 404, 'itemNotFound')
        self.assertEqual('compute 2.5', response.headers[NEW])
        self.assertEqual('2.5', response.headers[LEGACY])

    def test_unauthenticated_requests_are_401_before_version_check(self):
        response = self.request('GET', '/v2.1/flavors', token=None,
                                version='9.9')
        self.assertFault(response, 401, 'unauthorized')
