"""The driver's cold migration and resize steps on libvirt's test driver.

``test:///default`` is one libvirt for the whole process, so the steps
run here either on one host (allow_resize_to_same_host) or as the one
side of a two-host move, the other host's part (remotefs, log_transfer)
replaced by mocks. The real two-host move is in the functional tests.
"""

import json
import os
import subprocess
from unittest import mock

import fixtures

from nova.console import serial
from nova import exception
from nova.objects import instance as objects
from nova.tests.unit.virt.libvirt import test_driver_migration as base
from nova.virt.libvirt import log_transfer
from nova.virt.libvirt import resize

HOST = base.HOST_A
UUID_OTHER = '7c3d2a1e-0f4b-4e6a-9d8c-5b2a1f0e9d8c'


class ResizeDriverTestBase(base.MigrationTestBase):
    def setUp(self):
        super().setUp()
        self.remote = mock.Mock()
        self.useFixture(fixtures.MockPatchObject(
            resize, '_remotefs', return_value=self.remote))

    def _resized(self, inst, ports):
        """``inst`` as the conductor sends it with the new flavor."""
        new = objects.Instance(uuid=inst.uuid, flavor=objects.Flavor(
            name='m1.new', extra_specs={'hw:serial_port_count': ports}))
        new.image_meta = inst.image_meta
        return new

    def _read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def _write(self, path, data):
        with open(path, 'wb') as f:
            f.write(data)

    def _ports(self, inst):
        guest = self._live(inst)
        return [d.listen_port for d in guest.char_devices
                if d.type == 'tcp' and d.root_name == 'serial']

    def _dom(self, inst):
        return self.driver.host.get_domain(inst)


class SameHostTestCase(ResizeDriverTestBase):
    """Both sides on one host: the log is moved, the disk copied, the
    old domain's XML kept for a revert."""

    def _moved(self, ports='1'):
        inst = self._booted(ports='2')
        old_ports = self._ports(inst)
        self._write(self.driver.console_log_path(inst) + '.0', b'older\n')
        data = self.driver.prepare_migration(None, inst, inst.image_meta,
                                             True)
        self.assertIsNone(self.driver.migrate_disk_and_power_off(
            None, inst, data, True))
        kept = self.driver.instance_dir(inst) + '_resize'
        self.assertTrue(os.path.isfile(os.path.join(kept, 'libvirt.xml')))
        self.assertFalse(self._dom(inst).isActive())
        # The log moved with the guest; nothing sent anywhere.
        self.assertEqual(b'history\n', self._read(
            self.driver.console_log_path(inst)))
        self.assertFalse(os.path.exists(os.path.join(kept, 'console.log')))
        self.remote.copy_to.assert_not_called()
        self.copy.assert_not_called()
        new = self._resized(inst, ports)
        self.driver.finish_migration(None, new, new.image_meta, True)
        self.assertTrue(self._dom(inst).isActive())
        return inst, new, old_ports

    def test_new_flavor_ports_and_confirm(self):
        inst, new, old_ports = self._moved('1')
        new_ports = self._ports(inst)
        self.assertEqual(1, len(new_ports))
        self.assertFalse(set(new_ports) & set(old_ports))
        # Old and new held until the confirm.
        held = {p for _h, p in serial.ALLOCATED_PORTS}
        self.assertTrue(set(old_ports) | set(new_ports) <= held)
        self.driver.confirm_migration(None, new, True)
        self.assertEqual({(HOST, p) for p in new_ports},
                         serial.ALLOCATED_PORTS)
        self.assertFalse(os.path.exists(
            self.driver.instance_dir(inst) + '_resize'))
        self.assertTrue(self._dom(inst).isActive())

    def test_revert_keeps_the_whole_log(self):
        inst, new, old_ports = self._moved('1')
        new_ports = self._ports(inst)
        # What the guest wrote while resized.
        with open(self.driver.console_log_path(inst), 'ab') as f:
            f.write(b'while resized\n')
        self.assertIsNone(self.driver.revert_migration_at_destination(
            None, new, None, True))
        self.driver.finish_revert_migration(None, inst)
        self.assertEqual(old_ports, self._ports(inst))
        self.assertTrue(self._dom(inst).isActive())
        self.assertEqual({(HOST, p) for p in old_ports},
                         serial.ALLOCATED_PORTS)
        self.assertFalse(set(new_ports) & {p for _h, p in
                                           serial.ALLOCATED_PORTS})
        self.assertEqual(b'history\nwhile resized\n', self._read(
            self.driver.console_log_path(inst)))
        self.assertEqual(b'older\n', self._read(
            self.driver.console_log_path(inst) + '.0'))
        self.assertFalse(os.path.exists(
            self.driver.instance_dir(inst) + '_resize'))
        self.assertFalse(os.path.exists(os.path.join(
            self.driver.instance_dir(inst), 'libvirt.xml')))


