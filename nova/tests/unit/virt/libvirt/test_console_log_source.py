"""Where console output is read, kept per run of a guest, never stale.

On libvirt's test:///default (real libvirt, no QEMU): the driver reads a
running guest's live XML once per run of its QEMU (one domain ID) and
then only looks the domain up. Each test moves the log somewhere else in
a way a real host does (the driver's own hard reboot and rebuild, a
guest redefined and restarted behind its back, a live migration's
arrival and departure, a libvirtd restart) and checks the next console
output is the new log's.
"""

import os
from unittest import mock

import libvirt

from nova import exception
from nova.objects import migrate_data as migrate_data_obj
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import config as vconfig


class LogSourceTestCase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.inst = self._instance()
        self._spawn(self.inst)
        self.xml_reads = mock.patch.object(
            libvirt.virDomain, 'XMLDesc', autospec=True,
            side_effect=libvirt.virDomain.XMLDesc).start()
        self.lookups = mock.patch.object(
            libvirt.virConnect, 'lookupByUUIDString', autospec=True,
            side_effect=libvirt.virConnect.lookupByUUIDString).start()
        self.addCleanup(mock.patch.stopall)

    def _write(self, path, data):
        with open(path, 'wb') as f:
            f.write(data)

    def _elsewhere(self, name, data):
        """A log file in a folder of its own (it must pass open_dir)."""
        folder = os.path.join(self.instances_path, name)
        os.mkdir(folder, 0o700)
        path = os.path.join(folder, 'x.log')
        self._write(path, data)
        return path

    def _restart_with_log(self, path, restart=True):
        """Redefine the guest with its log at ``path``, as an operator or
        another host would, without the driver knowing."""
        guest = self._live(self.inst)
        guest.char_devices[0].log.file = path
        dom = self.conn.lookupByUUIDString(self.inst.uuid)
        if dom.isActive():
            dom.destroy()
        self.conn.defineXML(guest.to_xml())
        if restart:
            self.conn.lookupByUUIDString(self.inst.uuid).create()

    def _output(self):
        return self.driver.get_console_output(None, self.inst)

    def test_xml_read_once_per_run(self):
        self._write(self.driver.console_log_path(self.inst), b'one\n')
        self.assertEqual(b'one\n', self._output())
        self.assertEqual(1, self.xml_reads.call_count)
        self._write(self.driver.console_log_path(self.inst), b'two\n')
        for _ in range(3):
            self.assertEqual(b'two\n', self._output())
        # Only the look-up per call once the path is known.
        self.assertEqual(1, self.xml_reads.call_count)
        self.assertEqual(4, self.lookups.call_count)

    def test_restart_behind_the_drivers_back(self):
        self._write(self.driver.console_log_path(self.inst), b'old\n')
        self.assertEqual(b'old\n', self._output())
        self._restart_with_log(self._elsewhere('moved', b'moved\n'))
        self.assertEqual(b'moved\n', self._output())

    def test_stopped_guest_is_never_kept(self):
        self._restart_with_log(self._elsewhere('a', b'a\n'), restart=False)
        self.assertEqual(b'a\n', self._output())
        self._restart_with_log(self._elsewhere('b', b'b\n'), restart=False)
        self.assertEqual(b'b\n', self._output())
        self.assertEqual({}, self.driver._log_sources)

    def test_hard_reboot(self):
        self._restart_with_log(self._elsewhere('before', b'before\n'))
        self.assertEqual(b'before\n', self._output())
        self._write(self.driver.console_log_path(self.inst), b'after\n')
        self.driver.reboot(None, self.inst, reboot_type='HARD')
        self.assertEqual(b'after\n', self._output())

    def test_rebuild(self):
        self._restart_with_log(self._elsewhere('before', b'before\n'))
        self.assertEqual(b'before\n', self._output())
        self._write(self.driver.console_log_path(self.inst), b'rebuilt\n')
        self.driver.rebuild(None, self.inst, self.inst.image_meta)
        self.assertEqual(b'rebuilt\n', self._output())

    def test_power_off_and_on(self):
        self._restart_with_log(self._elsewhere('before', b'before\n'))
        self.assertEqual(b'before\n', self._output())
        self.driver.power_off(self.inst)
        self.assertEqual({}, self.driver._log_sources)
        self._write(self.driver.console_log_path(self.inst), b'on\n')
        self.driver.power_on(None, self.inst)
        self.assertEqual(b'on\n', self._output())

    def test_migration_arrival_without_forgetting(self):
        # A guest that left and came back (A -> B -> A): libvirt gives
        # the arriving domain a new ID, even before the driver is told.
        self._restart_with_log(self._elsewhere('first', b'first\n'))
        self.assertEqual(b'first\n', self._output())
        self.conn.lookupByUUIDString(self.inst.uuid).destroy()
        self.conn.lookupByUUIDString(self.inst.uuid).undefine()
        self.assertRaises(exception.InstanceNotFound, self._output)
        guest = vconfig.LibvirtConfigGuest.from_xml(
            self._xml_with_log(self._elsewhere('back', b'back\n')))
        self.conn.defineXML(guest.to_xml())
        self.conn.lookupByUUIDString(self.inst.uuid).create()
        self.assertEqual(b'back\n', self._output())

    def _xml_with_log(self, path):
        guest = self.driver._get_guest_config(self.inst,
                                              self.inst.image_meta)
        self.driver._release_serial_ports(guest)
        guest.char_devices[0].log.file = path
        return guest.to_xml()

    def test_migration_calls_forget(self):
        self._write(self.driver.console_log_path(self.inst), b'x\n')
        self._output()
        data = migrate_data_obj.LibvirtLiveMigrateData(
            serial_listen_addr=None, serial_listen_ports=[])
        self.driver.post_live_migration_at_destination(None, self.inst,
                                                       data)
        self.assertEqual({}, self.driver._log_sources)
        self._output()
        with mock.patch.object(self.driver, 'instance_exists',
                               return_value=False):
            self.driver.rollback_live_migration_at_destination(
                None, self.inst, None)
        self.assertEqual({}, self.driver._log_sources)

    def test_new_connection(self):
        self._restart_with_log(self._elsewhere('kept', b'kept\n'))
        self.assertEqual(b'kept\n', self._output())
        # libvirtd restarted: the driver reconnects. (A second connection
        # keeps test:///default's state alive meanwhile.)
        other = libvirt.open('test:///default')
        self.addCleanup(other.close)
        self.driver.host.close()
        self.conn = self.driver.host.get_connection()
        reads = self.xml_reads.call_count
        self.assertEqual(b'kept\n', self._output())
        self.assertEqual(reads + 1, self.xml_reads.call_count)

    def test_pty_is_drained_on_every_call(self):
        source = self.driver._log_sources
        self._output()
        kept = source[self.inst.uuid]
        kept.pty = '/dev/pts/nonexistent-for-test'
        with mock.patch.object(self.driver, '_drain_pty') as drain:
            self._output()
            self._output()
        self.assertEqual(2, drain.call_count)
        drain.assert_called_with(kept.pty,
                                 self.driver.console_log_path(self.inst))
