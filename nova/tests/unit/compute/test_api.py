import os
import threading
from unittest import mock

from nova.compute import api as compute_api
from nova.console import tokens
from nova.console import type as ctype
from nova.db import api as db
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver

ADMIN, ALICE, BOB = base.ADMIN, base.ALICE, base.BOB
PORT = fake_driver.FIRST_PORT


class APITestCase(base.ComputeTestCase):
    def setUp(self):
        super().setUp()
        self.api = compute_api.API(compute=self.manager)
        self.addCleanup(self.api.shutdown)

    def _wait(self):
        self.assertTrue(self.api.wait_for_tasks(10))

    def _active(self, ctx=ALICE, name='vm'):
        server = self.api.create(ctx, name, 'img-1', '1')
        self._wait()
        self.assertEqual('ACTIVE', self.api.get(ctx, server['uuid'])[
            'status'])
        return server['uuid']

    def _gate(self, method):
        gate = self.driver.gates[method] = threading.Event()
        self.addCleanup(gate.set)
        return gate

    def _entered(self, method):
        self.driver.entered.setdefault(method, threading.Event())
        self.assertTrue(self.driver.entered[method].wait(10))

    def _token(self, console):
        self.assertTrue(console['url'].count('token='), 1)
        return console['url'].rsplit('token=', 1)[1]


class FlavorImageTestCase(APITestCase):
    def test_flavor_create_get_list(self):
        flavor = self.api.flavor_create(ADMIN, 'm1.small', 512, 1, disk=1,
                                        extra_specs={'k': 'v'},
                                        flavor_id='2')
        self.assertEqual({'id': '2', 'name': 'm1.small', 'ram': 512,
                          'vcpus': 1, 'disk': 1, 'extra_specs': {'k': 'v'}},
                         flavor)
        self.assertEqual(flavor, self.api.flavor_get(ALICE, '2'))
        self.assertEqual(['1', '2'],
                         [f['id'] for f in self.api.flavor_list(BOB)])

    def test_flavor_id_is_generated(self):
        flavor = self.api.flavor_create(ADMIN, 'gen', 64, 1)
        self.assertEqual(36, len(flavor['id']))
        self.assertEqual(0, flavor['disk'])
        self.assertEqual({}, flavor['extra_specs'])

    def test_unknown_flavor(self):
        e = self.assertRaises(exception.FlavorNotFound, self.api.flavor_get,
                              ALICE, '99')
        self.assertEqual(404, e.code)
        self.assertRaises(exception.FlavorNotFound, self.api.flavor_get,
                          ALICE, None)
        self.assertRaises(exception.FlavorNotFound, self.api.flavor_get,
                          ALICE, True)

    def test_integer_flavor_id_means_its_string(self):
        self.assertEqual('1', self.api.flavor_get(ALICE, 1)['id'])

    def test_only_admins_create_flavors_and_images(self):
        e = self.assertRaises(exception.Forbidden, self.api.flavor_create,
                              ALICE, 'x', 64, 1)
        self.assertEqual(403, e.code)
        self.assertRaises(exception.Forbidden, self.api.image_create, ALICE,
                          'x', disk_path=self.kernel)

    def test_flavor_input_checks(self):
        for kw in ({'name': ''}, {'name': ' '}, {'name': 'x' * 256},
                   {'ram': 0}, {'ram': True}, {'ram': '64'},
                   {'vcpus': 0}, {'disk': -1}, {'extra_specs': []},
                   {'extra_specs': {'a': 1}}, {'flavor_id': ''}):
            args = dict({'name': 'ok', 'ram': 64, 'vcpus': 1}, **kw)
            e = self.assertRaises(exception.ValidationError,
                                  self.api.flavor_create, ADMIN, **args)
            self.assertEqual(400, e.code)
        self.assertEqual(1, len(self.api.flavor_list(ADMIN)))

    def test_duplicate_flavor_name(self):
        e = self.assertRaises(exception.Conflict, self.api.flavor_create,
                              ADMIN, 'm1.tiny', 64, 1)
        self.assertEqual(409, e.code)

    def test_image_create_get_list(self):
        image = self.api.image_create(
            ADMIN, 'kernel', kernel_path=self.kernel,
            properties={'hw_serial_port_count': '2'}, image_id='img-3')
        self.assertEqual({'id': 'img-3', 'name': 'kernel',
                          'kernel_path': self.kernel, 'ramdisk_path': None,
                          'disk_path': None, 'disk_format': 'raw',
                          'properties': {'hw_serial_port_count': '2'},
                          'status': 'active'}, image)
        self.assertEqual(image, self.api.image_get(BOB, 'img-3'))
        self.assertEqual(3, len(self.api.image_list(ALICE)))
        self.assertRaises(exception.ImageNotFound, self.api.image_get, BOB,
                          'nope')

    def test_image_paths_must_exist(self):
        missing = os.path.join(self.instances_path, 'missing')
        for kw in ({'disk_path': missing}, {'kernel_path': missing},
                   {'kernel_path': self.kernel, 'ramdisk_path': missing},
                   {'disk_path': self.instances_path}):
            e = self.assertRaises(exception.Invalid, self.api.image_create,
                                  ADMIN, 'x', **kw)
            self.assertIn(list(kw.values())[-1], str(e))
            self.assertEqual(400, e.code)
        e = self.assertRaises(exception.Invalid, self.api.image_create,
                              ADMIN, 'x', disk_path='relative/disk')
        self.assertIn('relative/disk', str(e))

    def test_image_must_be_bootable(self):
        self.assertRaises(exception.Invalid, self.api.image_create, ADMIN,
                          'nothing')
        self.assertRaises(exception.Invalid, self.api.image_create, ADMIN,
                          'ramdisk only', ramdisk_path=self.kernel)
        self.assertRaises(exception.ValidationError, self.api.image_create,
                          ADMIN, 'iso', disk_path=self.kernel,
                          disk_format='iso')
        self.assertRaises(exception.ValidationError, self.api.image_create,
                          ADMIN, 'props', disk_path=self.kernel,
                          properties={'x': object()})
        self.assertEqual(2, len(self.api.image_list(ADMIN)))