class SourceTestCase(ResizeDriverTestBase):
    """The source of a two-host move; the destination is 192.0.2.2."""

    def _sent(self):
        inst = self._booted(ports='2')
        self.ports = self._ports(inst)
        self._write(self.driver.disk_path(inst), b'disk bytes')
        return inst, self._dest_data(inst)

    def test_disk_and_log_sent_guest_kept_stopped(self):
        inst, data = self._sent()
        self.assertIsNone(self.driver.migrate_disk_and_power_off(
            None, inst, data, False))
        kept = self.driver.instance_dir(inst) + '_resize'
        # Sent from the folder under its own name (the uuid), then kept.
        self.remote.copy_to.assert_called_once_with(
            '192.0.2.2', self.driver.disk_path(inst),
            '/srv/b/%s/disk' % inst.uuid)
        self.copy.assert_called_once_with(
            inst.uuid, self.driver.console_log_path(inst), '192.0.2.2',
            as_backups=False, max_size=65536, max_backups=2,
            conf=mock.ANY, dest_dir='/srv/b/%s' % inst.uuid)
        # Defined, stopped, its ports held for a revert.
        self.assertFalse(self._dom(inst).isActive())
        self.assertEqual({(HOST, p) for p in self.ports},
                         serial.ALLOCATED_PORTS)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))
        self.driver.confirm_migration(None, inst, False)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.assertFalse(os.path.exists(kept))

    def test_ssh_refused_leaves_the_guest_running_here(self):
        inst, data = self._sent()
        self.remote.copy_to.side_effect = exception.NovaException(
            'ssh to 192.0.2.2 failed: connect to host 192.0.2.2 port 22: '
            'Connection refused')
        e = self.assertRaises(exception.ResizeError,
                              self.driver.migrate_disk_and_power_off,
                              None, inst, data, False)
        self.assertIn('192.0.2.2', e.message)
        self.assertIn('Connection refused', e.message)
        self.assertTrue(self._dom(inst).isActive())
        self.assertEqual(self.ports, self._ports(inst))
        self.assertEqual(b'history\n', self._read(
            self.driver.console_log_path(inst)))
        self.assertFalse(os.path.exists(
            self.driver.instance_dir(inst) + '_resize'))
        self.copy.assert_not_called()

    def test_bad_destination_facts_refused_before_anything(self):
        # The destination names where the disk and log go: only its
        # own <instances_path>/<uuid> and a plain address, as a live
        # migration's source checks (migration.check_dest_data).
        for field, value in (
                ('instance_dir', '/srv/b/_base'),
                ('instance_dir', '/srv/b/%s/../_base' % UUID_OTHER),
                ('inbound_addr', '192.0.2.2;reboot'),
                ('virtlogd_max_size', 1)):
            inst, data = self._sent()
            setattr(data, field, value)
            e = self.assertRaises(exception.ResizeError,
                                  self.driver.migrate_disk_and_power_off,
                                  None, inst, data, False)
            self.assertIn(field, e.message)
            self.assertTrue(self._dom(inst).isActive())
            self.remote.copy_to.assert_not_called()
            self.copy.assert_not_called()
            self.driver.destroy(None, inst)

    def test_no_migration_address_refused_before_anything(self):
        inst, data = self._sent()
        data.inbound_addr = None
        e = self.assertRaises(exception.ResizeError,
                              self.driver.migrate_disk_and_power_off,
                              None, inst, data, False)
        self.assertIn('live_migration_inbound_addr', e.message)
        self.assertTrue(self._dom(inst).isActive())

    def test_lost_log_copy_is_a_note(self):
        inst, data = self._sent()
        self.copy.side_effect = log_transfer.LogTransferFailed(
            instance_uuid=inst.uuid, reason='ssh refused')
        note = self.driver.migrate_disk_and_power_off(None, inst, data,
                                                      False)
        self.assertIn('ssh refused', note)
        self.assertIn('192.0.2.2', note)
        self.remote.copy_to.assert_called_once()

    def test_revert_takes_the_log_that_came_back(self):
        inst, data = self._sent()
        self.driver.migrate_disk_and_power_off(None, inst, data, False)
        # The destination's chain arrived in a fresh folder.
        inst_dir = self.driver.instance_dir(inst)
        os.mkdir(inst_dir, 0o700)
        self._write(os.path.join(inst_dir, 'console.log'),
                    b'history\nwritten on b\n')
        self.driver.finish_revert_migration(None, inst)
        self.assertTrue(self._dom(inst).isActive())
        self.assertEqual(self.ports, self._ports(inst))
        self.assertEqual(b'history\nwritten on b\n', self._read(
            self.driver.console_log_path(inst)))
        self.assertEqual(b'disk bytes', self._read(
            self.driver.disk_path(inst)))

    def test_revert_without_log_back_keeps_its_own(self):
        inst, data = self._sent()
        self.driver.migrate_disk_and_power_off(None, inst, data, False)
        self.driver.finish_revert_migration(None, inst)
        self.assertEqual(b'history\n', self._read(
            self.driver.console_log_path(inst)))

    def test_planted_link_in_what_came_back_is_not_followed(self):
        inst, data = self._sent()
        self.driver.migrate_disk_and_power_off(None, inst, data, False)
        inst_dir = self.driver.instance_dir(inst)
        os.mkdir(inst_dir, 0o700)
        secret = os.path.join(self.instances_path, 'secret')
        self._write(secret, b'not the log')
        os.symlink(secret, os.path.join(inst_dir, 'console.log'))
        self.driver.finish_revert_migration(None, inst)
        self.assertEqual(b'history\n', self._read(
            self.driver.console_log_path(inst)))
        self.assertFalse(os.path.islink(self.driver.console_log_path(inst)))

    def test_nothing_kept_is_a_clear_error(self):
        inst = self._booted()
        self.driver.destroy(None, inst)
        e = self.assertRaises(exception.ResizeError,
                              self.driver.finish_revert_migration, None,
                              inst)
        self.assertIn('nothing of %s kept' % inst.uuid, e.message)


