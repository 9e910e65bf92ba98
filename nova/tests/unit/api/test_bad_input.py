"""Input that parses but cannot be used is a 4xx naming it, never a 500.

Numbers are bounded before int() (which raises on more than 4300 digits),
path ids before any look-up, and every string of a body is checked to be
valid Unicode before validation: json.loads turns ``"\\ud800"`` into a str
that the database cannot encode.
"""

import json

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import router
from nova.api.openstack.compute import wsgi
from nova.tests.unit.api import base
from nova.tests.unit.api import fakes

HUGE = '1' * 5000
SURROGATE = '\\ud800'  # as the client sends it: a JSON escape


class VersionHeaderTestCase(base.APITestCase):
    def assertNotAcceptable(self, headers):
        message = self.assertFault(
            self.request('GET', '/v2.1/servers', headers=headers),
            406, 'computeFault', 'is not supported by the API',
            'Minimum is 2.1 and maximum is 2.30')
        # The client's number is quoted, not all of it.
        self.assertLess(len(message), 200, message)

    def test_thousands_of_digits_are_not_acceptable(self):
        for version in ('2.' + HUGE, HUGE + '.1', HUGE + '.' + HUGE):
            with self.subTest(version=version[:8]):
                self.assertNotAcceptable(
                    {'OpenStack-API-Version': 'compute ' + version})
                self.assertNotAcceptable(
                    {'X-OpenStack-Nova-API-Version': version})

    def test_ten_digits_are_not_acceptable(self):
        self.assertNotAcceptable(
            {'OpenStack-API-Version': 'compute 2.1234567890'})

    def test_nine_digits_are_read(self):
        self.assertEqual(microversion.APIVersion(2, 123456789),
                         microversion.APIVersion.parse('2.123456789'))
        self.assertNotAcceptable(
            {'OpenStack-API-Version': 'compute 2.123456789'})

    def test_a_long_malformed_header_is_quoted_short(self):
        message = self.assertFault(
            self.request('GET', '/v2.1/servers', headers={
                'OpenStack-API-Version': 'compute 2.' + 'x' * 5000}),
            400, 'badRequest', 'is of invalid format')
        self.assertLess(len(message), 200, message)


class PathIdTestCase(base.APITestCase):
    def assertNotFound(self, path, token=base.DEMO_TOKEN):
        self.assertFault(self.request('GET', path, token=token),
                         404, 'itemNotFound', 'could not be found')

    def test_hypervisor_id_of_thousands_of_digits(self):
        for hypervisor_id in (HUGE, '1' * 20, '9' * 19, '0' * 30 + '1'):
            with self.subTest(length=len(hypervisor_id)):
                self.assertNotFound('/v2.1/os-hypervisors/' + hypervisor_id,
                                    token=base.ADMIN_TOKEN)
        self.assertEqual([], [c for c in self.compute.calls
                              if c[0] == 'hypervisor_get'
                              and c[1] > 2 ** 63])

    def test_long_ids_are_not_looked_up(self):
        long_id = 'a' * (router.MAX_PATH_PARAM + 1)
        for path in ('/v2.1/servers/%s', '/v2.1/flavors/%s',
                     '/v2.1/images/%s', '/v2.1/flavors/%s/os-extra_specs',
                     '/v2.1/flavors/1/os-extra_specs/%s'):
            with self.subTest(path=path):
                self.assertNotFound(path % long_id)
        self.assertEqual([], self.compute.calls)

    def test_ids_with_control_characters_are_not_looked_up(self):
        for path in ('/v2.1/servers/a%00b', '/v2.1/images/%0a',
                     '/v2.1/flavors/%C2%85'):
            with self.subTest(path=path):
                self.assertNotFound(path)
        self.assertEqual([], self.compute.calls)

    def test_ids_of_255_characters_are_looked_up(self):
        self.assertNotFound('/v2.1/servers/' + 'a' * 255)
        self.assertEqual([('get', 'a' * 255)], self.compute.calls)


