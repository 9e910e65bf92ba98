"""ComputeTaskManager, the conductor's state machine, driving a compute
host over RPC: casts out, outcomes back.

Each action starts from a server row in the state the API left it in;
the compute service runs on the in-process transport with a FakeDriver
whose hooks play the requests that race with the action.
"""

import datetime
import queue
import threading

import nova.conf
from nova.conductor import tasks as conductor_tasks
from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver
from nova.virt import images

CTX = base.ALICE


def _valid(token):
    try:
        tokens.validate(token)
        return True
    except exception.InvalidToken:
        return False


def host_failed(reason, host='fake-host'):
    return exception.ComputeHostError(host=host, reason=reason).message


class TasksTestCase(base.ComputeTestCase):
    def setUp(self):
        super().setUp()
        self.tasks = self.conductor.task_manager
        self.driver.calls.clear()  # init_host
        self.outcomes = queue.Queue()
        real = self.tasks.instance_action_done

        def record(ctxt, **kwargs):
            try:
                return real(ctxt, **kwargs)
            finally:
                self.outcomes.put(kwargs)
        self.tasks.instance_action_done = record

    def _done(self):
        """The next outcome, once the conductor recorded it."""
        return self.outcomes.get(timeout=base.WAIT)

    def build(self, server):
        self.tasks.build_instances(CTX, server['uuid'])
        return self._done()

    def reboot(self, server, reboot_type):
        self.tasks.reboot_instance(CTX, server['uuid'], reboot_type)
        return self._done()


class InstanceForTestCase(TasksTestCase):
    def test_instance_from_the_rows(self):
        self.assertInstanceFromRows(
            conductor_tasks.instance_for(self._server()), ids.SRV1)

    def test_host_and_image_overrides(self):
        instance = conductor_tasks.instance_for(
            self._server(), host='other', image=self.image2)
        self.assertEqual(('other', 'img-2', 'qcow2'), (
            instance.host, instance.image_meta.id,
            instance.image_meta.disk_format))

    def test_missing_rows(self):
        server = self._server(image_id='gone', flavor_id='gone')
        instance = conductor_tasks.instance_for(server)
        self.assertIsNone(instance.image_meta)
        self.assertRaises(exception.FlavorNotFound,
                          conductor_tasks.instance_for, server, boot=True)
        server = self._server(ids.SRV2, image_id='gone')
        self.assertRaises(exception.ImageNotFound,
                          conductor_tasks.instance_for, server, boot=True)


