from lxml import etree
import testtools

from nova import exception
from nova.objects import migrate_data
from nova.tests.unit.virt.libvirt import live_xml
from nova.tests.unit.virt.libvirt import test_config
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import migration

SRC_DIR = '/var/lib/nova/instances/%s' % live_xml.UUID
DEST_DIR = '/srv/hostb/instances/%s' % live_xml.UUID


def _data(**kw):
    values = dict(serial_listen_addr='192.0.2.2',
                  serial_listen_ports=[20000, 20001],
                  supports_virtlogd=True, instance_dir=DEST_DIR)
    values.update(kw)
    return migrate_data.LibvirtLiveMigrateData(**values)


def _sources(xml):
    root = etree.fromstring(xml.encode())
    return [(dev.tag, dev.find('target').get('port'),
             dev.find('source').get('host'), dev.find('source').get('service'))
            for dev in root.find('devices') if dev.tag in ('serial',
                                                           'console')]


def _logs(xml):
    root = etree.fromstring(xml.encode())
    return [log.get('file') for log in root.findall('./devices/*/log')]


class UpdateGuestXMLTestCase(testtools.TestCase, test_config.XMLAssertions):
    def _update(self, data, xml=live_xml.MIGRATABLE_DOMAIN):
        return migration.update_guest_xml(xml, data, SRC_DIR)

    def test_ports_mapped_by_target_port(self):
        xml = self._update(_data(serial_listen_ports=[20007, 20003]))
        self.assertEqual([('serial', '0', '192.0.2.2', '20007'),
                          ('serial', '1', '192.0.2.2', '20003'),
                          ('console', '0', '192.0.2.2', '20007')],
                         _sources(xml))

    def test_log_follows_to_destination_instance_folder(self):
        xml = self._update(_data())
        self.assertEqual([DEST_DIR + '/console.log'] * 2, _logs(xml))

    def test_cached_kernel_and_ramdisk_follow_to_destination_cache(self):
        base = '/var/lib/nova/instances/_base/'
        xml = live_xml.MIGRATABLE_DOMAIN.replace(
            '<os>', '<os><kernel>%sk1</kernel><initrd>%sr1</initrd>' % (
                base, base), 1)
        root = etree.fromstring(self._update(_data(), xml).encode())
        self.assertEqual(('/srv/hostb/instances/_base/k1',
                          '/srv/hostb/instances/_base/r1'),
                         (root.findtext('os/kernel'),
                          root.findtext('os/initrd')))
        # A kernel anywhere else (an in-process caller's) stays.
        xml = live_xml.MIGRATABLE_DOMAIN.replace(
            '<os>', '<os><kernel>/boot/vmlinuz</kernel>', 1)
        root = etree.fromstring(self._update(_data(), xml).encode())
        self.assertEqual('/boot/vmlinuz', root.findtext('os/kernel'))

    def test_old_destination_drops_every_log(self):
        xml = self._update(_data(supports_virtlogd=False))
        self.assertEqual([], _logs(xml))
        # The tcp console stays: interactive access keeps working there.
        self.assertEqual(3, len(_sources(xml)))

    def test_everything_else_is_preserved_exactly(self):
        for original in (live_xml.LIVE_DOMAIN, live_xml.MIGRATABLE_DOMAIN):
            xml = self._update(_data(serial_listen_addr='127.0.0.1',
                                     serial_listen_ports=[31000, 31001],
                                     instance_dir=SRC_DIR), original)
            # Same address, ports and folder: the rewrite is the identity.
            self.assertXmlEqual(original, xml)

    def test_only_the_rewritten_attributes_change(self):
        xml = self._update(_data())
        expected = etree.fromstring(live_xml.MIGRATABLE_DOMAIN.encode())
        for dev in expected.find('devices'):
            if dev.tag not in ('serial', 'console'):
                continue
            port = int(dev.find('target').get('port'))
            dev.find('source').set('host', '192.0.2.2')
            dev.find('source').set('service', str(20000 + port))
            if dev.find('log') is not None:
                dev.find('log').set('file', DEST_DIR + '/console.log')
        self.assertXmlEqual(etree.tostring(expected), xml)

    def test_path_outside_instance_folder_is_kept(self):
        guest = vconfig.LibvirtConfigGuest.from_xml(live_xml.LIVE_DOMAIN)
        guest.char_devices[0].log.file = '/var/log/elsewhere.log'
        xml = self._update(_data(), guest.to_xml())
        self.assertIn('/var/log/elsewhere.log', _logs(xml))

    def test_file_console_is_retargeted(self):
        guest = vconfig.LibvirtConfigGuest(virt_type='qemu', name='g')
        guest.add_device(vconfig.LibvirtConfigGuestSerial(
            type='file', source_path=SRC_DIR + '/console.log',
            target_port=0))
        xml = self._update(_data(), guest.to_xml())
        self.assertIn('path="%s/console.log"' % DEST_DIR, xml)

    def test_no_serial_address_from_destination(self):
        e = self.assertRaises(exception.MigrationError, self._update,
                              _data(serial_listen_addr=None))
        self.assertIn(live_xml.UUID, str(e))
        self.assertIn('serial listen address', str(e))

    def test_too_few_destination_ports(self):
        e = self.assertRaises(exception.MigrationError, self._update,
                              _data(serial_listen_ports=[20000]))
        self.assertIn('serial port 1', str(e))

    def test_guest_without_tcp_needs_no_address(self):
        guest = vconfig.LibvirtConfigGuest(virt_type='qemu', name='g')
        guest.add_device(vconfig.LibvirtConfigGuestSerial(type='pty'))
        self._update(_data(serial_listen_addr=None), guest.to_xml())


class HelpersTestCase(testtools.TestCase):
    def test_serial_port_count(self):
        guest = vconfig.LibvirtConfigGuest.from_xml(live_xml.LIVE_DOMAIN)
        self.assertEqual(2, migration.serial_port_count(guest))
        self.assertEqual(0, migration.serial_port_count(
            vconfig.LibvirtConfigGuest()))

    def test_writes_file(self):
        guest = vconfig.LibvirtConfigGuest.from_xml(live_xml.LIVE_DOMAIN)
        self.assertTrue(migration.writes_file(guest, live_xml.LOG_PATH))
        self.assertFalse(migration.writes_file(guest, '/other'))
        for dev in guest.char_devices:
            dev.log = None
        self.assertFalse(migration.writes_file(guest, live_xml.LOG_PATH))
