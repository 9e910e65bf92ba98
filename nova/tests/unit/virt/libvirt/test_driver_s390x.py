"""The guest architecture: an s390x guest on an x86_64 host, and refusals.

libvirt's ``test:///default`` driver has no s390x guests, so these tests
build the guest config (validated against libvirt's RelaxNG schema) rather
than start it; the functional test boots a real one.
"""

import fixtures
from lxml import etree

from nova.console import serial
from nova import exception
from nova.tests.unit.virt.libvirt import test_driver

# The parts of a real x86_64 host's capabilities (libvirt 9.0, QEMU 7.2
# with qemu-system-misc) that matter, plus what must not count.
CAPS = """<capabilities>
  <host><cpu><arch>x86_64</arch></cpu></host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='s390x'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-s390x</emulator>
      <machine canonical='s390-ccw-virtio-7.2'>s390-ccw-virtio</machine>
      <domain type='qemu'/>
    </arch>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='aarch64'><domain type='kvm'/></arch>
  </guest>
  <guest>
    <os_type>xen</os_type>
    <arch name='ppc64'><domain type='qemu'/></arch>
  </guest>
</capabilities>"""


class S390xTestBase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='serial_console')
        # Whatever machine runs the tests, this one is an x86_64 host...
        self.host_arch = 'x86_64'
        self.useFixture(fixtures.MockPatch(
            'nova.virt.arch.from_host', side_effect=lambda: self.host_arch))
        self.real_caps = self.conn.getCapabilities()
        # ...whose libvirt offers s390x guests (qemu-system-s390x).
        self.caps = self.useFixture(fixtures.MockPatchObject(
            self.conn, 'getCapabilities', return_value=CAPS)).mock

    def _config(self, inst):
        return self.driver._get_guest_config(inst, inst.image_meta)

    @staticmethod
    def _consoles(guest):
        return [(d.root_name, d.type, d.target_type, d.log is not None)
                for d in guest.char_devices]

    def assertValidXML(self, guest):
        rng = etree.RelaxNG(etree.parse(test_driver.DOMAIN_RNG))
        doc = etree.fromstring(guest.to_xml().encode())
        self.assertTrue(rng.validate(doc), rng.error_log)


class S390xGuestTestCase(S390xTestBase):
    def test_s390x_image_gets_s390x_machine_and_sclp_consoles(self):
        guest = self._config(self._instance(ports='2', arch='s390x'))
        self.assertEqual(('qemu', 's390x', 's390-ccw-virtio'),
                         (guest.virt_type, guest.os_arch,
                          guest.os_mach_type))
        self.assertEqual('console=ttysclp0', guest.os_cmdline)
        self.assertEqual([('console', 'tcp', 'sclp', True),
                          ('console', 'tcp', 'sclplm', False)],
                         self._consoles(guest))
        self.assertEqual(2, len(serial.ALLOCATED_PORTS))
        self.assertValidXML(guest)

    def test_kvm_host_emulates_s390x(self):
        # KVM runs only the host's architecture; libvirt offers s390x as
        # type qemu only.
        self.flags(virt_type='kvm', group='libvirt')
        guest = self._config(self._instance(arch='s390x'))
        self.assertEqual('qemu', guest.virt_type)
        host_guest = self._config(self._instance())
        self.assertEqual('kvm', host_guest.virt_type)

    def test_image_command_line_wins(self):
        inst = self._instance(arch='s390x')
        inst.image_meta.properties['os_command_line'] = 'console=ttyS1'
        self.assertEqual('console=ttyS1', self._config(inst).os_cmdline)

    def test_other_spellings_of_the_name(self):
        guest = self._config(self._instance(arch=' S390X'))
        self.assertEqual('s390x', guest.os_arch)

    def test_host_arch_image_is_unchanged(self):
        # i686: a 32-bit x86 kernel boots on the host's x86_64 machine.
        for name in ('x86_64', 'AMD64', 'i686', 'i386'):
            guest = self._config(self._instance(arch=name))
            self.assertIsNone(guest.os_arch)
            self.assertIsNone(guest.os_mach_type)
            self.assertEqual('console=ttyS0', guest.os_cmdline)
            self.assertEqual([('serial', 'tcp', None, True)],
                             self._consoles(guest))
        self.caps.assert_not_called()

    def test_s390x_host_gets_sclp_consoles_without_a_property(self):
        self.host_arch = 's390x'
        guest = self._config(self._instance())
        self.assertEqual('s390x', guest.os_arch)
        self.assertEqual([('console', 'tcp', 'sclp', True)],
                         self._consoles(guest))
        self.caps.assert_not_called()