class BuildTestCase(TasksTestCase):
    def test_build_goes_active(self):
        self.build(self._server())
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual([('spawn', ids.SRV1, 'img-1')], self.driver.calls)
        self.assertEqual('m1.tiny', self.driver.instances[0].flavor.name)

    def test_driver_error_sets_error_with_message_only(self):
        self.driver.fail['spawn'] = exception.InstanceBootFailed(
            instance_uuid=ids.SRV1, reason='no QEMU')
        self.build(self._server())
        message = 'Instance %s failed to boot: no QEMU' % ids.SRV1
        self.assertEqual(('error', None, message), self._state())

    def test_unexpected_error_sets_error(self):
        self.driver.fail['spawn'] = RuntimeError('disk on fire')
        self.build(self._server())
        self.assertEqual(('error', None, host_failed('disk on fire')),
                         self._state())
        self.assertNotIn('Traceback', self._state()[2])

    def test_missing_image_sets_error(self):
        server = self._server(image_id='gone')
        self.tasks.build_instances(CTX, server['uuid'])
        self.assertEqual(('error', None, 'Image gone could not be found.'),
                         self._state())
        self.assertEqual([], self.driver.calls)

    def test_host_without_service_sets_error_naming_it(self):
        server = self._server(host='nowhere')
        self.tasks.build_instances(CTX, server['uuid'])
        status, task, fault = self._state()
        self.assertEqual(('error', None), (status, task))
        self.assertIn('nowhere', fault)
        self.assertIn(ids.SRV1, fault)
        self.assertEqual(exception.InstanceHostUnavailable(
            instance_uuid=ids.SRV1, host='nowhere',
            reason='is not known').message, fault)

    def test_host_down_sets_error_and_casts_nothing(self):
        self.stop_host('fake-host')
        self.tasks.build_instances(CTX, self._server()['uuid'])
        status, task, fault = self._state()
        self.assertEqual(('error', None), (status, task))
        self.assertIn('was stopped', fault)
        self.assertEqual([], self.driver.calls)

    def test_not_built_when_being_deleted(self):
        self._server(task_state='deleting')
        self.tasks.build_instances(CTX, ids.SRV1)
        self.assertEqual([], self.driver.calls)
        self.assertEqual(('building', 'deleting', None), self._state())

    def test_not_built_when_gone(self):
        self._server()
        db.instance_delete(ids.SRV1)
        self.tasks.build_instances(CTX, ids.SRV1)
        self.assertEqual([], self.driver.calls)
        self.assertIn('Server %s is gone: Build not run' % ids.SRV1,
                      self.logs.output)

    def test_delete_requested_during_spawn_is_not_undone(self):
        server = self._server()
        self.driver.hooks['spawn'] = lambda: db.instance_update(
            ids.SRV1, {'task_state': 'deleting'})
        self.build(server)
        self.assertEqual(('building', 'deleting', None), self._state())
        self.assertIn('taken over meanwhile', self.logs.output)

    def test_failure_during_delete_request_is_left_to_delete(self):
        server = self._server()
        self.driver.hooks['spawn'] = lambda: db.instance_update(
            ids.SRV1, {'task_state': 'deleting'})
        self.driver.fail['spawn'] = RuntimeError('boom')
        self.build(server)
        self.assertEqual(('building', 'deleting', None), self._state())
        self.assertIn('Failure of Build not recorded', self.logs.output)

    def test_ports_of_the_outcome_are_recorded(self):
        self.build(self._server())
        report = db.service_get_by_host('fake-host')['report']
        self.assertEqual([ids.SRV1], report['serial_port_holders'])

    def test_port_facts_of_the_wrong_types_are_not_recorded(self):
        # They arrive as a plain dict: a broken or hostile host's
        # 'serial_ports_free': 'lots' made every create fail with a
        # TypeError in the scheduler.
        before = db.service_get_by_host('fake-host')['report']
        for bad in ({'serial_ports_free': 'lots'},
                    {'serial_ports_total': [1]},
                    {'serial_port_holders': 5},
                    {'serial_ports_seq': 'later'}):
            facts = dict(bad, serial_ports_seq=['another-boot', 10 ** 9])
            if 'serial_ports_seq' in bad:
                facts = bad
            self.tasks.instance_action_done(
                CTX, host='fake-host', instance_uuid=ids.SRV1,
                action='build', task_state='spawning',
                serial_port_facts=facts)
            self.assertEqual(before,
                             db.service_get_by_host('fake-host')['report'])
        self.assertEqual('fake-host', scheduler.select_host(
            self.nova_conf, objects.Flavor(), objects.ImageMeta()))
        self.assertIn('serial port facts of host fake-host',
                      self.logs.output)


