"""A domain on the host that our XML model cannot read.

libvirt accepts more than the typed model reads (here a tcp serial port
given by service *name*); such a domain need not be ours. It is skipped
with a warning naming it wherever domains are listed, and never stops
nova-compute (attack review, finding 5: init_host died on it).
"""

import logging

import fixtures
import libvirt

from nova.console import serial
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import driver as libvirt_driver

FOREIGN = """<domain type='test'><name>not-nova</name><memory>1024</memory>
<vcpu>1</vcpu><os><type>hvm</type></os><devices>
<serial type='tcp'><source mode='bind' host='127.0.0.1' service='telnet'/>
<protocol type='raw'/><target port='0'/></serial></devices></domain>"""


class ForeignDomainTestCase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='serial_console')
        dom = self.conn.defineXMLFlags(FOREIGN,
                                       libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
        self.addCleanup(dom.undefine)
        self.foreign = dom
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.WARNING))

    def test_init_host_skips_it_with_a_warning(self):
        inst = self._instance(ports='1')
        self._spawn(inst)
        serial.ALLOCATED_PORTS.clear()  # nova-compute restarted
        # Ours are still re-registered; the foreign one is named.
        self.assertEqual(1, libvirt_driver.LibvirtDriver().init_host())
        self.assertIn('Domain not-nova (%s) skipped while starting up'
                      % self.foreign.UUIDString(), self.logs.output)

    def test_host_report_counts_what_it_can(self):
        self.foreign.create()
        self.addCleanup(self.foreign.destroy)
        report = self.driver.get_host_report()
        self.assertGreaterEqual(report['running_vms'], 1)
        self.assertIn('serial_ports_free', report)
