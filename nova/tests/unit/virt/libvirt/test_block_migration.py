"""Block live migration's decisions (nova.virt.libvirt.migration): the
shared storage check, the "auto" choice, the free space check, the
flags, the disk path rewrite; and the driver's steps on libvirt's test
driver (migrateToURI3 replaced, as in test_driver_migration)."""

import os
import tempfile

import fixtures
import libvirt
from lxml import etree
from oslo_concurrency import processutils
import testtools

from nova.console import serial
from nova import exception
from nova.objects import instance as objects
from nova.objects import migrate_data
from nova.tests.unit.virt.libvirt import live_xml
from nova.tests.unit.virt.libvirt import test_driver_migration
from nova.virt import images
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import migration

SRC_DIR = '/var/lib/nova/instances/%s' % live_xml.UUID
DEST_DIR = '/srv/hostb/instances/%s' % live_xml.UUID
UUID = live_xml.UUID

DISK_XML = '''<domain type="kvm">
  <name>instance-1</name>
  <uuid>%(uuid)s</uuid>
  <devices>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2"/>
      <source file="%(src)s/disk" index="1"/>
      <backingStore type="file" index="2">
        <format type="qcow2"/>
        <source file="/var/lib/nova/instances/_base/abc"/>
        <backingStore/>
      </backingStore>
      <target dev="vda" bus="virtio"/>
      <alias name="virtio-disk0"/>
    </disk>
    <disk type="file" device="cdrom">
      <driver name="qemu" type="raw"/>
      <source file="/srv/iso/elsewhere.iso"/>
      <target dev="hdc" bus="ide"/>
    </disk>
  </devices>
</domain>''' % {'uuid': UUID, 'src': SRC_DIR}


def _data(**kw):
    values = dict(serial_listen_addr='192.0.2.2', serial_listen_ports=[],
                  supports_virtlogd=True, instance_dir=DEST_DIR)
    values.update(kw)
    return migrate_data.LibvirtLiveMigrateData(**values)


class SharedCheckFileTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.dest = tempfile.mkdtemp()
        self.src = tempfile.mkdtemp()
        self.addCleanup(_rmtree, self.dest)
        self.addCleanup(_rmtree, self.src)

    def test_not_shared_when_the_source_does_not_see_it(self):
        name = migration.create_shared_check_file(self.dest)
        self.assertTrue(name.startswith(migration.SHARED_CHECK_PREFIX))
        self.assertTrue(migration.shared_check_file_exists(self.dest, name))
        self.assertFalse(migration.shared_check_file_exists(self.src, name))

    def test_cleanup_removes_it_and_is_idempotent(self):
        name = migration.create_shared_check_file(self.dest)
        migration.remove_shared_check_file(self.dest, name)
        self.assertEqual([], os.listdir(self.dest))
        migration.remove_shared_check_file(self.dest, name)
        migration.remove_shared_check_file(self.dest, None)

    def test_no_file_means_not_shared(self):
        self.assertFalse(migration.shared_check_file_exists(self.src, None))

    def test_a_link_never_counts_and_is_never_removed(self):
        target = os.path.join(self.src, 'target')
        open(target, 'w').close()
        name = migration.SHARED_CHECK_PREFIX + 'abc'
        os.symlink(target, os.path.join(self.src, name))
        self.assertFalse(migration.shared_check_file_exists(self.src, name))
        migration.remove_shared_check_file(self.src, name)
        self.assertTrue(os.path.exists(target))
        self.assertTrue(os.path.islink(os.path.join(self.src, name)))

    def test_hostile_names_are_refused(self):
        for name in ('../../etc/passwd', '/etc/passwd', 'tmpabc',
                     migration.SHARED_CHECK_PREFIX + 'a/../../x',
                     migration.SHARED_CHECK_PREFIX, 7):
            e = self.assertRaises(exception.MigrationError,
                                  migration.shared_check_file_exists,
                                  self.src, name)
            self.assertIn('filename', str(e))
            self.assertRaises(exception.MigrationError,
                              migration.remove_shared_check_file,
                              self.src, name)

    def test_check_dest_data_checks_the_name_and_free_space(self):
        migration.check_dest_data(
            _data(filename=migration.SHARED_CHECK_PREFIX + 'x1',
                  disk_available_mb=10), UUID)
        self.assertRaises(exception.MigrationError, migration.check_dest_data,
                          _data(filename='../x'), UUID)
        self.assertRaises(exception.MigrationError, migration.check_dest_data,
                          _data(disk_available_mb=-1), UUID)

    def test_unwritable_folder_is_a_precheck_error(self):
        e = self.assertRaises(exception.MigrationPreCheckError,
                              migration.create_shared_check_file,
                              os.path.join(self.dest, 'missing'))
        self.assertIn('instances folder', str(e))


