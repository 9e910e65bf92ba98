"""Planted files in instance folders: never followed, never started on.

The driver runs against libvirt's test:///default (see test_driver), so
every domain start path is the real one up to QEMU.
"""

import os
import stat

import fixtures

from nova import exception
from nova.objects import instance as objects
from nova.objects import migrate_data
from nova.tests.unit.privsep import libvirt_state
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import instance_files

SECRET = b'ROOT-ONLY-SECRET\n'


class _Base(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt'))
        # A root-only file outside every instance folder.
        self.secret = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                   'shadow')
        with open(self.secret, 'wb') as f:
            f.write(SECRET)
        os.chmod(self.secret, 0o600)

    def assertSecretUnchanged(self):
        with open(self.secret, 'rb') as f:
            self.assertEqual(SECRET, f.read())

    def assertRefused(self, path, reason_part, func, *args):
        e = self.assertRaises(exception.InstanceFileUnsafe, func, *args)
        self.assertEqual(409, e.code)
        self.assertEqual(path, e.kwargs['path'])
        self.assertIn(reason_part, e.kwargs['reason'])
        self.assertIn(path, str(e))
        self.assertNotIn(self.secret, str(e))
        self.assertNotIn('ROOT-ONLY', str(e))
        self.assertIn('Refusing to use %s' % path, self.logs.output)
        self.assertNotIn(self.secret, self.logs.output)
        self.assertSecretUnchanged()
        return e


class StartTestCase(_Base):
    """Every domain start refuses a planted file before libvirt runs."""

    def _running(self):
        inst = self._instance()
        self._spawn(inst)
        self.assertTrue(self.driver.is_running(inst))
        return inst

    def _hard(self, inst):
        self.driver.reboot(None, inst, reboot_type='HARD')

    def _plant_link(self, inst, name='console.log'):
        path = os.path.join(self.driver.instance_dir(inst), name)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(self.secret, path)
        return path

    def test_new_folder_is_0700(self):
        inst = self._running()
        st = os.lstat(self.driver.instance_dir(inst))
        self.assertEqual(0o700, stat.S_IMODE(st.st_mode))

    def test_spawn_refuses_console_log_link(self):
        inst = self._instance()
        os.mkdir(self.driver.instance_dir(inst), 0o700)
        path = self._plant_link(inst)
        self.assertRefused(path, 'symbolic link', self._spawn, inst)
        self.assertFalse(self.driver.instance_exists(inst))

    def test_hard_reboot_refuses_and_leaves_the_guest_running(self):
        inst = self._running()
        path = self._plant_link(inst)
        self.assertRefused(path, 'symbolic link', self._hard, inst)
        self.assertTrue(self.driver.is_running(inst))

    def test_rebuild_refuses_link_in_the_chain(self):
        inst = self._running()
        path = self._plant_link(inst, 'console.log.0')
        self.assertRefused(path, 'symbolic link', self.driver.rebuild, None,
                           inst, objects.ImageMeta(kernel_path='/boot/k'))
        self.assertTrue(self.driver.is_running(inst))

    def test_power_on_refuses_link(self):
        inst = self._running()
        self.driver.power_off(inst)
        path = self._plant_link(inst, 'console.log.2')
        self.assertRefused(path, 'symbolic link', self.driver.power_on,
                           None, inst)
        self.assertFalse(self.driver.is_running(inst))

    def test_disk_link_is_refused(self):
        inst = self._running()
        path = self._plant_link(inst, 'disk')
        self.assertRefused(path, 'symbolic link', self._hard, inst)

    def test_fifo_and_hard_link_are_refused(self):
        inst = self._running()
        path = self.driver.console_log_path(inst)
        os.mkfifo(path)
        self.assertRefused(path, 'not a regular file (fifo)',
                           self._hard, inst)
        os.unlink(path)
        os.link(self.secret, path)
        self.assertRefused(path, '2 hard links', self._hard, inst)

    def test_folder_that_is_a_link_is_refused(self):
        inst = self._instance()
        elsewhere = self.useFixture(fixtures.TempDir()).path
        os.symlink(elsewhere, self.driver.instance_dir(inst))
        self.assertRefused(self.driver.instance_dir(inst), 'symbolic link',
                           self._spawn, inst)
        self.assertEqual([], os.listdir(elsewhere))

    def test_world_writable_folder_is_refused(self):
        inst = self._running()
        os.chmod(self.driver.instance_dir(inst), 0o777)
        self.assertRefused(self.driver.instance_dir(inst),
                           'writable by group or others (mode 0777)',
                           self._hard, inst)

    def test_folder_of_another_user_is_refused(self):
        inst = self._running()
        os.chown(self.driver.instance_dir(inst), 65534, 65534)
        self.assertRefused(self.driver.instance_dir(inst),
                           'owned by uid 65534',
                           self._hard, inst)

    def test_writable_instances_folder_is_refused(self):
        # Anyone who may rename entries there can swap the whole folder.
        os.chmod(self.instances_path, 0o777)
        self.addCleanup(os.chmod, self.instances_path, 0o700)
        inst = self._instance()
        self.assertRefused(self.instances_path,
                           'writable by group or others',
                           self._spawn, inst)

    def test_pre_live_migration_refuses_planted_folder(self):
        inst = self._instance()
        elsewhere = self.useFixture(fixtures.TempDir()).path
        os.symlink(elsewhere, self.driver.instance_dir(inst))
        data = migrate_data.LibvirtLiveMigrateData(
            serial_listen_addr='127.0.0.1', serial_port_count=0)
        self.assertRefused(self.driver.instance_dir(inst), 'symbolic link',
                           self.driver.pre_live_migration, None, inst, data)

    def test_pre_live_migration_makes_a_private_folder(self):
        inst = self._instance()
        data = migrate_data.LibvirtLiveMigrateData(
            serial_listen_addr='127.0.0.1', serial_port_count=0)
        self.driver.pre_live_migration(None, inst, data)
        st = os.lstat(self.driver.instance_dir(inst))
        self.assertEqual(0o700, stat.S_IMODE(st.st_mode))


