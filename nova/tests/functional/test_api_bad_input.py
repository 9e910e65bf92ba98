"""Input the real nova-all cannot use is a 4xx naming it, never a 500.

Against the real service and its database: a lone UTF-16 surrogate
(``"\\ud800"`` in JSON) made the database fail (it cannot encode it to
UTF-8), and numbers of thousands of digits made int() fail.
"""

import json
import urllib.error
import urllib.request

from nova.tests.functional import services
from nova.tests.functional import test_api

ADMIN_TOKEN = 'admin:admin'
HUGE = '1' * 5000


class BadInputTestCase(test_api.APITestCase):
    def call(self, method, path, raw=None, headers=None,
             token=services.USER_TOKEN):
        """(status, parsed JSON body) of a request sent as given."""
        req = urllib.request.Request(self.services.endpoint + path,
                                     data=raw, method=method)
        req.add_header('Content-Type', 'application/json')
        req.add_header('X-Auth-Token', token)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or 'null')
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def assertFault(self, expected, answer, *fragments):
        status, body = answer
        self.assertEqual(expected, status, body)
        [fault] = body.values()
        for fragment in fragments:
            self.assertIn(fragment, fault['message'])
        return fault['message']

    def test_version_numbers_and_hypervisor_ids(self):
        for headers in ({'OpenStack-API-Version': 'compute 2.' + HUGE},
                        {'X-OpenStack-Nova-API-Version': '2.' + HUGE}):
            self.assertFault(406, self.call('GET', '/servers',
                                            headers=headers),
                             'is not supported by the API')
        for hypervisor_id in (HUGE, '1' * 25):
            self.assertFault(404, self.call(
                'GET', '/os-hypervisors/' + hypervisor_id,
                token=ADMIN_TOKEN), 'could not be found')

    def test_lone_surrogates(self):
        server = self.boot()
        good = {'name': 'vm', 'imageRef': services.IMAGE_ID,
                'flavorRef': '1'}
        for field in ('name', 'imageRef', 'flavorRef'):
            body = json.dumps({'server': dict(good, **{field: '\ud800'})})
            self.assertIn('\\ud800', body)  # sent as the JSON escape
            self.assertFault(
                400, self.call('POST', '/servers', body.encode()),
                'Invalid input for field/attribute server.%s' % field,
                'not valid Unicode')
        self.assertFault(
            400, self.call('POST', '/servers/%s/action' % server.id,
                           b'{"rebuild": {"imageRef": "\\ud800"}}'),
            'Invalid input for field/attribute rebuild.imageRef',
            'not valid Unicode')
        # Nothing was made or changed.
        status, body = self.call('GET', '/servers')
        self.assertEqual(200, status, body)
        self.assertEqual([server.id], [s['id'] for s in body['servers']])
        self.assertEqual('ACTIVE',
                         self.conn.compute.get_server(server.id).status)
