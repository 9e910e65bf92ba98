"""Serial port bookkeeping from the API to the driver and back, over the
in-process transport: a port range of one port, so every port counts.

The compute service runs the real LibvirtDriver on test:///default (see
test_libvirt), or FakeDrivers for the rescheduling of a build.
"""

import os
import threading
from unittest import mock

import libvirt

from nova.compute import api as compute_api
from nova.console import serial
from nova import context
from nova.db import api as db
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit.virt.libvirt import test_driver

ADMIN = context.get_admin_context()
ALICE = context.RequestContext(user_id='alice', project_id='pa')
HOST = 'libvirt-host'


class OnePortTestCase(test_driver.DriverTestBase, base.RPCTestCase):
    def setUp(self):
        super().setUp()
        patcher = mock.patch.object(libvirt.virConnect, 'getFreeMemory',
                                    return_value=2 * 1024 ** 3)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.flags(enabled=True, group='serial_console')
        self.flags(port_range='%d:%d' % (self.port_start, self.port_start),
                   group='serial_console')
        self.start_host(HOST, self.driver)
        self.api = compute_api.API(conf=self.nova_conf)
        self.addCleanup(self.api.shutdown)
        kernel = os.path.join(self.instances_path, 'vmlinuz')
        with open(kernel, 'wb') as f:
            f.write(b'\0')
        self.api.flavor_create(ADMIN, 'm1.tiny', 128, 1, flavor_id='1')
        self.image = self.api.image_create(ADMIN, 'tiny',
                                           kernel_path=kernel)

    def _create(self):
        return self.api.create(ALICE, 'vm', self.image['id'], '1')['uuid']

    def _status(self, uuid):
        self.assertTrue(self.wait_for_tasks(30))
        server = self.api.get(ALICE, uuid)
        return server['vm_state'], server['fault']

    def _boot(self):
        uuid = self._create()
        self.assertEqual(('active', None), self._status(uuid))
        return uuid

    def _delete(self, uuid):
        self.api.delete(ALICE, uuid)
        self.assertTrue(self.wait_for_tasks(30))
        self.assertRaises(exception.InstanceNotFound, self.api.get, ALICE,
                          uuid)

    def _free_ports(self):
        return self.api.hypervisor_list(ADMIN)[0]['serial_ports_free']

    def _quiet_heartbeats(self):
        """No heartbeat from now on: only what actions record counts."""
        self.nova_flags(report_interval=3600)
        count = db.service_get_by_host(HOST)['report_count']
        # The loop's current 1 s wait ends with one more report; the next
        # wait is an hour.
        base.wait_for(self, lambda: db.service_get_by_host(HOST)[
            'report_count'] > count, 'the last heartbeat')

    def test_domain_undefined_behind_the_api_frees_its_port(self):
        first = self._boot()
        self.assertTrue(self.services[HOST].report())
        base.wait_for(self, lambda: self._free_ports() == 0,
                      'a report with the port taken')
        dom = self.conn.lookupByUUIDString(first)
        dom.destroy()  # virsh destroy; virsh undefine
        dom.undefine()
        self._delete(first)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.assertEqual(1, self._free_ports())
        second = self._boot()
        self.assertTrue(self.conn.lookupByUUIDString(second).isActive())

    def test_create_right_after_a_delete_gets_the_freed_port(self):
        self._quiet_heartbeats()
        first = self._boot()
        self.assertTrue(self.services[HOST].report())  # one host report
        base.wait_for(self, lambda: self._free_ports() == 0,
                      'a report with the port taken')
        self._delete(first)
        self.assertEqual(1, self._free_ports())
        self._boot()  # at once: no heartbeat came since the delete
        self.assertEqual(0, self._free_ports())

    def test_late_heartbeat_does_not_undo_a_delete(self):
        self._quiet_heartbeats()
        first = self._boot()
        stale = self.driver.get_host_report()  # measured before the delete
        self._delete(first)
        self.assertEqual(1, self._free_ports())
        db.service_report(HOST, 'nova-compute', 'compute', stale)
        self.assertEqual(1, self._free_ports())
        self._boot()

    def test_creates_never_double_book_the_port(self):
        self._quiet_heartbeats()
        self.assertEqual(1, self._free_ports())
        uuids = []
        start = threading.Barrier(2)

        def create():
            start.wait()
            uuids.append(self._create())
        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        states = sorted(self._status(uuid) for uuid in uuids)
        self.assertEqual(('active', None), states[0])
        # The second is refused by the scheduler, which counted the
        # first one's claim; it never reached the host to fail there.
        self.assertEqual('error', states[1][0])
        self.assertIn('%s: only 0 free serial ports' % HOST, states[1][1])


class RescheduleTestCase(base.ComputeTestCase):
    HOSTS = ('host-a', 'host-b')

    def setUp(self):
        super().setUp()
        self.api = compute_api.API(conf=self.nova_conf)
        self.addCleanup(self.api.shutdown)

    def _exhaust(self, host):
        self.drivers[host].fail['spawn'] = (
            exception.SocketPortRangeExhaustedException(
                host='127.0.0.1', port_range='10000:10001'))

    def _build_on(self, first):
        with mock.patch('nova.scheduler.manager.select_host',
                        side_effect=lambda *a, **kw: (
                            first if not kw.get('exclude') else
                            self._other(kw['exclude']))):
            uuid = self.api.create(ALICE, 'vm', 'img-1', '1')['uuid']
            self.assertTrue(self.wait_for_tasks(base.WAIT))
        return db.instance_get(uuid)

    def _spawns(self, host):
        return self.drivers[host].names().count('spawn')

    def _other(self, exclude):
        others = [h for h in self.HOSTS if h not in exclude]
        if not others:
            raise exception.NoValidHost(reason='none left')
        return others[0]

    def test_build_without_a_free_port_goes_to_another_host(self):
        self._exhaust('host-a')
        server = self._build_on('host-a')
        self.assertEqual(('active', 'host-b', None), (
            server['vm_state'], server['host'], server['fault']))
        self.assertEqual(1, self._spawns('host-a'))
        self.assertEqual(1, self._spawns('host-b'))
        self.assertIn('rescheduled to host host-b', self.logs.output)

    def test_no_host_left_keeps_the_ports_error(self):
        self._exhaust('host-a')
        self._exhaust('host-b')
        server = self._build_on('host-a')
        self.assertEqual('error', server['vm_state'])
        self.assertIn('No free tcp port left', server['fault'])
        self.assertEqual(1, self._spawns('host-b'))

    def test_other_errors_are_not_rescheduled(self):
        self.drivers['host-a'].fail['spawn'] = exception.InstanceBootFailed(
            instance_uuid='x', reason='no kernel')
        server = self._build_on('host-a')
        self.assertEqual(('error', 'host-a'), (server['vm_state'],
                                               server['host']))
        self.assertEqual(0, self._spawns('host-b'))
