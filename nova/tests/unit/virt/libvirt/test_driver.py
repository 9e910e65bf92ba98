"""LibvirtDriver against libvirt's own in-memory test driver.

``test:///default`` is real libvirt (XML parsing, define with schema
validation, start/stop, live XML), without QEMU. The virtlogd version gate
is forced per test: the test driver's hypervisor is not QEMU.
"""

import fixtures
import json
import os
import subprocess
from unittest import mock

import libvirt
from lxml import etree

from nova.console import serial
from nova import exception
from nova.objects import instance as objects
from nova import test
from nova.tests.unit.privsep import libvirt_state
from nova.virt import images
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import host as libvirt_host

DOMAIN_RNG = '/usr/share/libvirt/schemas/domain.rng'
HOST = '127.0.0.1'


class DriverTestBase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.flags(virt_type='qemu', connection_uri='test:///default',
                   group='libvirt')
        self.port_start = test.free_port_block(10)
        self.flags(port_range='%d:%d' % (self.port_start,
                                         self.port_start + 9),
                   proxyclient_address=HOST, group='serial_console')
        self.driver = libvirt_driver.LibvirtDriver()
        self.conn = self.driver.host.get_connection()
        before = {dom.UUIDString() for dom in self.conn.listAllDomains()}
        self.addCleanup(self._remove_new_domains, before)
        self.virtlogd = True
        patcher = mock.patch.object(
            libvirt_driver.LibvirtDriver, 'uses_virtlogd',
            side_effect=lambda: self.virtlogd)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _remove_new_domains(self, before):
        for dom in self.conn.listAllDomains():
            if dom.UUIDString() in before:
                continue
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        self.driver.host.close()

    def _instance(self, ports=None, image_ports=None, arch=None):
        extra = {} if ports is None else {'hw:serial_port_count': ports}
        props = {} if image_ports is None else {
            'hw_serial_port_count': image_ports}
        if arch:
            props['hw_architecture'] = arch
        image = objects.ImageMeta(kernel_path='/boot/vmlinuz',
                                  ramdisk_path='/boot/initrd',
                                  properties=props)
        inst = objects.Instance(flavor=objects.Flavor(extra_specs=extra))
        inst.image_meta = image
        return inst

    def _spawn(self, inst):
        return self.driver.spawn(None, inst, inst.image_meta)

    def _live(self, inst):
        dom = self.driver.host.get_domain(inst)
        return vconfig.LibvirtConfigGuest.from_xml(dom.XMLDesc(0))

    @staticmethod
    def _devices(guest):
        """A compact view: (element, type, has log, target port)."""
        return [(d.root_name, d.type, d.log is not None, d.target_port)
                for d in guest.char_devices if d.root_name == 'serial']


