"""os-quota-sets, os-quota-class-sets and /limits (tempest's
QuotasAdminTestJSON, QuotaClassesAdminTestJSON, QuotasAdminNegativeTest,
QuotasTestJSON, limits), and the quotas enforced at server create and
resize, metadata and key pairs; over the real compute API on the fake
hosts (compute/base)."""

import contextlib
from unittest import mock

from oslo_db import exception as db_exc

from nova.db import api as db
from nova import exception
from nova import quota
from nova.tests.unit.api import test_server_records as records
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_api

ALICE, BOB, ADMIN = records.ALICE, records.BOB, records.ADMIN
RESOURCES = {'instances', 'cores', 'ram', 'floating_ips', 'fixed_ips',
             'metadata_items', 'injected_files',
             'injected_file_content_bytes', 'injected_file_path_bytes',
             'key_pairs', 'security_groups', 'security_group_rules',
             'server_groups', 'server_group_members'}
DEFAULTS = {'instances': 10, 'cores': 20, 'ram': 51200,
            'metadata_items': 128, 'key_pairs': 100, 'injected_files': 5,
            'injected_file_content_bytes': 10240,
            'injected_file_path_bytes': 255, 'server_groups': 10,
            'server_group_members': 10, 'floating_ips': -1,
            'fixed_ips': -1, 'security_groups': -1,
            'security_group_rules': -1}


