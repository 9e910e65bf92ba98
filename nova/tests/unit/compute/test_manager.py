import datetime

from nova.compute import manager
from nova.console import tokens
from nova.console import type as ctype
from nova.db import api as db
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver

CTX = base.ALICE


def _valid(token):
    try:
        tokens.validate(token)
        return True
    except exception.InvalidToken:
        return False


class BuildTestCase(base.ComputeTestCase):
    def test_build_makes_instance_from_rows_and_goes_active(self):
        server = self._server(host=None)
        self.manager.build_and_run_instance(CTX, server)
        self.assertEqual(('ACTIVE', None, None), self._state())
        self.assertEqual('fake-host', db.server_get('srv-1')['host'])
        self.assertEqual([('spawn', 'srv-1', 'img-1')], self.driver.calls)
        instance = self.driver.instances[0]
        self.assertEqual('srv-1', instance.uuid)
        self.assertEqual(('m1.tiny', 128, 2,
                          {'hw:serial_port_count': '2'}),
                         (instance.flavor.name, instance.flavor.memory_mb,
                          instance.flavor.vcpus,
                          instance.flavor.extra_specs))
        meta = instance.image_meta
        self.assertEqual(
            ('img-1', 'tiny', self.kernel, 'raw', None,
             {'os_command_line': 'console=ttyS0 quiet'}),
            (meta.id, meta.name, meta.kernel_path, meta.disk_format,
             meta.disk_path, meta.properties))
        self.assertTrue(meta.ramdisk_path.endswith('initrd'))

    def test_driver_error_sets_error_with_message_only(self):
        error = exception.InstanceBootFailed(instance_uuid='srv-1',
                                             reason='no QEMU')
        self.driver.fail['spawn'] = error
        server = self._server()
        raised = self.assertRaises(exception.InstanceBootFailed,
                                   self.manager.build_and_run_instance,
                                   CTX, server)
        self.assertIs(error, raised)
        self.assertEqual(('ERROR', None, error.message), self._state())
        self.assertNotIn('Traceback', self._state()[2])

    def test_unexpected_error_sets_error(self):
        self.driver.fail['spawn'] = RuntimeError('disk on fire')
        self.assertRaises(RuntimeError, self.manager.build_and_run_instance,
                          CTX, self._server())
        self.assertEqual(('ERROR', None, 'disk on fire'), self._state())

    def test_fault_of_an_error_without_message_is_its_class(self):
        self.assertEqual('KeyError', manager.fault_message(KeyError()))
        self.assertEqual(manager.MAX_FAULT_LENGTH,
                         len(manager.fault_message(ValueError('x' * 5000))))

    def test_missing_image_sets_error(self):
        server = self._server(image_id='gone')
        self.assertRaises(exception.ImageNotFound,
                          self.manager.build_and_run_instance, CTX, server)
        self.assertEqual(('ERROR', None, 'Image gone could not be found.'),
                         self._state())
        self.assertEqual([], self.driver.calls)

    def test_not_built_when_being_deleted(self):
        server = self._server(task_state='deleting')
        self.manager.build_and_run_instance(CTX, server)
        self.assertEqual([], self.driver.calls)
        self.assertEqual(('BUILD', 'deleting', None), self._state())

    def test_not_built_when_gone(self):
        server = self._server()
        db.server_delete('srv-1')
        self.manager.build_and_run_instance(CTX, server)
        self.assertEqual([], self.driver.calls)

    def test_delete_requested_during_spawn_is_not_undone(self):
        server = self._server()
        self.driver.hooks['spawn'] = lambda: db.server_update(
            'srv-1', {'task_state': 'deleting'})
        self.manager.build_and_run_instance(CTX, server)
        self.assertEqual(('BUILD', 'deleting', None), self._state())

    def test_failure_during_delete_request_is_left_to_delete(self):
        server = self._server()
        self.driver.hooks['spawn'] = lambda: db.server_update(
            'srv-1', {'task_state': 'deleting'})
        self.driver.fail['spawn'] = RuntimeError('boom')
        self.assertRaises(RuntimeError, self.manager.build_and_run_instance,
                          CTX, server)
        self.assertEqual(('BUILD', 'deleting', None), self._state())


