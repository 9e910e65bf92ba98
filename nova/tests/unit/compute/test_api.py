"""The compute API on compute services reached over the fake transport.

Every action goes API -> ComputeTaskAPI -> (in-process transport) ->
ComputeTaskManager -> ComputeAPI -> ComputeService -> ComputeManager ->
FakeDriver, and the outcome back to the conductor.
"""

import os
import threading
from unittest import mock

from nova.api.openstack import common as api_common
from nova.compute import api as compute_api
from nova.compute import rpcapi
from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import fake_driver

ADMIN, ALICE, BOB = base.ADMIN, base.ALICE, base.BOB
PORT = fake_driver.FIRST_PORT


def host_failed(host, reason):
    """The fault of a non-Nova error on ``host``'s compute service."""
    return exception.ComputeHostError(host=host, reason=reason).message


class APITestCase(base.ComputeTestCase):
    def setUp(self):
        super().setUp()
        # After the services: its clean-up (finishing the tasks) runs
        # before theirs.
        self.api = compute_api.API(conf=self.nova_conf)
        self.addCleanup(self.api.shutdown)
        # Before the services stop: the actions handed over end first.
        self.addCleanup(self.wait_for_tasks)
        for driver in self.drivers.values():
            driver.calls.clear()  # init_host

    def _wait(self):
        self.assertTrue(self.wait_for_tasks(base.WAIT))

    def _active(self, ctx=ALICE, name='vm'):
        server = self.api.create(ctx, name, 'img-1', '1')
        self._wait()
        current = self.api.get(ctx, server['uuid'])
        self.assertEqual(('active', None), (current['vm_state'],
                                            current['fault']))
        return server['uuid']

    def _gate(self, method, driver=None):
        driver = driver or self.driver
        gate = driver.gates[method] = threading.Event()
        self.addCleanup(gate.set)
        return gate

    def _entered(self, method, driver=None):
        driver = driver or self.driver
        self.assertTrue(driver.entered_event(method).wait(base.WAIT))

    def _token(self, console):
        self.assertEqual(1, console['url'].count('token='))
        return console['url'].rsplit('token=', 1)[1]

    def _valid(self, token):
        try:
            tokens.validate(token)
            return True
        except exception.InvalidToken:
            return False


