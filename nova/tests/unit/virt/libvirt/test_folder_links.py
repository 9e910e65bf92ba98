"""An instance folder (or the instances folder) swapped for a link is
refused on every read and write, not only before a domain starts.

lstat() and O_NOFOLLOW only guard a path's last component: the folder is
opened once with O_DIRECTORY | O_NOFOLLOW, checked with fstat(), and its
files are looked at relative to that descriptor.
"""

import errno
import os

import fixtures

from nova import exception
from nova.tests.unit.virt.libvirt import test_driver
from nova.tests.unit.virt.libvirt import test_log_transfer
from nova.virt.libvirt import console_log
from nova.virt.libvirt import instance_files
from nova.virt.libvirt import log_transfer

SECRET = b'HOST FILE BYTES\n'
UUID = test_log_transfer.UUID


def _host_dir(root):
    """A directory outside the instances folder holding a console.log."""
    elsewhere = os.path.join(root, 'elsewhere')
    os.makedirs(elsewhere, mode=0o700)
    with open(os.path.join(elsewhere, 'console.log'), 'wb') as f:
        f.write(SECRET)
    return elsewhere


class ConsoleOutputFolderLinkTestCase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        root = self.useFixture(fixtures.TempDir()).path
        self.instances = os.path.join(root, 'instances')
        os.makedirs(self.instances, mode=0o755)
        self.flags(instances_path=self.instances)
        self.elsewhere = _host_dir(root)
        self.inst = self._instance()
        self._spawn(self.inst)
        self.folder = self.driver.instance_dir(self.inst)

    def _swap_folder_for_link(self):
        os.rename(self.folder, self.folder + '.moved')
        os.symlink(self.elsewhere, self.folder)

    def test_console_output_refuses_a_linked_instance_folder(self):
        self._swap_folder_for_link()
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.get_console_output, None,
                              self.inst)
        self.assertEqual(self.folder, e.kwargs['path'])
        self.assertIn('symbolic link', e.kwargs['reason'])
        self.assertNotIn('elsewhere', str(e))

    def test_pty_drain_refuses_a_linked_instance_folder(self):
        self._swap_folder_for_link()
        log = self.driver.console_log_path(self.inst)
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        os.write(master, b'guest output\n')
        self.assertRaises(exception.InstanceFileUnsafe,
                          self.driver._drain_pty, os.ttyname(slave), log)
        with open(os.path.join(self.elsewhere, 'console.log'), 'rb') as f:
            self.assertEqual(SECRET, f.read())

    def test_writable_instances_folder_is_refused_on_read(self):
        os.chmod(self.instances, 0o777)
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.get_console_output, None,
                              self.inst)
        self.assertEqual(self.instances, e.kwargs['path'])
        self.assertIn('writable by group or others', e.kwargs['reason'])

    def test_writable_instances_folder_is_refused_for_the_pty_drain(self):
        os.chmod(self.instances, 0o777)
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver._drain_pty, os.ttyname(slave),
                              self.driver.console_log_path(self.inst))
        self.assertEqual(self.instances, e.kwargs['path'])

    def test_unopenable_folder_is_a_clear_error(self):
        self.useFixture(fixtures.MockPatchObject(
            instance_files, 'open_dir', side_effect=PermissionError(
                errno.EACCES, os.strerror(errno.EACCES))))
        e = self.assertRaises(exception.ConsoleLogUnreadable,
                              self.driver.get_console_output, None,
                              self.inst)
        self.assertIn(os.strerror(errno.EACCES), str(e))

    def test_folder_swapped_during_the_read_is_not_followed(self):
        log = self.driver.console_log_path(self.inst)
        with open(log, 'wb') as f:
            f.write(b'the guest\'s own\n')

        def swap(event, name):
            if event == 'open' and not os.path.islink(self.folder):
                self._swap_folder_for_link()

        self.useFixture(fixtures.MockPatchObject(
            console_log, '_sync_point', side_effect=swap))
        out = self.driver.get_console_output(None, self.inst)
        self.assertTrue(os.path.islink(self.folder))
        self.assertEqual(b'the guest\'s own\n', out)


class OpenDirTestCase(test_driver.DriverTestBase):
    def test_not_a_directory(self):
        path = os.path.join(self.instances_path, 'uuid')
        open(path, 'w').close()
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              instance_files.open_dir, path)
        self.assertIn('not a directory', e.kwargs['reason'])

    def test_group_writable_folder(self):
        path = os.path.join(self.instances_path, 'uuid')
        os.mkdir(path)
        os.chmod(path, 0o770)
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              instance_files.open_dir, path)
        self.assertIn('writable by group', e.kwargs['reason'])

    def test_reader_without_descriptor_refuses_a_linked_folder(self):
        elsewhere = _host_dir(self.instances_path)
        link = os.path.join(self.instances_path, 'uuid')
        os.symlink(elsewhere, link)
        self.assertRaises(exception.InstanceFileUnsafe,
                          console_log.read_log_tail,
                          os.path.join(link, 'console.log'))


class LogTransferFolderLinkTestCase(test_log_transfer.LogTransferBase):
    def test_linked_instance_folder_is_not_sent(self):
        elsewhere = _host_dir(self.instances_path)
        os.rename(self.src, self.src + '.moved')
        os.symlink(elsewhere, self.src)
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              True)
        self.assertIn('symbolic link', str(e))
        self.assertEqual([], self.peer.calls)

    def test_staging_is_not_in_the_instance_folder(self):
        self._write('', b'x')
        staged = self._spy_copy_to()
        self._copy(as_backups=True)
        self.assertEqual(1, len(staged))
        self.assertFalse(staged[0][0].startswith(self.src + os.sep))
