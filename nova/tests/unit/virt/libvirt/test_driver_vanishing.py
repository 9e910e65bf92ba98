"""Domains that vanish behind the driver, on libvirt's test:///default.

Anything may undefine a guest at any moment (``virsh undefine``, another
nova-compute on the same libvirtd, a delete while nova-compute starts).
Where the driver lists or looks domains up and then reads them, a domain
gone in between is skipped, and its serial ports are still released by
its instance's uuid.
"""

import logging
from unittest import mock

import fixtures
import libvirt

from nova.console import serial
from nova import exception
from nova.objects import migrate_data
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import host as libvirt_host

HOST = test_driver.HOST


def _vanish(conn, uuid):
    """Undefine the domain behind the driver, as ``virsh`` would."""
    dom = conn.lookupByUUIDString(uuid)
    if dom.isActive():
        dom.destroy()
    dom.undefine()


class VanishingTestBase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='serial_console')
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))

    def _booted(self, ports='1'):
        inst = self._instance(ports=ports)
        self._spawn(inst)
        return inst

    def _vanish_on_first_read(self, uuid):
        """Make the domain of ``uuid`` vanish between the driver's
        listing (or look-up) of it and its first XMLDesc()."""
        real = libvirt.virDomain.XMLDesc
        conn = self.conn
        done = []

        def xml_desc(dom, flags=0):
            if dom.UUIDString() == uuid and not done:
                done.append(True)
                _vanish(conn, uuid)
            return real(dom, flags)
        self.useFixture(fixtures.MonkeyPatch(
            'libvirt.virDomain.XMLDesc', xml_desc))
        return done


class StartUpTestCase(VanishingTestBase):
    def test_domain_undefined_during_init_host_is_skipped(self):
        kept, gone = self._booted(ports='2'), self._booted()
        held = {pair for pair in serial.ALLOCATED_PORTS}
        serial.ALLOCATED_PORTS.clear()  # nova-compute restarts
        restarted = libvirt_driver.LibvirtDriver()
        done = self._vanish_on_first_read(gone.uuid)
        self.assertEqual(2, restarted.init_host())
        self.assertEqual([True], done)
        self.assertEqual(2, len(serial.ALLOCATED_PORTS))
        self.assertLess(serial.ALLOCATED_PORTS, held)
        self.assertIn('Domain %s vanished while starting up; skipped' %
                      gone.uuid, self.logs.output)
        # The survivor's ports are known by its uuid after the restart.
        restarted.destroy(None, kept)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)


class HostReportTestCase(VanishingTestBase):
    def _vanish_after_listing(self, uuid, how):
        real = libvirt.virConnect.listAllDomains
        conn = self.conn

        def listing(self_conn, *args):
            result = real(self_conn, *args)
            how(conn, uuid)
            return result
        self.useFixture(fixtures.MonkeyPatch(
            'libvirt.virConnect.listAllDomains', listing))

    def test_domain_undefined_after_the_listing_is_not_counted(self):
        before = self.driver.get_host_report()  # test:///default's own
        kept, gone = self._booted(), self._booted()
        self._vanish_after_listing(gone.uuid, _vanish)
        report = self.driver.get_host_report()
        self.assertEqual(before['running_vms'] + 1, report['running_vms'])
        self.assertEqual(before['vcpus_used'] + 1, report['vcpus_used'])
        self.assertIn('stopped or vanished while reading its vCPUs',
                      self.logs.output)
        self.assertIn(kept.uuid, report['serial_port_holders'])

    def test_domain_stopped_after_the_listing_is_not_counted(self):
        before = self.driver.get_host_report()
        self._booted()
        stopped = self._booted()

        def stop(conn, uuid):
            conn.lookupByUUIDString(uuid).destroy()  # still defined
        self._vanish_after_listing(stopped.uuid, stop)
        report = self.driver.get_host_report()
        self.assertEqual(before['running_vms'] + 1, report['running_vms'])
        self.assertEqual(before['vcpus_used'] + 1, report['vcpus_used'])