class ActionsTestCase(TasksTestCase):
    def setUp(self):
        super().setUp()
        self.build(self._server())
        self.driver.calls.clear()
        self.token = tokens.authorize(ids.SRV1, 'serial', '127.0.0.1',
                                      fake_driver.FIRST_PORT)

    def _set(self, vm_state, task_state, fault=None):
        return db.instance_update(ids.SRV1, {
            'vm_state': vm_state, 'task_state': task_state, 'fault': fault})

    def test_soft_reboot(self):
        server = self._set('active', 'rebooting')
        self.reboot(server, 'SOFT')
        self.assertEqual([('reboot', ids.SRV1, 'SOFT')], self.driver.calls)
        self.assertEqual(('active', None, None), self._state())
        self.assertFalse(_valid(self.token))

    def test_hard_reboot_clears_fault(self):
        server = self._set('active', 'rebooting_hard', 'old error')
        self.reboot(server, 'HARD')
        self.assertEqual([('reboot', ids.SRV1, 'HARD')], self.driver.calls)
        self.assertEqual(('active', None, None), self._state())
        # A hard reboot recreates the guest: it needs the image.
        self.assertEqual('img-1', self.driver.instances[-1].image_meta.id)

    def test_failed_reboot_sets_error_and_revokes_tokens(self):
        server = self._set('active', 'rebooting')
        self.driver.fail['reboot'] = RuntimeError('stuck')
        self.reboot(server, 'SOFT')
        self.assertEqual(('error', None, host_failed('stuck')),
                         self._state())
        self.assertFalse(_valid(self.token))

    def test_token_issued_during_reboot_is_revoked_after(self):
        server = self._set('active', 'rebooting')
        issued = []
        self.driver.hooks['reboot'] = lambda: issued.append(
            tokens.authorize(ids.SRV1, 'serial', '127.0.0.1', 1))
        self.reboot(server, 'SOFT')
        self.assertFalse(_valid(issued[0]))

    def test_soft_reboot_does_not_undo_a_hard_one(self):
        server = self._set('active', 'rebooting')
        self.driver.hooks['reboot'] = lambda: self._set('active',
                                                        'rebooting_hard')
        self.reboot(server, 'SOFT')
        self.assertEqual(('active', 'rebooting_hard', None),
                         self._state())
        del self.driver.hooks['reboot']
        self.reboot(server, 'HARD')
        self.assertEqual(('active', None, None), self._state())

    def test_superseded_soft_reboot_does_not_run(self):
        self._set('active', 'rebooting')
        server = self._set('active', 'rebooting_hard')
        self.tasks.reboot_instance(CTX, server['uuid'], 'SOFT')
        self.assertEqual([], self.driver.calls)
        self.assertIn('superseded by rebooting_hard', self.logs.output)

    def test_rebuild_uses_the_image_of_the_row(self):
        self._set('active', 'rebuilding')
        db.instance_update(ids.SRV1, {'image_id': 'img-2'})
        self.tasks.rebuild_instance(CTX, ids.SRV1, 'img-2')
        self._done()
        self.assertEqual([('rebuild', ids.SRV1, 'img-2')], self.driver.calls)
        meta = self.driver.instances[-1].image_meta
        files = images.boot_files(None, nova.conf.CONF, meta)
        self.assertEqual(('img-2', '/disk', 'qcow2', None),
                         (meta.id, files.disk[-5:], meta.disk_format,
                          files.kernel))
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual('img-2', db.instance_get(ids.SRV1)['image_id'])
        self.assertFalse(_valid(self.token))

    def _delete(self):
        self.tasks.delete_instance(CTX, ids.SRV1)
        return self._done()

    def test_terminate_destroys_and_forgets(self):
        self._set('active', 'deleting')
        self._delete()
        self.assertEqual([('destroy', ids.SRV1)], self.driver.calls)
        self.assertIsNone(db.instance_get(ids.SRV1))
        self.assertFalse(_valid(self.token))
        self.assertEqual({}, self.driver.ports)

    def test_terminate_without_image_and_flavor_rows(self):
        self._set('active', 'deleting')
        db.instance_update(ids.SRV1, {'image_id': 'gone', 'flavor_id': 'gone'})
        self._delete()
        self.assertIsNone(db.instance_get(ids.SRV1))
        self.assertEqual([('destroy', ids.SRV1)], self.driver.calls)

    def test_terminate_of_a_server_without_host(self):
        self._server(ids.NOHOST, vm_state='error', task_state='deleting',
                     host=None)
        self.tasks.delete_instance(CTX, ids.NOHOST)
        self.assertIsNone(db.instance_get(ids.NOHOST))
        self.assertEqual([], self.driver.calls)

    def test_failed_terminate_keeps_server_in_error(self):
        self._set('active', 'deleting')
        self.driver.fail['destroy'] = exception.HypervisorUnavailable(
            uri='qemu:///system', reason='gone')
        self._delete()
        status, task, fault = self._state()
        self.assertEqual(('error', None), (status, task))
        self.assertIn('qemu:///system is broken: gone', fault)