class FlavorImageTestCase(APITestCase):
    def test_flavor_create_get_list(self):
        flavor = self.api.flavor_create(ADMIN, 'm1.small', 512, 1, disk=1,
                                        extra_specs={'k': 'v'},
                                        flavor_id='2')
        self.assertEqual({'id': '2', 'name': 'm1.small', 'ram': 512,
                          'vcpus': 1, 'disk': 1, 'extra_specs': {'k': 'v'},
                          'swap': 0, 'ephemeral_gb': 0, 'rxtx_factor': 1.0,
                          'is_public': True, 'disabled': False},
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
        # With the keys a Glance image has too (nova.image.local).
        self.assertEqual(dict(image, container_format='bare', min_ram=0,
                              min_disk=0, size=None, created_at=None,
                              updated_at=None),
                         self.api.image_get(BOB, 'img-3'))
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
        server = self.api.create(ALICE, 'vm', 'img-1', '1',
                                 description='my vm')
        self.assertEqual(
            {'name': 'vm', 'project_id': 'pa', 'user_id': 'alice',
             'flavor_id': '1', 'image_id': 'img-1', 'vm_state': 'building',
             'task_state': 'spawning', 'host': 'fake-host', 'fault': None,
             'description': 'my vm', 'host_status': 'UP',
             'node': 'fake-host.example.org',
             # Nova's other fields, none asked for: their defaults; the
             # zone is the host's.
             'metadata': {}, 'key_name': None, 'key_data': None,
             'access_ip_v4': None, 'access_ip_v6': None,
             'disk_config': 'MANUAL', 'power_state': 0,
             'launched_at': None, 'terminated_at': None,
             'availability_zone': 'nova', 'config_drive': '',
             'user_data': None, 'locked': False, 'locked_by': None},
            {k: v for k, v in server.items()
             if k not in ('uuid', 'created_at', 'updated_at')})
        self.assertEqual(server, self.api.get(ALICE, server['uuid']))
        self.assertFalse(self.wait_for_tasks(0.05))
        gate.set()
        self._wait()
        current = self.api.get(ALICE, server['uuid'])
        self.assertEqual(('active', None, None), (
            current['vm_state'], current['task_state'], current['fault']))
        self.assertEqual([('spawn', server['uuid'], 'img-1')],
                         self.driver.calls)

    def test_the_host_gets_the_instance_from_the_rows(self):
        uuid = self._active()
        # Through RPC, as JSON: the same Instance as instance_for makes.
        self.assertInstanceFromRows(self.driver.instances[-1], uuid)

    def test_failed_build_is_error_with_fault(self):
        self.driver.fail['spawn'] = exception.SerialPortNumberLimitExceeded(
            wanted=5, allowed=4, detail='5 tcp port(s)')
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        self._wait()
        current = self.api.get(ALICE, server['uuid'])
        self.assertEqual('error', current['vm_state'])
        self.assertIsNone(current['task_state'])
        self.assertEqual(
            'The guest would need 5 serial devices (5 tcp port(s)) but QEMU '
            'supports at most 4.', current['fault'])
        self.assertIn('Build of server %s failed' % server['uuid'],
                      self.logs.output)

    def test_unexpected_host_error_is_a_fault_without_traceback(self):
        self.driver.fail['spawn'] = RuntimeError('disk on fire')
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        self._wait()
        current = self.api.get(ALICE, server['uuid'])
        self.assertEqual(('error', None, host_failed('fake-host',
                                                     'disk on fire')),
                         (current['vm_state'], current['task_state'],
                          current['fault']))
        self.assertNotIn('Traceback', current['fault'])
        # The traceback is in the host's log.
        self.assertIn('build_and_run_instance failed on host fake-host',
                      self.logs.output)
        self.assertIn('RuntimeError: disk on fire', self.logs.output)

    def test_create_checks_flavor_image_and_name(self):
        self.assertRaises(exception.FlavorNotFound, self.api.create, ALICE,
                          'vm', 'img-1', '99')
        self.assertRaises(exception.ImageNotFound, self.api.create, ALICE,
                          'vm', 'nope', '1')
        self.assertRaises(exception.ValidationError, self.api.create, ALICE,
                          '', 'img-1', '1')
        self.assertRaises(exception.ValidationError, self.api.create, ALICE,
                          'vm', 'img-1', '1', description='x' * 256)
        self.assertEqual([], self.api.list(ADMIN))

    def test_action_the_conductor_cannot_get_is_error_and_503(self):
        self.api.compute_task_api = mock.Mock()
        self.api.compute_task_api.build_instances.side_effect = (
            exception.ServiceUnavailable(reason='lost'))
        e = self.assertRaises(exception.ServiceUnavailable, self.api.create,
                              ALICE, 'vm', 'img-1', '1')
        self.assertEqual(503, e.code)
        [current] = self.api.list(ALICE)
        self.assertEqual(('error', None, 'lost'), (
            current['vm_state'], current['task_state'], current['fault']))
        self.assertIn('Action on server %s not handed to the conductor: '
                      'lost' % current['uuid'], self.logs.output)
        self.assertEqual([], self.driver.calls)

    def test_no_actions_after_shutdown(self):
        uuid = self._active()
        self.api.shutdown()
        e = self.assertRaises(exception.ServiceUnavailable, self.api.create,
                              ALICE, 'vm', 'img-1', '1')
        self.assertEqual(503, e.code)
        self.assertRaises(exception.ServiceUnavailable, self.api.reboot,
                          ALICE, uuid, 'SOFT')
        self.assertEqual(('active', None, None), self._state(uuid))
        self.assertEqual(1, len(self.api.list(ALICE)))

    def test_default_rpcapi_is_on_the_confs_transport(self):
        api = compute_api.API(conf=self.nova_conf)
        self.addCleanup(api.shutdown)
        self.assertIsInstance(api.compute_rpcapi, rpcapi.ComputeAPI)
        self.assertIs(self.nova_conf, api.compute_rpcapi.conf)
        uuid = self._active()
        self.assertEqual(b'console of ' + uuid.encode(),
                         api.get_console_output(ALICE, uuid))


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
        self.assertEqual(('active', None, None), self._state(theirs))
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
        self.assertEqual(('building', 'deleting', None), self._state(uuid))
        gate.set()
        self._wait()
        self.assertIsNone(db.instance_get(uuid))
        self.assertEqual(['spawn', 'destroy'], self.driver.names())
        self.assertEqual({}, self.driver.ports)

    def test_failed_delete_can_be_retried(self):
        uuid = self._active()
        self.driver.fail['destroy'] = RuntimeError('busy')
        self.api.delete(ALICE, uuid)
        self._wait()
        self.assertEqual(('error', None, host_failed('fake-host', 'busy')),
                         self._state(uuid))
        del self.driver.fail['destroy']
        self.api.delete(ALICE, uuid)
        self._wait()
        self.assertIsNone(db.instance_get(uuid))

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
        self.assertEqual(('active', 'rebooting', None), self._state(uuid))
        gate.set()
        self._wait()
        self.assertEqual(('active', None, None), self._state(uuid))
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
        # Still in ERROR until the reboot succeeds (as in Nova); the API
        # shows HARD_REBOOT meanwhile, as it always has.
        self.assertEqual(('error', 'rebooting_hard',
                          host_failed('fake-host', 'boom')),
                         self._state(uuid))
        self.assertEqual('HARD_REBOOT', api_common.status_of(
            self.api.get(ALICE, uuid)))
        self._wait()
        self.assertEqual(('active', None, None), self._state(uuid))

    def test_hard_reboot_overrides_a_running_soft_one(self):
        uuid = self._active()
        gate = self._gate('reboot')
        self.api.reboot(ALICE, uuid, 'SOFT')
        self._entered('reboot')
        self.assertRaises(exception.InstanceInvalidState, self.api.reboot,
                          ALICE, uuid, 'SOFT')
        self.api.reboot(ALICE, uuid, 'HARD')
        self.assertEqual(('active', 'rebooting_hard', None),
                         self._state(uuid))
        gate.set()
        self._wait()
        self.assertEqual(('active', None, None), self._state(uuid))
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
        server = self.api.rebuild(ALICE, uuid, 'img-2',
                                  description='rebuilt')
        self.assertEqual(('active', 'rebuilding', 'img-2', 'rebuilt'), (
            server['vm_state'], server['task_state'], server['image_id'],
            server['description']))
        self.assertRaises(exception.InvalidToken, tokens.validate, token)
        self.assertRaises(exception.InstanceInvalidState, self.api.rebuild,
                          ALICE, uuid, 'img-1')
        gate.set()
        self._wait()
        self.assertEqual(('active', None, None), self._state(uuid))
        self.assertEqual(('rebuild', uuid, 'img-2'), self.driver.calls[-1])
        meta = self.driver.instances[-1].image_meta
        self.assertEqual(('qcow2', None), (meta.disk_format,
                                           meta.kernel_path))

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
        self.nova_flags(base_url='wss://proxy.example.org:6083/',
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

    def test_guest_gone_on_the_host(self):
        uuid = self._active()
        self.driver.ports.clear()
        e = self.assertRaises(exception.InstanceNotFound,
                              self.api.get_console_output, ALICE, uuid)
        self.assertEqual(404, e.code)

    def test_validate_console_port(self):
        uuid = self._active()
        check = self.console_api().validate_console_port
        # The proxy's context is irrelevant: the lookup is the admin's.
        self.assertIs(True, check(BOB, uuid, fake_driver.HOST, PORT,
                                  'serial'))
        self.assertIs(False, check(BOB, uuid, fake_driver.HOST, PORT + 1,
                                   'serial'))
        self.assertIs(False, check(BOB, uuid, '10.0.0.1', PORT, 'serial'))
        self.assertIs(False, check(BOB, uuid, fake_driver.HOST, PORT,
                                   'spice'))
        self.assertIs(False, check(BOB, 'nope', fake_driver.HOST, PORT,
                                   'serial'))
        self._gate('reboot')
        self.api.reboot(ALICE, uuid, 'HARD')
        self.assertIs(False, check(BOB, uuid, fake_driver.HOST, PORT,
                                   'serial'))


class RecoveryTestCase(APITestCase):
    def test_conductor_start_recovers_interrupted_tasks(self):
        self._server(ids.BUILDING)
        self._server(ids.SRV2)  # built, but its outcome was lost
        self.driver.ports[ids.SRV2] = PORT + 52
        self._server(ids.REBOOTING, 'active', 'rebooting')
        self._server(ids.MIGRATING, 'active', 'migrating')
        self._server(ids.FINE, 'active', None)
        self.driver.ports[ids.DELETING] = PORT + 50
        self.driver.ports[ids.MIGRATING] = PORT + 51  # the host has it
        self._server(ids.DELETING, 'active', 'deleting')
        token = tokens.authorize(ids.REBOOTING, 'serial', 'h', 1)
        self.conductor.task_manager.init_host()
        # The actions the host does not run are sent to it again.
        self.assertFalse(self._valid(token))
        self.assertTrue(self.wait_for_tasks(10))
        self.assertEqual(sorted([('destroy', ids.DELETING),
                                 ('spawn', ids.BUILDING, 'img-1'),
                                 ('reboot', ids.REBOOTING, 'SOFT')]),
                         sorted(self.driver.calls))
        self.assertIsNone(db.instance_get(ids.DELETING))
        self.assertNotIn(ids.DELETING, self.driver.ports)
        self.assertEqual(('active', None, None), self._state(ids.BUILDING))
        self.assertEqual(('active', None, None), self._state(ids.REBOOTING))
        vm_state, task, fault = self._state(ids.SRV2)
        self.assertEqual(('error', None), (vm_state, task))
        self.assertEqual('Interrupted by a restart while spawning (host '
                         'fake-host runs no action on it)', fault)
        # A live migration that was interrupted leaves the guest where the
        # database says it is, once that host says it has it.
        self.assertEqual(('active', None, None), self._state(ids.MIGRATING))
        self.assertEqual(('active', None, None), self._state(ids.FINE))
        self.conductor.task_manager.init_host()
        self.assertEqual(3, len(self.driver.calls))


class TwoHostsTestCase(APITestCase):
    """Two hosts; the scheduler picks by their reports."""

    HOSTS = ('host-a', 'host-b')

    def setUp(self):
        super().setUp()
        self.driver = None  # no default: say which host

    def _report(self, host, **values):
        """Make ``host`` report ``values`` now; wait until recorded."""
        self.drivers[host].report.update(values)
        self.assertTrue(self.services[host].report())
        base.wait_for(self, lambda: all(
            db.service_get_by_host(host)['report'].get(k) == v
            for k, v in values.items()), 'the report of %s' % host)

    def _active_on(self, host, ctx=ALICE):
        """A server that the scheduler puts on ``host``."""
        for name in self.HOSTS:
            self._report(name, serial_ports_free=90 if name == host else 10)
        uuid = self._active(ctx)
        self.assertEqual(host, db.instance_get(uuid)['host'])
        return uuid

    @staticmethod
    def _raises(call, *args):
        try:
            call(*args)
        except exception.NovaException as e:
            return e
        return None


class HostsTestCase(TwoHostsTestCase):
    def test_scheduler_picks_by_reports(self):
        a = self._active_on('host-a')
        b = self._active_on('host-b')
        self.assertEqual(['spawn'], self.drivers['host-a'].names())
        self.assertEqual({a}, set(self.drivers['host-a'].ports))
        self.assertEqual({b}, set(self.drivers['host-b'].ports))
        servers = {s['uuid']: s for s in self.api.list(ADMIN)}
        self.assertEqual(('UP', 'host-a.example.org'),
                         (servers[a]['host_status'], servers[a]['node']))
        self.assertEqual(('UP', 'host-b.example.org'),
                         (servers[b]['host_status'], servers[b]['node']))

    def test_host_down_is_409_for_its_servers_only(self):
        a = self._active_on('host-a')
        b = self._active_on('host-b')
        token = self._token(self.api.get_serial_console(ALICE, b))
        self.stop_host('host-b')
        calls_b = len(self.drivers['host-b'].calls)
        self.assertEqual('DOWN', self.api.get(ALICE, b)['host_status'])
        self.assertEqual('UP', self.api.get(ALICE, a)['host_status'])
        for call, args in ((self.api.get_console_output, ()),
                           (self.api.get_serial_console, ()),
                           (self.api.reboot, ('SOFT',)),
                           (self.api.rebuild, ('img-2',)),
                           (self.api.delete, ())):
            e = self.assertRaises(exception.InstanceHostUnavailable, call,
                                  ALICE, b, *args)
            self.assertEqual(409, e.code)
            self.assertIn(b, e.message)
            self.assertIn('host-b', e.message)
            self.assertIn('was stopped', e.message)
        self.assertEqual(('active', None, None), self._state(b))
        self.assertTrue(self._valid(token))
        # Nor does the console proxy get a port confirmed there.
        self.assertIs(False, self.console_api().validate_console_port(
            ADMIN, b, fake_driver.HOST, self.drivers['host-b'].ports[b],
            'serial'))
        # The other host's server works on.
        self.assertEqual(b'console of ' + a.encode(),
                         self.api.get_console_output(ALICE, a))
        self.api.reboot(ALICE, a, 'HARD')
        self._wait()
        self.assertEqual(('active', None, None), self._state(a))
        self.api.delete(ALICE, a)
        self._wait()
        self.assertIsNone(db.instance_get(a))
        self.assertEqual(calls_b, len(self.drivers['host-b'].calls))

    def test_silent_host_is_down(self):
        self.nova_flags(service_down_time=1)
        b = self._active_on('host-b')
        self.services['host-b']._stop.set()  # heartbeats stop, RPC serves
        self.services['host-b']._reporter.join(base.WAIT)
        e = base.wait_for(self, lambda: self._raises(
            self.api.get_console_output, ALICE, b), 'host-b going down')
        self.assertIsInstance(e, exception.InstanceHostUnavailable)
        self.assertIn('host-b has not reported for', e.message)
        self.assertIn('service_down_time is 1 s', e.message)

    def test_new_servers_go_to_the_host_that_is_up(self):
        self.stop_host('host-b')
        for _ in range(2):
            uuid = self._active()
            self.assertEqual('host-a', db.instance_get(uuid)['host'])

    def test_failed_delete_is_retried_once_the_host_is_back(self):
        b = self._active_on('host-b')
        driver = self.drivers['host-b']
        driver.fail['destroy'] = RuntimeError('busy')
        gate = self._gate('destroy', driver)
        self.api.delete(ALICE, b)
        self._entered('destroy', driver)
        # The host stops while its destroy runs: its RPC server stops
        # taking messages and waits for the calls in progress (as on a
        # broker), so the gate opens while the stop waits.
        stopper = threading.Thread(target=self.stop_host, args=('host-b',))
        stopper.start()
        gate.set()
        stopper.join(base.WAIT * 2)
        self.assertFalse(stopper.is_alive())
        self._wait()
        self.assertEqual(('error', None, host_failed('host-b', 'busy')),
                         self._state(b))
        # Its guest may still run on host-b: not forgotten while the host
        # cannot be asked.
        self.assertRaises(exception.InstanceHostUnavailable,
                          self.api.delete, ALICE, b)
        self.assertEqual('error', self._state(b)[0])
        del driver.fail['destroy']
        del driver.gates['destroy']
        self.start_host('host-b', driver)
        self.api.delete(ALICE, b)
        self._wait()
        self.assertIsNone(db.instance_get(b))
        self.assertEqual({}, driver.ports)


class LiveMigrateTestCase(TwoHostsTestCase):
    def setUp(self):
        super().setUp()
        self.uuid = self._active_on('host-a')
        self.a, self.b = self.drivers['host-a'], self.drivers['host-b']
        self.a.calls.clear()
        self.b.calls.clear()

    def _migrate(self, host='host-b', **kw):
        self.assertIsNone(self.api.live_migrate(ADMIN, self.uuid, host,
                                                **kw))
        self._wait()

    def _unchanged(self):
        self.assertEqual(('active', None, None), self._state(self.uuid))
        self.assertEqual('host-a', db.instance_get(self.uuid)['host'])
        self.assertIn(self.uuid, self.a.ports)
        self.assertEqual({}, self.b.incoming)

    def test_success_moves_the_server_and_revokes_its_tokens(self):
        token = self._token(self.api.get_serial_console(ALICE, self.uuid))
        old_port = self.a.ports[self.uuid]
        self._migrate()
        server = self.api.get(ALICE, self.uuid)
        self.assertEqual(('active', None, None, 'host-b', 'UP',
                          'host-b.example.org'),
                         (server['vm_state'], server['task_state'],
                          server['fault'], server['host'],
                          server['host_status'], server['node']))
        self.assertEqual(['get_serial_console',
                          'check_can_live_migrate_source', 'live_migration',
                          'post_live_migration'],
                         self.a.names())
        self.assertEqual(['check_can_live_migrate_destination',
                          'pre_live_migration',
                          'post_live_migration_at_destination'],
                         self.b.names())
        # The source was told where to send the guest.
        self.assertEqual(('live_migration', self.uuid,
                          'fake+tcp://host-b/system'), self.a.calls[-2])
        self.assertEqual({}, self.a.ports)
        self.assertFalse(self._valid(token))
        # Consoles and actions now go to host-b.
        info = tokens.validate(self._token(
            self.api.get_serial_console(ALICE, self.uuid)))
        self.assertEqual(self.b.ports[self.uuid], info.port)
        self.assertNotEqual(old_port, info.port)
        self.assertEqual(b'console of ' + self.uuid.encode(),
                         self.api.get_console_output(ALICE, self.uuid))
        self.assertEqual('get_console_output', self.b.names()[-1])
        self.api.delete(ALICE, self.uuid)
        self._wait()
        self.assertEqual('destroy', self.b.names()[-1])
        self.assertNotIn('destroy', self.a.names())

    def test_the_scheduler_picks_the_destination(self):
        self._migrate(host=None)
        self.assertEqual('host-b', db.instance_get(self.uuid)['host'])

    def test_migrating_until_done(self):
        gate = self._gate('live_migration', self.a)
        self.api.live_migrate(ADMIN, self.uuid, 'host-b')
        self._entered('live_migration', self.a)
        self.assertEqual(('active', 'migrating', None),
                         self._state(self.uuid))
        for call, args in ((self.api.delete, ()),
                           (self.api.reboot, ('HARD',)),
                           (self.api.live_migrate, ('host-b',))):
            e = self.assertRaises(exception.InstanceInvalidState, call,
                                  ADMIN, self.uuid, *args)
            self.assertEqual(409, e.code)
        self.assertRaises(exception.InstanceNotReady,
                          self.api.get_serial_console, ALICE, self.uuid)
        gate.set()
        self._wait()
        self.assertEqual(('active', None, None), self._state(self.uuid))

    def test_failure_in_the_background_leaves_it_on_the_source(self):
        token = self._token(self.api.get_serial_console(ALICE, self.uuid))
        self.a.fail['live_migration'] = RuntimeError('link down')
        self._migrate()
        self._unchanged()
        self.assertEqual(['check_can_live_migrate_destination',
                          'pre_live_migration',
                          'rollback_live_migration_at_destination'],
                         self.b.names())
        self.assertIn('Live migration of server %s from host-a to host-b '
                      'failed; it stays on host-a: %s' % (
                          self.uuid, host_failed('host-a', 'link down')),
                      self.logs.output)
        # Its console still works, with the token it had.
        self.assertTrue(self._valid(token))
        self.assertIs(True, self.console_api().validate_console_port(
            ADMIN, self.uuid, fake_driver.HOST, self.a.ports[self.uuid],
            'serial'))

    def test_unknown_host(self):
        e = self.assertRaises(exception.ComputeHostNotFound,
                              self.api.live_migrate, ADMIN, self.uuid,
                              'host-c')
        self.assertEqual(404, e.code)
        self.assertIn('host-c', e.message)
        self._unchanged()

    def test_down_host(self):
        self.stop_host('host-b')
        e = self.assertRaises(exception.ComputeServiceUnavailable,
                              self.api.live_migrate, ADMIN, self.uuid,
                              'host-b')
        self.assertEqual(400, e.code)
        self.assertIn('host-b', e.message)
        self._unchanged()

    def test_same_host(self):
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self.api.live_migrate, ADMIN, self.uuid,
                              'host-a')
        self.assertEqual(400, e.code)
        self.assertIn('already on host host-a', e.message)
        self._unchanged()
        self.assertEqual([], self.a.calls)

    def test_no_other_host(self):
        self.stop_host('host-b')
        e = self.assertRaises(exception.NoValidHost, self.api.live_migrate,
                              ADMIN, self.uuid)
        self.assertEqual(400, e.code)
        self.assertIn('host-b: down', e.message)
        # The source is named for what it is, not as a candidate.
        self.assertIn("host-a: the server's own host", e.message)
        self._unchanged()

    def test_source_host_down(self):
        self.stop_host('host-a')
        e = self.assertRaises(exception.InstanceHostUnavailable,
                              self.api.live_migrate, ADMIN, self.uuid,
                              'host-b')
        self.assertEqual(409, e.code)
        self.assertEqual(('active', None, None), self._state(self.uuid))

    def test_failing_pre_check_leaves_it_active(self):
        self.a.fail['check_can_live_migrate_source'] = (
            exception.MigrationPreCheckError(reason='it has a local disk'))
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self.api.live_migrate, ADMIN, self.uuid,
                              'host-b')
        self.assertEqual(400, e.code)
        # The host's error, wrapped by the API: its label once.
        self.assertEqual('Migration pre-check error: it has a local disk',
                         e.message)
        self._unchanged()
        self.assertEqual(['check_can_live_migrate_destination'],
                         self.b.names())
        self.assertTrue(self.wait_for_tasks(0))

    def test_unexpected_pre_check_error_leaves_it_active(self):
        self.b.fail['check_can_live_migrate_destination'] = OSError(
            'no room')
        e = self.assertRaises(exception.ComputeHostError,
                              self.api.live_migrate, ADMIN, self.uuid,
                              'host-b')
        self.assertEqual(host_failed('host-b', 'no room'), e.message)
        self._unchanged()
        self.assertEqual([], self.a.calls)

    def test_block_migration_reaches_the_source(self):
        self._migrate(block_migration=False)
        self.assertEqual('host-b', db.instance_get(self.uuid)['host'])
        self.assertEqual(('check_can_live_migrate_source', self.uuid, False),
                         self.a.calls[0])
        self.assertRaises(exception.ValidationError, self.api.live_migrate,
                          ADMIN, self.uuid, 'host-a', block_migration='yes')

    def test_auto_block_migration_is_none(self):
        self._migrate()
        self.assertEqual(('check_can_live_migrate_source', self.uuid, None),
                         self.a.calls[0])


