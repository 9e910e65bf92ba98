"""The compute API and a compute service on the real LibvirtDriver
(test:///default), over the in-process transport.

libvirt's test driver parses, validates and "runs" the guest XML without
QEMU, so serial ports, console lookups, port release and the host's
report are the driver's real ones.
"""

import os
from unittest import mock

import libvirt

from nova.compute import api as compute_api
from nova.console import serial
from nova.console import tokens
from nova import context
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.tests.unit.compute import base
from nova.tests.unit.virt.libvirt import test_driver

ADMIN = context.get_admin_context()
ALICE = context.RequestContext(user_id='alice', project_id='pa')
HOST = 'libvirt-host'


class LibvirtComputeTestCase(test_driver.DriverTestBase, base.RPCTestCase):
    def setUp(self):
        super().setUp()
        # The test driver answers getFreeMemory in KiB (3 GiB "free" reads
        # as 3 MiB); a real one answers in bytes.
        patcher = mock.patch.object(libvirt.virConnect, 'getFreeMemory',
                                    return_value=2 * 1024 ** 3)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.flags(enabled=True, group='serial_console')
        self.nova_flags(base_url='ws://proxy:6083/', group='serial_console')
        self.start_host(HOST, self.driver)
        self.api = compute_api.API(conf=self.nova_conf)
        self.addCleanup(self.api.shutdown)
        files = {}
        for name in ('vmlinuz', 'initrd'):
            files[name] = os.path.join(self.instances_path, name)
            with open(files[name], 'wb') as f:
                f.write(b'\0')
        self.api.flavor_create(ADMIN, 'm1.tiny', 128, 1, flavor_id='1',
                               extra_specs={'hw:serial_port_count': '2'})
        self.image = self.api.image_create(
            ADMIN, 'tiny', kernel_path=files['vmlinuz'],
            ramdisk_path=files['initrd'])

    def _boot(self):
        server = self.api.create(ALICE, 'vm', self.image['id'], '1')
        self.assertTrue(self.wait_for_tasks(30))
        server = self.api.get(ALICE, server['uuid'])
        self.assertEqual(('active', None), (server['vm_state'],
                                            server['fault']))
        return server['uuid']

    def test_the_hosts_report(self):
        report = db.service_get_by_host(HOST)['report']
        self.assertEqual((True, 10, 10, test_driver.HOST, 'virtlogd'), (
            report['serial_console_enabled'], report['serial_ports_total'],
            report['serial_ports_free'], report['host_ip'],
            report['console_log']))
        self.assertEqual(2048, report['memory_mb_free'])
        self.assertEqual(self.conn.getHostname(),
                         report['hypervisor_hostname'])
        uuid = self._boot()
        self.assertTrue(self.services[HOST].report())
        report = base.wait_for(self, lambda: self._free_ports(8),
                               'a report with 2 ports taken')
        self.assertEqual(self.conn.getHostname(),
                         self.api.get(ALICE, uuid)['node'])
        self.assertGreaterEqual(report['running_vms'], 1)

    @staticmethod
    def _free_ports(count):
        report = db.service_get_by_host(HOST)['report']
        return report if report['serial_ports_free'] == count else None

    def test_boot_console_and_port_validation(self):
        uuid = self._boot()
        self.assertTrue(self.conn.lookupByUUIDString(uuid).isActive())
        console = self.api.get_serial_console(ALICE, uuid)
        self.assertTrue(console['url'].startswith('ws://proxy:6083/?token='))
        info = tokens.validate(console['url'].split('token=')[1])
        self.assertEqual((test_driver.HOST, self.port_start),
                         (info.host, info.port))
        check = self.console_api().validate_console_port
        self.assertIs(True, check(ALICE, uuid, test_driver.HOST,
                                  self.port_start, 'serial'))
        self.assertIs(False, check(ALICE, uuid, test_driver.HOST,
                                   self.port_start + 1, 'serial'))
        self.assertIs(False, check(ALICE, uuid, '127.0.0.2',
                                   self.port_start, 'serial'))
        self.assertEqual(b'', self.api.get_console_output(ALICE, uuid))

    def test_hard_reboot_and_delete(self):
        uuid = self._boot()
        self.assertTrue(os.path.isdir(self.driver.instance_dir(
            objects.Instance(uuid=uuid))))
        token = self.api.get_serial_console(ALICE, uuid)['url'].split(
            'token=')[1]
        self.api.reboot(ALICE, uuid, 'HARD')
        self.assertRaises(exception.InvalidToken, tokens.validate, token)
        self.assertTrue(self.wait_for_tasks(30))
        self.assertEqual('active', self.api.get(ALICE, uuid)['vm_state'])
        self.api.delete(ALICE, uuid)
        self.assertTrue(self.wait_for_tasks(30))
        self.assertRaises(exception.InstanceNotFound, self.api.get, ALICE,
                          uuid)
        instance = objects.Instance(uuid=uuid)
        self.assertFalse(self.driver.instance_exists(instance))
        self.assertFalse(os.path.exists(self.driver.instance_dir(instance)))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_driver_error_reaches_the_server(self):
        self.flags(port_range='%d:%d' % (self.port_start, self.port_start),
                   group='serial_console')
        serial.acquire_port(test_driver.HOST)  # the only port, taken
        server = self.api.create(ALICE, 'vm', self.image['id'], '1')
        self.assertTrue(self.wait_for_tasks(30))
        server = self.api.get(ALICE, server['uuid'])
        self.assertEqual('error', server['vm_state'])
        self.assertIn('No free tcp port left', server['fault'])
        self.assertRaises(libvirt.libvirtError, self.conn.lookupByUUIDString,
                          server['uuid'])
