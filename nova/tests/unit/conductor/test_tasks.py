"""ServerTasks, the API's state machine, driving a compute host over RPC.

Each action starts from a server row in the state the API left it in;
the compute service runs on the in-process transport with a FakeDriver
whose hooks play the requests that race with the action.
"""

import datetime

from nova.compute import rpcapi
from nova.conductor import tasks as conductor_tasks
from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver

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
        self.tasks = conductor_tasks.ServerTasks(
            rpcapi.ComputeAPI(self.nova_conf))
        self.driver.calls.clear()  # init_host


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
        self.tasks.build(CTX, self._server())
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual([('spawn', ids.SRV1, 'img-1')], self.driver.calls)
        self.assertEqual('m1.tiny', self.driver.instances[0].flavor.name)

    def test_driver_error_sets_error_with_message_only(self):
        self.driver.fail['spawn'] = exception.InstanceBootFailed(
            instance_uuid=ids.SRV1, reason='no QEMU')
        raised = self.assertRaises(exception.InstanceBootFailed,
                                   self.tasks.build, CTX, self._server())
        self.assertEqual('Instance %s failed to boot: no QEMU' % ids.SRV1,
                         raised.message)
        self.assertEqual(('error', None, raised.message), self._state())

    def test_unexpected_error_sets_error(self):
        self.driver.fail['spawn'] = RuntimeError('disk on fire')
        self.assertRaises(exception.ComputeHostError, self.tasks.build, CTX,
                          self._server())
        self.assertEqual(('error', None, host_failed('disk on fire')),
                         self._state())
        self.assertNotIn('Traceback', self._state()[2])

    def test_missing_image_sets_error(self):
        server = self._server(image_id='gone')
        self.assertRaises(exception.ImageNotFound, self.tasks.build, CTX,
                          server)
        self.assertEqual(('error', None, 'Image gone could not be found.'),
                         self._state())
        self.assertEqual([], self.driver.calls)

    def test_host_without_service_sets_error_naming_it(self):
        server = self._server(host='nowhere')
        e = self.assertRaises(exception.InstanceHostUnavailable,
                              self.tasks.build, CTX, server)
        self.assertIn('nowhere', e.message)
        self.assertIn(ids.SRV1, e.message)
        self.assertEqual(('error', None, e.message), self._state())

    def test_not_built_when_being_deleted(self):
        server = self._server(task_state='deleting')
        self.tasks.build(CTX, server)
        self.assertEqual([], self.driver.calls)
        self.assertEqual(('building', 'deleting', None), self._state())

    def test_not_built_when_gone(self):
        server = self._server()
        db.instance_delete(ids.SRV1)
        self.tasks.build(CTX, server)
        self.assertEqual([], self.driver.calls)
        self.assertIn('Server %s is gone: Build not run' % ids.SRV1,
                      self.logs.output)

    def test_delete_requested_during_spawn_is_not_undone(self):
        server = self._server()
        self.driver.hooks['spawn'] = lambda: db.instance_update(
            ids.SRV1, {'task_state': 'deleting'})
        self.tasks.build(CTX, server)
        self.assertEqual(('building', 'deleting', None), self._state())
        self.assertIn('taken over meanwhile', self.logs.output)

    def test_failure_during_delete_request_is_left_to_delete(self):
        server = self._server()
        self.driver.hooks['spawn'] = lambda: db.instance_update(
            ids.SRV1, {'task_state': 'deleting'})
        self.driver.fail['spawn'] = RuntimeError('boom')
        self.assertRaises(exception.ComputeHostError, self.tasks.build, CTX,
                          server)
        self.assertEqual(('building', 'deleting', None), self._state())
        self.assertIn('Failure of Build not recorded', self.logs.output)