class QuotaSetsAPITestCase(records.RESTMixin, test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()

    def _set(self, body, project='pa', token=ADMIN, query=''):
        return self.call('PUT', '/os-quota-sets/%s%s' % (project, query),
                         {'quota_set': body}, token=token)

    def test_show_and_defaults_have_nova_keys_and_defaults(self):
        for path in ('/os-quota-sets/pa', '/os-quota-sets/pa/defaults',
                     '/os-quota-sets/pa?user_id=alice'):
            body = self.check(200, self.call('GET', path))['quota_set']
            self.assertEqual(dict(DEFAULTS, id='pa'), body)

    def test_reader_sees_own_project_only(self):
        self.check(403, self.call('GET', '/os-quota-sets/pa', token=BOB))
        self.check(403, self.call('GET', '/os-quota-sets/pa/detail',
                                  token=BOB))
        self.check(200, self.call('GET', '/os-quota-sets/pa', token=ADMIN))
        self.check(403, self.call('GET', '/os-quota-sets/pa/defaults',
                                  token=BOB))
        self.check(200, self.call('GET', '/os-quota-sets/pb/defaults',
                                  token=BOB))

    def test_update_admin_only_string_limits_no_id(self):
        self.check(403, self._set({'ram': 0}, token=ALICE))
        body = self.check(200, self._set({'ram': '5120', 'cores': 2,
                                          'force': True}))['quota_set']
        self.assertEqual(RESOURCES, set(body))
        self.assertEqual((5120, 2), (body['ram'], body['cores']))
        shown = self.check(200, self.call('GET', '/os-quota-sets/pa'))
        self.assertEqual(5120, shown['quota_set']['ram'])
        # Another project keeps the defaults.
        other = self.check(200, self.call('GET', '/os-quota-sets/pb',
                                          token=BOB))
        self.assertEqual(51200, other['quota_set']['ram'])

    def test_update_every_resource_including_network_quotas(self):
        values = {resource: DEFAULTS[resource] + 100
                  for resource in RESOURCES}
        body = self.check(200, self._set(dict(values, force=True)))
        self.assertEqual(values, body['quota_set'])

    def test_bad_limits_are_400(self):
        for body in ({'ram': 'abc'}, {'ram': -2}, {'ram': '-2'},
                     {'ram': '99999999999'}, {'ram': 2 ** 31},
                     {'bogus': 1}, {'ram': 1.5}, {'force': 'maybe'}):
            with self.subTest(body=body):
                self.check(400, self._set(body))
        self.check(400, self.call('PUT', '/os-quota-sets/pa', {'x': {}},
                                  token=ADMIN))
        self.assertEqual({}, db.quota_get('pa'))

    def test_user_quota_within_project(self):
        self.check(200, self._set({'ram': 5120}))
        self.check(200, self._set({'ram': 2048}, query='?user_id=alice'))
        user = self.check(200, self.call(
            'GET', '/os-quota-sets/pa?user_id=alice'))['quota_set']
        project = self.check(200, self.call(
            'GET', '/os-quota-sets/pa'))['quota_set']
        self.assertEqual((2048, 5120), (user['ram'], project['ram']))
        # Above the project's: 400 unless forced.
        self.check(400, self._set({'ram': 6000}, query='?user_id=alice'))
        self.check(200, self._set({'ram': 6000, 'force': 'true'},
                                  query='?user_id=alice'))

    def test_delete_back_to_defaults(self):
        self.check(200, self._set({'ram': 5120}))
        self.check(200, self._set({'ram': 2048}, query='?user_id=alice'))
        self.check(403, self.call('DELETE', '/os-quota-sets/pa',
                                  token=ALICE))
        response = self.call('DELETE', '/os-quota-sets/pa', token=ADMIN)
        self.check(202, response)
        for query in ('', '?user_id=alice'):
            body = self.check(200, self.call('GET', '/os-quota-sets/pa' +
                                             query))
            self.assertEqual(51200, body['quota_set']['ram'])

    def test_detail_counts_usage_and_refuses_a_limit_below_it(self):
        self._active()
        flavor = db.flavor_get('1')
        body = self.check(200, self.call('GET', '/os-quota-sets/pa/detail'))
        quota_set = body['quota_set']
        self.assertEqual('pa', quota_set.pop('id'))
        self.assertEqual(RESOURCES, set(quota_set))
        self.assertEqual({'limit': 20, 'in_use': flavor['vcpus'],
                          'reserved': 0}, quota_set['cores'])
        self.assertEqual(1, quota_set['instances']['in_use'])
        self.assertEqual(flavor['ram'], quota_set['ram']['in_use'])
        response = self._set({'instances': 0})
        self.check(400, response)
        self.assertIn('must be greater than or equal to already used',
                      response.json_body_['badRequest']['message'])
        self.check(200, self._set({'instances': 0, 'force': True}))

    def test_quota_class_default_changes_every_project(self):
        self.check(403, self.call('GET', '/os-quota-class-sets/default',
                                  token=ALICE))
        body = self.check(200, self.call('GET', '/os-quota-class-sets/'
                                         'default', token=ADMIN))
        self.assertEqual(dict(DEFAULTS, id='default'),
                         body['quota_class_set'])
        values = {r: DEFAULTS[r] + 100 for r in RESOURCES}
        self.check(403, self.call('PUT', '/os-quota-class-sets/default',
                                  {'quota_class_set': values}, token=ALICE))
        updated = self.check(200, self.call(
            'PUT', '/os-quota-class-sets/default',
            {'quota_class_set': values}, token=ADMIN))
        self.assertEqual(values, updated['quota_class_set'])
        shown = self.check(200, self.call('GET', '/os-quota-sets/pb',
                                          token=BOB))['quota_set']
        self.assertEqual(51300, shown['ram'])
        defaults = self.check(200, self.call(
            'GET', '/os-quota-sets/pb/defaults', token=BOB))['quota_set']
        self.assertEqual(dict(values, id='pb'), defaults)
        self.check(400, self.call('PUT', '/os-quota-class-sets/default',
                                  {'quota_class_set': {'force': True}},
                                  token=ADMIN))

    def test_limits_come_from_the_quotas(self):
        self._active()
        self.check(200, self._set({'instances': 5, 'cores': 7, 'ram': 999,
                                   'metadata_items': 3, 'key_pairs': 4}))
        absolute = self.check(200, self.call('GET', '/limits'))[
            'limits']['absolute']
        flavor = db.flavor_get('1')
        self.assertEqual(
            (5, 7, 999, 3, 3, 4, 1, flavor['vcpus'], flavor['ram']),
            (absolute['maxTotalInstances'], absolute['maxTotalCores'],
             absolute['maxTotalRAMSize'], absolute['maxServerMeta'],
             absolute['maxImageMeta'], absolute['maxTotalKeypairs'],
             absolute['totalInstancesUsed'], absolute['totalCoresUsed'],
             absolute['totalRAMUsed']))
        self.assertEqual(records.ABSOLUTE_KEYS, set(absolute))
        # A user's own quota is what /limits shows that user.
        self.check(200, self._set({'instances': 2},
                                  query='?user_id=alice'))
        absolute = self.check(200, self.call('GET', '/limits'))[
            'limits']['absolute']
        self.assertEqual(2, absolute['maxTotalInstances'])


class EnforcedTestCase(records.RESTMixin, test_api.APITestCase):
    """Create over a quota is refused (Nova's 403 text), under it
    accepted; resize, metadata and key pairs likewise."""

    def setUp(self):
        super().setUp()
        self.app = self._app()
        self.flavor = db.flavor_get('1')

    def _create(self, **extra):
        return self.call('POST', '/servers', {'server': dict(
            {'name': 'vm', 'imageRef': 'img-1', 'flavorRef': '1'},
            **extra)})

    def _refused(self, response, fragment):
        self.check(403, response)
        message = response.json_body_['forbidden']['message']
        self.assertIn(fragment, message)
        return message

    def test_create_over_cores_ram_instances_refused(self):
        vcpus, ram = self.flavor['vcpus'], self.flavor['ram']
        quota.update(self.nova_conf, 'pa', {'cores': vcpus - 1})
        self.assertEqual(
            'Quota exceeded for cores: Requested %d, but already used 0 '
            'of %d cores' % (vcpus, vcpus - 1),
            self._refused(self._create(), 'Quota exceeded for cores'))
        quota.update(self.nova_conf, 'pa', {'cores': -1, 'ram': ram - 1})
        self._refused(self._create(), 'Quota exceeded for ram: Requested '
                      '%d, but already used 0 of %d ram' % (ram, ram - 1))
        quota.update(self.nova_conf, 'pa', {'ram': -1, 'instances': 0})
        self._refused(self._create(), 'Quota exceeded for instances')
        self.assertEqual([], db.instance_get_all(project_id='pa'))
        # Under the quota: accepted; then the next one is over it.
        quota.update(self.nova_conf, 'pa', {'instances': 1})
        self.check(202, self._create())
        self._wait()
        self._refused(self._create(), 'Requested 1, but already used 1 of '
                      '1 instances')
        # Another project is not affected.
        self.check(202, self.call('POST', '/servers', {'server': {
            'name': 'vm', 'imageRef': 'img-1', 'flavorRef': '1'}},
            token=BOB))
        self._wait()

    def test_user_quota_enforced_for_that_user_only(self):
        quota.update(self.nova_conf, 'pa', {'instances': 0},
                     user_id='alice')
        self._refused(self._create(), 'Quota exceeded for instances')
        self.check(202, self.call('POST', '/servers', {'server': {
            'name': 'vm', 'imageRef': 'img-1', 'flavorRef': '1'}},
            token='carol:pa'))
        self._wait()

    def test_racing_create_is_undone_by_the_recheck(self):
        quota.update(self.nova_conf, 'pa', {'instances': 1})
        real = self.api._check_quota

        def check_then_race(ctx, flavor, **kw):
            real(ctx, flavor, **kw)
            # Another API worker's create lands between check and insert.
            self._server(uuid='racer', vm_state='active', task_state=None)

        with mock.patch.object(self.api, '_check_quota', check_then_race):
            self._refused(self._create(), 'Quota exceeded for instances')
        self.assertEqual(['racer'], [s['uuid'] for s in
                                     db.instance_get_all(project_id='pa')])

    def test_without_recheck_the_race_goes_over(self):
        # What the recheck is for: the documented trade-off of False.
        self.nova_flags(group='quota', recheck_quota=False)
        quota.update(self.nova_conf, 'pa', {'instances': 1})
        real = self.api._check_quota

        def check_then_race(ctx, flavor, **kw):
            real(ctx, flavor, **kw)
            self._server(uuid='racer', vm_state='active', task_state=None)

        with mock.patch.object(self.api, '_check_quota', check_then_race):
            self.check(202, self._create())
        self._wait()
        self.assertEqual(2, len(db.instance_get_all(project_id='pa')))

    def test_resize_counts_the_increase(self):
        uuid = self._active()
        db.flavor_create({'id': 'big', 'name': 'big', 'ram': 256,
                          'vcpus': self.flavor['vcpus'] + 2, 'disk': 0})
        quota.update(self.nova_conf, 'pa', {'cores': self.flavor['vcpus']})
        e = self.assertRaises(exception.TooManyInstances, self.api.resize,
                              base.ALICE, uuid, 'big')
        self.assertEqual(
            'Quota exceeded for cores: Requested 2, but already used %d of '
            '%d cores' % (self.flavor['vcpus'], self.flavor['vcpus']),
            e.message)
        self.assertEqual(403, e.code)
        self.assertEqual(('active', None, None), self._state(uuid))
        response = self.call('POST', '/servers/%s/action' % uuid,
                             {'resize': {'flavorRef': 'big'}})
        self._refused(response, 'Quota exceeded for cores')

    def test_resize_to_smaller_is_not_refused_by_quota(self):
        uuid = self._active()
        db.flavor_create({'id': 'small', 'name': 'small', 'ram': 64,
                          'vcpus': 1, 'disk': 0})
        quota.update(self.nova_conf, 'pa', {'cores': 0, 'ram': 0},
                     force=True)
        with mock.patch.object(self.api, '_start_move') as move:
            self.api.resize(base.ALICE, uuid, 'small')
        move.assert_called_once()

    def test_usage_counts_a_resizing_server_with_its_larger_flavor(self):
        uuid = self._active()
        db.flavor_create({'id': 'big', 'name': 'big', 'ram': 4096,
                          'vcpus': 8, 'disk': 0})
        db.migration_create({'instance_uuid': uuid,
                             'old_instance_type_id': '1',
                             'new_instance_type_id': 'big',
                             'status': 'migrating',
                             'migration_type': 'resize'})
        self.assertEqual({'instances': 1, 'cores': 8, 'ram': 4096},
                         db.quota_usage('pa'))

    def test_metadata_items_quota(self):
        quota.update(self.nova_conf, 'pa', {'metadata_items': 2})
        self._refused(self._create(metadata={'a': '1', 'b': '2', 'c': '3'}),
                      'Maximum number of metadata items exceeds 2')
        response = self._create(metadata={'a': '1'})
        self.check(202, response)
        uuid = response.json_body_['server']['id']
        self._wait()
        path = '/servers/%s/metadata' % uuid
        self.check(200, self.call('POST', path, {'metadata': {'b': '2'}}))
        self._refused(self.call('POST', path, {'metadata': {'c': '3'}}),
                      'Maximum number of metadata items exceeds 2')
        quota.update(self.nova_conf, 'pa', {'metadata_items': -1})
        self.check(200, self.call('POST', path, {'metadata': {
            str(n): 'v' for n in range(200)}}))

    def test_metadata_items_quota_at_rebuild(self):
        uuid = self._active()
        quota.update(self.nova_conf, 'pa', {'metadata_items': 1})
        e = self.assertRaises(exception.MetadataLimitExceeded,
                              self.api.rebuild, base.ALICE, uuid, 'img-1',
                              metadata={'a': '1', 'b': '2'})
        self.assertEqual(403, e.code)
        self.assertEqual(('active', None, None), self._state(uuid))

    def _pair(self, name, token=ALICE):
        return self.call('POST', '/os-keypairs', {'keypair': {
            'name': name, 'public_key': PUBLIC_KEY}}, token=token)

    def test_key_pairs_quota(self):
        quota.update(self.nova_conf, 'pa', {'key_pairs': 1})
        self.check(200, self._pair('one'))
        self._refused(self._pair('two'), 'Quota exceeded, too many key '
                      'pairs')
        self.check(200, self._pair('two', token='bob:pb'))

    def test_racing_key_pair_is_undone_by_the_recheck(self):
        quota.update(self.nova_conf, 'pa', {'key_pairs': 1})
        real = db.key_pair_count
        raced = []

        def count_then_race(user_id):
            found = real(user_id)
            if not raced:
                raced.append(db.key_pair_create({
                    'user_id': user_id, 'name': 'racer',
                    'fingerprint': 'f', 'public_key': 'p'}))
            return found

        with mock.patch.object(db, 'key_pair_count', count_then_race):
            self._refused(self._pair('mine'), 'too many key pairs')
        self.assertEqual(['racer'], [p['name'] for p in
                                     db.key_pair_list('alice')])


PUBLIC_KEY = (
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHrYm0dwTGvXGXwOSBxPIbPWZxDlhhJIK'
    'hf1fMf0T5BE test@example')


class _Rollback(Exception):
    pass


class QuotaDBTestCase(test_api.APITestCase):
    def test_a_racing_insert_of_the_same_row_becomes_an_update(self):
        real = db._transaction
        raced = []

        @contextlib.contextmanager
        def transaction():
            if raced:
                with real() as session:
                    yield session
                return
            raced.append(True)
            try:
                with real() as session:
                    yield session
                    raise _Rollback()
            except _Rollback:
                pass
            # Another API worker's insert of the same row committed
            # first: ours is a duplicate (MariaDB's unique key).
            with real() as session:
                session.add(db.models.Quota(
                    project_id='pa', user_id='', resource='ram',
                    hard_limit=1, created_at=db.utcnow()))
            raise db_exc.DBDuplicateEntry(columns=['resource'])

        with mock.patch.object(db, '_transaction', transaction):
            db.quota_set('pa', {'ram': 5120, 'cores': 3})
        self.assertEqual({'ram': 5120, 'cores': 3}, db.quota_get('pa'))