class NoHostTestCase(APITestCase):
    HOSTS = ()

    def test_create_without_hosts_is_an_error_server(self):
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        self.assertEqual(('error', None, None, ''), (
            server['vm_state'], server['task_state'], server['host'],
            server['host_status']))
        self.assertEqual('No valid host was found. No compute service has '
                         'reported.', server['fault'])
        self.assertEqual(server, self.api.get(ALICE, server['uuid']))
        self.assertTrue(self.wait_for_tasks(0))
        # Nothing to destroy anywhere: the row just goes.
        self.api.delete(ALICE, server['uuid'])
        self.assertIsNone(db.instance_get(server['uuid']))

    def test_fault_names_why_each_host_was_refused(self):
        self.start_host('small', fake_driver.FakeDriver('small'))
        self.drivers['small'].report['memory_mb_free'] = 64
        self.services['small'].report()
        base.wait_for(self, lambda: db.service_get_by_host('small')[
            'report']['memory_mb_free'] == 64, 'the report of small')
        self.start_host('gone')
        self.stop_host('gone')
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        self.assertEqual('error', server['vm_state'])
        self.assertEqual('No valid host was found. Hosts considered: small: '
                         'only 64 MiB free RAM; gone: down.', server['fault'])
        self.assertIn('No host for server %s' % server['uuid'],
                      self.logs.output)