def _rmtree(path):
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files + dirs:
            full = os.path.join(root, name)
            if os.path.islink(full) or not os.path.isdir(full):
                os.unlink(full)
            else:
                os.rmdir(full)
    os.rmdir(path)


class DecideTestCase(testtools.TestCase):
    def _decide(self, block, shared, disk):
        data = _data(block_migration=block, is_shared_instance_path=shared)
        return migration.decide_block_migration(data, UUID, disk, 'host-a')

    def test_auto_is_block_when_not_shared(self):
        self.assertTrue(self._decide(None, False, True))
        self.assertTrue(self._decide(None, False, False))

    def test_auto_is_not_block_when_shared(self):
        self.assertFalse(self._decide(None, True, True))

    def test_block_with_shared_storage_is_refused(self):
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self._decide, True, True, True)
        self.assertIn('shared storage', str(e))

    def test_local_disk_without_block_on_unshared_storage_is_refused(self):
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self._decide, False, False, True)
        self.assertIn('has a local disk', str(e))
        self.assertIn('block_migration true', str(e))
        self.assertIn('not shared', str(e))

    def test_kernel_booted_moves_without_block(self):
        self.assertFalse(self._decide(False, False, False))
        self.assertFalse(self._decide(False, True, True))


class DiskSpaceTestCase(testtools.TestCase):
    MIB = migration.MIB

    def _check(self, over_commit, available_mb, virtual, actual):
        data = _data(disk_over_commit=over_commit,
                     disk_available_mb=available_mb)
        migration.check_disk_space(data, UUID, virtual, actual)

    def test_from_2_25_nothing_is_checked(self):
        self._check(None, 1, 100 * self.MIB, 100 * self.MIB)

    def test_without_over_commit_the_virtual_size_must_fit(self):
        self._check(False, 100, 100 * self.MIB, self.MIB)
        e = self.assertRaises(exception.MigrationPreCheckError, self._check,
                              False, 99, 100 * self.MIB, self.MIB)
        self.assertIn('99 MiB free there, 100 MiB needed (virtual', str(e))

    def test_with_over_commit_the_actual_size_must_fit(self):
        self._check(True, 2, 100 * self.MIB, 2 * self.MIB)
        e = self.assertRaises(exception.MigrationPreCheckError, self._check,
                              True, 1, 100 * self.MIB, 2 * self.MIB)
        self.assertIn('(actual size', str(e))

    def test_destination_that_does_not_say_is_not_checked(self):
        self._check(False, None, 100 * self.MIB, self.MIB)


class DiskSizeTestCase(testtools.TestCase):
    def test_sizes(self):
        self.assertEqual(1 << 30, migration.checked_disk_size(
            _data(disk_virtual_size=1 << 30)))
        for bad in (0, -1, migration.MAX_DISK_BYTES + 1, None):
            e = self.assertRaises(exception.MigrationError,
                                  migration.checked_disk_size,
                                  _data(disk_virtual_size=bad)
                                  if bad is not None else _data())
            self.assertIn('disk_virtual_size', str(e))
        # The object itself refuses what is no number at all.
        self.assertRaises(exception.MigrationError, _data,
                          disk_virtual_size=True)