class CaseChartTestCase(DriverTestBase):
    """The four cases of serial console x virtlogd, on a real libvirt."""

    def _check(self, serial_enabled, virtlogd, expected):
        self.flags(enabled=serial_enabled, group='serial_console')
        self.virtlogd = virtlogd
        inst = self._instance()
        guest = self._spawn(inst)
        self.assertEqual(expected, self._devices(guest))
        # What libvirt kept is what we asked for.
        self.assertEqual(expected, self._devices(self._live(inst)))
        rng = etree.RelaxNG(etree.parse(DOMAIN_RNG))
        doc = etree.fromstring(guest.to_xml().encode())
        self.assertTrue(rng.validate(doc), rng.error_log)
        return guest

    def test_no_serial_no_virtlogd(self):
        guest = self._check(False, False, [('serial', 'file', False, 0),
                                           ('serial', 'pty', False, 1)])
        self.assertEqual(self.driver.console_log_path(self._only(guest)),
                         guest.char_devices[0].source_path)

    def _only(self, guest):
        return objects.Instance(uuid=guest.uuid)

    def _file_append(self, usable):
        real = self.driver.host.has_min_version

        def has_min_version(lv_ver=None, hv_ver=None, hv_type=None):
            if (lv_ver, hv_ver) == (libvirt_driver.MIN_LIBVIRT_FILE_APPEND,
                                    libvirt_driver.MIN_QEMU_FILE_APPEND):
                return usable and hv_type == 'QEMU'
            return real(lv_ver, hv_ver, hv_type)
        self.useFixture(fixtures.MockPatchObject(
            self.driver.host, 'has_min_version', has_min_version))

    def test_no_serial_no_virtlogd_file_keeps_its_history(self):
        # QEMU truncates a file char device at each start unless told to
        # append: a log that arrived with a move or an unshelve, or the
        # boots before a hard reboot, would be lost.
        self._file_append(True)
        guest = self._check(False, False, [('serial', 'file', False, 0),
                                           ('serial', 'pty', False, 1)])
        self.assertIs(True, guest.char_devices[0].source_append)
        self.assertIs(True, self._live(self._only(guest)).char_devices[
            0].source_append)
        self.assertIn("append='on'", guest.to_xml().replace('"', "'"))

    def test_file_append_only_where_libvirt_and_qemu_know_it(self):
        self._file_append(False)
        guest = self._check(False, False, [('serial', 'file', False, 0),
                                           ('serial', 'pty', False, 1)])
        self.assertIsNone(guest.char_devices[0].source_append)
        self.assertNotIn('append', guest.to_xml())

    def test_no_serial_with_virtlogd(self):
        guest = self._check(False, True, [('serial', 'pty', True, 0)])
        log = guest.char_devices[0].log
        self.assertEqual(os.path.join(self.instances_path, guest.uuid,
                                      'console.log'), log.file)
        self.assertIs(True, log.append)

    def test_serial_no_virtlogd(self):
        guest = self._check(True, False, [('serial', 'tcp', False, 0),
                                          ('serial', 'pty', False, 1)])
        tcp = guest.char_devices[0]
        self.assertEqual((HOST, self.port_start),
                         (tcp.listen_host, tcp.listen_port))
        self.assertEqual('bind', tcp.source_mode)

    def test_serial_with_virtlogd(self):
        guest = self._check(True, True, [('serial', 'tcp', True, 0)])
        tcp = guest.char_devices[0]
        self.assertEqual(os.path.join(self.instances_path, guest.uuid,
                                      'console.log'), tcp.log.file)
        self.assertIs(True, tcp.log.append)
        self.assertEqual({(HOST, self.port_start)}, serial.ALLOCATED_PORTS)


class SerialPortCountTestCase(DriverTestBase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='serial_console')

    def test_only_first_port_is_logged(self):
        guest = self._spawn(self._instance(ports='3'))
        self.assertEqual([('serial', 'tcp', True, 0),
                          ('serial', 'tcp', False, 1),
                          ('serial', 'tcp', False, 2)], self._devices(guest))
        self.assertEqual(3, len(serial.ALLOCATED_PORTS))

    def test_four_ports_with_virtlogd(self):
        guest = self._spawn(self._instance(ports='4'))
        self.assertEqual(4, len(self._devices(guest)))

    def test_four_ports_without_virtlogd_counts_the_pty(self):
        self.virtlogd = False
        inst = self._instance(ports='4')
        e = self.assertRaises(exception.SerialPortNumberLimitExceeded,
                              self._spawn, inst)
        self.assertIn('5 serial devices', str(e))
        self.assertIn('pty', str(e))
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_three_ports_without_virtlogd(self):
        self.virtlogd = False
        guest = self._spawn(self._instance(ports='3'))
        self.assertEqual(['tcp', 'tcp', 'tcp', 'pty'],
                         [d[1] for d in self._devices(guest)])

    def test_too_many_ports(self):
        inst = self._instance(ports='5')
        self.assertRaises(exception.SerialPortNumberLimitExceeded,
                          self._spawn, inst)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_image_lowers_flavor(self):
        guest = self._spawn(self._instance(ports='3', image_ports='1'))
        self.assertEqual(1, len(self._devices(guest)))

    def test_image_exceeding_flavor_fails_cleanly(self):
        inst = self._instance(ports='1', image_ports='2')
        self.assertRaises(exception.ImageSerialPortNumberExceedFlavorValue,
                          self._spawn, inst)
        self.assertFalse(self.driver.instance_exists(inst))

    def test_exhausted_range_releases_partial_allocation(self):
        self.flags(port_range='%d:%d' % (self.port_start,
                                         self.port_start + 1),
                   group='serial_console')
        inst = self._instance(ports='3')
        self.assertRaises(exception.SocketPortRangeExhaustedException,
                          self._spawn, inst)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.assertFalse(self.driver.instance_exists(inst))

    def test_serial_disabled_ignores_port_count(self):
        self.flags(enabled=False, group='serial_console')
        guest = self._spawn(self._instance(ports='9'))
        self.assertEqual([('serial', 'pty', True, 0)], self._devices(guest))

    def test_other_virt_types_get_a_plain_pty(self):
        self.flags(virt_type='lxc', group='libvirt')
        guest = self.driver._get_guest_config(self._instance(),
                                              self._instance().image_meta)
        self.assertEqual([('console', 'pty', None)],
                         [(d.root_name, d.type, d.log)
                          for d in guest.char_devices])