class ActionsTestCase(base.ComputeTestCase):
    def setUp(self):
        super().setUp()
        self.manager.build_and_run_instance(CTX, self._server())
        self.driver.calls.clear()
        self.token = tokens.authorize('srv-1', 'serial', '127.0.0.1',
                                      fake_driver.FIRST_PORT)

    def _set(self, status, task_state, fault=None):
        return db.server_update('srv-1', {
            'status': status, 'task_state': task_state, 'fault': fault})

    def test_soft_reboot(self):
        server = self._set('REBOOT', 'rebooting')
        self.manager.reboot_instance(CTX, server, 'SOFT')
        self.assertEqual([('reboot', 'srv-1', 'SOFT')], self.driver.calls)
        self.assertEqual(('ACTIVE', None, None), self._state())
        self.assertFalse(_valid(self.token))

    def test_hard_reboot_clears_fault(self):
        server = self._set('HARD_REBOOT', 'rebooting_hard', 'old error')
        self.manager.reboot_instance(CTX, server, 'HARD')
        self.assertEqual([('reboot', 'srv-1', 'HARD')], self.driver.calls)
        self.assertEqual(('ACTIVE', None, None), self._state())
        # A hard reboot recreates the guest: it needs the image.
        self.assertEqual('img-1', self.driver.instances[-1].image_meta.id)

    def test_failed_reboot_sets_error_and_revokes_tokens(self):
        server = self._set('REBOOT', 'rebooting')
        self.driver.fail['reboot'] = RuntimeError('stuck')
        self.assertRaises(RuntimeError, self.manager.reboot_instance, CTX,
                          server, 'SOFT')
        self.assertEqual(('ERROR', None, 'stuck'), self._state())
        self.assertFalse(_valid(self.token))

    def test_token_issued_during_reboot_is_revoked_after(self):
        server = self._set('REBOOT', 'rebooting')
        issued = []
        self.driver.hooks['reboot'] = lambda: issued.append(
            tokens.authorize('srv-1', 'serial', '127.0.0.1', 1))
        self.manager.reboot_instance(CTX, server, 'SOFT')
        self.assertFalse(_valid(issued[0]))

    def test_soft_reboot_does_not_undo_a_hard_one(self):
        server = self._set('REBOOT', 'rebooting')
        self.driver.hooks['reboot'] = lambda: self._set('HARD_REBOOT',
                                                        'rebooting_hard')
        self.manager.reboot_instance(CTX, server, 'SOFT')
        self.assertEqual(('HARD_REBOOT', 'rebooting_hard', None),
                         self._state())
        del self.driver.hooks['reboot']
        self.manager.reboot_instance(CTX, server, 'HARD')
        self.assertEqual(('ACTIVE', None, None), self._state())

    def test_superseded_soft_reboot_does_not_run(self):
        server = self._set('HARD_REBOOT', 'rebooting_hard')
        self.manager.reboot_instance(CTX, server, 'SOFT')
        self.assertEqual([], self.driver.calls)

    def test_unknown_reboot_type(self):
        self.assertRaises(exception.ValidationError,
                          self.manager.reboot_instance, CTX,
                          db.server_get('srv-1'), 'WARM')

    def test_rebuild_uses_the_new_image(self):
        server = self._set('REBUILD', 'rebuilding')
        self.manager.rebuild_instance(CTX, server, self.image2)
        self.assertEqual([('rebuild', 'srv-1', 'img-2')], self.driver.calls)
        meta = self.driver.instances[-1].image_meta
        self.assertEqual(('/disk', 'qcow2', None),
                         (meta.disk_path[-5:], meta.disk_format,
                          meta.kernel_path))
        self.assertEqual(('ACTIVE', None, None), self._state())
        self.assertEqual('img-2', db.server_get('srv-1')['image_id'])
        self.assertFalse(_valid(self.token))

    def test_terminate_destroys_and_forgets(self):
        server = self._set('ACTIVE', 'deleting')
        self.manager.terminate_instance(CTX, server)
        self.assertEqual([('destroy', 'srv-1')], self.driver.calls)
        self.assertIsNone(db.server_get('srv-1'))
        self.assertFalse(_valid(self.token))
        self.assertEqual({}, self.driver.ports)

    def test_terminate_without_image_row(self):
        server = self._set('ACTIVE', 'deleting')
        db.server_update('srv-1', {'image_id': 'gone', 'flavor_id': 'gone'})
        self.manager.terminate_instance(CTX, server)
        self.assertIsNone(db.server_get('srv-1'))

    def test_failed_terminate_keeps_server_in_error(self):
        server = self._set('ACTIVE', 'deleting')
        self.driver.fail['destroy'] = exception.HypervisorUnavailable(
            uri='qemu:///system', reason='gone')
        self.assertRaises(exception.HypervisorUnavailable,
                          self.manager.terminate_instance, CTX, server)
        status, task, fault = self._state()
        self.assertEqual(('ERROR', None), (status, task))
        self.assertIn('qemu:///system is broken: gone', fault)


