"""Serial console and console log at once, on real libvirt/virtlogd/QEMU."""

import glob
import os
import re
import signal
import subprocess
import time

from nova.console import serial
from nova import exception
from nova.privsep import console as privsep_console
from nova.tests.functional import base
from nova.virt.libvirt import console_log
from nova.virt.libvirt import driver as libvirt_driver


def _virtlogd_pid():
    with open('/run/virtlogd.pid') as f:
        return int(f.read().strip())


class BootTestCase(base.FunctionalTestCase):
    def test_log_and_interactive_console_at_once(self):
        inst = self.boot()
        self.assertTrue(self.driver.uses_virtlogd())
        # A client holds the tcp console from the start of the boot.
        client = self.connect_console(inst)
        banner = client.read_until(base.BANNER, timeout=base.BOOT_TIMEOUT)
        output = self.wait_for_output(inst, banner.group(0))
        # What the client read live is in the log too, byte for byte: the
        # kernel's first line, and everything up to the banner.
        live = client.received[:banner.end()]
        self.assertIn(b'Linux version', live)
        self.assertIn(live.split(b'\n', 1)[0], output)
        self.assertIn(live[-2000:], output)

    def test_typed_command_runs_and_is_logged(self):
        inst = self.boot()
        client = self.shell(self.connect_console(inst))
        self.assertEqual(b'hello-42\n',
                         client.run('echo hello-$((6*7))'))
        output = self.wait_for_output(inst, rb'hello-42')
        self.assertIn(b'echo hello-$((6*7))', output)  # the echoed typing


class RotationTestCase(base.FunctionalTestCase):
    MAX_SIZE = 32 * 1024
    MAX_BACKUPS = 3

    def setUp(self):
        super().setUp()
        base.set_virtlogd(self.MAX_SIZE, self.MAX_BACKUPS)
        self.addCleanup(base.set_virtlogd, base.VIRTLOGD_DEFAULT_MAX_SIZE,
                        base.VIRTLOGD_DEFAULT_MAX_BACKUPS)

    def test_chatty_guest_rotates_and_output_is_ordered(self):
        inst = self.boot()
        client = self.shell(self.connect_console(inst))
        lines = 4000  # 65 bytes a line: about 8 max_size worth
        client.send_line('chatty %d' % lines)
        client.read_until(rb'SEQ %06d' % lines, timeout=300)
        self.wait_for_output(inst, rb'SEQ %06d' % lines)

        log = self.driver.console_log_path(inst)
        files = [log] + sorted(glob.glob(log + '.*'))
        self.assertGreater(len(files), 1, 'the log did not rotate')
        on_disk = sum(os.path.getsize(f) for f in files)
        self.assertLessEqual(on_disk,
                             self.MAX_SIZE * (self.MAX_BACKUPS + 1))
        self.assertLessEqual(len(files), self.MAX_BACKUPS + 1)

        output = self.driver.get_console_output(None, inst)
        self.assertLessEqual(len(output), console_log.MAX_CONSOLE_BYTES)
        numbers = [int(n) for n in re.findall(rb'SEQ (\d{6}) ', output)]
        self.assertGreater(len(numbers), 1000)
        # Chronological and with nothing missing in the middle...
        self.assertEqual(list(range(numbers[0], numbers[0] + len(numbers))),
                         numbers)
        # ...ending with the newest line.
        self.assertEqual(lines, numbers[-1])


class HistoryTestCase(base.FunctionalTestCase):
    def _boot_ids(self, inst, count):
        output = self.wait_for_output(inst, base.BANNER, count=count)
        return re.findall(base.BANNER, output)

    def test_hard_reboot_keeps_history(self):
        inst = self.boot()
        first = self._boot_ids(inst, 1)
        self.driver.reboot(None, inst, reboot_type='HARD')
        ids = self._boot_ids(inst, 2)
        self.assertEqual(first[0], ids[0])
        self.assertNotEqual(ids[0], ids[1])
        # The console still works after the reboot.
        client = self.shell(self.connect_console(inst))
        self.assertEqual(b'after-reboot\n', client.run('echo after-reboot'))

    def test_rebuild_keeps_history(self):
        inst = self.boot()
        first = self._boot_ids(inst, 1)
        self.driver.rebuild(None, inst, self.make_instance().image_meta)
        ids = self._boot_ids(inst, 2)
        self.assertEqual(first[0], ids[0])
        self.assertNotEqual(ids[0], ids[1])