class LiveMigrateTestCase(TasksTestCase):
    def test_block_migration_is_checked(self):
        self.build(self._server())
        self.assertRaises(exception.ValidationError,
                          self.tasks.live_migrate_instance, CTX, ids.SRV1,
                          'other', 'yes')


class RecoveryTestCase(TasksTestCase):
    """ComputeTaskManager.recover: a conductor that restarts asks each
    host about the instances it left in a task before changing them."""

    def _outcomes(self, count):
        return sorted((o['instance_uuid'], o['action'])
                      for o in (self._done() for _ in range(count)))

    def test_interrupted_tasks_are_recovered_once(self):
        self._server(ids.BUILDING)
        self._server(ids.SRV2)  # built, but its outcome was lost
        self.driver.ports[ids.SRV2] = fake_driver.FIRST_PORT + 8
        self._server(ids.REBOOTING, 'active', 'rebooting')
        self.driver.ports[ids.REBOOTING] = fake_driver.FIRST_PORT + 7
        self._server(ids.MIGRATING, 'active', 'migrating')
        self.driver.ports[ids.MIGRATING] = fake_driver.FIRST_PORT + 9
        self._server(ids.DELETING, 'active', 'deleting')
        self._server(ids.FINE, 'active', None)
        self._server(ids.ELSEWHERE, host='other-host')
        later = datetime.timedelta(hours=1) + db.utcnow()
        db.console_token_create({
            'token_hash': 'a' * 64, 'instance_uuid': ids.REBOOTING,
            'console_type': 'serial', 'host': 'h', 'port': 1,
            'expires_at': later})
        self.tasks.recover(CTX, hosts=['fake-host'])
        # What the host does not run is sent to it again.
        self.assertEqual(sorted([(ids.BUILDING, 'build'),
                                 (ids.REBOOTING, 'reboot'),
                                 (ids.DELETING, 'delete')]),
                         self._outcomes(3))
        self.assertEqual(sorted([('spawn', ids.BUILDING, 'img-1'),
                                 ('reboot', ids.REBOOTING, 'SOFT'),
                                 ('destroy', ids.DELETING)]),
                         sorted(self.driver.calls))
        self.assertEqual(('active', None, None), self._state(ids.BUILDING))
        self.assertEqual(('active', None, None), self._state(ids.REBOOTING))
        self.assertIsNone(db.console_token_get_by_hash('a' * 64))
        self.assertIsNone(db.instance_get(ids.DELETING))
        # A build whose guest exists but whose end is unknown: ERROR.
        status, task, fault = self._state(ids.SRV2)
        self.assertEqual(('error', None), (status, task))
        self.assertIn('restart', fault)
        # Settled after asking the hosts (live_migrate), on its thread.
        base.wait_for_migrations(self)
        self.assertEqual(('active', None, None), self._state(ids.MIGRATING))
        self.assertEqual(('active', None, None), self._state(ids.FINE))
        self.assertEqual(('building', 'spawning', None),
                         self._state(ids.ELSEWHERE))
        self.tasks.recover(CTX, hosts=['fake-host'])
        self.assertEqual(3, len(self.driver.calls))

    def test_outcome_on_its_way_is_waited_for_not_overtaken(self):
        # The host finished the build and cast its outcome; the
        # conductor's recovery asks before that cast is handled. It must
        # neither call the build interrupted (ERROR) nor send it again.
        arrived, release = threading.Event(), threading.Event()
        self.addCleanup(release.set)
        handle = self.tasks.instance_action_done

        def held(ctxt, **kwargs):
            arrived.set()
            release.wait(base.WAIT)
            return handle(ctxt, **kwargs)
        self.tasks.instance_action_done = held
        self.tasks.build_instances(CTX, self._server()['uuid'])
        self.assertTrue(arrived.wait(base.WAIT))
        self.tasks.recover(CTX, hosts=['fake-host'])
        self.assertIn('has sent the outcome: left to arrive',
                      self.logs.output)
        release.set()
        self._done()
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual(['spawn'], self.driver.names())

    def test_action_still_running_on_its_host_is_left_to_finish(self):
        # The conductor restarted while the host builds: the host
        # reports the build when it is done, and it is recorded.
        gate = self.driver.gates['spawn'] = threading.Event()
        self.addCleanup(gate.set)
        self.tasks.build_instances(CTX, self._server()['uuid'])
        self.assertTrue(self.driver.entered_event('spawn').wait(base.WAIT))
        self.tasks.init_host()
        self.assertEqual(('building', 'spawning', None), self._state())
        self.assertIn('runs it still: left to finish', self.logs.output)
        gate.set()
        self._done()
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual(['spawn'], self.driver.names())

    def test_action_that_waited_for_the_conductor_runs_once(self):
        # Accepted while the conductor was stopped: its cast waits on the
        # broker, and the restarted conductor's recovery finds it first.
        self._server()
        self.tasks.init_host()
        self.tasks.build_instances(CTX, ids.SRV1)  # the queued cast
        self._done()
        self.assertEqual(('active', None, None), self._state())
        self.tasks.build_instances(CTX, ids.SRV1)  # superseded by now
        self.assertEqual(['spawn'], self.driver.names())

    def test_same_action_handed_over_twice_is_sent_once(self):
        gate = self.driver.gates['reboot'] = threading.Event()
        self.addCleanup(gate.set)
        self.build(self._server())
        db.instance_update(ids.SRV1, {'task_state': 'rebooting'})
        self.tasks.reboot_instance(CTX, ids.SRV1, 'SOFT')
        self.assertTrue(self.driver.entered_event('reboot').wait(base.WAIT))
        self.tasks.reboot_instance(CTX, ids.SRV1, 'SOFT')
        self.assertIn('Reboot of server %s already sent to host fake-host'
                      % ids.SRV1, self.logs.output)
        gate.set()
        self._done()
        self.assertEqual(['spawn', 'reboot'], self.driver.names())

    def test_migration_is_not_settled_on_a_host_without_the_guest(self):
        # The database names host fake-host, which has no such guest:
        # it is not made ACTIVE there.
        self._server(ids.MIGRATING, 'active', 'migrating')
        self.tasks.recover(CTX)
        base.wait_for_migrations(self)
        status, task, fault = self._state(ids.MIGRATING)
        self.assertEqual(('error', None), (status, task))
        self.assertIn('runs on no host', fault)

    def test_hosts_that_cannot_be_asked_are_left_until_they_register(self):
        self._server(ids.BUILDING)
        self._server(ids.DELETING, 'active', 'deleting')
        self.driver.ports[ids.DELETING] = fake_driver.FIRST_PORT + 9
        self.stop_host('fake-host')
        self.tasks.init_host()
        # Nothing changed while its host could not say.
        self.assertEqual(('building', 'spawning', None),
                         self._state(ids.BUILDING))
        self.assertEqual(('active', 'deleting', None),
                         self._state(ids.DELETING))
        self.assertIn('not recovered now', self.logs.output)
        self.assertEqual([], self.driver.calls)
        # Its next registration recovers them, asking it.
        self.start_host('fake-host', self.driver)
        self.assertEqual(sorted([(ids.BUILDING, 'build'),
                                 (ids.DELETING, 'delete')]),
                         self._outcomes(2))
        self.assertIsNone(db.instance_get(ids.DELETING))
        self.assertEqual(('active', None, None), self._state(ids.BUILDING))

    def test_all_hosts_by_default(self):
        self._server(ids.BUILDING)
        self.tasks.recover(CTX)
        self._done()
        self.assertEqual(('active', None, None), self._state(ids.BUILDING))

    def test_unknown_host_is_left_and_recovery_goes_on(self):
        self._server(ids.DELETING, 'active', 'deleting', host='nowhere')
        self._server(ids.BUILDING)
        self.tasks.recover(CTX)
        self.assertEqual(('active', 'deleting', None),
                         self._state(ids.DELETING))
        self.assertIn('nowhere', self.logs.output)
        self._done()
        self.assertEqual(('active', None, None), self._state(ids.BUILDING))

    def test_instance_without_host(self):
        self._server(ids.NOHOST, task_state='deleting', host=None)
        self._server(ids.BUILDING, host=None)
        self.tasks.recover(CTX)
        self.assertIsNone(db.instance_get(ids.NOHOST))
        self.assertEqual('error', self._state(ids.BUILDING)[0])


