from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from lxml import etree
import testtools

from nova.tests.unit.virt.libvirt import live_xml
from nova.virt.libvirt import config as vconfig

DOMAIN_RNG = '/usr/share/libvirt/schemas/domain.rng'


def canonical(xml):
    """XML text with insignificant whitespace and quoting normalised."""
    parser = etree.XMLParser(remove_blank_text=True)
    if isinstance(xml, str):
        xml = xml.encode()
    return etree.tostring(etree.fromstring(xml, parser), method='c14n')


class XMLAssertions:
    def assertXmlEqual(self, expected, actual):
        self.assertEqual(canonical(expected).decode(),
                         canonical(actual).decode())


class CharDeviceLogTestCase(testtools.TestCase, XMLAssertions):
    def test_format_append_on(self):
        log = vconfig.LibvirtConfigGuestCharDeviceLog(
            file='/var/lib/nova/instances/u/console.log', append=True)
        self.assertXmlEqual(
            '<log file="/var/lib/nova/instances/u/console.log" append="on"/>',
            log.to_xml())

    def test_format_append_off(self):
        log = vconfig.LibvirtConfigGuestCharDeviceLog(file='/l', append=False)
        self.assertXmlEqual('<log file="/l" append="off"/>', log.to_xml())

    def test_append_unset_is_not_written(self):
        log = vconfig.LibvirtConfigGuestCharDeviceLog(file='/l')
        self.assertXmlEqual('<log file="/l"/>', log.to_xml())

    def test_parse(self):
        log = vconfig.LibvirtConfigGuestCharDeviceLog.from_xml(
            "<log file='/l' append='on'/>")
        self.assertEqual('/l', log.file)
        self.assertIs(True, log.append)

    def test_append_is_typed(self):
        log = vconfig.LibvirtConfigGuestCharDeviceLog()
        e = self.assertRaises(TypeError, setattr, log, 'append', 'on')
        self.assertIn('append', str(e))

    def test_parse_rejects_bad_append_naming_it(self):
        e = self.assertRaises(
            vconfig.XMLModelError,
            vconfig.LibvirtConfigGuestCharDeviceLog.from_xml,
            "<log file='/l' append='maybe'/>")
        self.assertIn("append='maybe'", str(e))

    def test_unknown_keyword_is_refused(self):
        self.assertRaises(TypeError, vconfig.LibvirtConfigGuestCharDeviceLog,
                          path='/l')

    def test_parse_wrong_element(self):
        self.assertRaises(vconfig.XMLModelError,
                          vconfig.LibvirtConfigGuestCharDeviceLog.from_xml,
                          '<serial/>')

    def test_malformed_xml_is_a_clear_error(self):
        e = self.assertRaises(vconfig.XMLModelError,
                              vconfig.LibvirtConfigGuestSerial.from_xml,
                              '<serial type="tcp">')
        self.assertIn('not well-formed', str(e))


class SerialTestCase(testtools.TestCase, XMLAssertions):
    def _tcp(self, **kw):
        return vconfig.LibvirtConfigGuestSerial(
            type='tcp', listen_host='127.0.0.1', listen_port=10000,
            target_port=0, **kw)

    def test_tcp_with_log_child_order(self):
        dev = self._tcp(log=vconfig.LibvirtConfigGuestCharDeviceLog(
            file='/i/console.log', append=True))
        self.assertXmlEqual(
            '<serial type="tcp">'
            '<source mode="bind" host="127.0.0.1" service="10000"/>'
            '<protocol type="raw"/>'
            '<log file="/i/console.log" append="on"/>'
            '<target port="0"/>'
            '</serial>', dev.to_xml())

    def test_tcp_without_log(self):
        self.assertXmlEqual(
            '<serial type="tcp">'
            '<source mode="bind" host="127.0.0.1" service="10000"/>'
            '<protocol type="raw"/><target port="0"/></serial>',
            self._tcp().to_xml())

    def test_file(self):
        dev = vconfig.LibvirtConfigGuestSerial(
            type='file', source_path='/i/console.log', target_port=0)
        self.assertXmlEqual(
            '<serial type="file"><source path="/i/console.log"/>'
            '<target port="0"/></serial>', dev.to_xml())

    def test_unix_binds(self):
        dev = vconfig.LibvirtConfigGuestSerial(type='unix',
                                               source_path='/s.sock')
        self.assertXmlEqual(
            '<serial type="unix"><source mode="bind" path="/s.sock"/>'
            '</serial>', dev.to_xml())

    def test_pty_with_log(self):
        dev = vconfig.LibvirtConfigGuestSerial(
            type='pty', target_port=0,
            log=vconfig.LibvirtConfigGuestCharDeviceLog(file='/c',
                                                        append=True))
        self.assertXmlEqual(
            '<serial type="pty"><log file="/c" append="on"/>'
            '<target port="0"/></serial>', dev.to_xml())

    def test_console_element(self):
        dev = vconfig.LibvirtConfigGuestConsole(type='pty',
                                                target_type='sclp')
        self.assertXmlEqual(
            '<console type="pty"><target type="sclp"/></console>',
            dev.to_xml())

    def test_port_is_typed(self):
        self.assertRaises(TypeError, self._tcp, listen_port='10000')

    def test_changing_type_drops_tcp_defaults(self):
        dev = self._tcp()
        dev.type = 'pty'
        dev.listen_host = dev.listen_port = None
        self.assertXmlEqual('<serial type="pty"><target port="0"/></serial>',
                            dev.to_xml())

    def test_parsed_source_without_mode_stays_without(self):
        # libvirt's default tcp mode is "connect": filling in "bind" on a
        # parsed device would change what it means.
        xml = ('<serial type="tcp"><source host="h" service="1"/>'
               '<target port="0"/></serial>')
        dev = vconfig.LibvirtConfigGuestSerial.from_xml(xml)
        self.assertIsNone(dev.source_mode)
        self.assertIsNone(dev.protocol_type)
        self.assertXmlEqual(xml, dev.to_xml())