class FlagsTestCase(testtools.TestCase):
    BASE = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER

    def test_disks_add_the_incremental_copy(self):
        flags = migration.migration_flags(self.BASE, ['vda'])
        self.assertEqual(self.BASE | libvirt.VIR_MIGRATE_NON_SHARED_INC,
                         flags)
        self.assertFalse(flags & libvirt.VIR_MIGRATE_NON_SHARED_DISK)

    def test_no_disk_moves_memory_only(self):
        self.assertEqual(self.BASE, migration.migration_flags(self.BASE, []))


class DiskXMLTestCase(testtools.TestCase):
    def test_local_disks_are_those_in_the_instance_folder(self):
        guest = vconfig.LibvirtConfigGuest.from_xml(DISK_XML)
        self.assertEqual(['vda'], migration.local_disks(guest, SRC_DIR))
        self.assertEqual([], migration.local_disks(guest, DEST_DIR))

    def test_disk_path_is_the_destinations_and_chain_dropped(self):
        xml = migration.update_guest_xml(DISK_XML, _data(), SRC_DIR)
        root = etree.fromstring(xml.encode())
        disks = root.findall('./devices/disk')
        self.assertEqual(DEST_DIR + '/disk',
                         disks[0].find('source').get('file'))
        self.assertIsNone(disks[0].find('backingStore'))
        self.assertNotIn('/var/lib/nova/instances', xml)
        # Not in the instance folder: not ours to move.
        self.assertEqual('/srv/iso/elsewhere.iso',
                         disks[1].find('source').get('file'))
        self.assertEqual('vda', disks[0].find('target').get('dev'))


# -- the driver's steps -----------------------------------------------------