class ForeignOutcomeTestCase(TasksTestCase):
    """An outcome cast by a host that is not the instance's host (a
    stale host after a reschedule, or a hostile one: any compute host
    can cast instance_action_done) changes nothing of the instance."""

    def _foreign(self, action, task, fault=None, error=None,
                 host='other-host'):
        self.tasks.instance_action_done(
            CTX, host=host, instance_uuid=ids.SRV1, action=action,
            task_state=task, serial_port_facts=None, fault=fault,
            error=error)

    def test_success_from_another_host_is_not_recorded(self):
        self._server()
        self._foreign('build', 'spawning')
        self.assertEqual(('building', 'spawning', None), self._state())
        self.assertIn('not the host of server %s' % ids.SRV1,
                      self.logs.output)

    def test_failure_from_another_host_is_not_recorded(self):
        self._server(vm_state='active', task_state='rebooting')
        self._foreign('reboot', 'rebooting', fault='boom',
                      error='ComputeHostError')
        self.assertEqual(('active', 'rebooting', None), self._state())

    def test_no_reschedule_from_another_host(self):
        self._server()
        self._foreign('build', 'spawning', fault='no port',
                      error='SocketPortRangeExhaustedException')
        self.assertEqual('fake-host', db.instance_get(ids.SRV1)['host'])
        self.assertEqual(('building', 'spawning', None), self._state())
        self.assertEqual([], self.driver.calls)

    def test_tokens_kept_on_a_reboot_outcome_from_another_host(self):
        self._server(vm_state='active', task_state=None)
        later = datetime.timedelta(hours=1) + db.utcnow()
        db.console_token_create({
            'token_hash': 'b' * 64, 'instance_uuid': ids.SRV1,
            'console_type': 'serial', 'host': 'h', 'port': 1,
            'expires_at': later})
        self._foreign('reboot', 'rebooting')
        self.assertIsNotNone(db.console_token_get_by_hash('b' * 64))

    def test_delete_outcome_of_an_instance_not_being_deleted(self):
        # Even from its own host: a late or made-up delete outcome does
        # not remove the row of a guest nobody asked to delete.
        self._server(vm_state='active', task_state=None)
        self._foreign('delete', 'deleting', host='fake-host')
        self.assertEqual(('active', None, None), self._state())

    def test_outcome_whose_task_is_not_its_actions(self):
        self._server()
        self._foreign('reboot', 'spawning', host='fake-host')
        self._foreign('launch', 'spawning', host='fake-host')
        self.assertEqual(('building', 'spawning', None), self._state())