class SurrogateTestCase(base.APITestCase):
    """A lone surrogate, anywhere in a body, is a 400 naming the field."""

    def setUp(self):
        super().setUp()
        self.server_id = self.compute.add_server()['uuid']
        self.compute.calls.clear()

    def post(self, path, text, version=None):
        return self.request('POST', path, raw=text.encode('ascii'),
                            version=version)

    def assertRefused(self, response, field):
        message = self.assertFault(
            response, 400, 'badRequest',
            'Invalid input for field/attribute %s:' % field,
            'not valid Unicode', 'lone UTF-16 surrogate (\\ud800)')
        self.assertEqual([], self.compute.calls)
        return message

    def create(self, **fields):
        server = {'name': 'vm', 'imageRef': fakes.IMAGE_ID,
                  'flavorRef': fakes.FLAVOR_ID}
        server.update(fields)
        # json.dumps with ensure_ascii writes a surrogate as its escape.
        return self.post('/v2.1/servers', json.dumps({'server': server}),
                         version='2.19')

    def test_create_fields(self):
        for field in ('name', 'imageRef', 'flavorRef', 'description'):
            with self.subTest(field=field):
                self.assertRefused(self.create(**{field: 'a\ud800b'}),
                                   'server.' + field)

    def test_rebuild_image_ref(self):
        self.assertRefused(
            self.post('/v2.1/servers/%s/action' % self.server_id,
                      '{"rebuild": {"imageRef": "%s"}}' % SURROGATE),
            'rebuild.imageRef')

    def test_key_and_list_item(self):
        self.assertRefused(
            self.post('/v2.1/servers',
                      '{"server": {"%s": 1}}' % SURROGATE),
            'server.\\ud800')
        self.assertRefused(
            self.post('/v2.1/servers',
                      '{"server": {"networks": ["x", "%s"]}}' % SURROGATE),
            'server.networks.1')

    def test_surrogate_pairs_are_one_character(self):
        # An escaped pair is a valid character (here U+1F600) and passes.
        response = self.create(name='smile \ud83d\ude00')
        self.assertStatus(202, response)
        self.assertEqual('smile \U0001f600', self.compute.calls[-1][1])

    def test_deep_nesting_is_checked_without_recursion(self):
        depth = 900
        text = '[' * depth + '"%s"' % SURROGATE + ']' * depth
        message = self.assertFault(
            self.post('/v2.1/servers', text), 400, 'badRequest',
            'Invalid input for field/attribute ...',
            '.0.0.0: the string is not valid Unicode')
        # The path of the field is cut, not quoted whole.
        self.assertLess(len(message), 300, message)


class NumberTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server_id = self.compute.add_server()['uuid']
        self.compute.calls.clear()

    def console_output(self, length_text):
        return self.request(
            'POST', '/v2.1/servers/%s/action' % self.server_id,
            raw=b'{"os-getConsoleOutput": {"length": %s}}' % length_text)

    def test_integers_of_many_digits(self):
        for text in (b'1' * 5000, b'-' + b'1' * 101):
            with self.subTest(digits=len(text)):
                message = self.assertFault(
                    self.console_output(text), 400, 'badRequest',
                    'Malformed request body', 'has more than 100 digits')
                self.assertLess(len(message), 200, message)
        self.assertEqual([], self.compute.calls)

    def test_numbers_too_large_for_a_float(self):
        self.assertFault(self.console_output(b'1e999'), 400, 'badRequest',
                         'Malformed request body', '1e999 is too large')

    def test_parse_int_reads_a_hundred_digits(self):
        self.assertEqual(10 ** 99, wsgi._parse_int('1' + '0' * 99))
        self.assertEqual(-10 ** 99, wsgi._parse_int('-1' + '0' * 99))


class QueryStringTestCase(base.APITestCase):
    """A query string that is not UTF-8 is a 400 wherever it is read."""

    def test_not_utf8_on_every_get_route(self):
        server = self.compute.add_server(project_id='admin')
        ids = {'id': None, 'server_id': server['uuid'], 'flavor_id': '1',
               'key': 'k', 'tag': 't', 'request_id': 'req-1',
               'migration_id': '1', 'pattern': 'compute',
               # -- access
               'tenant_id': 'admin', 'image_id': fakes.IMAGE_ID}
        for method, path, controller, _action in router.ROUTES:
            if method != 'GET':
                continue
            if '{id}' in path:
                ids['id'] = {'servers': server['uuid'], 'flavors': '1',
                             'images': fakes.IMAGE_ID,
                             'hypervisors': '1', 'keypairs': 'k',
                             'aggregates': '1', 'quota_sets': 'demo',
                             'quota_classes': 'default',
                             'extensions': 'os-shelve'}[controller]
            url = '/v2.1' + path.format(**ids)
            query = '?name=%ff&status=%ff&host=%ff&binary=%ff&x=%ff'
            with self.subTest(path=path):
                response = self.request('GET', url + query,
                                        token=base.ADMIN_TOKEN)
                self.assertLess(response.status_int, 500, response.body)
                if response.status_int == 400:
                    self.assertFault(response, 400, 'badRequest',
                                     'The query string is not valid UTF-8')
        for url in ('/v2.1/servers', '/v2.1/servers/detail',
                    '/v2.1/os-services'):
            self.assertFault(self.request('GET', url + '?host=%ff',
                                          token=base.ADMIN_TOKEN),
                             400, 'badRequest', 'not valid UTF-8')
