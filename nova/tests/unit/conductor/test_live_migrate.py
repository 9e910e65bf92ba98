"""The conductor's part of a live migration: the task that starts it,
the outcomes a source reports, and the recovery of migrations a dead
process left (nova.conductor.live_migrate), over the in-process
transport with a FakeDriver per host."""

import threading

import fixtures

from nova.compute import rpcapi
from nova.conductor import live_migrate
from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.scheduler import manager as scheduler
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import base
from nova.virt import driver

CTX = base.ADMIN
PORT = 10500


class LiveMigrateTestCase(base.ComputeTestCase):
    HOSTS = ('host-a', 'host-b')

    def setUp(self):
        super().setUp()
        self.rpc = rpcapi.ComputeAPI(self.nova_conf)
        self.a, self.b = self.drivers['host-a'], self.drivers['host-b']
        for drv in (self.a, self.b):
            drv.calls.clear()  # init_host
        self.addCleanup(scheduler.end_migration, ids.SRV1)

    def _server(self, vm_state='active', task_state=None, host='host-a'):
        return super()._server(vm_state=vm_state, task_state=task_state,
                               host=host)

    def _task(self, server, dest='host-b', block_migration='auto'):
        return live_migrate.LiveMigrationTask(
            CTX, self.nova_conf, self.rpc, server['uuid'], dest,
            block_migration)

    def _recover(self, **kw):
        live_migrate.recover_live_migrations(CTX, self.rpc, self.nova_conf,
                                             wait=True, **kw)


class TaskTestCase(LiveMigrateTestCase):
    def setUp(self):
        super().setUp()
        self.a.ports[ids.SRV1] = PORT

    def test_checks_mark_claim_and_cast_to_the_source(self):
        gate = self.a.gates['live_migration'] = threading.Event()
        self.addCleanup(gate.set)
        self.assertEqual('host-b', self._task(self._server()).execute())
        # Returned before the job: the source runs it.
        self.assertTrue(self.a.entered_event('live_migration').wait(
            base.WAIT))
        self.assertEqual(('active', 'migrating', None), self._state())
        self.assertEqual('host-b', scheduler._MIGRATING_TO.get(ids.SRV1))
        self.assertEqual(['check_can_live_migrate_destination',
                          'pre_live_migration'], self.b.names())
        gate.set()
        base.wait_for_migrations(self)
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual('host-b', db.instance_get(ids.SRV1)['host'])
        self.assertNotIn(ids.SRV1, scheduler._MIGRATING_TO)

    def test_failed_check_changes_nothing(self):
        self.a.fail['check_can_live_migrate_source'] = (
            exception.MigrationError(reason='no serial address'))
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self._task(self._server()).execute)
        self.assertEqual('Migration pre-check error: no serial address',
                         e.message)
        self.assertEqual(('active', None, None), self._state())
        self.assertNotIn(ids.SRV1, scheduler._MIGRATING_TO)
        self.assertNotIn('live_migration', self.a.names())

    def test_destination_check_file_removed_after_the_source_check(self):
        server = self._server()
        cleanup = self.useFixture(fixtures.MockPatchObject(
            self.rpc, 'cleanup_live_migration_destination_check')).mock
        # Whether the source refused or not.
        for fail in (exception.MigrationError(reason='no'), None):
            cleanup.reset_mock()
            self.a.fail.pop('check_can_live_migrate_source', None)
            if fail:
                self.a.fail['check_can_live_migrate_source'] = fail
            task = self._task(server, block_migration=True)
            task.disk_over_commit = False
            if fail:
                self.assertRaises(exception.MigrationPreCheckError,
                                  task.execute)
            else:
                task.execute()
                base.wait_for_migrations(self)
            # On the destination, with what the source was asked.
            (_ctx, dest, inst, data), _kw = cleanup.call_args
            self.assertEqual(('host-b', ids.SRV1), (dest, inst.uuid))
            self.assertEqual((True, False), (data.block_migration,
                                             data.disk_over_commit))

    def test_cleanup_failure_is_only_a_warning(self):
        self.useFixture(fixtures.MockPatchObject(
            self.rpc, 'cleanup_live_migration_destination_check',
            side_effect=exception.ComputeHostError(host='host-b',
                                                   reason='gone')))
        self.assertEqual('host-b', self._task(self._server()).execute())
        base.wait_for_migrations(self)

    def test_auto_reaches_the_source_as_none(self):
        task = self._task(self._server(), block_migration='auto')
        self.assertIsNone(task.block_migration)
        self.assertIsNone(task.disk_over_commit)

    def test_taken_over_meanwhile(self):
        server = self._server()
        db.instance_update(ids.SRV1, {'task_state': 'deleting'})
        e = self.assertRaises(exception.InstanceInvalidState,
                              self._task(server).execute)
        self.assertIn('ACTIVE (deleting)', e.message)  # as the API shows it
        self.assertNotIn(ids.SRV1, scheduler._MIGRATING_TO)

    def test_destination_checked(self):
        server = self._server()
        for dest, error in (('host-a', exception.MigrationPreCheckError),
                            ('host-c', exception.ComputeHostNotFound)):
            self.assertRaises(error, self._task(server, dest).execute)
        self.stop_host('host-b')
        self.assertRaises(exception.ComputeServiceUnavailable,
                          self._task(server).execute)
        self.assertRaises(exception.NoValidHost,
                          self._task(server, None).execute)
        self.assertEqual(('active', None, None), self._state())