class LostActionTestCase(TasksTestCase):
    """An action cast to a host that lost it (the host stopped before it
    ran it) is sent again when the host registers again, though this
    conductor never saw its outcome."""

    def test_action_lost_by_a_restarted_host_is_sent_again(self):
        real = self.tasks.compute_rpcapi.build_and_run_instance
        self.tasks.compute_rpcapi.build_and_run_instance = (
            lambda *a, **kw: None)  # the host got it, and died
        self.tasks.build_instances(CTX, self._server()['uuid'])
        self.tasks.compute_rpcapi.build_and_run_instance = real
        self.stop_host('fake-host')
        self.start_host('fake-host', self.driver)
        self._done()
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual(['init_host', 'spawn'], self.driver.names())

    def test_action_lost_by_a_host_restarted_without_stopping(self):
        # Killed and started again within service_down_time: no stop
        # report, never counted as down; its new process's first report
        # (another boot id) is what tells the conductor.
        from nova.conductor import rpcapi as conductor_rpcapi
        from nova.objects import compute_node
        real = self.tasks.compute_rpcapi.build_and_run_instance
        self.tasks.compute_rpcapi.build_and_run_instance = (
            lambda *a, **kw: None)  # the host got it, and was killed
        self.tasks.build_instances(CTX, self._server()['uuid'])
        self.tasks.compute_rpcapi.build_and_run_instance = real
        conductor_rpcapi.ConductorAPI(self.nova_conf).report_state(
            CTX, 'fake-host', compute_node.ComputeNode(
                host='fake-host', serial_ports_seq=['another-process', 1]))
        self._done()
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual(['spawn'], self.driver.names())

    def test_heartbeats_of_one_process_recover_nothing(self):
        self._server()  # its build cast is still on its way
        from nova.conductor import rpcapi as conductor_rpcapi
        from nova.objects import compute_node
        seq = db.service_get_by_host('fake-host')['report'][
            'serial_ports_seq']
        conductor_rpcapi.ConductorAPI(self.nova_conf).report_state(
            CTX, 'fake-host', compute_node.ComputeNode(
                host='fake-host', serial_ports_seq=[seq[0], seq[1] + 1]))
        base.wait_for(self, lambda: db.service_get_by_host(
            'fake-host')['report']['serial_ports_seq'][1] == seq[1] + 1,
            'the heartbeat')
        self.assertEqual([], self.driver.names())
        self.assertEqual(('building', 'spawning', None), self._state())