class ConsoleTestCase(base.ComputeTestCase):
    def setUp(self):
        super().setUp()
        self.manager.build_and_run_instance(CTX, self._server())
        self.server = db.server_get('srv-1')

    def test_console_output(self):
        self.assertEqual(b'console of srv-1',
                         self.manager.get_console_output(CTX, self.server))

    def test_serial_console(self):
        self.assertEqual(
            ctype.ConsoleSerial(host=fake_driver.HOST,
                                port=fake_driver.FIRST_PORT),
            self.manager.get_serial_console(CTX, self.server, 'serial'))

    def test_other_console_types_are_unavailable(self):
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.manager.get_serial_console, CTX,
                          self.server, 'novnc')

    def test_validate_console_port(self):
        check = self.manager.validate_console_port
        port = fake_driver.FIRST_PORT
        self.assertIs(True, check(CTX, self.server, fake_driver.HOST, port,
                                  'serial'))
        self.assertIs(True, check(CTX, self.server, fake_driver.HOST,
                                  str(port), 'serial'))
        self.assertIs(False, check(CTX, self.server, fake_driver.HOST,
                                   port + 1, 'serial'))
        self.assertIs(False, check(CTX, self.server, '10.0.0.1', port,
                                   'serial'))
        self.assertIs(False, check(CTX, self.server, fake_driver.HOST, port,
                                   'spice'))
        self.assertIs(False, check(CTX, self.server, fake_driver.HOST,
                                   'x', 'serial'))
        self.driver.ports.clear()  # the guest is gone
        self.assertIs(False, check(CTX, self.server, fake_driver.HOST, port,
                                   'serial'))


class InitHostTestCase(base.ComputeTestCase):
    def test_interrupted_tasks_are_recovered_once(self):
        self._server('building')
        self._server('rebooting', 'REBOOT', 'rebooting')
        self._server('deleting', 'ACTIVE', 'deleting')
        self._server('fine', 'ACTIVE', None)
        self._server('elsewhere', host='other-host')
        later = datetime.timedelta(hours=1) + db.utcnow()
        db.console_token_create({
            'token_hash': 'a' * 64, 'instance_uuid': 'rebooting',
            'console_type': 'serial', 'host': 'h', 'port': 1,
            'expires_at': later})
        self.manager.init_host()
        self.assertEqual([('init_host', 'fake-host'),
                          ('destroy', 'deleting')], self.driver.calls)
        status, task, fault = self._state('building')
        self.assertEqual(('ERROR', None), (status, task))
        self.assertIn('restart', fault)
        self.assertEqual('ERROR', self._state('rebooting')[0])
        self.assertIsNone(db.console_token_get_by_hash('a' * 64))
        self.assertIsNone(db.server_get('deleting'))
        self.assertEqual(('ACTIVE', None, None), self._state('fine'))
        self.assertEqual(('BUILD', 'spawning', None),
                         self._state('elsewhere'))
        self.manager.init_host()
        self.assertEqual(2, len(self.driver.calls))

    def test_host_defaults_to_the_drivers(self):
        self.assertEqual('fake-host', self.manager.host)
        self.assertEqual('h2', manager.ComputeManager(self.driver,
                                                      host='h2').host)