class OutcomeTestCase(LiveMigrateTestCase):
    def test_done_moves_and_revokes(self):
        self._server('active', 'migrating')
        self.b.ports[ids.SRV1] = PORT
        token = tokens.authorize(ids.SRV1, 'serial', 'h', 1)
        live_migrate.record_outcome(CTX, self.rpc, self.nova_conf, ids.SRV1,
                                    'host-a', 'host-b', live_migrate.DONE)
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual('host-b', db.instance_get(ids.SRV1)['host'])
        self.assertRaises(exception.InvalidToken, tokens.validate, token)
        self.assertIn(ids.SRV1, db.service_get_by_host('host-b')[
            'report']['serial_port_holders'])

    def test_port_facts_of_the_wrong_types_are_not_recorded(self):
        # Asked of the hosts after the move: a hostile answer must not
        # reach the scheduler's reads (as for every action's outcome).
        self._server('active', 'migrating')
        before = db.service_get_by_host('host-b')['report'].get(
            'serial_ports_free')
        self.useFixture(fixtures.MockPatchObject(
            self.rpc, 'get_serial_port_facts',
            return_value={'serial_ports_free': 'lots'}))
        live_migrate.record_outcome(CTX, self.rpc, self.nova_conf, ids.SRV1,
                                    'host-a', 'host-b', live_migrate.DONE)
        self.assertEqual('host-b', db.instance_get(ids.SRV1)['host'])
        self.assertEqual(before, db.service_get_by_host('host-b')[
            'report'].get('serial_ports_free'))
        self.assertIn('serial port facts of host host-b are not recorded',
                      self.logs.output)

    def test_failed_keeps_it_and_its_tokens(self):
        self._server('active', 'migrating')
        self.a.ports[ids.SRV1] = PORT
        token = tokens.authorize(ids.SRV1, 'serial', 'h', 1)
        live_migrate.record_outcome(CTX, self.rpc, self.nova_conf, ids.SRV1,
                                    'host-a', 'host-b', live_migrate.FAILED,
                                    'link down')
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual('host-a', db.instance_get(ids.SRV1)['host'])
        tokens.validate(token)
        self.assertIn('it stays on host-a: link down', self.logs.output)

    def test_unknown_asks_the_hosts(self):
        self._server('active', 'migrating')
        self.b.ports[ids.SRV1] = PORT
        live_migrate.record_outcome(CTX, self.rpc, self.nova_conf, ids.SRV1,
                                    'host-a', 'host-b', live_migrate.UNKNOWN,
                                    'libvirtd connection lost')
        base.wait_for_migrations(self)
        self.assertEqual('host-b', db.instance_get(ids.SRV1)['host'])