class SpawnFailureTestCase(DriverTestBase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='serial_console')

    def test_define_refused_releases_ports(self):
        inst = self._instance(ports='2')
        err = libvirt.libvirtError('bad XML')
        with mock.patch.object(self.conn, 'defineXMLFlags', side_effect=err):
            e = self.assertRaises(exception.InstanceBootFailed, self._spawn,
                                  inst)
        self.assertIn('refused', str(e))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_start_failure_undefines_and_releases(self):
        inst = self._instance()
        real_define = self.conn.defineXMLFlags

        def define(xml, flags):
            dom = real_define(xml, flags)
            broken = mock.Mock(wraps=dom)
            broken.create.side_effect = libvirt.libvirtError(
                "Failed to connect socket to '/run/libvirt/virtlogd-sock'")
            return broken

        with mock.patch.object(self.conn, 'defineXMLFlags',
                               side_effect=define):
            e = self.assertRaises(exception.InstanceBootFailed, self._spawn,
                                  inst)
        self.assertIn('virtlogd-sock', str(e))
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_image_without_anything_to_boot(self):
        inst = objects.Instance()
        # (The local catalog's row names no file.)
        patcher = mock.patch(
            'nova.virt.images.boot_files',
            return_value=images.BootFiles(None, None, None, None))
        patcher.start()
        self.addCleanup(patcher.stop)
        e = self.assertRaises(exception.Invalid, self.driver.spawn, None,
                              inst, objects.ImageMeta(id='img-1'))
        self.assertIn('img-1', str(e))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)