class S390xCaseChartTestCase(S390xTestBase):
    """The case chart of the docs, with sclp consoles for serial ports."""

    def _check(self, serial_enabled, virtlogd, expected):
        self.flags(enabled=serial_enabled, group='serial_console')
        self.virtlogd = virtlogd
        guest = self._config(self._instance(arch='s390x'))
        self.assertEqual(expected, self._consoles(guest))
        self.assertValidXML(guest)

    def test_no_serial_no_virtlogd(self):
        self._check(False, False, [('console', 'file', 'sclp', False),
                                   ('console', 'pty', 'sclplm', False)])

    def test_no_serial_with_virtlogd(self):
        self._check(False, True, [('console', 'pty', 'sclp', True)])

    def test_serial_no_virtlogd(self):
        self._check(True, False, [('console', 'tcp', 'sclp', False),
                                  ('console', 'pty', 'sclplm', False)])

    def test_serial_with_virtlogd(self):
        self._check(True, True, [('console', 'tcp', 'sclp', True)])


class S390xLimitsTestCase(S390xTestBase):
    def _assert_too_many(self, inst, wanted):
        e = self.assertRaises(exception.SerialPortNumberLimitExceeded,
                              self._spawn, inst)
        self.assertIn('%d serial devices' % wanted, str(e))
        self.assertIn('at most 2', str(e))
        self.assertIn('sclplm', str(e))
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_three_ports_are_too_many(self):
        # QEMU has one sclp and one sclplm console; a third would fail
        # at start, after its ports were taken.
        self._assert_too_many(self._instance(ports='3', arch='s390x'), 3)

    def test_two_ports_without_virtlogd_count_the_pty(self):
        self.virtlogd = False
        self._assert_too_many(self._instance(ports='2', arch='s390x'), 3)


class ArchitectureRefusedTestCase(S390xTestBase):
    def _refused(self, exc, inst, *needles):
        e = self.assertRaises(exc, self._spawn, inst)
        for needle in needles:
            self.assertIn(needle, str(e))
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_unknown_name(self):
        self._refused(exception.InvalidArchitectureName,
                      self._instance(arch='s390z'), "'s390z'",
                      'hw_architecture')

    def test_other_foreign_architecture(self):
        self._refused(exception.GuestArchitectureUnsupported,
                      self._instance(arch='aarch64'), 'aarch64',
                      'x86_64', 's390x')

    def test_host_without_s390x_emulator(self):
        # libvirt's test driver really lists no s390x guests.
        self.caps.return_value = self.real_caps
        self._refused(exception.GuestArchitectureUnsupported,
                      self._instance(arch='s390x'), 's390x',
                      'qemu-system-misc')

    def test_virt_type_that_cannot_emulate(self):
        self.flags(virt_type='lxc', group='libvirt')
        self._refused(exception.GuestArchitectureUnsupported,
                      self._instance(arch='s390x'), 'lxc')


class EmulatedArchesTestCase(S390xTestBase):
    def test_only_hvm_guests_with_a_qemu_domain(self):
        self.assertEqual({'s390x', 'x86_64'},
                         self.driver._emulated_arches())