def _live_serial(index=0):
    root = etree.fromstring(live_xml.LIVE_DOMAIN.encode())
    return root.findall('./devices/serial')[index]


class LiveXMLTestCase(testtools.TestCase, XMLAssertions):
    """Parsing what libvirt reports loses nothing and models enough."""

    def test_parse_live_serial(self):
        dev = vconfig.LibvirtConfigGuestSerial()
        dev.parse_dom(_live_serial())
        self.assertEqual('tcp', dev.type)
        self.assertEqual('bind', dev.source_mode)
        self.assertEqual('127.0.0.1', dev.listen_host)
        self.assertEqual(31000, dev.listen_port)
        self.assertEqual('raw', dev.protocol_type)
        self.assertEqual(live_xml.LOG_PATH, dev.log.file)
        self.assertIs(True, dev.log.append)
        self.assertEqual('isa-serial', dev.target_type)
        self.assertEqual(0, dev.target_port)
        self.assertEqual('serial0', dev.alias)

    def test_live_serial_round_trip(self):
        dev = vconfig.LibvirtConfigGuestSerial()
        dev.parse_dom(_live_serial())
        self.assertXmlEqual(etree.tostring(_live_serial()), dev.to_xml())

    def test_live_domain_round_trip(self):
        for xml in (live_xml.LIVE_DOMAIN, live_xml.MIGRATABLE_DOMAIN):
            guest = vconfig.LibvirtConfigGuest.from_xml(xml)
            self.assertXmlEqual(xml, guest.to_xml())

    def test_live_domain_model(self):
        guest = vconfig.LibvirtConfigGuest.from_xml(live_xml.LIVE_DOMAIN)
        self.assertEqual('qemu', guest.virt_type)
        self.assertEqual(131072, guest.memory)
        self.assertEqual(1, guest.vcpus)
        self.assertEqual('console=ttyS0 panic=-1', guest.os_cmdline)
        self.assertEqual(
            ['serial', 'serial', 'console'],
            [d.root_name for d in guest.char_devices])
        raw = [d for d in guest.devices
               if isinstance(d, vconfig.LibvirtConfigRawElement)]
        self.assertEqual(['emulator', 'controller', 'controller', 'input',
                          'input', 'audio', 'memballoon'],
                         [d.root_name for d in raw])

    def test_removing_log_keeps_everything_else(self):
        guest = vconfig.LibvirtConfigGuest.from_xml(live_xml.LIVE_DOMAIN)
        for dev in guest.char_devices:
            dev.log = None
        expected = etree.fromstring(live_xml.LIVE_DOMAIN.encode())
        for log in expected.findall('./devices/*/log'):
            log.getparent().remove(log)
        self.assertXmlEqual(etree.tostring(expected), guest.to_xml())

    def test_adding_log_goes_before_target(self):
        guest = vconfig.LibvirtConfigGuest.from_xml(live_xml.LIVE_DOMAIN)
        second = guest.char_devices[1]
        second.log = vconfig.LibvirtConfigGuestCharDeviceLog(file='/two',
                                                             append=True)
        elem = second.format_dom()
        self.assertEqual(['source', 'protocol', 'log', 'target', 'alias'],
                         [child.tag for child in elem])

    def test_changing_port_keeps_tls(self):
        dev = vconfig.LibvirtConfigGuestSerial()
        dev.parse_dom(_live_serial())
        dev.listen_host, dev.listen_port = '192.0.2.1', 12345
        source = dev.format_dom().find('source')
        self.assertEqual({'mode': 'bind', 'host': '192.0.2.1',
                          'service': '12345', 'tls': 'no'},
                         dict(source.attrib))

    def test_dropping_a_device(self):
        guest = vconfig.LibvirtConfigGuest.from_xml(live_xml.LIVE_DOMAIN)
        guest.devices.remove(guest.char_devices[1])
        out = etree.fromstring(guest.to_xml().encode())
        self.assertEqual(['31000'], [
            s.get('service') for s in out.findall('./devices/serial/source')])
        self.assertIsNotNone(out.find('./devices/memballoon'))