class LifecycleTestCase(DriverTestBase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='serial_console')

    def test_destroy_releases_every_port(self):
        inst = self._instance(ports='3')
        self._spawn(inst)
        self.assertEqual(3, len(serial.ALLOCATED_PORTS))
        self.driver.destroy(None, inst)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))

    def test_destroy_of_unknown_instance_is_harmless(self):
        self.driver.destroy(None, self._instance())

    def test_destroy_of_stopped_guest_releases_ports(self):
        inst = self._instance(ports='2')
        self._spawn(inst)
        self.driver.power_off(inst)
        self.assertEqual(2, len(serial.ALLOCATED_PORTS))
        self.driver.destroy(None, inst)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_init_host_reregisters_ports_of_existing_guests(self):
        first, second = self._instance(ports='2'), self._instance()
        self._spawn(first)
        self._spawn(second)
        self.driver.power_off(second)
        held = set(serial.ALLOCATED_PORTS)
        serial.ALLOCATED_PORTS.clear()  # nova-compute restarted
        self.assertEqual(3, libvirt_driver.LibvirtDriver().init_host())
        self.assertEqual(held, serial.ALLOCATED_PORTS)
        third = self._instance()
        guest = self._spawn(third)
        port = guest.char_devices[0].listen_port
        self.assertNotIn((HOST, port), held)

    def test_hard_reboot_gains_log_and_keeps_file(self):
        self.virtlogd = False
        inst = self._instance()
        self._spawn(inst)
        self.assertIsNone(self._live(inst).char_devices[0].log)
        with open(self.driver.console_log_path(inst), 'wb') as f:
            f.write(b'first boot\n')
        self.virtlogd = True  # the host was upgraded
        self.driver.reboot(None, inst, reboot_type='HARD')
        live = self._live(inst)
        self.assertEqual(self.driver.console_log_path(inst),
                         live.char_devices[0].log.file)
        self.assertTrue(self.driver.is_running(inst))
        with open(self.driver.console_log_path(inst), 'rb') as f:
            self.assertEqual(b'first boot\n', f.read())
        self.assertEqual(1, len(serial.ALLOCATED_PORTS))

    def test_rebuild_keeps_log_and_uses_new_image(self):
        inst = self._instance()
        self._spawn(inst)
        with open(self.driver.console_log_path(inst), 'wb') as f:
            f.write(b'old image\n')
        image = objects.ImageMeta(kernel_path='/boot/other-kernel')
        self.driver.rebuild(None, inst, image)
        self.assertEqual('/boot/other-kernel', self._live(inst).os_kernel)
        self.assertIs(image, inst.image_meta)
        with open(self.driver.console_log_path(inst), 'rb') as f:
            self.assertEqual(b'old image\n', f.read())
        self.assertEqual(1, len(serial.ALLOCATED_PORTS))

    def test_hard_reboot_and_power_on_read_images_as_the_caller(self):
        # Glance shows a project's private image to that project's token
        # only: a restart that asked as nova (no context) found nothing.
        inst = self._instance()
        self._spawn(inst)
        caller = object()
        asked = []
        real = images.boot_files

        def boot_files(ctx, conf, image_meta, fetch=True, known=False):
            if fetch:
                asked.append((ctx, known))
            return real(ctx, conf, image_meta, fetch=fetch, known=known)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.images.boot_files', boot_files))
        self.driver.reboot(caller, inst, reboot_type='HARD')
        self.driver.power_off(inst)
        self.driver.power_on(caller, inst)
        # The caller's token fetches what left the cache; what is cached
        # is used without asking Glance again (known).
        self.assertEqual([(caller, True), (caller, True)], asked)

    def test_power_on_after_power_off(self):
        inst = self._instance()
        self._spawn(inst)
        self.driver.power_off(inst)
        self.assertFalse(self.driver.is_running(inst))
        self.driver.power_on(None, inst)
        self.assertTrue(self.driver.is_running(inst))
        self.assertEqual(1, len(serial.ALLOCATED_PORTS))