class MalformedOutcomeTestCase(TasksTestCase):
    """An outcome's fault is text of at most MAX_FAULT_LENGTH, whatever
    the host sends: the instance never stays in its task for it."""

    def _fault(self, fault):
        self.tasks.instance_action_done(
            CTX, host='fake-host', instance_uuid=ids.SRV1, action='build',
            task_state='spawning', serial_port_facts=None, fault=fault,
            error='ComputeHostError')
        return self._state()

    def test_fault_that_is_no_text(self):
        self._server()
        status, task, fault = self._fault({'not': 'text'})
        self.assertEqual(('error', None), (status, task))
        self.assertIn('fake-host', fault)

    def test_huge_fault_is_cut(self):
        self._server()
        status, task, fault = self._fault('x' * 100000)
        self.assertEqual(('error', None), (status, task))
        self.assertEqual('x' * exception.MAX_FAULT_LENGTH, fault)


class StuckTaskTestCase(TasksTestCase):
    """ComputeTaskManager.check_stuck_tasks: a cast or an outcome lost
    while both services stay up ends after ``[conductor]
    stuck_task_timeout``, not at the next restart."""

    def setUp(self):
        super().setUp()
        self.nova_conf.set_override('stuck_task_timeout', 600,
                                    group='conductor')

    def _later(self, seconds=601):
        return db.utcnow() + datetime.timedelta(seconds=seconds)

    def _lose_the_cast(self, name):
        real = getattr(self.tasks.compute_rpcapi, name)
        setattr(self.tasks.compute_rpcapi, name, lambda *a, **kw: None)
        self.addCleanup(setattr, self.tasks.compute_rpcapi, name, real)
        return real

    def test_a_lost_cast_is_sent_again_once_the_task_is_old(self):
        real = self._lose_the_cast('reboot_instance')
        self.build(self._server())
        db.instance_update(ids.SRV1, {'task_state': 'rebooting'})
        self.tasks.reboot_instance(CTX, ids.SRV1, 'SOFT')
        self.tasks.compute_rpcapi.reboot_instance = real
        # Young: left alone (its cast may still be on its way).
        self.assertEqual([], self.tasks.check_stuck_tasks(CTX))
        self.assertEqual(['spawn'], self.driver.names())
        self.assertEqual([ids.SRV1],
                         self.tasks.check_stuck_tasks(CTX, self._later()))
        self._done()
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual(['spawn', 'reboot'], self.driver.names())

    def test_a_lost_outcome_is_settled_once_the_task_is_old(self):
        # The host built the guest and sent its outcome; the broker lost
        # it. Before the timeout it is waited for; after, settled as a
        # restart would settle it (guest exists, end unknown: ERROR).
        self.tasks.instance_action_done = lambda ctxt, **kw: None
        self.tasks.build_instances(CTX, self._server()['uuid'])
        base.wait_for(self, lambda: self.driver.names() == ['spawn'],
                      'the build')
        base.wait_for(self, lambda: not self._busy(), 'the host to finish')
        self.tasks.check_stuck_tasks(CTX)
        self.assertEqual(('building', 'spawning', None), self._state())
        self.tasks.check_stuck_tasks(CTX, self._later())
        vm_state, task_state, fault = self._state()
        self.assertEqual(('error', None), (vm_state, task_state))
        self.assertIn('Interrupted', fault)
        self.assertIn('never came: settled again', self.logs.output)

    def _busy(self):
        return self.tasks.compute_rpcapi.get_instance_state(
            CTX, 'fake-host', conductor_tasks.instance_for(
                db.instance_get(ids.SRV1)))['busy']

    def test_an_action_the_host_still_runs_is_never_disturbed(self):
        gate = self.driver.gates['spawn'] = threading.Event()
        self.addCleanup(gate.set)
        self.tasks.build_instances(CTX, self._server()['uuid'])
        self.assertTrue(self.driver.entered_event('spawn').wait(base.WAIT))
        self.tasks.check_stuck_tasks(CTX, self._later(10 ** 6))
        self.assertEqual(('building', 'spawning', None), self._state())
        gate.set()
        self._done()
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual(['spawn'], self.driver.names())

    def test_live_migrations_and_a_zero_timeout_are_left_alone(self):
        self._server(ids.MIGRATING, 'active', 'migrating')
        self.assertEqual([], self.tasks.check_stuck_tasks(
            CTX, self._later()))
        self._server(ids.REBOOTING, 'active', 'rebooting')
        self.nova_conf.set_override('stuck_task_timeout', 0,
                                    group='conductor')
        self.assertEqual([], self.tasks.check_stuck_tasks(
            CTX, self._later()))
        self.assertEqual(('active', 'rebooting', None),
                         self._state(ids.REBOOTING))


