"""nova-compute starts while guests are being deleted (libvirt's
test:///default, the in-process transport)."""

import fixtures
import libvirt

from nova.console import serial
from nova.db import api as db
from nova.tests.unit.compute import base
from nova.tests.unit.virt.libvirt import test_driver
from nova.tests.unit.virt.libvirt import test_driver_vanishing
from nova.virt.libvirt import driver as libvirt_driver

HOST = 'libvirt-host'


class StartUpTestCase(test_driver.DriverTestBase, base.RPCTestCase):
    def test_guest_deleted_during_start_up(self):
        self.flags(enabled=True, group='serial_console')
        kept, gone = self._instance(), self._instance()
        self._spawn(kept)
        self._spawn(gone)
        serial.ALLOCATED_PORTS.clear()  # a new nova-compute process
        real = libvirt.virDomain.XMLDesc
        conn = self.conn

        def xml_desc(dom, flags=0):
            if dom.UUIDString() == gone.uuid:
                # Deleted by someone between listAllDomains and XMLDesc.
                test_driver_vanishing._vanish(conn, gone.uuid)
            return real(dom, flags)
        self.useFixture(fixtures.MonkeyPatch(
            'libvirt.virDomain.XMLDesc', xml_desc))
        self.start_host(HOST, libvirt_driver.LibvirtDriver())
        report = db.service_get_by_host(HOST)['report']
        self.assertEqual([kept.uuid], report['serial_port_holders'])
        self.assertEqual(9, report['serial_ports_free'])