class DriverBlockMigrationTestCase(test_driver_migration.MigrationTestBase):
    def _disk_instance(self):
        """A booted guest whose disk is an overlay in its folder."""
        image = os.path.join(self.instances_path, 'image.raw')
        processutils.execute('qemu-img', 'create', '-f', 'raw', image, '1M')
        inst = self._instance(ports='1')
        inst.image_meta = objects.ImageMeta(disk_path=image,
                                            disk_format='raw')
        self._spawn(inst)
        self.assertTrue(os.path.exists(self.driver.disk_path(inst)))
        self.block_info = self.useFixture(fixtures.MockPatchObject(
            libvirt.virDomain, 'blockInfo',
            return_value=[8 << 20, 1 << 20, 1 << 20])).mock
        return inst

    def _source_check(self, inst, **kw):
        dest = self.driver.check_can_live_migrate_destination(None, inst)
        # Another host: its own instances folder (not this one).
        other = tempfile.mkdtemp()
        self.addCleanup(_rmtree, other)
        os.rename(os.path.join(self.instances_path, dest.filename),
                  os.path.join(other, dest.filename))
        for key, value in kw.items():
            setattr(dest, key, value)
        data = self._dest_data(inst, serial_port_count=0,
                               serial_listen_ports=[41000],
                               filename=dest.filename,
                               disk_available_mb=dest.disk_available_mb)
        for key, value in kw.items():
            setattr(data, key, value)
        return self.driver.check_can_live_migrate_source(None, inst, data)

    def test_destination_check_leaves_a_file_and_cleanup_removes_it(self):
        inst = self._instance()
        data = self.driver.check_can_live_migrate_destination(None, inst)
        path = os.path.join(self.instances_path, data.filename)
        self.assertTrue(os.path.isfile(path))
        self.assertGreater(data.disk_available_mb, 0)
        self.driver.cleanup_live_migration_destination_check(None, data)
        self.assertFalse(os.path.exists(path))

    def test_same_folder_is_shared_and_auto_is_no_block(self):
        inst = self._disk_instance()
        data = self.driver.check_can_live_migrate_destination(None, inst)
        data = self.driver.check_can_live_migrate_source(None, inst, data)
        self.assertTrue(data.is_shared_instance_path)
        self.assertFalse(data.block_migration)
        self.assertIsNone(data.disk_virtual_size)

    def test_auto_on_unshared_storage_is_block_with_the_disk_size(self):
        inst = self._disk_instance()
        data = self._source_check(inst)
        self.assertFalse(data.is_shared_instance_path)
        self.assertTrue(data.block_migration)
        self.assertEqual(8 << 20, data.disk_virtual_size)
        self.block_info.assert_called_once_with('vda')

    def test_local_disk_without_block_migration_is_a_clear_400(self):
        inst = self._disk_instance()
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self._source_check, inst,
                              block_migration=False)
        self.assertEqual(400, e.code)
        self.assertIn('has a local disk', e.message)

    def test_disk_over_commit_checks_free_space(self):
        inst = self._disk_instance()
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self._source_check, inst,
                              block_migration=True, disk_over_commit=False,
                              disk_available_mb=7)
        self.assertIn('7 MiB free there, 8 MiB needed', e.message)
        data = self._source_check(inst, block_migration=True,
                                  disk_over_commit=True, disk_available_mb=7)
        self.assertTrue(data.block_migration)

    def test_live_migration_copies_only_the_local_disk(self):
        inst = self._disk_instance()
        data = self._dest_data(inst, serial_listen_ports=[41000],
                               block_migration=True,
                               is_shared_instance_path=False,
                               disk_virtual_size=8 << 20)
        self._migrate(inst, data)
        _uri, params, flags = self.migrate.call_args[0]
        self.assertEqual(['vda'],
                         params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS])
        self.assertTrue(flags & libvirt.VIR_MIGRATE_NON_SHARED_INC)
        self.assertFalse(flags & libvirt.VIR_MIGRATE_NON_SHARED_DISK)
        dest = etree.fromstring(
            params[libvirt.VIR_MIGRATE_PARAM_DEST_XML].encode())
        self.assertEqual(['/srv/b/%s/disk' % inst.uuid],
                         [s.get('file') for s in
                          dest.findall('./devices/disk/source')])

    def test_kernel_booted_block_migration_moves_memory_only(self):
        inst = self._booted()
        data = self._dest_data(inst, block_migration=True,
                               is_shared_instance_path=False)
        self._migrate(inst, data)
        _uri, params, flags = self.migrate.call_args[0]
        self.assertNotIn(libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS, params)
        self.assertFalse(flags & libvirt.VIR_MIGRATE_NON_SHARED_INC)

    def _incoming(self, **kw):
        inst = self._instance(ports='1')
        cached = os.path.join(self.instances_path, '_base', 'img')
        os.makedirs(os.path.dirname(cached))
        processutils.execute('qemu-img', 'create', '-f', 'qcow2', cached,
                             '1M')
        fetch = self.useFixture(fixtures.MockPatchObject(
            images, 'boot_files', return_value=images.BootFiles(
                '/boot/vmlinuz', '/boot/initrd', cached, 'qcow2'))).mock
        data = self.driver.check_can_live_migrate_destination(None, inst)
        data.serial_port_count = 1
        data.block_migration = True
        data.is_shared_instance_path = False
        data.disk_virtual_size = 8 << 20
        for key, value in kw.items():
            setattr(data, key, value)
        return inst, cached, fetch, data

    def test_pre_live_migration_makes_the_overlay_over_its_own_cache(self):
        inst, cached, fetch, data = self._incoming()
        self.driver.pre_live_migration(None, inst, data)
        fetch.assert_called_once_with(None, self.driver._conf,
                                      inst.image_meta)
        info = images.qemu_img_info(self.driver.disk_path(inst))
        self.assertEqual(('qcow2', 8 << 20, cached),
                         (info['format'], info['virtual-size'],
                          info['backing-filename']))

    def test_rollback_removes_the_folder_and_the_disk(self):
        inst, _cached, _fetch, data = self._incoming()
        data = self.driver.pre_live_migration(None, inst, data)
        self.driver.rollback_live_migration_at_destination(None, inst, data)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_shared_folder_is_never_prepared_nor_removed(self):
        inst, _cached, _fetch, data = self._incoming(
            is_shared_instance_path=True, block_migration=False)
        folder = self.driver.instance_dir(inst)
        os.makedirs(folder)
        with open(os.path.join(folder, 'console.log'), 'w') as f:
            f.write('the source guest writes this')
        data = self.driver.pre_live_migration(None, inst, data)
        self.assertEqual(['console.log'], os.listdir(folder))
        self.driver.rollback_live_migration_at_destination(None, inst, data)
        self.assertEqual(['console.log'], os.listdir(folder))

    def _shared_folder(self, inst):
        folder = self.driver.instance_dir(inst)
        os.makedirs(folder)
        for name in ('console.log', 'disk'):
            with open(os.path.join(folder, name), 'w') as f:
                f.write('the guest running on the source owns this')
        return folder

    def test_rollback_without_data_keeps_a_shared_folder(self):
        # pre_live_migration failed or timed out on a shared folder: the
        # source's compute and the conductor's recovery roll back with
        # no data. The folder is the running guest's own.
        inst, _cached, _fetch, data = self._incoming(
            is_shared_instance_path=True, block_migration=False)
        folder = self._shared_folder(inst)
        self.driver.pre_live_migration(None, inst, data)
        self.driver.rollback_live_migration_at_destination(None, inst, None)
        self.assertEqual(['console.log', 'disk'], sorted(os.listdir(folder)))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_rollback_keeps_a_folder_it_did_not_prepare(self):
        # A source without block migration (1.0 data: no
        # is_shared_instance_path) or a pre_live_migration that failed
        # before making the folder: not this host's to remove.
        inst, _cached, _fetch, data = self._incoming()
        folder = self._shared_folder(inst)
        data.is_shared_instance_path = None
        self.driver.rollback_live_migration_at_destination(None, inst, data)
        self.driver.rollback_live_migration_at_destination(None, inst, None)
        self.assertEqual(['console.log', 'disk'], sorted(os.listdir(folder)))

    def test_bad_disk_size_refused_before_anything_is_made(self):
        inst, _cached, _fetch, data = self._incoming(disk_virtual_size=0)
        self.assertRaises(exception.MigrationError,
                          self.driver.pre_live_migration, None, inst, data)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_image_without_a_disk_cannot_back_one(self):
        inst, _cached, fetch, data = self._incoming()
        fetch.return_value = images.BootFiles('/boot/vmlinuz', None, None,
                                              None)
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self.driver.pre_live_migration, None, inst,
                              data)
        self.assertIn('no disk image here', e.message)

    def test_recovery_on_shared_storage_keeps_the_folder(self):
        # The conductor's recovery (live_migrate._finish_move) gives the
        # source fresh facts from the destination: no source check ran,
        # is_shared_instance_path is None. On a shared folder the source
        # must still see it is the running guest's own there.
        inst = self._disk_instance()
        data = self.driver.check_can_live_migrate_destination(None, inst)
        self.assertIsNone(data.is_shared_instance_path)
        self.driver.post_live_migration(None, inst, data)
        self.copy.assert_not_called()
        self.assertTrue(os.path.isfile(self.driver.disk_path(inst)))

    def test_source_after_shared_move_keeps_the_folder(self):
        inst = self._booted()
        data = self._dest_data(inst, is_shared_instance_path=True,
                               block_migration=False)
        self._migrate(inst, data)
        self.copy.assert_not_called()
        self.assertTrue(os.path.isdir(self.driver.instance_dir(inst)))