class OldHostTestCase(base.FunctionalTestCase):
    """Below the version gate: the case chart's 'no virtlogd' rows."""

    def test_serial_enabled_gives_tcp_and_pty_without_log(self):
        self.force_old_host()
        inst = self.boot()
        live = self.driver._parse_domain(self.driver.host.get_domain(inst))
        serials = [(d.type, d.log is None) for d in live.char_devices
                   if d.root_name == 'serial']
        self.assertEqual([('tcp', True), ('pty', True)], serials)
        client = self.shell(self.connect_console(inst))
        self.assertEqual(b'old-host\n', client.run('echo old-host'))
        # The either/or of old hosts: no log of the tcp port.
        self.assertNotIn(b'old-host',
                         self.driver.get_console_output(None, inst))

    def test_only_the_guests_pty_may_be_drained(self):
        # privsep_console.drain_pty reads only ptys that libvirtd's status
        # files list as a running guest's: this guest's pty is listed,
        # a terminal of the host is not and stays unread.
        self.force_old_host()
        inst = self.boot()
        live = self.driver._parse_domain(self.driver.host.get_domain(inst))
        pty = next(d.source_path for d in live.char_devices
                   if d.type == 'pty')
        self.assertIn(pty, privsep_console._guest_ptys())
        self.assertIsInstance(privsep_console.drain_pty(pty, 100), bytes)
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        os.write(master, b'typed password\n')
        self.assertRaises(ValueError, privsep_console.drain_pty,
                          os.ttyname(slave), 100)
        os.set_blocking(slave, False)
        self.assertIn(b'typed password', os.read(slave, 100))

    def test_serial_disabled_gives_file_log(self):
        self.flags(enabled=False, group='serial_console')
        self.force_old_host()
        inst = self.boot()
        self.wait_for_output(inst, base.BANNER)
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.driver.get_serial_console, None, inst)
        live = self.driver._parse_domain(self.driver.host.get_domain(inst))
        self.assertEqual(['file', 'pty'], [d.type for d in live.char_devices
                                           if d.root_name == 'serial'])

    def test_guest_from_old_host_gains_log_on_hard_reboot(self):
        self.force_old_host()
        inst = self.boot()
        client = self.shell(self.connect_console(inst))
        self.assertIn(b'NOVA-GUEST-BANNER', client.received)
        self.assertEqual(b'', self.driver.get_console_output(None, inst))
        client.close()
        self.useFixture(base.fixtures.MockPatch(
            'nova.virt.libvirt.driver.MIN_LIBVIRT_VIRTLOGD', (1, 3, 3)))
        self.driver.reboot(None, inst, reboot_type='HARD')
        live = self.driver._parse_domain(self.driver.host.get_domain(inst))
        self.assertEqual([('tcp', True)], [
            (d.type, d.log is not None) for d in live.char_devices
            if d.root_name == 'serial'])
        self.wait_for_output(inst, base.BANNER)


class PtyLogTestCase(base.FunctionalTestCase):
    serial_enabled = False

    def test_serial_disabled_gives_pty_with_log(self):
        inst = self.boot()
        live = self.driver._parse_domain(self.driver.host.get_domain(inst))
        self.assertEqual([('pty', True)], [
            (d.type, d.log is not None) for d in live.char_devices
            if d.root_name == 'serial'])
        self.wait_for_output(inst, base.BANNER)


class VirtlogdReexecTestCase(base.FunctionalTestCase):
    def test_sigusr1_loses_no_output(self):
        inst = self.boot()
        client = self.shell(self.connect_console(inst))
        lines = 3000
        pid = _virtlogd_pid()
        client.send_line('chatty %d' % lines)
        client.read_until(rb'SEQ 000100', timeout=60)
        for _ in range(3):  # re-exec while the guest writes
            os.kill(pid, signal.SIGUSR1)
            time.sleep(0.3)
        client.read_until(rb'SEQ %06d' % lines, timeout=300)
        self.wait_for_output(inst, rb'SEQ %06d' % lines)
        self.assertEqual(pid, _virtlogd_pid())
        log = self.driver.console_log_path(inst)
        data = b''.join(open(p, 'rb').read() for p in
                        sorted(glob.glob(log + '.*'), reverse=True) + [log])
        numbers = [int(n) for n in re.findall(rb'SEQ (\d{6}) ', data)]
        self.assertEqual(list(range(1, lines + 1)), numbers)


class PortTestCase(base.FunctionalTestCase):
    def test_destroy_releases_every_port(self):
        inst = self.boot(ports='3')
        live = self.driver._parse_domain(self.driver.host.get_domain(inst))
        ports = sorted({d.listen_port for d in live.char_devices
                        if d.type == 'tcp'})
        self.assertEqual(3, len(ports))
        self.driver.destroy(None, inst)
        for port in ports:
            self.assertPortFree(port)

    def test_restarted_driver_reregisters_ports(self):
        inst = self.boot(ports='2')
        held = set(serial.ALLOCATED_PORTS)
        serial.ALLOCATED_PORTS.clear()  # nova-compute restarts
        restarted = libvirt_driver.LibvirtDriver()
        self.addCleanup(restarted.host.close)
        restarted.init_host()
        self.assertTrue(held.issubset(serial.ALLOCATED_PORTS))
        other = self.boot()
        console = self.driver.get_serial_console(None, other)
        self.assertNotIn(('127.0.0.1', console.port), held)
        self.assertTrue(self.driver.is_running(inst))


class BadInputTestCase(base.FunctionalTestCase):
    def _assert_nothing_left(self, inst):
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        names = subprocess.run(['virsh', '-c', 'qemu:///system', 'list',
                                '--all', '--name'], capture_output=True,
                               text=True).stdout
        self.assertNotIn(inst.name, names)

    def test_flavor_with_too_many_ports(self):
        inst = self.make_instance(ports='5')
        e = self.assertRaises(exception.SerialPortNumberLimitExceeded,
                              self.boot, inst)
        self.assertIn('at most 4', str(e))
        self._assert_nothing_left(inst)

    def test_image_asking_more_than_flavor(self):
        inst = self.make_instance(ports='1', image_ports='2')
        self.assertRaises(exception.ImageSerialPortNumberExceedFlavorValue,
                          self.boot, inst)
        self._assert_nothing_left(inst)

    def test_exhausted_port_range(self):
        self.flags(port_range='%d:%d' % (self.port_start,
                                         self.port_start + 1),
                   group='serial_console')
        inst = self.make_instance(ports='3')
        e = self.assertRaises(exception.SocketPortRangeExhaustedException,
                              self.boot, inst)
        self.assertIn('port_range', str(e))
        self._assert_nothing_left(inst)