class ConsoleOutputTestCase(DriverTestBase):
    def _write_log(self, inst, data):
        with open(self.driver.console_log_path(inst), 'wb') as f:
            f.write(data)

    def test_tcp_with_log(self):
        self.flags(enabled=True, group='serial_console')
        inst = self._instance()
        self._spawn(inst)
        self._write_log(inst, b'booting\nlogin:')
        self.assertEqual(b'booting\nlogin:',
                         self.driver.get_console_output(None, inst))

    def test_missing_log_is_empty(self):
        inst = self._instance()
        self._spawn(inst)
        self.assertEqual(b'', self.driver.get_console_output(None, inst))

    def test_file_console(self):
        self.virtlogd = False
        inst = self._instance()
        self._spawn(inst)
        self._write_log(inst, b'from the file backend')
        self.assertEqual(b'from the file backend',
                         self.driver.get_console_output(None, inst))

    def test_tcp_without_log_falls_back_to_console_log(self):
        self.flags(enabled=True, group='serial_console')
        self.virtlogd = False
        inst = self._instance()
        self._spawn(inst)
        self._write_log(inst, b'copied from the old host')
        self.assertEqual(b'copied from the old host',
                         self.driver.get_console_output(None, inst))

    def test_uses_path_from_live_xml(self):
        inst = self._instance()
        self._spawn(inst)
        # In a folder of its own: a log's folder must pass open_dir().
        os.mkdir(os.path.join(self.instances_path, 'elsewhere'), 0o700)
        other = os.path.join(self.instances_path, 'elsewhere', 'x.log')
        with open(other, 'wb') as f:
            f.write(b'where libvirt says')
        guest = self._live(inst)
        guest.char_devices[0].log.file = other
        dom = self.driver.host.get_domain(inst)
        with mock.patch.object(dom, 'XMLDesc', return_value=guest.to_xml()):
            with mock.patch.object(self.driver.host, 'get_domain',
                                   return_value=dom):
                self.assertEqual(b'where libvirt says',
                                 self.driver.get_console_output(None, inst))

    def test_no_console_device(self):
        inst = self._instance()
        guest = vconfig.LibvirtConfigGuest()
        self.assertRaises(exception.ConsoleNotAvailable,
                          self.driver._console_log_source, guest, inst)

    def test_unknown_instance(self):
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.get_console_output, None,
                          self._instance())

    def test_log_path_is_a_directory(self):
        inst = self._instance()
        self._spawn(inst)
        os.mkdir(self.driver.console_log_path(inst))
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.get_console_output, None, inst)
        self.assertIn(self.driver.console_log_path(inst), str(e))

    def test_pty_is_drained_into_console_log(self):
        inst = self._instance()
        os.makedirs(self.driver.instance_dir(inst))
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        self.useFixture(libvirt_state.GuestPtys(os.ttyname(slave)))
        guest = vconfig.LibvirtConfigGuest()
        guest.add_device(vconfig.LibvirtConfigGuestSerial(
            type='pty', source_path=os.ttyname(slave)))
        self._write_log(inst, b'earlier\n')
        os.write(master, b'new output\n')
        path = self.driver._console_log_source(guest, inst)
        self.assertEqual(self.driver.console_log_path(inst), path)
        with open(path, 'rb') as f:
            data = f.read()
        self.assertTrue(data.startswith(b'earlier\n'), data)
        self.assertIn(b'new output', data)


class SerialConsoleTestCase(DriverTestBase):
    def test_disabled(self):
        inst = self._instance()
        self._spawn(inst)
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.driver.get_serial_console, None, inst)

    def test_first_tcp_port(self):
        self.flags(enabled=True, group='serial_console')
        inst = self._instance(ports='2')
        guest = self._spawn(inst)
        console = self.driver.get_serial_console(None, inst)
        self.assertEqual((HOST, guest.char_devices[0].listen_port),
                         (console.host, console.port))
        self.assertEqual('serial', console.type)

    def test_enabled_but_guest_has_no_tcp_port(self):
        inst = self._instance()
        self._spawn(inst)  # spawned while serial console was disabled
        self.flags(enabled=True, group='serial_console')
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.driver.get_serial_console, None, inst)


