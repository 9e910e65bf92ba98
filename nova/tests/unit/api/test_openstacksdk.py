"""openstacksdk, unchanged, against the API served by waitress."""

import threading

import fixtures
import openstack
from openstack import exceptions as sdk_exceptions

from nova.api.openstack.compute import app
from nova.cmd import api as cmd_api
from nova import test
from nova.tests.unit.api import fakes


class OpenStackSDKTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.compute = fakes.FakeComputeAPI()
        server = cmd_api.make_server(app.build_app(self.compute),
                                     '127.0.0.1', 0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.stop)
        endpoint = 'http://127.0.0.1:%d/v2.1' % server.port
        self.conn = openstack.connection.Connection(
            auth_type='admin_token',
            auth={'endpoint': endpoint, 'token': 'demo:demo'})
        self.addCleanup(self.conn.close)

    def _activate(self, server_id):
        self.compute.servers[server_id].update(
            status='ACTIVE', task_state=None, host='compute-1')

    def test_flavors_and_images(self):
        self.assertEqual({'m1.tiny', 'm1.small'},
                         {f.name for f in self.conn.compute.flavors()})
        flavor = self.conn.compute.get_flavor('1')
        self.assertEqual((512, 1, 1), (flavor.ram, flavor.vcpus, flavor.disk))
        self.assertEqual(
            {'hw:serial_port_count': '2'},
            self.conn.compute.fetch_flavor_extra_specs('1').extra_specs)
        self.assertEqual({'cirros', 'busybox'},
                         {i.name for i in self.conn.compute.images()})

    def test_server_life_cycle(self):
        compute = self.conn.compute
        server = compute.create_server(name='web', image_id=fakes.IMAGE_ID,
                                       flavor_id='1', networks='none')
        self._activate(server.id)
        server = compute.get_server(server.id)
        self.assertEqual(('web', 'ACTIVE', 'demo'),
                         (server.name, server.status, server.project_id))
        self.assertEqual(server.id, compute.find_server('web').id)

        compute.reboot_server(server, 'HARD')
        self.assertEqual(('reboot', server.id, 'HARD'),
                         self.compute.calls[-1])
        self._activate(server.id)
        rebuilt = compute.rebuild_server(server, image=fakes.OTHER_IMAGE_ID)
        self.assertEqual('REBUILD', rebuilt.status)

        compute.delete_server(server)
        self.assertIsNone(compute.find_server('web'))
        self.assertRaises(sdk_exceptions.NotFoundException,
                          compute.get_server, server.id)

    def test_cloud_layer_create_server(self):
        # The cloud layer adds min_count and max_count.
        server = self.conn.create_server(
            'web', image=fakes.IMAGE_ID, flavor='1', auto_ip=False,
            wait=False)
        self.assertIn(server.id, self.compute.servers)

    def test_consoles(self):
        server = self.compute.add_server()
        self.compute.console_output[server['uuid']] = (
            'boot\nhéllo ✓\r\n'.encode('utf-8'))
        output = self.conn.compute.get_server_console_output(
            server['uuid'], length=1)
        self.assertEqual({'output': 'héllo ✓\n'}, output)
        console = self.conn.compute.create_console(server['uuid'], 'serial')
        self.assertEqual(('serial', 'serial'),
                         (console['protocol'], console['type']))
        self.assertTrue(console['url'].startswith('ws://127.0.0.1:6083/'))