class ConsoleOutputTestCase(_Base):
    def test_link_to_secret_gives_none_of_its_bytes(self):
        inst = self._instance()
        self._spawn(inst)
        path = self.driver.console_log_path(inst)
        os.symlink(self.secret, path)
        self.assertRefused(path, 'symbolic link',
                           self.driver.get_console_output, None, inst)


class PtyDrainTestCase(_Base):
    """Hosts without virtlogd: we append the pty's output ourselves."""

    def setUp(self):
        super().setUp()
        self.inst = self._instance()
        os.mkdir(self.driver.instance_dir(self.inst), 0o700)
        self.path = self.driver.console_log_path(self.inst)
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        self.master, self.pty = master, os.ttyname(slave)
        self.useFixture(libvirt_state.GuestPtys(self.pty))

    def drain(self):
        os.write(self.master, b'guest says hello\n')
        self.driver._drain_pty(self.pty, self.path)

    def test_created_0600(self):
        self.drain()
        self.assertEqual(0o600, stat.S_IMODE(os.lstat(self.path).st_mode))
        with open(self.path, 'rb') as f:
            self.assertIn(b'guest says hello', f.read())

    def test_existing_0644_is_tightened(self):
        with open(self.path, 'wb') as f:
            f.write(b'before\n')
        os.chmod(self.path, 0o644)
        self.drain()
        self.assertEqual(0o600, stat.S_IMODE(os.lstat(self.path).st_mode))

    def test_link_is_not_written_through(self):
        os.symlink(self.secret, self.path)
        self.assertRefused(self.path, 'symbolic link', self.drain)

    def test_fifo_is_refused_without_hanging(self):
        self.useFixture(fixtures.Timeout(10, gentle=True))
        os.mkfifo(self.path)
        self.assertRefused(self.path, 'not a regular file (fifo)',
                           self.drain)

    def test_hard_link_is_refused(self):
        os.link(self.secret, self.path)
        self.assertRefused(self.path, '2 hard links', self.drain)


class OpenAppendTestCase(_Base):
    def test_link_swapped_in_after_lstat_fails_on_open(self):
        folder = os.path.join(self.instances_path, 'uuid')
        os.mkdir(folder, 0o700)
        path = os.path.join(folder, 'console.log')
        # Missing at lstat(), a link by open(): O_NOFOLLOW refuses it.

        def swap(name, *a, **kw):
            os.symlink(self.secret, path)
            raise FileNotFoundError(name)

        self.useFixture(fixtures.MockPatchObject(os, 'lstat',
                                                 side_effect=swap))
        self.assertRefused(path, 'symbolic link',
                           instance_files.open_append, path)


class PrepareDirTestCase(_Base):
    def test_loose_umask_still_gives_private_folders(self):
        old = os.umask(0o002)
        self.addCleanup(os.umask, old)
        path = os.path.join(self.instances_path, 'new-root', 'uuid-1')
        instance_files.prepare_dir(path)
        self.assertEqual(0o700, stat.S_IMODE(os.lstat(path).st_mode))
        self.assertEqual(
            0o755, stat.S_IMODE(os.lstat(os.path.dirname(path)).st_mode))
        instance_files.prepare_dir(path)  # again: nothing to refuse