class ActionsTestCase(TasksTestCase):
    def setUp(self):
        super().setUp()
        self.tasks.build(CTX, self._server())
        self.driver.calls.clear()
        self.token = tokens.authorize(ids.SRV1, 'serial', '127.0.0.1',
                                      fake_driver.FIRST_PORT)

    def _set(self, vm_state, task_state, fault=None):
        return db.instance_update(ids.SRV1, {
            'vm_state': vm_state, 'task_state': task_state, 'fault': fault})

    def test_soft_reboot(self):
        server = self._set('active', 'rebooting')
        self.tasks.reboot(CTX, server, 'SOFT')
        self.assertEqual([('reboot', ids.SRV1, 'SOFT')], self.driver.calls)
        self.assertEqual(('active', None, None), self._state())
        self.assertFalse(_valid(self.token))

    def test_hard_reboot_clears_fault(self):
        server = self._set('active', 'rebooting_hard', 'old error')
        self.tasks.reboot(CTX, server, 'HARD')
        self.assertEqual([('reboot', ids.SRV1, 'HARD')], self.driver.calls)
        self.assertEqual(('active', None, None), self._state())
        # A hard reboot recreates the guest: it needs the image.
        self.assertEqual('img-1', self.driver.instances[-1].image_meta.id)

    def test_failed_reboot_sets_error_and_revokes_tokens(self):
        server = self._set('active', 'rebooting')
        self.driver.fail['reboot'] = RuntimeError('stuck')
        self.assertRaises(exception.ComputeHostError, self.tasks.reboot, CTX,
                          server, 'SOFT')
        self.assertEqual(('error', None, host_failed('stuck')),
                         self._state())
        self.assertFalse(_valid(self.token))

    def test_token_issued_during_reboot_is_revoked_after(self):
        server = self._set('active', 'rebooting')
        issued = []
        self.driver.hooks['reboot'] = lambda: issued.append(
            tokens.authorize(ids.SRV1, 'serial', '127.0.0.1', 1))
        self.tasks.reboot(CTX, server, 'SOFT')
        self.assertFalse(_valid(issued[0]))

    def test_soft_reboot_does_not_undo_a_hard_one(self):
        server = self._set('active', 'rebooting')
        self.driver.hooks['reboot'] = lambda: self._set('active',
                                                        'rebooting_hard')
        self.tasks.reboot(CTX, server, 'SOFT')
        self.assertEqual(('active', 'rebooting_hard', None),
                         self._state())
        del self.driver.hooks['reboot']
        self.tasks.reboot(CTX, server, 'HARD')
        self.assertEqual(('active', None, None), self._state())

    def test_superseded_soft_reboot_does_not_run(self):
        server = self._set('active', 'rebooting')
        self._set('active', 'rebooting_hard')
        self.tasks.reboot(CTX, server, 'SOFT')
        self.assertEqual([], self.driver.calls)
        self.assertIn('superseded by rebooting_hard', self.logs.output)

    def test_rebuild_uses_the_new_image(self):
        server = self._set('active', 'rebuilding')
        self.tasks.rebuild(CTX, server, self.image2)
        self.assertEqual([('rebuild', ids.SRV1, 'img-2')], self.driver.calls)
        meta = self.driver.instances[-1].image_meta
        self.assertEqual(('/disk', 'qcow2', None),
                         (meta.disk_path[-5:], meta.disk_format,
                          meta.kernel_path))
        self.assertEqual(('active', None, None), self._state())
        self.assertEqual('img-2', db.instance_get(ids.SRV1)['image_id'])
        self.assertFalse(_valid(self.token))

    def test_terminate_destroys_and_forgets(self):
        server = self._set('active', 'deleting')
        self.tasks.terminate(CTX, server)
        self.assertEqual([('destroy', ids.SRV1)], self.driver.calls)
        self.assertIsNone(db.instance_get(ids.SRV1))
        self.assertFalse(_valid(self.token))
        self.assertEqual({}, self.driver.ports)

    def test_terminate_without_image_and_flavor_rows(self):
        server = self._set('active', 'deleting')
        db.instance_update(ids.SRV1, {'image_id': 'gone', 'flavor_id': 'gone'})
        self.tasks.terminate(CTX, server)
        self.assertIsNone(db.instance_get(ids.SRV1))
        self.assertEqual([('destroy', ids.SRV1)], self.driver.calls)

    def test_terminate_of_a_server_without_host(self):
        self._server(ids.NOHOST, vm_state='error', task_state='deleting',
                     host=None)
        self.tasks.terminate(CTX, db.instance_get(ids.NOHOST))
        self.assertIsNone(db.instance_get(ids.NOHOST))
        self.assertEqual([], self.driver.calls)

    def test_failed_terminate_keeps_server_in_error(self):
        server = self._set('active', 'deleting')
        self.driver.fail['destroy'] = exception.HypervisorUnavailable(
            uri='qemu:///system', reason='gone')
        self.assertRaises(exception.HypervisorUnavailable,
                          self.tasks.terminate, CTX, server)
        vm_state, task, fault = self._state()
        self.assertEqual(('error', None), (vm_state, task))
        self.assertIn('qemu:///system is broken: gone', fault)


class RecoveryTestCase(TasksTestCase):
    def test_interrupted_tasks_are_recovered_once(self):
        self._server(ids.BUILDING)
        self._server(ids.REBOOTING, 'active', 'rebooting')
        self._server(ids.MIGRATING, 'active', 'migrating')
        self.driver.ports[ids.MIGRATING] = 10999  # its guest runs here
        self._server(ids.DELETING, 'active', 'deleting')
        self._server(ids.FINE, 'active', None)
        self._server(ids.ELSEWHERE, host='other-host')
        later = datetime.timedelta(hours=1) + db.utcnow()
        db.console_token_create({
            'token_hash': 'a' * 64, 'instance_uuid': ids.REBOOTING,
            'console_type': 'serial', 'host': 'h', 'port': 1,
            'expires_at': later})
        self.tasks.recover_interrupted_tasks(hosts=['fake-host'])
        self.assertEqual([('destroy', ids.DELETING)], self.driver.calls)
        vm_state, task, fault = self._state(ids.BUILDING)
        self.assertEqual(('error', None), (vm_state, task))
        self.assertIn('restart', fault)
        self.assertEqual('error', self._state(ids.REBOOTING)[0])
        self.assertIsNone(db.console_token_get_by_hash('a' * 64))
        self.assertIsNone(db.instance_get(ids.DELETING))
        # Settled after asking the hosts (live_migrate), on its thread.
        base.wait_for_migrations(self)
        self.assertEqual(('active', None, None), self._state(ids.MIGRATING))
        self.assertEqual(('active', None, None), self._state(ids.FINE))
        self.assertEqual(('building', 'spawning', None),
                         self._state(ids.ELSEWHERE))
        self.tasks.recover_interrupted_tasks(hosts=['fake-host'])
        self.assertEqual(1, len(self.driver.calls))

    def test_all_hosts_by_default(self):
        self._server(ids.ELSEWHERE, host='other-host')
        self.tasks.recover_interrupted_tasks()
        self.assertEqual('error', self._state(ids.ELSEWHERE)[0])

    def test_failed_delete_is_recorded_and_recovery_goes_on(self):
        self._server(ids.DELETING, 'active', 'deleting', host='nowhere')
        self._server(ids.BUILDING)
        self.tasks.recover_interrupted_tasks()
        vm_state, task, fault = self._state(ids.DELETING)
        self.assertEqual(('error', None), (vm_state, task))
        self.assertIn('nowhere', fault)
        self.assertEqual('error', self._state(ids.BUILDING)[0])