class DestinationTestCase(ResizeDriverTestBase):
    def test_prepare_makes_the_folder_and_answers_its_facts(self):
        inst = self._instance()
        data = self.driver.prepare_migration(None, inst, inst.image_meta,
                                             False)
        self.assertEqual(self.driver.instance_dir(inst), data.instance_dir)
        self.assertEqual('192.0.2.2', data.inbound_addr)
        self.assertTrue(os.path.isdir(self.driver.instance_dir(inst)))

    def test_prepare_leaves_no_shared_check_file(self):
        # Its facts come from the live migration check, which makes a
        # file for the source to look for: nothing looks for it here.
        inst = self._instance()
        data = self.driver.prepare_migration(None, inst, inst.image_meta,
                                             False)
        self.assertIsNone(data.filename)
        self.assertEqual([], [n for n in os.listdir(self.instances_path)
                              if n.startswith('nova-shared-check-')])

    def test_prepare_never_moves_a_folder_in_use_aside(self):
        # A shared instances folder: the destination's <uuid> folder is
        # the running guest's own on the source (its disk, no log yet).
        # Neither the prepare nor the clean-up of the failed move may
        # move or remove it.
        inst = self._instance()
        folder = self.driver.instance_dir(inst)
        os.makedirs(folder)
        self._write(os.path.join(folder, 'disk'), b'the guest disk')
        e = self.assertRaises(exception.ResizeError,
                              self.driver.prepare_migration, None, inst,
                              inst.image_meta, False)
        self.assertIn('shared', e.message)
        self.assertIn(folder, e.message)
        self.assertIsNone(self.driver.revert_migration_at_destination(
            None, inst, None, False))
        self.assertEqual(['disk'], os.listdir(folder))
        self.assertEqual([], [n for n in os.listdir(self.instances_path)
                              if 'orphaned' in n])

    def test_prepare_refuses_a_guest_defined_here(self):
        inst = self._booted()
        e = self.assertRaises(exception.ResizeError,
                              self.driver.prepare_migration, None, inst,
                              inst.image_meta, False)
        self.assertIn('already defined', e.message)
        # Its live folder was not touched.
        self.assertEqual(b'history\n', self._read(
            self.driver.console_log_path(inst)))

    def test_finish_then_revert_sends_the_log_back(self):
        inst = self._instance(ports='2')
        data = self.driver.prepare_migration(None, inst, inst.image_meta,
                                             False)
        self._write(self.driver.console_log_path(inst), b'history\n')
        new = self._resized(inst, '1')
        self.driver.finish_migration(None, new, new.image_meta, False)
        self.assertEqual(1, len(self._ports(inst)))
        source = self._dest_data(inst, inbound_addr='192.0.2.1')
        self.assertIsNone(self.driver.revert_migration_at_destination(
            None, new, source, False))
        self.copy.assert_called_once_with(
            inst.uuid, self.driver.console_log_path(inst), '192.0.2.1',
            as_backups=False, max_size=65536, max_backups=2,
            conf=mock.ANY, dest_dir=source.instance_dir)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))
        del data

    def test_log_not_sent_back_stays_here(self):
        inst = self._instance()
        self.driver.prepare_migration(None, inst, inst.image_meta, False)
        self._write(self.driver.console_log_path(inst), b'history\n')
        self.driver.finish_migration(None, inst, inst.image_meta, False)
        self.copy.side_effect = log_transfer.LogTransferFailed(
            instance_uuid=inst.uuid, reason='ssh refused')
        note = self.driver.revert_migration_at_destination(
            None, inst, self._dest_data(inst, inbound_addr='192.0.2.1'),
            False)
        self.assertIn('ssh refused', note)
        self.assertTrue(os.path.isfile(self.driver.console_log_path(inst)))

    def test_missing_disk_is_refused_not_made_empty(self):
        inst = self._instance()
        inst.image_meta = objects.ImageMeta(
            disk_path=self._image_file(), disk_format='raw')
        self.driver.prepare_migration(None, inst, inst.image_meta, False)
        e = self.assertRaises(exception.ResizeError,
                              self.driver.finish_migration, None, inst,
                              inst.image_meta, False)
        self.assertIn('did not arrive', e.message)
        self.assertFalse(os.path.exists(self.driver.disk_path(inst)))

    def _image_file(self):
        path = os.path.join(self.instances_path, 'base.raw')
        with open(path, 'wb') as f:
            f.truncate(1024 * 1024)
        return path


