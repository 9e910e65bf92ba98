"""The API samples of the new calls, against the in-memory compute API.

The functional test checks every sample against the live service; this
one catches a sample or a view drifting without it: the same keys at
every level and the same JSON types (a string with placeholders stands
for a string), and exact bodies where the fake gives the same values.
"""

import json
import os
import re

from nova.tests.unit.api import base
from nova.tests.unit.api import fakes

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
SAMPLES = os.path.join(REPO, 'doc', 'api_samples')


def load(name):
    with open(os.path.join(SAMPLES, name), encoding='utf-8') as f:
        return json.load(f)


def shape_mismatch(expected, actual, path='body'):
    """A message where ``actual`` is not shaped as ``expected``, or None.

    Each item of a list in ``actual`` is compared with the sample's first
    item: the fake has other hosts than the sample's machine.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return '%s: not an object: %r' % (path, actual)
        if set(expected) != set(actual):
            return '%s: keys %s != %s' % (path, sorted(expected),
                                          sorted(actual))
        for key in expected:
            found = shape_mismatch(expected[key], actual[key],
                                   '%s.%s' % (path, key))
            if found:
                return found
        return None
    if isinstance(expected, list):
        if expected == [] or actual == []:
            # An empty list in a sample stands for an empty list only.
            return None if expected == actual else (
                '%s: %r is not %r' % (path, actual, expected))
        if not isinstance(actual, list):
            return '%s: not a list with items: %r' % (path, actual)
        for index, item in enumerate(actual):
            found = shape_mismatch(expected[0], item,
                                   '%s[%d]' % (path, index))
            if found:
                return found
        return None
    if type(expected) is not type(actual):
        return '%s: %r is not of the type of %r' % (path, actual, expected)
    return None


def fill(template, **values):
    return re.sub(r'%\((\w+)\)s', lambda m: values[m.group(1)], template)


class SamplesTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server(name='serial-demo')
        self.uuid = self.server['uuid']
        # As the samples' server: built from a request with these.
        self.compute.servers[self.uuid].update(
            key_name='demo-key', power_state=1, availability_zone='nova',
            launched_at=fakes.CREATED_AT, access_ip_v4='192.0.2.10',
            metadata={'purpose': 'serial console demo'})

    def assertShaped(self, name, response, status=200):
        self.assertStatus(status, response)
        found = shape_mismatch(load(name), self.json(response))
        self.assertIsNone(found, name)

    def get(self, path, version=None):
        return self.request('GET', '/v2.1' + path, token=base.ADMIN_TOKEN,
                            version=version)

    def test_comparator_fails_on_drift(self):
        self.assertIsNone(shape_mismatch({'a': [{'b': 1}]},
                                         {'a': [{'b': 2}, {'b': 3}]}))
        for actual in ({'a': [{'b': 1, 'c': 1}]}, {'a': [{'b': '1'}]},
                       {'a': []}, {'a': [{'b': True}]}, {}):
            self.assertIsNotNone(
                shape_mismatch({'a': [{'b': 1}]}, actual), actual)

    def test_services(self):
        self.assertShaped('os-services/services-list-get-resp.json',
                          self.get('/os-services', '2.1'))
        self.assertShaped('os-services/v2.11/services-list-get-resp.json',
                          self.get('/os-services', '2.11'))

    def test_hypervisors(self):
        self.assertShaped('os-hypervisors/hypervisors-list-resp.json',
                          self.get('/os-hypervisors'))
        self.assertShaped('os-hypervisors/hypervisors-detail-resp.json',
                          self.get('/os-hypervisors/detail'))
        self.assertShaped('os-hypervisors/hypervisors-show-resp.json',
                          self.get('/os-hypervisors/1', '2.25'))

    def test_admin_server(self):
        response = self.get('/servers/%s' % self.uuid, '2.25')
        self.assertShaped('servers/v2.25/server-get-admin-resp.json',
                          response)
        sample = load('servers/v2.25/server-get-admin-resp.json')['server']
        server = self.json(response)['server']
        self.assertEqual(fill(sample['OS-EXT-SRV-ATTR:instance_name'],
                              uuid=self.uuid),
                         server['OS-EXT-SRV-ATTR:instance_name'])
        for key in ('locked', 'description', 'host_status'):
            self.assertEqual(sample[key], server[key], key)

    def test_live_migrate_samples(self):
        action = '/v2.1/servers/%s/action' % self.uuid
        new = load('servers/v2.25/server-action-live-migrate-req.json')
        old = load('servers/server-action-live-migrate-req.json')
        # Both bodies are valid at their microversion...
        for body, version in ((new, '2.25'), (old, '2.1')):
            self.compute.servers[self.uuid].update(status='ACTIVE',
                                                   task_state=None)
            self.assertStatus(202, self.request(
                'POST', action, body=body, version=version,
                token=base.ADMIN_TOKEN))
        # ... and each is refused at the other's.
        for body, version in ((new, '2.24'), (old, '2.25')):
            self.assertFault(self.request('POST', action, body=body,
                                          version=version,
                                          token=base.ADMIN_TOKEN),
                             400, 'badRequest')

        # As on the single host of the functional test:
        self.compute.servers[self.uuid].update(status='ACTIVE',
                                               task_state=None)
        del self.compute.hosts['compute-2']
        for body, version in ((new, '2.25'), (old, '2.1')):
            response = self.request('POST', action, body=body,
                                    version=version, token=base.ADMIN_TOKEN)
            self.assertStatus(400, response)
            self.assertEqual(
                load('errors/migrate-live-host-not-found-resp.json'),
                self.json(response))
        response = self.request('POST', action, body=new, version='2.25')
        self.assertStatus(403, response)
        self.assertEqual(load('errors/migrate-live-forbidden-resp.json'),
                         self.json(response))

    def test_console_viewer_samples(self):
        path = '/v2.1/servers/%s/console-viewers' % self.uuid
        for version in (None, '2.1', '2.25'):
            response = self.request(
                'POST', path, version=version,
                body=load('console-viewers/create-viewer-req.json'))
            self.assertShaped('console-viewers/create-viewer-resp.json',
                              response)
            sample = load('console-viewers/create-viewer-resp.json')[
                'console_viewer']
            viewer = self.json(response)['console_viewer']
            self.assertEqual((sample['protocol'], sample['type']),
                             (viewer['protocol'], viewer['type']))
        response = self.request('POST', path, body=load(
            'errors/console-viewer-unknown-key-req.json'))
        self.assertStatus(400, response)
        self.assertEqual(load('errors/console-viewer-unknown-key-resp.json'),
                         self.json(response))

    def test_version_samples(self):
        response = self.request('GET', '/v2.1/servers', version='2.31')
        self.assertStatus(406, response)
        self.assertEqual(load('errors/version-not-supported-resp.json'),
                         self.json(response))
        for path, name in (('/', 'versions/versions-get-resp.json'),
                           ('/v2.1', 'versions/v21-version-get-resp.json')):
            expected = json.dumps(load(name)).replace(
                '%(host)s', 'http://localhost')
            self.assertEqual(json.loads(expected), self.json(
                self.request('GET', path, token=None)))