class CreateTestCase(APITestCase):
    def test_create_returns_build_then_goes_active(self):
        gate = self._gate('spawn')
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        self.assertEqual(
            {'name': 'vm', 'project_id': 'pa', 'user_id': 'alice',
             'flavor_id': '1', 'image_id': 'img-1', 'status': 'BUILD',
             'task_state': 'spawning', 'host': 'fake-host', 'fault': None},
            {k: v for k, v in server.items()
             if k not in ('uuid', 'created_at', 'updated_at')})
        self.assertEqual(server, self.api.get(ALICE, server['uuid']))
        self.assertFalse(self.api.wait_for_tasks(0.05))
        gate.set()
        self._wait()
        current = self.api.get(ALICE, server['uuid'])
        self.assertEqual(('ACTIVE', None, None), (
            current['status'], current['task_state'], current['fault']))
        self.assertEqual([('spawn', server['uuid'], 'img-1')],
                         self.driver.calls)

    def test_failed_build_is_error_with_fault(self):
        self.driver.fail['spawn'] = exception.SerialPortNumberLimitExceeded(
            wanted=5, allowed=4, detail='5 tcp port(s)')
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        self._wait()
        current = self.api.get(ALICE, server['uuid'])
        self.assertEqual('ERROR', current['status'])
        self.assertIsNone(current['task_state'])
        self.assertEqual(
            'The guest would need 5 serial devices (5 tcp port(s)) but QEMU '
            'supports at most 4.', current['fault'])
        self.assertIn('failed', self.logs.output)

    def test_create_checks_flavor_image_and_name(self):
        self.assertRaises(exception.FlavorNotFound, self.api.create, ALICE,
                          'vm', 'img-1', '99')
        self.assertRaises(exception.ImageNotFound, self.api.create, ALICE,
                          'vm', 'nope', '1')
        self.assertRaises(exception.ValidationError, self.api.create, ALICE,
                          '', 'img-1', '1')
        self.assertEqual([], self.api.list(ADMIN))

    def test_worker_records_errors_the_compute_did_not(self):
        compute = mock.Mock(host='h')
        compute.build_and_run_instance.side_effect = RuntimeError('lost')
        api = compute_api.API(compute=compute)
        self.addCleanup(api.shutdown)
        server = api.create(ALICE, 'vm', 'img-1', '1')
        self.assertTrue(api.wait_for_tasks(10))
        current = api.get(ALICE, server['uuid'])
        self.assertEqual(('ERROR', None, 'lost'), (
            current['status'], current['task_state'], current['fault']))
        self.assertIn('Build of server %s failed: lost' % server['uuid'],
                      self.logs.output)

    def test_no_actions_after_shutdown(self):
        uuid = self._active()
        self.api.shutdown()
        e = self.assertRaises(exception.ServiceUnavailable, self.api.create,
                              ALICE, 'vm', 'img-1', '1')
        self.assertEqual(503, e.code)
        self.assertRaises(exception.ServiceUnavailable, self.api.reboot,
                          ALICE, uuid, 'SOFT')
        self.assertEqual(('ACTIVE', None, None), self._state(uuid))
        self.assertEqual(1, len(self.api.list(ALICE)))

    def test_default_compute_is_started_by_actions_only(self):
        compute = mock.Mock(host='h')
        compute.get_serial_console.return_value = ctype.ConsoleSerial('h', 1)
        with mock.patch.object(compute_api, '_local_compute',
                               return_value=compute):
            api = compute_api.API()
            self.addCleanup(api.shutdown)
            uuid = self._active()
            api.validate_console_port(ADMIN, uuid, 'h', 1, 'serial')
            api.get_serial_console(ALICE, uuid)
            api.get_console_output(ALICE, uuid)
            compute.init_host.assert_not_called()
            api.create(ALICE, 'vm', 'img-1', '1')
            compute.init_host.assert_called_once_with()