class PlantedDiskTestCase(ResizeDriverTestBase):
    def test_a_linked_disk_is_never_sent(self):
        inst = self._booted()
        secret = os.path.join(self.instances_path, 'secret')
        self._write(secret, b'host secret')
        os.symlink(secret, self.driver.disk_path(inst))
        e = self.assertRaises(exception.ResizeError,
                              self.driver.migrate_disk_and_power_off, None,
                              inst, self._dest_data(inst), False)
        self.assertIn('not a regular file', e.message)
        self.remote.copy_to.assert_not_called()
        self.assertTrue(self._dom(inst).isActive())

    def test_an_arrived_disk_naming_a_data_file_is_never_opened(self):
        # The disk was written by the other host: qemu-img rebase and
        # resize would open (and grow) the external data file its
        # header names, before the start's disk_check looks at it.
        inst = self._instance()
        image = os.path.join(self.instances_path, 'base.raw')
        with open(image, 'wb') as f:
            f.truncate(1024 * 1024)
        inst.image_meta = objects.ImageMeta(disk_path=image,
                                            disk_format='raw')
        inst.flavor = objects.Flavor(name='big', root_gb=1)
        self.driver.prepare_migration(None, inst, inst.image_meta, False)
        victim = os.path.join(self.instances_path, 'host-file')
        subprocess.run(
            ['qemu-img', 'create', '-f', 'qcow2', '-o',
             'data_file=%s' % victim,
             self.driver.disk_path(inst), '1M'],
            check=True, capture_output=True)
        self.assertEqual(1024 * 1024, os.path.getsize(victim))
        e = self.assertRaises(exception.ResizeError,
                              self.driver.finish_migration, None, inst,
                              inst.image_meta, False)
        self.assertIn('data file', e.message)
        self.assertEqual(1024 * 1024, os.path.getsize(victim))
        self.assertFalse(self.driver.instance_exists(inst))


