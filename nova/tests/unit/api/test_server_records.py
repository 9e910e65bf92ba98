"""The REST side of microversions 2.9 to 2.30 and the small APIs:
server tags, metadata, lock/unlock, os-instance-actions, os-migrations,
/limits, os-availability-zone, os-migrateLive's force; over the real
compute API on the fake hosts (compute/base)."""

import json

import webob

from nova.api.openstack.compute import app
from nova.db import api as db
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_api

ALICE = 'alice:pa'
BOB = 'bob:pb'
ADMIN = 'admin'

SERVER_ACTION_KEYS = {'action', 'instance_uuid', 'message', 'project_id',
                      'request_id', 'start_time', 'user_id'}
MIGRATION_KEYS = {'id', 'status', 'instance_uuid', 'source_node',
                  'source_compute', 'dest_node', 'dest_compute',
                  'dest_host', 'old_instance_type_id',
                  'new_instance_type_id', 'created_at', 'updated_at'}
ABSOLUTE_KEYS = {
    'maxImageMeta', 'maxPersonality', 'maxPersonalitySize',
    'maxSecurityGroupRules', 'maxSecurityGroups', 'maxServerGroups',
    'maxServerGroupMembers', 'maxServerMeta', 'maxTotalCores',
    'maxTotalFloatingIps', 'maxTotalInstances', 'maxTotalKeypairs',
    'maxTotalRAMSize', 'totalCoresUsed', 'totalFloatingIpsUsed',
    'totalInstancesUsed', 'totalRAMUsed', 'totalSecurityGroupsUsed',
    'totalServerGroupsUsed'}


class RESTMixin:
    def _app(self):
        return app.build_app(self.api, conf=self.nova_conf)

    def call(self, method, path, body=None, token=ALICE, version=None):
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers['X-Auth-Token'] = token
        if version is not None:
            req.headers['OpenStack-API-Version'] = 'compute %s' % version
        if body is not None:
            req.body = json.dumps(body).encode('utf-8')
            req.content_type = 'application/json'
        response = req.get_response(self.app)
        if response.body and response.content_type == 'application/json':
            response.json_body_ = json.loads(response.body)
        else:
            response.json_body_ = None
        return response

    def check(self, status, response):
        self.assertEqual(status, response.status_int, response.body)
        return response.json_body_