class ScopeTestCase(APITestCase):
    def test_other_projects_servers_do_not_exist(self):
        mine = self._active(ALICE, 'a')
        theirs = self._active(BOB, 'b')
        self.assertEqual([mine], [s['uuid'] for s in self.api.list(ALICE)])
        self.assertEqual({mine, theirs},
                         {s['uuid'] for s in self.api.list(ADMIN)})
        for call, args in ((self.api.get, ()),
                           (self.api.delete, ()),
                           (self.api.reboot, ('HARD',)),
                           (self.api.rebuild, ('img-2',)),
                           (self.api.get_console_output, ()),
                           (self.api.get_serial_console, ())):
            e = self.assertRaises(exception.InstanceNotFound, call, ALICE,
                                  theirs, *args)
            self.assertEqual(404, e.code)
        self._wait()
        self.assertEqual(('ACTIVE', None, None), self._state(theirs))
        self.assertEqual('b', self.api.get(ADMIN, theirs)['name'])

    def test_unknown_server(self):
        self.assertRaises(exception.InstanceNotFound, self.api.get, ALICE,
                          'nope')
        self.assertRaises(exception.InstanceNotFound, self.api.get, ALICE,
                          None)


class DeleteTestCase(APITestCase):
    def test_visible_while_deleting_then_gone(self):
        uuid = self._active()
        gate = self._gate('destroy')
        self.api.delete(ALICE, uuid)
        self._entered('destroy')
        self.assertEqual('deleting', self.api.get(ALICE, uuid)['task_state'])
        self.api.delete(ALICE, uuid)  # harmless
        gate.set()
        self._wait()
        self.assertRaises(exception.InstanceNotFound, self.api.get, ALICE,
                          uuid)
        self.assertEqual([], self.api.list(ALICE))
        self.assertEqual(1, self.driver.names().count('destroy'))
        self.assertRaises(exception.InstanceNotFound, self.api.delete, ALICE,
                          uuid)

    def test_delete_during_build(self):
        gate = self._gate('spawn')
        uuid = self.api.create(ALICE, 'vm', 'img-1', '1')['uuid']
        self._entered('spawn')
        self.api.delete(ALICE, uuid)
        self.assertEqual(('BUILD', 'deleting', None), self._state(uuid))
        gate.set()
        self._wait()
        self.assertIsNone(db.server_get(uuid))
        self.assertEqual(['spawn', 'destroy'], self.driver.names())
        self.assertEqual({}, self.driver.ports)

    def test_failed_delete_can_be_retried(self):
        uuid = self._active()
        self.driver.fail['destroy'] = RuntimeError('busy')
        self.api.delete(ALICE, uuid)
        self._wait()
        self.assertEqual(('ERROR', None, 'busy'), self._state(uuid))
        del self.driver.fail['destroy']
        self.api.delete(ALICE, uuid)
        self._wait()
        self.assertIsNone(db.server_get(uuid))

    def test_delete_revokes_console_tokens_at_once(self):
        uuid = self._active()
        token = self._token(self.api.get_serial_console(ALICE, uuid))
        self._gate('destroy')
        self.api.delete(ALICE, uuid)
        self.assertRaises(exception.InvalidToken, tokens.validate, token)