class RecoveryTestCase(LiveMigrateTestCase):
    """The database says 'migrating on host-a'; the hosts say where the
    guest is. Nothing is changed before they were asked."""

    def setUp(self):
        super().setUp()
        self._server('active', 'migrating')
        self.token = tokens.authorize(ids.SRV1, 'serial', 'h', 1)

    def test_moved_before_the_report(self):
        self.b.ports[ids.SRV1] = PORT
        self.b.incoming[ids.SRV1] = PORT + 1  # pre_live_migration's
        self._recover()
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual('host-b', db.instance_get(ids.SRV1)['host'])
        self.assertRaises(exception.InvalidToken, tokens.validate,
                          self.token)
        # The destination settled it, the source cleaned up after it.
        self.assertIn('post_live_migration_at_destination', self.b.names())
        self.assertIn('post_live_migration', self.a.names())
        self.assertNotIn('rollback_live_migration_at_destination',
                         self.a.names() + self.b.names())
        # The facts the source got came with the destination's shared
        # storage check file: removed again.
        checks = [c for c in self.b.calls
                  if c[0] == 'check_can_live_migrate_destination']
        self.assertEqual(1, len(checks))
        self.assertEqual(1, len(self.b.cleaned_checks))

    def test_stayed_on_the_source(self):
        self.a.ports[ids.SRV1] = PORT
        self.b.incoming[ids.SRV1] = PORT + 1
        self._recover()
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual('host-a', db.instance_get(ids.SRV1)['host'])
        self.assertEqual({}, self.b.incoming)
        self.assertIn('rollback_live_migration_at_destination',
                      self.b.names())
        tokens.validate(self.token)

    def test_waits_while_the_job_runs(self):
        self.useFixture(fixtures.MockPatchObject(
            live_migrate, 'RECOVERY_POLL_INTERVAL', 0.05))
        self.a.ports[ids.SRV1] = PORT
        self.a.states[ids.SRV1] = driver.GUEST_MIGRATING
        thread = live_migrate.recover_live_migrations(CTX, self.rpc,
                                                      self.nova_conf)
        thread.join(0.5)
        self.assertTrue(thread.is_alive())
        self.assertEqual(('active', 'migrating', None), self._state())
        self.assertEqual([], self.b.names())
        # The job ends; the guest moved.
        self.b.ports[ids.SRV1] = self.a.ports.pop(ids.SRV1)
        del self.a.states[ids.SRV1]
        thread.join(base.WAIT)
        self.assertEqual('host-b', db.instance_get(ids.SRV1)['host'])
        self.assertEqual(('active', None, None), self._state())

    def test_left_to_the_source_that_drives_it(self):
        self.a.ports[ids.SRV1] = PORT
        manager = self.services['host-a'].manager
        manager._driving.add(ids.SRV1)
        self._recover()
        self.assertEqual(('active', 'migrating', None), self._state())
        self.assertIn('its source host-a still drives it', self.logs.output)

    def test_guest_nowhere_is_an_error(self):
        self._recover()
        status, task, fault = self._state()
        self.assertEqual(('error', None), (status, task))
        self.assertIn('runs on no host', fault)

    def test_host_down_is_no_answer(self):
        # The guest may run on the host that does not answer.
        self.stop_host('host-b')
        self._recover()
        self.assertEqual(('active', 'migrating', None), self._state())
        self.b.ports[ids.SRV1] = PORT
        self.start_host('host-b', self.b)
        # The restarted service asks for a recovery itself.
        base.wait_for_migrations(self)
        self.assertEqual('host-b', db.instance_get(ids.SRV1)['host'])

    def test_conductor_start_recovers_through_the_hosts(self):
        self.b.ports[ids.SRV1] = PORT
        self.conductor.task_manager.init_host()
        base.wait_for_migrations(self)
        self.assertEqual('host-b', db.instance_get(ids.SRV1)['host'])