class StuckTaskResendTestCase(TasksTestCase):
    """A stuck task is sent again once per timeout, not at every check:
    the check runs every min(timeout, 60) s and a cast sent again may
    wait in the host's queue longer than that (the host reports only
    what it runs, not what waits)."""

    def setUp(self):
        super().setUp()
        self.nova_conf.set_override('stuck_task_timeout', 600,
                                    group='conductor')

    _later = StuckTaskTestCase._later

    def test_a_resent_cast_is_not_sent_again_at_the_next_check(self):
        sent = []
        real = self.tasks.compute_rpcapi.reboot_instance
        self.addCleanup(setattr, self.tasks.compute_rpcapi,
                        'reboot_instance', real)
        # Each cast waits in the host's queue: none arrives yet.
        self.tasks.compute_rpcapi.reboot_instance = (
            lambda *a, **kw: sent.append(a))
        self.build(self._server())
        db.instance_update(ids.SRV1, {'task_state': 'rebooting'})
        self.tasks.reboot_instance(CTX, ids.SRV1, 'SOFT')
        self.assertEqual(1, len(sent))
        self.tasks.check_stuck_tasks(CTX, self._later())
        self.assertEqual(2, len(sent))
        # The next checks, a minute apart, well within a new timeout.
        for seconds in (661, 721, 781):
            self.tasks.check_stuck_tasks(CTX, self._later(seconds))
        self.assertEqual(2, len(sent))