class RebootTestCase(APITestCase):
    def test_soft_reboot(self):
        uuid = self._active()
        gate = self._gate('reboot')
        self.assertIsNone(self.api.reboot(ALICE, uuid, 'SOFT'))
        self.assertEqual(('REBOOT', 'rebooting', None), self._state(uuid))
        gate.set()
        self._wait()
        self.assertEqual(('ACTIVE', None, None), self._state(uuid))
        self.assertEqual(('reboot', uuid, 'SOFT'), self.driver.calls[-1])

    def test_reboot_needs_active(self):
        gate = self._gate('spawn')
        uuid = self.api.create(ALICE, 'vm', 'img-1', '1')['uuid']
        for reboot_type in ('SOFT', 'HARD'):
            e = self.assertRaises(exception.InstanceInvalidState,
                                  self.api.reboot, ALICE, uuid, reboot_type)
            self.assertEqual(409, e.code)
            self.assertIn('BUILD (spawning)', str(e))
        gate.set()

    def test_hard_reboot_recovers_error_soft_does_not(self):
        self.driver.fail['spawn'] = RuntimeError('boom')
        uuid = self.api.create(ALICE, 'vm', 'img-1', '1')['uuid']
        self._wait()
        self.assertRaises(exception.InstanceInvalidState, self.api.reboot,
                          ALICE, uuid, 'SOFT')
        del self.driver.fail['spawn']
        self.api.reboot(ALICE, uuid, 'HARD')
        self.assertEqual(('HARD_REBOOT', 'rebooting_hard', 'boom'),
                         self._state(uuid))
        self._wait()
        self.assertEqual(('ACTIVE', None, None), self._state(uuid))

    def test_hard_reboot_overrides_a_running_soft_one(self):
        uuid = self._active()
        gate = self._gate('reboot')
        self.api.reboot(ALICE, uuid, 'SOFT')
        self._entered('reboot')
        self.assertRaises(exception.InstanceInvalidState, self.api.reboot,
                          ALICE, uuid, 'SOFT')
        self.api.reboot(ALICE, uuid, 'HARD')
        self.assertEqual(('HARD_REBOOT', 'rebooting_hard', None),
                         self._state(uuid))
        gate.set()
        self._wait()
        self.assertEqual(('ACTIVE', None, None), self._state(uuid))
        self.assertEqual([('reboot', uuid, 'SOFT'), ('reboot', uuid, 'HARD')],
                         self.driver.calls[-2:])

    def test_reboot_type_is_checked(self):
        uuid = self._active()
        self.assertRaises(exception.ValidationError, self.api.reboot, ALICE,
                          uuid, 'soft')

    def test_reboot_revokes_console_tokens_at_once(self):
        uuid = self._active()
        token = self._token(self.api.get_serial_console(ALICE, uuid))
        self.assertEqual(uuid, tokens.validate(token).instance_uuid)
        self._gate('reboot')
        self.api.reboot(ALICE, uuid, 'SOFT')
        self.assertRaises(exception.InvalidToken, tokens.validate, token)

    def test_racing_reboots_one_accepted(self):
        uuid = self._active()
        self._gate('reboot')
        results = []
        start = threading.Barrier(8)

        def reboot():
            start.wait()
            try:
                self.api.reboot(ALICE, uuid, 'SOFT')
                results.append('ok')
            except exception.InstanceInvalidState:
                results.append('409')

        threads = [threading.Thread(target=reboot) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(['409'] * 7 + ['ok'], sorted(results))


class RebuildTestCase(APITestCase):
    def test_rebuild(self):
        uuid = self._active()
        token = self._token(self.api.get_serial_console(ALICE, uuid))
        gate = self._gate('rebuild')
        server = self.api.rebuild(ALICE, uuid, 'img-2')
        self.assertEqual(('REBUILD', 'rebuilding', 'img-2'), (
            server['status'], server['task_state'], server['image_id']))
        self.assertRaises(exception.InvalidToken, tokens.validate, token)
        self.assertRaises(exception.InstanceInvalidState, self.api.rebuild,
                          ALICE, uuid, 'img-1')
        gate.set()
        self._wait()
        self.assertEqual(('ACTIVE', None, None), self._state(uuid))
        self.assertEqual(('rebuild', uuid, 'img-2'), self.driver.calls[-1])

    def test_rebuild_checks(self):
        uuid = self._active()
        self.assertRaises(exception.ImageNotFound, self.api.rebuild, ALICE,
                          uuid, 'nope')
        self._gate('reboot')
        self.api.reboot(ALICE, uuid, 'HARD')
        self.assertRaises(exception.InstanceInvalidState, self.api.rebuild,
                          ALICE, uuid, 'img-2')
        self.assertEqual('img-1', self.api.get(ALICE, uuid)['image_id'])


class ConsoleTestCase(APITestCase):
    def test_console_output(self):
        uuid = self._active()
        self.assertEqual(b'console of ' + uuid.encode(),
                         self.api.get_console_output(ALICE, uuid))

    def test_consoles_need_active(self):
        gate = self._gate('spawn')
        uuid = self.api.create(ALICE, 'vm', 'img-1', '1')['uuid']
        for call in (self.api.get_console_output,
                     self.api.get_serial_console):
            e = self.assertRaises(exception.InstanceNotReady, call, ALICE,
                                  uuid)
            self.assertEqual(409, e.code)
        gate.set()

    def test_serial_console_url_and_token(self):
        self.flags(base_url='wss://proxy.example.org:6083/',
                   group='serial_console')
        uuid = self._active()
        console = self.api.get_serial_console(ALICE, uuid)
        self.assertEqual('serial', console['type'])
        prefix = 'wss://proxy.example.org:6083/?token='
        self.assertTrue(console['url'].startswith(prefix), console['url'])
        info = tokens.validate(console['url'][len(prefix):])
        self.assertEqual((uuid, 'serial', fake_driver.HOST, PORT),
                         (info.instance_uuid, info.console_type, info.host,
                          info.port))

    def test_base_url_with_a_query(self):
        self.assertEqual('ws://h:6083/?a=b&token=T',
                         compute_api.console_url('ws://h:6083/?a=b', 'T'))
        self.assertEqual('ws://h/?token=T',
                         compute_api.console_url('ws://h/?', 'T'))
        self.assertEqual('ws://h/p?token=T#f',
                         compute_api.console_url('ws://h/p#f', 'T'))

    def test_other_console_types(self):
        uuid = self._active()
        e = self.assertRaises(exception.ConsoleTypeUnavailable,
                              self.api.get_serial_console, ALICE, uuid,
                              'novnc')
        self.assertEqual(400, e.code)

    def test_validate_console_port(self):
        uuid = self._active()
        check = self.api.validate_console_port
        # The proxy's context is irrelevant: the lookup is the admin's.
        self.assertIs(True, check(BOB, uuid, fake_driver.HOST, PORT,
                                  'serial'))
        self.assertIs(False, check(BOB, uuid, fake_driver.HOST, PORT + 1,
                                   'serial'))
        self.assertIs(False, check(BOB, 'nope', fake_driver.HOST, PORT,
                                   'serial'))
        self._gate('reboot')
        self.api.reboot(ALICE, uuid, 'HARD')
        self.assertIs(False, check(BOB, uuid, fake_driver.HOST, PORT,
                                   'serial'))