class GuestTestCase(testtools.TestCase, XMLAssertions):
    def _guest(self):
        guest = vconfig.LibvirtConfigGuest(
            virt_type='qemu', name='instance-1',
            uuid='6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d', memory=131072,
            vcpus=1, os_type='hvm', os_kernel='/k', os_initrd='/i',
            os_cmdline='console=ttyS0', on_crash='destroy')
        guest.add_device(vconfig.LibvirtConfigGuestSerial(
            type='tcp', listen_host='127.0.0.1', listen_port=10000,
            target_port=0, log=vconfig.LibvirtConfigGuestCharDeviceLog(
                file='/c', append=True)))
        return guest

    def test_format(self):
        self.assertXmlEqual(
            '<domain type="qemu"><name>instance-1</name>'
            '<uuid>6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d</uuid>'
            '<memory unit="KiB">131072</memory><vcpu>1</vcpu>'
            '<os><type>hvm</type><kernel>/k</kernel><initrd>/i</initrd>'
            '<cmdline>console=ttyS0</cmdline></os>'
            '<on_crash>destroy</on_crash><devices>'
            '<serial type="tcp">'
            '<source mode="bind" host="127.0.0.1" service="10000"/>'
            '<protocol type="raw"/><log file="/c" append="on"/>'
            '<target port="0"/></serial></devices></domain>',
            self._guest().to_xml())

    def test_round_trip_of_generated_xml(self):
        xml = self._guest().to_xml()
        parsed = vconfig.LibvirtConfigGuest.from_xml(xml)
        self.assertEqual(xml, parsed.to_xml())

    def test_disk_guest(self):
        guest = vconfig.LibvirtConfigGuest(
            virt_type='kvm', name='d', memory=1024, vcpus=1, os_type='hvm',
            os_boot_dev='hd')
        guest.add_device(vconfig.LibvirtConfigGuestDisk(
            driver_name='qemu', driver_format='qcow2', source_path='/d.qcow2',
            target_dev='vda', target_bus='virtio'))
        self.assertXmlEqual(
            '<domain type="kvm"><name>d</name>'
            '<memory unit="KiB">1024</memory><vcpu>1</vcpu>'
            '<os><type>hvm</type><boot dev="hd"/></os><devices>'
            '<disk type="file" device="disk">'
            '<driver name="qemu" type="qcow2"/><source file="/d.qcow2"/>'
            '<target dev="vda" bus="virtio"/></disk></devices></domain>',
            guest.to_xml())

    def test_validates_against_libvirt_schema(self):
        rng = etree.RelaxNG(etree.parse(DOMAIN_RNG))
        doc = etree.fromstring(self._guest().to_xml().encode())
        self.assertTrue(rng.validate(doc), rng.error_log)


_names = st.text(alphabet='abcdefghijklmnopqrstuvwxyz0123456789-_./',
                 min_size=1, max_size=20)


@st.composite
def char_devices(draw):
    cls = draw(st.sampled_from([vconfig.LibvirtConfigGuestSerial,
                                vconfig.LibvirtConfigGuestConsole]))
    dev = cls(type=draw(st.sampled_from(['tcp', 'pty', 'file', 'unix'])))
    dev.source_path = draw(st.none() | _names)
    dev.listen_host = draw(st.none() | _names)
    dev.listen_port = draw(st.none() | st.integers(1, 65535))
    dev.target_port = draw(st.none() | st.integers(0, 3))
    dev.target_type = draw(st.none() |
                           st.sampled_from(['isa-serial', 'sclp']))
    if draw(st.booleans()):
        dev.log = vconfig.LibvirtConfigGuestCharDeviceLog(
            file=draw(_names), append=draw(st.none() | st.booleans()))
    return dev


class RoundTripPropertyTestCase(testtools.TestCase):
    @settings(max_examples=200, deadline=None)
    @given(char_devices())
    def test_parse_returns_what_was_formatted(self, dev):
        xml = dev.to_xml()
        parsed = type(dev).from_xml(xml)
        for field in type(dev)._fields:
            if field.name == 'log':
                continue
            self.assertEqual(getattr(dev, field.name),
                             getattr(parsed, field.name), field.name)
        if dev.log is None:
            self.assertIsNone(parsed.log)
        else:
            self.assertEqual((dev.log.file, dev.log.append),
                             (parsed.log.file, parsed.log.append))
        self.assertEqual(xml, parsed.to_xml())