class DestroyTestCase(VanishingTestBase):
    def test_domain_undefined_behind_the_driver_releases_its_ports(self):
        inst = self._booted(ports='2')
        self.assertEqual(2, len(serial.ALLOCATED_PORTS))
        _vanish(self.conn, inst.uuid)
        self.driver.destroy(None, inst)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        facts = self.driver.serial_port_facts()
        self.assertEqual((10, 10, []), (
            facts['serial_ports_total'], facts['serial_ports_free'],
            facts['serial_port_holders']))
        self.assertIn('was already gone; released its serial ports',
                      self.logs.output)

    def test_domain_undefined_between_look_up_and_destroy(self):
        inst = self._booted()
        real = libvirt_host.Host.get_domain

        def get_domain(host, instance):
            dom = real(host, instance)
            _vanish(self.conn, instance.uuid)
            return dom
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.host.Host.get_domain', get_domain))
        self.driver.destroy(None, inst)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.assertIn('Domain of %s vanished while being destroyed' %
                      inst.uuid, self.logs.output)

    def test_other_errors_still_raise(self):
        inst = self._booted()
        err = libvirt.libvirtError('boom')
        with mock.patch.object(libvirt.virDomain, 'isActive',
                               side_effect=err), \
                mock.patch.object(err, 'get_error_code',
                                  return_value=libvirt.VIR_ERR_INTERNAL_ERROR):
            self.assertRaises(libvirt.libvirtError, self.driver.destroy,
                              None, inst)
        self.assertEqual(1, len(serial.ALLOCATED_PORTS))


class StateTestCase(VanishingTestBase):
    def _vanishing_after_look_up(self):
        real = libvirt_host.Host.get_domain

        def get_domain(host, instance):
            dom = real(host, instance)
            _vanish(self.conn, instance.uuid)
            return dom
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.host.Host.get_domain', get_domain))

    def test_is_running_of_a_vanishing_domain(self):
        inst = self._booted()
        self._vanishing_after_look_up()
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.is_running, inst)

    def test_power_off_of_a_vanishing_domain(self):
        inst = self._booted()
        self._vanishing_after_look_up()
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.power_off, inst)
        self.assertIn('vanished while being stopped', self.logs.output)


class MigrationTestCase(VanishingTestBase):
    def _data(self):
        return migrate_data.LibvirtLiveMigrateData(
            serial_listen_addr=HOST, supports_virtlogd=True,
            instance_dir='/srv/b', connect_uri='qemu+tcp://b/system',
            serial_listen_ports=[41000])

    def test_source_check_of_a_vanishing_domain(self):
        inst = self._booted()
        self._vanish_on_first_read(inst.uuid)
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.check_can_live_migrate_source, None,
                          inst, self._data())
        self.assertIn('Domain of %s vanished while reading its XML' %
                      inst.uuid, self.logs.output)

    def test_live_migration_of_a_vanishing_domain(self):
        inst = self._booted()
        self._vanish_on_first_read(inst.uuid)
        with mock.patch.object(libvirt.virDomain, 'migrateToURI3') as mig:
            self.assertRaises(exception.InstanceNotFound,
                              self.driver.live_migration, None, inst,
                              'qemu+tcp://b/system', self._data())
        mig.assert_not_called()
        # Nothing moved: the port stays held until the delete.
        self.assertEqual(1, len(serial.ALLOCATED_PORTS))
        self.driver.destroy(None, inst)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_arrival_of_a_vanishing_domain(self):
        inst = self._instance()
        data = self._data()
        data.serial_port_count = 2
        data = self.driver.pre_live_migration(None, inst, data)
        self._spawn(inst)  # stands for the arrived guest
        self._vanish_on_first_read(inst.uuid)
        self.assertRaises(
            exception.InstanceNotFound,
            self.driver.post_live_migration_at_destination, None, inst,
            data)
        self.driver.rollback_live_migration_at_destination(None, inst, data)
        self.driver.destroy(None, inst)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
