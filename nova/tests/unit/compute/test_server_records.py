"""What the compute API records about servers: instance actions and
their events, live migrations (os-migrations), locks, tags, metadata;
and the live migration's destination (host=null on one host, 2.30's
force). On the fake hosts of compute/base over the fake transport."""

from nova.compute import instance_actions
from nova.db import api as db
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_api

ADMIN, ALICE, BOB = base.ADMIN, base.ALICE, base.BOB


def _actions(uuid):
    return [(a['action'], a['message']) for a in db.action_list(uuid)]


def _events(action):
    return [(e['event'], e['result'], e['host'])
            for e in db.action_events(action['id'])]


class ActionsTestCase(test_api.APITestCase):
    def test_create_reboot_rebuild_delete_are_recorded(self):
        uuid = self._active()
        self.api.reboot(ALICE, uuid, 'HARD')
        self._wait()
        self.api.rebuild(ALICE, uuid, 'img-1')
        self._wait()
        self.api.delete(ALICE, uuid)
        base.wait_for(self, lambda: db.instance_get(uuid) is None,
                      'the delete')
        actions = db.action_list(uuid)
        self.assertEqual(['delete', 'rebuild', 'reboot', 'create'],
                         [a['action'] for a in actions])
        for action in actions:
            self.assertEqual(('alice', 'pa', None),
                             (action['user_id'], action['project_id'],
                              action['message']))
            self.assertTrue(action['request_id'].startswith('req-'))
            self.assertIsNotNone(action['finish_time'])
        self.assertEqual(
            [[('compute_terminate_instance', 'Success', 'fake-host')],
             [('compute_rebuild_instance', 'Success', 'fake-host')],
             [('compute_reboot_instance', 'Success', 'fake-host')],
             [('compute_build_and_run_instance', 'Success', 'fake-host')]],
            [_events(a) for a in actions])

    def test_failure_is_an_error_event(self):
        self.driver.fail['spawn'] = exception.InstanceBootFailed(
            reason='no kernel')
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        self._wait()
        action = db.action_list(server['uuid'])[0]
        self.assertEqual(('create', 'Error'), (action['action'],
                                               action['message']))
        event = db.action_events(action['id'])[0]
        self.assertEqual('Error', event['result'])
        self.assertIn('no kernel', event['traceback'])

    def test_deleted_servers_actions_by_owner_only(self):
        uuid = self._active()
        self.api.delete(ALICE, uuid)
        base.wait_for(self, lambda: db.instance_get(uuid) is None,
                      'the delete')
        self.assertRaises(exception.InstanceNotFound,
                          self.api.actions_list, ALICE, uuid)
        owner, actions = self.api.actions_list(ALICE, uuid,
                                               deleted_ok=True)
        self.assertEqual('pa', owner['project_id'])
        self.assertEqual(2, len(actions))
        self.assertRaises(exception.InstanceNotFound,
                          self.api.actions_list, BOB, uuid, True)
        request_id = actions[0]['request_id']
        found = self.api.action_get(ADMIN, uuid, request_id, True)[1]
        self.assertEqual('delete', found['action'])
        self.assertRaises(exception.InstanceActionNotFound,
                          self.api.action_get, ALICE, uuid, 'req-none',
                          True)


class LockTestCase(test_api.APITestCase):
    def test_locked_server_refuses_its_owner_not_an_admin(self):
        uuid = self._active()
        self.api.lock(ALICE, uuid)
        server = self.api.get(ALICE, uuid)
        self.assertEqual((True, 'owner'), (server['locked'],
                                           server['locked_by']))
        for call in (lambda: self.api.reboot(ALICE, uuid, 'SOFT'),
                     lambda: self.api.rebuild(ALICE, uuid, 'img-1'),
                     lambda: self.api.delete(ALICE, uuid),
                     lambda: self.api.update_metadata(ALICE, uuid,
                                                      {'a': 'b'})):
            e = self.assertRaises(exception.InstanceIsLocked, call)
            self.assertEqual(409, e.code)
        self.api.reboot(ADMIN, uuid, 'SOFT')
        self._wait()
        self.api.unlock(ALICE, uuid)
        self.assertFalse(self.api.get(ALICE, uuid)['locked'])
        self.assertEqual(['unlock', 'reboot', 'lock', 'create'],
                         [a for a, _m in _actions(uuid)])

    def test_admin_lock_is_recorded_as_admin(self):
        uuid = self._active()
        self.api.lock(ADMIN, uuid)
        server = self.api.get(ALICE, uuid)
        self.assertEqual('admin', server['locked_by'])
        self.assertFalse(self.api.is_expected_locked_by(ALICE, server))
        self.assertTrue(self.api.is_expected_locked_by(ADMIN, server))