class TagsTestCase(RESTMixin, test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()
        self.uuid = self._active()
        self.path = '/servers/%s/tags' % self.uuid

    def test_tags_api(self):
        self.check(404, self.call('GET', self.path, version='2.25'))
        self.assertEqual({'tags': []}, self.check(
            200, self.call('GET', self.path, version='2.26')))
        response = self.call('PUT', self.path + '/blue', version='2.26')
        self.check(201, response)
        self.assertTrue(response.headers['Location'].endswith(
            '/v2.1/servers/%s/tags/blue' % self.uuid))
        self.check(204, self.call('PUT', self.path + '/blue',
                                  version='2.26'))
        self.check(204, self.call('GET', self.path + '/blue',
                                  version='2.26'))
        self.check(404, self.call('GET', self.path + '/red',
                                  version='2.26'))
        self.assertEqual({'tags': ['a', 'b']}, self.check(
            200, self.call('PUT', self.path, {'tags': ['b', 'a']},
                           version='2.26')))
        self.check(204, self.call('DELETE', self.path + '/a',
                                  version='2.26'))
        self.check(404, self.call('DELETE', self.path + '/a',
                                  version='2.26'))
        self.check(204, self.call('DELETE', self.path, version='2.26'))
        self.assertEqual([], db.instance_tags([self.uuid])[self.uuid])
        # Another project's server does not exist.
        self.check(404, self.call('GET', self.path, token=BOB,
                                  version='2.26'))

    def test_bad_tags_are_400(self):
        for body in ({'tags': ['a,b']}, {'tags': ['x' * 61]},
                     {'tags': ['t%d' % i for i in range(51)]},
                     {'tags': 'a'}, {}):
            self.check(400, self.call('PUT', self.path, body,
                                      version='2.26'))
        self.check(400, self.call('PUT', self.path + '/' + 'x' * 61,
                                  version='2.26'))

    def test_server_bodies_and_filters(self):
        other = self._active(name='other')
        self.call('PUT', self.path, {'tags': ['a', 'b']}, version='2.26')
        self.call('PUT', '/servers/%s/tags' % other, {'tags': ['b']},
                  version='2.26')
        body = self.check(200, self.call('GET', '/servers/' + self.uuid,
                                         version='2.26'))
        self.assertEqual(['a', 'b'], body['server']['tags'])
        body = self.check(200, self.call('GET', '/servers/' + self.uuid,
                                         version='2.25'))
        self.assertNotIn('tags', body['server'])

        def ids(query, version='2.26'):
            found = self.check(200, self.call(
                'GET', '/servers/detail?' + query, version=version))
            return sorted(s['id'] for s in found['servers'])

        self.assertEqual([self.uuid], ids('tags=a,b'))
        self.assertEqual(sorted([self.uuid, other]), ids('tags-any=a,b'))
        self.assertEqual([other], ids('not-tags=a,b'))
        self.assertEqual([other], ids('not-tags-any=a'))
        self.assertEqual([], ids('not-tags-any=b'))
        # Before 2.26 the filters are unknown parameters: ignored.
        self.assertEqual(sorted([self.uuid, other]), ids('tags=zz', '2.25'))


class MetadataTestCase(RESTMixin, test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()
        self.uuid = self._active()
        self.path = '/servers/%s/metadata' % self.uuid

    def test_metadata_api(self):
        self.assertEqual({'metadata': {}}, self.check(
            200, self.call('GET', self.path)))
        self.assertEqual({'metadata': {'a': '1', 'b': '2'}}, self.check(
            200, self.call('POST', self.path,
                           {'metadata': {'a': '1', 'b': '2'}})))
        self.assertEqual({'metadata': {'c': '3'}}, self.check(
            200, self.call('PUT', self.path, {'metadata': {'c': '3'}})))
        self.assertEqual({'meta': {'d': '4'}}, self.check(
            200, self.call('PUT', self.path + '/d', {'meta': {'d': '4'}})))
        self.assertEqual({'meta': {'d': '4'}}, self.check(
            200, self.call('GET', self.path + '/d')))
        self.check(204, self.call('DELETE', self.path + '/d'))
        body = self.check(404, self.call('GET', self.path + '/d'))
        self.assertEqual('Metadata item was not found',
                         body['itemNotFound']['message'])
        self.check(404, self.call('DELETE', self.path + '/d'))
        self.check(404, self.call('GET', self.path, token=BOB))

    def test_bad_metadata(self):
        body = self.check(400, self.call('PUT', self.path + '/x',
                                         {'meta': {'y': '1'}}))
        self.assertEqual('Request body and URI mismatch',
                         body['badRequest']['message'])
        for bad in ({'meta': {'x': '1', 'y': '2'}}, {'meta': {}},
                    {'meta': {'x': 1}}, {'meta': {'x': 'v' * 256}}):
            self.check(400, self.call('PUT', self.path + '/x', bad))
        for bad in ({'metadata': {'a/b': '1'}}, {'metadata': {'': '1'}},
                    {'metadata': []}, {}):
            self.check(400, self.call('POST', self.path, bad))
        body = self.check(403, self.call('POST', self.path, {
            'metadata': {'k%d' % i: 'v' for i in range(129)}}))
        self.assertIn('128', body['forbidden']['message'])

    def test_metadata_of_locked_server_is_409(self):
        self.check(202, self.call('POST', '/servers/%s/action' % self.uuid,
                                  {'lock': None}))
        body = self.check(409, self.call('POST', self.path,
                                         {'metadata': {'a': '1'}}))
        self.assertIn('is locked', body['conflictingRequest']['message'])


class LockTestCase(RESTMixin, test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()
        self.uuid = self._active()
        self.action = '/servers/%s/action' % self.uuid

    def _locked(self, token=ALICE):
        return self.check(200, self.call('GET', '/servers/' + self.uuid,
                                         token=token, version='2.9')
                          )['server']['locked']

    def test_lock_unlock(self):
        self.assertFalse(self._locked())
        self.check(202, self.call('POST', self.action, {'lock': None}))
        self.assertTrue(self._locked())
        body = self.check(409, self.call('POST', self.action,
                                         {'reboot': {'type': 'SOFT'}}))
        self.assertIn('is locked', body['conflictingRequest']['message'])
        self.check(409, self.call('DELETE', '/servers/' + self.uuid))
        self.check(202, self.call('POST', self.action, {'unlock': None}))
        self.assertFalse(self._locked())
        self.check(400, self.call('POST', self.action, {'lock': {'a': 1}}))

    def test_admins_lock_needs_override_to_unlock(self):
        self.check(202, self.call('POST', self.action, {'lock': None},
                                  token=ADMIN))
        self.check(403, self.call('POST', self.action, {'unlock': None}))
        self.assertTrue(self._locked())
        self.check(202, self.call('POST', self.action, {'unlock': None},
                                  token=ADMIN))
        self.assertFalse(self._locked())


class ActionsTestCase(RESTMixin, test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()
        self.uuid = self._active()
        self.path = '/servers/%s/os-instance-actions' % self.uuid

    def test_list_and_show(self):
        self.check(202, self.call('POST', '/servers/%s/action' % self.uuid,
                                  {'reboot': {'type': 'HARD'}}))
        self._wait()
        body = self.check(200, self.call('GET', self.path))
        actions = body['instanceActions']
        self.assertEqual(['reboot', 'create'],
                         [a['action'] for a in actions])
        for action in actions:
            self.assertEqual(SERVER_ACTION_KEYS, set(action))
        request_id = actions[0]['request_id']
        body = self.check(200, self.call('GET', self.path + '/' +
                                         request_id))
        # The owner sees no events (admins only, before 2.51).
        self.assertNotIn('events', body['instanceAction'])
        body = self.check(200, self.call('GET', self.path + '/' +
                                         request_id, token=ADMIN))
        events = body['instanceAction']['events']
        self.assertEqual([('compute_reboot_instance', 'Success')],
                         [(e['event'], e['result']) for e in events])
        self.assertEqual({'event', 'start_time', 'finish_time', 'result',
                          'traceback'}, set(events[0]))
        self.check(404, self.call('GET', self.path + '/req-nothing'))
        self.check(404, self.call('GET', self.path, token=BOB))

    def test_deleted_server_from_2_21(self):
        self.check(204, self.call('DELETE', '/servers/' + self.uuid))
        base.wait_for(self, lambda: db.instance_get(self.uuid) is None,
                      'the delete')
        self.check(404, self.call('GET', self.path, version='2.20'))
        body = self.check(200, self.call('GET', self.path, version='2.21'))
        self.assertEqual(['delete', 'create'],
                         [a['action'] for a in body['instanceActions']])
        self.check(404, self.call('GET', self.path, token=BOB,
                                  version='2.21'))


class LimitsZonesTestCase(RESTMixin, test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()

    def test_limits(self):
        self._active()
        body = self.check(200, self.call('GET', '/limits'))
        self.assertEqual([], body['limits']['rate'])
        absolute = body['limits']['absolute']
        self.assertEqual(ABSOLUTE_KEYS, set(absolute))
        flavor = db.flavor_get('1')
        # The maximums are [quota]'s defaults (nova.quota).
        self.assertEqual((1, flavor['vcpus'], flavor['ram'], 128, 10),
                         (absolute['totalInstancesUsed'],
                          absolute['totalCoresUsed'],
                          absolute['totalRAMUsed'],
                          absolute['maxServerMeta'],
                          absolute['maxTotalInstances']))
        other = self.check(200, self.call('GET', '/limits', token=BOB))
        self.assertEqual(0, other['limits']['absolute'][
            'totalInstancesUsed'])

    def test_availability_zones(self):
        body = self.check(200, self.call('GET', '/os-availability-zone'))
        self.assertEqual([{'zoneName': 'nova',
                           'zoneState': {'available': True},
                           'hosts': None}], body['availabilityZoneInfo'])
        self.check(403, self.call('GET', '/os-availability-zone/detail'))
        body = self.check(200, self.call('GET', '/os-availability-zone/'
                                         'detail', token=ADMIN))
        zone = body['availabilityZoneInfo'][0]
        self.assertEqual('nova', zone['zoneName'])
        service = zone['hosts']['fake-host']['nova-compute']
        self.assertEqual((True, True), (service['available'],
                                        service['active']))
        self.assertTrue(service['updated_at'].endswith('Z'))


class MigrationsTestCase(RESTMixin, test_api.TwoHostsTestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()
        self.uuid = self._active_on('host-a')
        self.action = '/servers/%s/action' % self.uuid

    def test_migrate_with_host_then_list(self):
        self.check(202, self.call('POST', self.action, {
            'os-migrateLive': {'host': 'host-b', 'block_migration': 'auto',
                               'force': False}}, token=ADMIN,
            version='2.30'))
        self._wait()
        self.assertEqual('host-b', db.instance_get(self.uuid)['host'])
        self.check(403, self.call('GET', '/os-migrations'))
        body = self.check(200, self.call('GET', '/os-migrations',
                                         token=ADMIN))
        [migration] = body['migrations']
        self.assertEqual(MIGRATION_KEYS, set(migration))
        self.assertEqual(('completed', 'host-a', 'host-b', self.uuid, 1),
                         (migration['status'],
                          migration['source_compute'],
                          migration['dest_compute'],
                          migration['instance_uuid'],
                          migration['old_instance_type_id']))
        body = self.check(200, self.call('GET', '/os-migrations',
                                         token=ADMIN, version='2.23'))
        self.assertEqual('live-migration',
                         body['migrations'][0]['migration_type'])
        self.assertNotIn('links', body['migrations'][0])  # not running
        for query, count in (('status=completed', 1), ('status=error', 0),
                             ('host=host-b', 1), ('host=nowhere', 0),
                             ('instance_uuid=' + self.uuid, 1),
                             ('source_compute=host-b', 0)):
            body = self.check(200, self.call('GET', '/os-migrations?' +
                                             query, token=ADMIN))
            self.assertEqual(count, len(body['migrations']), query)
        body = self.check(200, self.call(
            'GET', '/servers/%s/migrations' % self.uuid, token=ADMIN,
            version='2.23'))
        self.assertEqual({'migrations': []}, body)

    def test_migration_in_progress_has_links_and_shows(self):
        gate = self._gate('live_migration', self.drivers['host-a'])
        self.check(202, self.call('POST', self.action, {
            'os-migrateLive': {'host': None, 'block_migration': 'auto'}},
            token=ADMIN, version='2.30'))
        self._entered('live_migration', self.drivers['host-a'])
        body = self.check(200, self.call('GET', '/os-migrations',
                                         token=ADMIN, version='2.23'))
        [migration] = body['migrations']
        self.assertEqual(('running', 'host-b'), (migration['status'],
                                                 migration['dest_compute']))
        path = '/servers/%s/migrations/%d' % (self.uuid, migration['id'])
        self.assertEqual(['self', 'bookmark'],
                         [link['rel'] for link in migration['links']])
        self.assertTrue(migration['links'][0]['href'].endswith(
            '/v2.1' + path))
        listed = self.check(200, self.call(
            'GET', '/servers/%s/migrations' % self.uuid, token=ADMIN,
            version='2.23'))['migrations']
        self.assertEqual([(migration['id'], self.uuid, None)],
                         [(m['id'], m['server_uuid'],
                           m['memory_total_bytes']) for m in listed])
        shown = self.check(200, self.call('GET', path, token=ADMIN,
                                          version='2.23'))['migration']
        self.assertEqual(listed[0], shown)
        self.check(404, self.call('GET', path + '0', token=ADMIN,
                                  version='2.23'))
        self.check(404, self.call('GET', path, token=ADMIN,
                                  version='2.22'))
        self.check(403, self.call('GET', path, version='2.23'))
        gate.set()
        self._wait()
        body = self.check(200, self.call('GET', '/os-migrations',
                                         token=ADMIN, version='2.23'))
        self.assertEqual('completed', body['migrations'][0]['status'])
        self.assertNotIn('links', body['migrations'][0])

    def test_force_false_is_checked_and_force_true_is_not(self):
        self._report('host-b', memory_mb_free=1)
        body = self.check(400, self.call('POST', self.action, {
            'os-migrateLive': {'host': 'host-b',
                               'block_migration': 'auto'}},
            token=ADMIN, version='2.30'))
        self.assertIn('host-b: only 1 MiB free RAM',
                      body['badRequest']['message'])
        # 2.29: no force in the schema; a named host is forced.
        self.check(400, self.call('POST', self.action, {
            'os-migrateLive': {'host': 'host-b', 'block_migration': 'auto',
                               'force': True}},
            token=ADMIN, version='2.29'))
        self.check(202, self.call('POST', self.action, {
            'os-migrateLive': {'host': 'host-b', 'block_migration': 'auto',
                               'force': True}},
            token=ADMIN, version='2.30'))
        self._wait()
        self.assertEqual('host-b', db.instance_get(self.uuid)['host'])


class OneHostLiveMigrationTestCase(RESTMixin, test_api.APITestCase):
    def test_host_null_says_the_only_host_is_the_servers_own(self):
        self.app = self._app()
        uuid = self._active()
        body = self.check(400, self.call(
            'POST', '/servers/%s/action' % uuid,
            {'os-migrateLive': {'host': None, 'block_migration': 'auto'}},
            token=ADMIN, version='2.30'))
        message = body['badRequest']['message']
        self.assertNotIn('No compute service has reported', message)
        self.assertIn("The server's own host fake-host is the only compute "
                      "host", message)