class SameHostFailureTestCase(ResizeDriverTestBase):
    def test_finish_failed_before_defining_keeps_the_old_guest(self):
        inst = self._booted(ports='2')
        old_ports = self._ports(inst)
        data = self.driver.prepare_migration(None, inst, inst.image_meta,
                                             True)
        self.driver.migrate_disk_and_power_off(None, inst, data, True)
        new = self._resized(inst, '1')
        # The finish never defined the new guest: the revert must not
        # undefine the old one, nor release its ports.
        self.driver.revert_migration_at_destination(None, new, None, True)
        self.assertTrue(self.driver.instance_exists(inst))
        self.assertEqual({(HOST, p) for p in old_ports},
                         serial.ALLOCATED_PORTS)
        self.driver.finish_revert_migration(None, inst)
        self.assertEqual(old_ports, self._ports(inst))
        self.assertTrue(self._dom(inst).isActive())
        self.assertEqual(b'history\n', self._read(
            self.driver.console_log_path(inst)))

    def test_failed_prepare_leaves_no_folder_on_another_host(self):
        inst = self._instance()
        self.driver.prepare_migration(None, inst, inst.image_meta, False)
        self.assertIsNone(self.driver.revert_migration_at_destination(
            None, inst, None, False))
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))


class GrowTestCase(ResizeDriverTestBase):
    def _size(self, path):
        out = subprocess.run(['qemu-img', 'info', '--output=json', path],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout)['virtual-size']

    def test_a_larger_root_disk_grows_the_overlay_never_shrinks(self):
        disk = os.path.join(self.instances_path, 'disk')
        subprocess.run(['qemu-img', 'create', '-f', 'qcow2', disk, '1M'],
                       check=True, capture_output=True)
        resize._grow(disk, 2)
        self.assertEqual(2 * 1024 ** 3, self._size(disk))
        resize._grow(disk, 1)
        self.assertEqual(2 * 1024 ** 3, self._size(disk))

    def test_the_new_flavors_root_gb_crosses_rpc(self):
        flavor = objects.Flavor(name='big', root_gb=3)
        primitive = flavor.obj_to_primitive()
        self.assertEqual(3, objects.Flavor.obj_from_primitive(
            primitive).root_gb)
