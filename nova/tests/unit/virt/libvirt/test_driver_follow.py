"""LibvirtDriver.open_console_follower on libvirt's test driver."""

import os
import shutil
from unittest import mock

from nova import exception
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import console_follow


class OpenConsoleFollowerTestCase(test_driver.DriverTestBase):
    def _write_log(self, inst, data):
        with open(self.driver.console_log_path(inst), 'ab') as f:
            f.write(data)

    def _open(self, inst, history_bytes=None):
        follower = self.driver.open_console_follower(inst, history_bytes)
        self.addCleanup(follower.close)
        return follower

    def test_virtlogd_log_of_the_tcp_port(self):
        self.flags(enabled=True, group='serial_console')
        inst = self._instance()
        self._spawn(inst)
        self._write_log(inst, b'booting\n')
        follower = self._open(inst, 3)
        self.assertIsInstance(follower, console_follow.LogFollower)
        self.assertEqual(self.driver.console_log_path(inst), follower.path)
        self.assertEqual(b'ng\n', follower.read(0))
        self._write_log(inst, b'login:')
        self.assertEqual(b'login:', follower.read(5))

    def test_default_history_is_max_console_bytes(self):
        inst = self._instance()
        self._spawn(inst)       # pty with <log>
        data = os.urandom(150 * 1024)
        self._write_log(inst, data)
        self.assertEqual(data[-102400:], self._open(inst).read(0))

    def test_file_console(self):
        self.virtlogd = False
        inst = self._instance()
        self._spawn(inst)
        self._write_log(inst, b'from the file backend')
        self.assertEqual(b'from the file backend',
                         self._open(inst).read(0))

    def test_tcp_without_log_cannot_be_followed(self):
        self.flags(enabled=True, group='serial_console')
        self.virtlogd = False
        inst = self._instance()
        self._spawn(inst)
        self._write_log(inst, b'copied from the old host')
        e = self.assertRaises(exception.ConsoleLogFollowUnavailable,
                              self.driver.open_console_follower, inst,
                              None)
        self.assertIn(inst.uuid, e.message)
        self.assertIn('console.log', e.message)
        self.assertIsInstance(e, exception.ConsoleNotAvailable)

    def test_only_the_instance_folders_log_is_followed(self):
        # A <log> naming another file (not ours to follow) is no log.
        inst = self._instance()
        self._spawn(inst)
        guest = self._live(inst)
        logged = [dev for dev in guest.char_devices if dev.log is not None]
        self.assertNotEqual([], logged)
        for dev in logged:     # the serial port and its <console> mirror
            dev.log.file = '/etc/shadow'
        dom = self.driver.host.get_domain(inst)
        with mock.patch.object(dom, 'XMLDesc', return_value=guest.to_xml()):
            with mock.patch.object(self.driver.host, 'get_domain',
                                   return_value=dom):
                self.assertRaises(exception.ConsoleLogFollowUnavailable,
                                  self.driver.open_console_follower, inst,
                                  None)

    def test_unknown_instance(self):
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.open_console_follower,
                          self._instance(), None)

    def test_bad_history_bytes(self):
        inst = self._instance()
        self._spawn(inst)
        for bad in (-1, 102401, 2.0, '1', True):
            e = self.assertRaises(exception.Invalid,
                                  self.driver.open_console_follower, inst,
                                  bad)
            self.assertIn('history_bytes', e.message)

    def test_folder_gone(self):
        inst = self._instance()
        self._spawn(inst)
        shutil.rmtree(self.driver.instance_dir(inst))
        e = self.assertRaises(exception.ConsoleLogUnreadable,
                              self.driver.open_console_follower, inst, 0)
        self.assertIn(self.driver.console_log_path(inst), e.message)

    def test_linked_log_is_refused(self):
        inst = self._instance()
        self._spawn(inst)
        secret = os.path.join(self.instances_path, 'secret')
        with open(secret, 'wb') as f:
            f.write(b'TOP-SECRET')
        os.symlink(secret, self.driver.console_log_path(inst))
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.open_console_follower, inst, 10)
        self.assertNotIn('TOP-SECRET', e.message)