class VersionGateTestCase(test.TestCase):
    def _uses_virtlogd(self, lib, hv, hv_type='QEMU', virt_type='kvm'):
        self.flags(virt_type=virt_type, group='libvirt')
        conn = mock.Mock()
        conn.getLibVersion.return_value = libvirt_host.version_to_int(lib)
        conn.getVersion.return_value = libvirt_host.version_to_int(hv)
        conn.getType.return_value = hv_type
        host = libvirt_host.Host('qemu:///system')
        with mock.patch.object(libvirt, 'open', return_value=conn):
            return libvirt_driver.LibvirtDriver(host).uses_virtlogd()

    def test_minimums(self):
        self.assertEqual((1, 3, 3), libvirt_driver.MIN_LIBVIRT_VIRTLOGD)
        self.assertEqual((2, 6, 0), libvirt_driver.MIN_QEMU_VIRTLOGD)

    def test_gate(self):
        self.assertTrue(self._uses_virtlogd((1, 3, 3), (2, 6, 0)))
        self.assertTrue(self._uses_virtlogd((9, 0, 0), (7, 2, 0)))
        self.assertFalse(self._uses_virtlogd((1, 3, 2), (2, 6, 0)))
        self.assertFalse(self._uses_virtlogd((1, 3, 3), (2, 5, 9)))
        self.assertFalse(self._uses_virtlogd((9, 0, 0), (7, 2, 0), 'Xen'))
        self.assertTrue(self._uses_virtlogd((9, 0, 0), (7, 2, 0),
                                            virt_type='qemu'))
        self.assertFalse(self._uses_virtlogd((9, 0, 0), (7, 2, 0),
                                             virt_type='lxc'))


class DiskImageTestCase(DriverTestBase):
    """A disk image is never written by servers: each gets an overlay."""

    def setUp(self):
        super().setUp()
        self.image_file = os.path.join(self.instances_path, 'image.raw')
        with open(self.image_file, 'wb') as f:
            f.truncate(1024 * 1024)

    def _disk_instance(self):
        inst = objects.Instance()
        inst.image_meta = objects.ImageMeta(disk_path=self.image_file)
        return inst

    def _backing_file(self, path):
        info = subprocess.run(['qemu-img', 'info', '--output=json', path],
                              capture_output=True, text=True, check=True)
        return json.loads(info.stdout)

    def test_each_server_gets_its_own_overlay(self):
        first, second = self._disk_instance(), self._disk_instance()
        for inst in (first, second):
            self._spawn(inst)
            disk = self.driver.disk_path(inst)
            info = self._backing_file(disk)
            self.assertEqual('qcow2', info['format'])
            self.assertEqual(self.image_file, info['backing-filename'])
            self.assertEqual(disk, self._live(inst).devices_of(
                vconfig.LibvirtConfigGuestDisk)[0].source_path)
        self.assertNotEqual(self.driver.disk_path(first),
                            self.driver.disk_path(second))

    def test_hard_reboot_keeps_disk_rebuild_replaces_it(self):
        inst = self._disk_instance()
        self._spawn(inst)
        disk = self.driver.disk_path(inst)
        with open(disk, 'ab') as f:
            f.write(b'\0' * 512)  # stands in for data the guest wrote
        size = os.path.getsize(disk)
        self.driver.reboot(None, inst, reboot_type='HARD')
        self.assertEqual(size, os.path.getsize(disk))
        self.driver.rebuild(None, inst, inst.image_meta)
        self.assertLess(os.path.getsize(disk), size)

    def test_missing_image_fails_cleanly(self):
        self.flags(enabled=True, group='serial_console')
        inst = self._disk_instance()
        inst.image_meta.local_files.disk = '/nonexistent/image.raw'
        e = self.assertRaises(exception.InstanceBootFailed, self._spawn,
                              inst)
        self.assertIn('/nonexistent/image.raw', str(e))
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)


