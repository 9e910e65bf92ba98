"""Cold migration and resize, confirm and revert, end to end in-process.

compute API -> conductor (nova.conductor.migrate) -> the hosts' managers
-> FakeDriver, over the fake transport: the states, the migration
record, which host drives which step, and each error.
"""

import datetime

from nova.api.openstack import common as api_common
from nova.compute import task_states
from nova.db import api as db
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_api

ADMIN, ALICE = base.ADMIN, base.ALICE
SOURCE, DEST = 'fake-host', 'host-2'


class ResizeTestCase(test_api.APITestCase):
    HOSTS = (SOURCE, DEST)

    def setUp(self):
        super().setUp()
        db.flavor_create({'id': '2', 'name': 'm1.small', 'ram': 256,
                          'vcpus': 1, 'disk': 1,
                          'extra_specs': {'hw:serial_port_count': '1'}})
        self.source = self.drivers[SOURCE]
        self.dest = self.drivers[DEST]

    def _set_disabled(self, host, disabled):
        db.service_update(db.service_get_by_host(host)['id'],
                          {'disabled': disabled})

    def _active(self, ctx=ALICE, name='vm'):
        # Built on SOURCE: the scheduler would pick either host.
        self._set_disabled(DEST, True)
        uuid = super()._active(ctx, name)
        self._set_disabled(DEST, False)
        self.assertEqual(SOURCE, db.instance_get(uuid)['host'])
        return uuid

    def _migrations(self, uuid):
        return [(m['migration_type'], m['status'], m['source_compute'],
                 m['dest_compute'])
                for m in db.migration_list(instance_uuid=uuid)]

    def _moved(self, uuid):
        self._wait()
        server = db.instance_get(uuid)
        return (server['vm_state'], server['task_state'], server['host'],
                server['flavor_id'], server['fault'])

    def _names(self, driver):
        return [c[0] for c in driver.calls]

    def test_cold_migrate_then_confirm(self):
        uuid = self._active()
        old_port = self.source.ports[uuid]
        self.api.migrate(ADMIN, uuid)
        self.assertEqual(('resized', None, DEST, '1', None),
                         self._moved(uuid))
        self.assertEqual('VERIFY_RESIZE',
                         api_common.status_of(db.instance_get(uuid)))
        self.assertEqual([('migration', 'finished', SOURCE, DEST)],
                         self._migrations(uuid))
        self.assertEqual(['prepare_migration', 'finish_migration'],
                         self._names(self.dest))
        self.assertIn(('finish_migration', uuid, 'm1.tiny', False),
                      self.dest.calls)
        # The source keeps its guest's port until the confirm.
        self.assertEqual(old_port, self.source.ports[uuid])
        self.assertIn(uuid, self.dest.ports)
        self.api.confirm_resize(ALICE, uuid)
        self.assertEqual(('active', None, DEST, '1', None),
                         self._moved(uuid))
        self.assertEqual([('migration', 'confirmed', SOURCE, DEST)],
                         self._migrations(uuid))
        self.assertNotIn(uuid, self.source.ports)
        self.assertIn(('confirm_migration', uuid, False), self.source.calls)
        # The holders the scheduler reads: the source's port is free.
        facts = db.service_get_by_host(SOURCE)['report']
        self.assertNotIn(uuid, facts['serial_port_holders'])

    def test_resize_then_revert(self):
        uuid = self._active()
        old_port = self.source.ports[uuid]
        self.api.resize(ALICE, uuid, '2')
        self.assertEqual(('resized', None, DEST, '2', None),
                         self._moved(uuid))
        # The new flavor's port count reaches the destination's driver.
        finish = [i for c, i in zip(self.dest.calls, self.dest.instances)
                  if c[0] == 'finish_migration'][0]
        self.assertEqual({'hw:serial_port_count': '1'},
                         finish.flavor.extra_specs)
        self.assertEqual('m1.small', db.instance_flavor(
            db.instance_get(uuid))['name'])
        self.api.revert_resize(ALICE, uuid)
        self.assertEqual(('active', None, SOURCE, '1', None),
                         self._moved(uuid))
        self.assertEqual([('resize', 'reverted', SOURCE, DEST)],
                         self._migrations(uuid))
        self.assertIn(('revert_migration_at_destination', uuid, False, True),
                      self.dest.calls)
        self.assertIn(('finish_revert_migration', uuid, 'm1.tiny'),
                      self.source.calls)
        self.assertEqual(old_port, self.source.ports[uuid])
        self.assertNotIn(uuid, self.dest.ports)
        self.assertEqual('m1.tiny', db.instance_flavor(
            db.instance_get(uuid))['name'])

    def test_revert_removes_the_sources_shared_check_file(self):
        # The revert asks the source for its facts with the live
        # migration check, which makes a file there: removed again.
        uuid = self._active()
        self.api.resize(ALICE, uuid, '2')
        self._moved(uuid)
        self.api.revert_resize(ALICE, uuid)
        self._moved(uuid)
        made = [c for c in self.source.calls
                if c[0] == 'check_can_live_migrate_destination']
        self.assertEqual(1, len(made))
        self.assertEqual(1, len(self.source.cleaned_checks))
        self.assertTrue(self.source.cleaned_checks[0].startswith(
            'nova-shared-check-'))

    def test_a_flavor_the_image_does_not_fit_is_refused_at_once(self):
        # As for create and rebuild (Nova checks the image against the
        # new flavor too): a 400 now, not a move that fails on the
        # destination's finish.
        uuid = self._active()
        # Its image asks for more serial ports than the new flavor has.
        db.image_update('img-1', {'properties': {
            'os_command_line': 'console=ttyS0', 'hw_serial_port_count': '2'}})
        db.flavor_create({'id': '4', 'name': 'm1.one-port', 'ram': 512,
                          'vcpus': 1, 'disk': 0,
                          'extra_specs': {'hw:serial_port_count': '1'}})
        e = self.assertRaises(
            exception.ImageSerialPortNumberExceedFlavorValue,
            self.api.resize, ALICE, uuid, '4')
        self.assertEqual(400, e.code)
        server = db.instance_get(uuid)
        self.assertEqual(('active', None, SOURCE),
                         (server['vm_state'], server['task_state'],
                          server['host']))
        self.assertEqual([], self._migrations(uuid))

    def test_refused_requests(self):
        uuid = self._active()
        self.assertRaises(exception.CannotResizeToSameFlavor,
                          self.api.resize, ALICE, uuid, '1')
        self.assertRaises(exception.FlavorNotFound,
                          self.api.resize, ALICE, uuid, '404')
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.confirm_resize, ALICE, uuid)
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.revert_resize, ALICE, uuid)
        self.api.lock(ADMIN, uuid)
        self.assertRaises(exception.InstanceIsLocked,
                          self.api.resize, ALICE, uuid, '2')
        self.api.unlock(ADMIN, uuid)
        self.api.resize(ALICE, uuid, '2')
        self._wait()
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.migrate, ADMIN, uuid)
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.resize, ALICE, uuid, '1')
        # Nothing was started by the refusals.
        self.assertEqual(1, len(self._migrations(uuid)))

    def test_smaller_root_disk_refused(self):
        db.flavor_create({'id': '3', 'name': 'big', 'ram': 128,
                          'vcpus': 1, 'disk': 5, 'extra_specs': {}})
        uuid = self._active()
        self.api.resize(ALICE, uuid, '3')
        self._moved(uuid)
        self.api.confirm_resize(ALICE, uuid)
        self._moved(uuid)
        self.assertRaises(exception.CannotResizeDisk,
                          self.api.resize, ALICE, uuid, '2')

    def test_no_other_host(self):
        uuid = self._active()
        self._set_disabled(DEST, True)
        e = self.assertRaises(exception.NoValidHost, self.api.migrate,
                              ADMIN, uuid)
        self.assertIn('allow_resize_to_same_host', e.message)
        self.assertIn('host-2: disabled', e.message)
        self.assertEqual(('active', None, SOURCE, '1', None),
                         self._moved(uuid))
        self.assertEqual([('migration', 'error', SOURCE, None)],
                         self._migrations(uuid))
        self.assertEqual([], self._names(self.dest))

    def test_same_host_when_allowed(self):
        self.nova_flags(allow_resize_to_same_host=True)
        uuid = self._active()
        self._set_disabled(DEST, True)
        self.api.resize(ALICE, uuid, '2')
        self.assertEqual(('resized', None, SOURCE, '2', None),
                         self._moved(uuid))
        self.assertIn(('migrate_disk_and_power_off', uuid, True),
                      self.source.calls)
        self.api.revert_resize(ALICE, uuid)
        self.assertEqual(('active', None, SOURCE, '1', None),
                         self._moved(uuid))
        self.assertIn(('revert_migration_at_destination', uuid, True,
                       True), self.source.calls)

    def test_disk_copy_fails_server_stays_running(self):
        uuid = self._active()
        port = self.source.ports[uuid]
        self.source.fail['migrate_disk_and_power_off'] = (
            exception.ResizeError(reason='disk of %s not copied to '
                                  '192.0.2.2: ssh: connect to host '
                                  '192.0.2.2 port 22: Connection refused'
                                  % uuid))
        self.api.resize(ALICE, uuid, '2')
        state = self._moved(uuid)
        self.assertEqual(('active', None, SOURCE, '1'), state[:4])
        self.assertIn('192.0.2.2', state[4])
        self.assertIn('Connection refused', state[4])
        self.assertEqual(port, self.source.ports[uuid])
        self.assertEqual([('resize', 'error', SOURCE, DEST)],
                         self._migrations(uuid))
        # The destination gave back what it made ready.
        self.assertIn('revert_migration_at_destination',
                      self._names(self.dest))
        self.assertNotIn('finish_migration', self._names(self.dest))

    def test_prepare_fails(self):
        uuid = self._active()
        self.dest.fail['prepare_migration'] = exception.ResizeError(
            reason='image not fetched')
        self.api.migrate(ADMIN, uuid)
        state = self._moved(uuid)
        self.assertEqual(('active', None, SOURCE), state[:3])
        self.assertIn('image not fetched', state[4])
        self.assertNotIn('migrate_disk_and_power_off',
                         self._names(self.source))

    def test_finish_fails_goes_back(self):
        uuid = self._active()
        self.dest.fail['finish_migration'] = exception.InstanceBootFailed(
            instance_uuid=uuid, reason='libvirt refused the domain')
        self.api.resize(ALICE, uuid, '2')
        state = self._moved(uuid)
        self.assertEqual(('active', None, SOURCE, '1'), state[:4])
        self.assertIn('did not start it', state[4])
        self.assertIn('finish_revert_migration', self._names(self.source))
        self.assertEqual([('resize', 'error', SOURCE, DEST)],
                         self._migrations(uuid))

    def test_lost_log_copy_is_a_note(self):
        uuid = self._active()
        self.source.hooks['migrate_note'] = (
            lambda: 'Console log of x not copied to host-2: refused')
        self.api.migrate(ADMIN, uuid)
        state = self._moved(uuid)
        self.assertEqual(('resized', None, DEST), state[:3])
        self.assertIn('Console log', state[4])

    def test_delete_resized_drops_the_source(self):
        uuid = self._active()
        self.api.migrate(ADMIN, uuid)
        self._moved(uuid)
        self.api.delete(ALICE, uuid)
        self._wait()
        self.assertIsNone(db.instance_get(uuid))
        self.assertIn(('confirm_migration', uuid, False), self.source.calls)
        self.assertNotIn(uuid, self.source.ports)

    def test_no_delete_during_the_move(self):
        uuid = self._active()
        gate = self._gate('migrate_disk_and_power_off', self.source)
        self.api.migrate(ADMIN, uuid)
        self._entered('migrate_disk_and_power_off', self.source)
        self.assertRaises(exception.InstanceInvalidState, self.api.delete,
                          ALICE, uuid)
        self.assertEqual('RESIZE',
                         api_common.status_of(db.instance_get(uuid)))
        gate.set()
        self.assertEqual('resized', self._moved(uuid)[0])

    def test_compute_capped_below_2_3(self):
        self.nova_flags(compute='2.1', group='upgrade_levels')
        api = test_api.compute_api.API(conf=self.nova_conf)
        uuid = self._active()
        self.conductor_endpoint().compute_rpcapi = (
            test_api.rpcapi.ComputeAPI(self.nova_conf))
        api.migrate(ADMIN, uuid)
        state = self._moved(uuid)
        self.assertEqual(('active', None, SOURCE), state[:3])
        self.assertIn('2.3', state[4])

    def test_conductor_restart_settles_the_task(self):
        uuid = self._active()
        # A move whose conductor died after the source's step.
        db.migration_create({
            'instance_uuid': uuid, 'source_compute': SOURCE,
            'dest_compute': DEST, 'status': 'migrating',
            'migration_type': 'resize', 'old_instance_type_id': '1',
            'new_instance_type_id': '2'})
        db.instance_update(uuid, {'task_state':
                                  task_states.RESIZE_MIGRATING})
        self.conductor_endpoint().init_host()
        server = db.instance_get(uuid)
        self.assertEqual(('error', None), (server['vm_state'],
                                           server['task_state']))
        self.assertIn('Interrupted while resize_migrating', server['fault'])
        self.assertEqual([('resize', 'error', SOURCE, DEST)],
                         self._migrations(uuid))

    def test_stuck_prep_goes_back_to_active(self):
        uuid = self._active()
        db.instance_update(uuid, {'task_state': task_states.RESIZE_PREP})
        self.nova_flags(stuck_task_timeout=1, group='conductor')
        later = db.utcnow() + datetime.timedelta(seconds=5)
        self.assertEqual([uuid], self.conductor_endpoint().check_stuck_tasks(
            ADMIN, now=later))
        self.assertEqual(('active', None), self._state(uuid)[:2])

    def test_same_host_failure_never_touches_the_guest_as_a_destination(self):
        self.nova_flags(allow_resize_to_same_host=True)
        uuid = self._active()
        self._set_disabled(DEST, True)
        self.source.fail['migrate_disk_and_power_off'] = (
            exception.ResizeError(reason='disk not copied'))
        self.api.resize(ALICE, uuid, '2')
        self.assertEqual(('active', None, SOURCE, '1'),
                         self._moved(uuid)[:4])
        # The destination is the source: its guest is not "cleaned".
        self.assertNotIn('revert_migration_at_destination',
                         self._names(self.source))

    def test_consoles_of_a_resized_server_are_on_its_new_host(self):
        uuid = self._active()
        self.api.migrate(ADMIN, uuid)
        self._moved(uuid)
        self.api.get_console_output(ALICE, uuid)
        self.assertIn(('get_console_output', uuid), self.dest.calls)
        console = self.api.get_serial_console(ALICE, uuid)
        self.assertIn('token=', console['url'])
        self.assertIn(('get_serial_console', uuid), self.dest.calls)