class TagsMetadataTestCase(test_api.APITestCase):
    def test_tags(self):
        uuid = self._active()
        self.assertEqual([], self.api.get_tags(ALICE, uuid))
        self.assertTrue(self.api.add_tag(ALICE, uuid, 'b'))
        self.assertFalse(self.api.add_tag(ALICE, uuid, 'b'))
        self.assertEqual(['a', 'c'],
                         self.api.set_tags(ALICE, uuid, ['c', 'a', 'a']))
        self.api.delete_tag(ALICE, uuid, 'a')
        self.assertRaises(exception.InstanceTagNotFound,
                          self.api.delete_tag, ALICE, uuid, 'a')
        self.assertRaises(exception.TooManyInstanceTags, self.api.set_tags,
                          ALICE, uuid, ['t%d' % i for i in range(51)])
        self.assertRaises(exception.InstanceNotFound, self.api.get_tags,
                          BOB, uuid)
        self.api.delete(ALICE, uuid)
        base.wait_for(self, lambda: db.instance_get(uuid) is None,
                      'the delete')
        self.assertEqual({uuid: []}, db.instance_tags([uuid]))

    def test_metadata(self):
        uuid = self._active()
        self.assertEqual({}, self.api.get_metadata(ALICE, uuid))
        self.assertEqual({'a': '1', 'b': '2'}, self.api.update_metadata(
            ALICE, uuid, {'a': '1', 'b': '2'}))
        self.assertEqual({'a': '1', 'b': '3'}, self.api.update_metadata(
            ALICE, uuid, {'b': '3'}))
        self.assertEqual({'c': '4'}, self.api.update_metadata(
            ALICE, uuid, {'c': '4'}, replace=True))
        self.api.delete_metadata_item(ALICE, uuid, 'c')
        self.assertRaises(exception.MetadataItemNotFound,
                          self.api.delete_metadata_item, ALICE, uuid, 'c')
        too_many = {'k%d' % i: 'v' for i in range(129)}
        e = self.assertRaises(exception.MetadataLimitExceeded,
                              self.api.update_metadata, ALICE, uuid,
                              too_many)
        self.assertEqual(403, e.code)
        self.assertEqual({}, self.api.get_metadata(ALICE, uuid))

    def test_metadata_of_a_building_server_is_409(self):
        gate = self._gate('spawn')
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        e = self.assertRaises(exception.InstanceInvalidState,
                              self.api.update_metadata, ALICE,
                              server['uuid'], {'a': 'b'})
        self.assertEqual(409, e.code)
        gate.set()
        self._wait()


class LiveMigrationRecordsTestCase(test_api.TwoHostsTestCase):
    def setUp(self):
        super().setUp()
        self.uuid = self._active_on('host-a')

    def _migrations(self):
        return [(m['status'], m['source_compute'], m['dest_compute'],
                 m['migration_type'])
                for m in db.migration_list(instance_uuid=self.uuid)]

    def test_completed_migration_and_action(self):
        self.api.live_migrate(ADMIN, self.uuid, 'host-b')
        self._wait()
        self.assertEqual([('completed', 'host-a', 'host-b',
                           'live-migration')], self._migrations())
        migration = self.api.migration_list(ADMIN)[0]
        self.assertEqual(('host-a.example.org', 'host-b.example.org', 1),
                         (migration['source_node'], migration['dest_node'],
                          migration['old_instance_type_id']))
        action = db.action_list(self.uuid)[0]
        self.assertEqual(('live-migration', 'admin', None),
                         (action['action'], action['user_id'],
                          action['message']))
        self.assertEqual([('compute_live_migration', 'Success', 'host-b')],
                         _events(action))

    def test_refused_migration_is_error(self):
        self.stop_host('host-b')
        self.assertRaises(exception.NovaException, self.api.live_migrate,
                          ADMIN, self.uuid, 'host-b')
        self.assertEqual([('error', 'host-a', None, 'live-migration')],
                         self._migrations())
        action = db.action_list(self.uuid)[0]
        self.assertEqual('Error', action['message'])

    def test_force_false_runs_the_schedulers_filters(self):
        self._report('host-b', memory_mb_free=1)
        e = self.assertRaises(exception.NoValidHost, self.api.live_migrate,
                              ADMIN, self.uuid, 'host-b', force=False)
        self.assertIn('host-b: only 1 MiB free RAM', e.message)
        self.assertEqual(('active', None, None), self._state(self.uuid))
        # Forced (and before 2.30): the hosts' own checks alone.
        self.api.live_migrate(ADMIN, self.uuid, 'host-b', force=True)
        self._wait()
        self.assertEqual('host-b', db.instance_get(self.uuid)['host'])


class OneHostTestCase(test_api.APITestCase):
    def test_host_null_names_the_real_reason(self):
        uuid = self._active()
        e = self.assertRaises(exception.NoValidHost, self.api.live_migrate,
                              ADMIN, uuid)
        self.assertEqual(400, e.code)
        self.assertNotIn('No compute service has reported', e.message)
        self.assertIn("The server's own host fake-host is the only compute "
                      "host", e.message)
        self.assertEqual(instance_actions.LIVE_MIGRATION,
                         db.action_list(uuid)[0]['action'])