class HostReportTestCase(DriverTestBase):
    def test_vcpus_never_come_from_the_guests_monitors(self):
        # getAllDomainStats(VCPU) enters every guest's QEMU monitor
        # (1.7 ms a guest on a real host, more while TCG guests boot):
        # the report lists the running domains once and asks libvirtd
        # for each one's live vCPU count, which it holds itself.
        listed = [mock.Mock(), mock.Mock()]
        listed[0].vcpusFlags.return_value = 3
        listed[1].vcpusFlags.return_value = 2
        for dom in listed:
            dom.info.side_effect = AssertionError('info() reads /proc')
        with mock.patch.object(
                self.conn, 'getAllDomainStats',
                side_effect=AssertionError('monitor asked')), \
                mock.patch.object(self.conn, 'listAllDomains',
                                  return_value=listed) as listing:
            report = self.driver.get_host_report()
        listing.assert_called_once_with(
            libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        for dom in listed:
            dom.vcpusFlags.assert_called_once_with(
                libvirt.VIR_DOMAIN_AFFECT_LIVE)
        self.assertEqual((5, 2), (report['vcpus_used'],
                                  report['running_vms']))

    @staticmethod
    def _dom(uuid, dom_id, vcpus):
        dom = mock.Mock()
        dom.UUIDString.return_value = uuid
        dom.ID.return_value = dom_id
        dom.vcpusFlags.return_value = vcpus
        return dom

    def _report(self, listed, now=1000.0):
        with mock.patch.object(self.conn, 'listAllDomains',
                               return_value=listed), \
                mock.patch.object(libvirt_driver.time, 'monotonic',
                                  return_value=now):
            report = self.driver.get_host_report()
        return report['vcpus_used'], report['running_vms']

    def test_a_running_guests_count_is_asked_once_per_start(self):
        a, b = self._dom('a', 1, 2), self._dom('b', 2, 1)
        self.assertEqual((3, 2), self._report([a, b]))
        self.assertEqual((3, 2), self._report([a, b]))
        self.assertEqual(1, a.vcpusFlags.call_count)
        self.assertEqual(1, b.vcpusFlags.call_count)
        # b started again (a new domain id), with another count.
        b_again = self._dom('b', 7, 4)
        self.assertEqual((6, 2), self._report([a, b_again]))
        b_again.vcpusFlags.assert_called_once_with(
            libvirt.VIR_DOMAIN_AFFECT_LIVE)
        self.assertEqual(1, a.vcpusFlags.call_count)
        # a stopped: forgotten; back with its old id, it is asked again.
        self.assertEqual((4, 1), self._report([b_again]))
        self.assertEqual((6, 2), self._report([a, b_again]))
        self.assertEqual(2, a.vcpusFlags.call_count)

    def test_counts_are_asked_again_after_the_recheck_time(self):
        a = self._dom('a', 1, 2)
        self._report([a], now=1000.0)
        a.vcpusFlags.return_value = 3   # a live hot-plug, behind nova
        recheck = libvirt_driver.VCPU_RECHECK_SECONDS
        self.assertEqual((2, 1), self._report([a], now=1000.0 + recheck - 1))
        self.assertEqual((3, 1), self._report([a], now=1000.0 + recheck))
        self.assertEqual(2, a.vcpusFlags.call_count)

    def test_vcpus_of_the_real_test_driver(self):
        # libvirt's test:///default runs one 2-vCPU domain of its own;
        # each guest spawned here adds its flavor's vCPUs.
        before = self.driver.get_host_report()
        self.assertEqual((2, 1), (before['vcpus_used'],
                                  before['running_vms']))
        self._spawn(self._instance())
        after = self.driver.get_host_report()
        self.assertEqual((before['vcpus_used'] + 1, 2),
                         (after['vcpus_used'], after['running_vms']))


class HostUptimeTestCase(DriverTestBase):
    def test_the_hosts_uptime_line(self):
        with mock.patch.object(libvirt_driver.processutils, 'execute',
                               return_value=(' 15:04:05 up 3 days\n', '')
                               ) as execute:
            self.assertEqual('15:04:05 up 3 days',
                             self.driver.get_host_uptime())
        execute.assert_called_once_with('env', 'LANG=C', 'uptime')

    def test_no_uptime_command_is_a_clear_501(self):
        # A host without procps: Nova's 501, not an unexpected error.
        for error in (FileNotFoundError(2, 'No such file or directory'),
                      libvirt_driver.processutils.ProcessExecutionError(
                          exit_code=127, stderr='env: uptime: not found')):
            with mock.patch.object(libvirt_driver.processutils, 'execute',
                                   side_effect=error):
                e = self.assertRaises(exception.HostUptimeUnavailable,
                                      self.driver.get_host_uptime)
            self.assertEqual(501, e.code)
