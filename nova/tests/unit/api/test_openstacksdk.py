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
        # (method, path, requested microversion) of each request.
        self.requests = []
        application = app.build_app(self.compute)

        def recording(environ, start_response):
            self.requests.append((
                environ['REQUEST_METHOD'], environ['PATH_INFO'],
                environ.get('HTTP_OPENSTACK_API_VERSION')))
            return application(environ, start_response)

        server = cmd_api.make_server(recording, '127.0.0.1', 0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.stop)
        self.endpoint = 'http://127.0.0.1:%d/v2.1' % server.port
        self.conn = self.connect('demo:demo')

    def connect(self, token, version=None):
        kwargs = {}
        if version is not None:
            kwargs['compute_api_version'] = version
        conn = openstack.connection.Connection(
            auth_type='admin_token',
            auth={'endpoint': self.endpoint, 'token': token}, **kwargs)
        self.addCleanup(conn.close)
        return conn

    def sent(self, method, path):
        """The microversions of the requests for ``method`` ``path``."""
        return [version for m, p, version in self.requests
                if (m, p) == (method, path)]

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

    def test_console_viewer_through_the_sdk_adapter(self):
        # openstacksdk has no resource for it: the documented way is the
        # compute proxy's own HTTP methods.
        server = self.compute.add_server()
        response = self.conn.compute.post(
            '/servers/%s/console-viewers' % server['uuid'],
            json={'console_viewer': {}})
        self.assertEqual(200, response.status_code)
        sdk_exceptions.raise_from_response(response)  # nothing to raise
        viewer = response.json()['console_viewer']
        self.assertEqual(('serial', 'serial-readonly'),
                         (viewer['protocol'], viewer['type']))
        self.assertTrue(viewer['url'].startswith('ws://127.0.0.1:6083/'))
        self.assertTrue(viewer['web_url'].startswith(
            'http://127.0.0.1:6083/console.html?token='))
        # Errors come back as responses, as the user guide says.
        response = self.conn.compute.post(
            '/servers/nope/console-viewers', json={'console_viewer': {}})
        self.assertEqual(404, response.status_code)
        self.assertIn('itemNotFound', response.json())
        self.assertRaises(sdk_exceptions.NotFoundException,
                          sdk_exceptions.raise_from_response, response)
        response = self.conn.compute.post(
            '/servers/%s/console-viewers' % server['uuid'],
            json={'console_viewer': {'x': 1}})
        e = self.assertRaises(sdk_exceptions.BadRequestException,
                              sdk_exceptions.raise_from_response, response)
        self.assertIn('console_viewer.x', str(e))

    def test_negotiates_the_maximum(self):
        server = self.compute.add_server(description='web')
        found = self.conn.compute.get_server(server['uuid'])
        self.assertEqual(['compute 2.30'],
                         self.sent('GET', '/v2.1/servers/%s'
                                   % server['uuid']))
        self.assertIs(False, found.is_locked)
        self.assertEqual('web', found.description)
        self.assertIsNone(found.compute_host)

    def test_admin_sees_where_servers_run(self):
        server = self.compute.add_server()
        admin = self.connect('admin')
        found = admin.compute.get_server(server['uuid'])
        self.assertEqual('compute-1', found.compute_host)
        self.assertEqual('compute-1.example.org', found.hypervisor_hostname)
        self.assertEqual('instance-%s' % server['uuid'], found.instance_name)
        self.assertEqual('UP', found.host_status)

    def test_live_migrate(self):
        server = self.compute.add_server()
        admin = self.connect('admin')
        admin.compute.live_migrate_server(server['uuid'])
        self.assertEqual(('live_migrate', server['uuid'], None, 'auto'),
                         self.compute.calls[-1])
        path = '/v2.1/servers/%s/action' % server['uuid']
        self.assertEqual(['compute 2.30'], self.sent('POST', path))
        self.assertEqual(False, self.compute.forced[-1])
        self.compute.finish_live_migration(server['uuid'])
        self.assertEqual('compute-2',
                         admin.compute.get_server(server['uuid']).compute_host)

        # With a host: at 2.30 the sdk sends force as given (true: the
        # host bypasses the scheduler), and block_migration as given.
        admin.compute.live_migrate_server(server['uuid'], host='compute-1',
                                          force=True, block_migration=False)
        self.assertEqual(('live_migrate', server['uuid'], 'compute-1', False),
                         self.compute.calls[-1])
        self.assertEqual(True, self.compute.forced[-1])

    def test_live_migrate_to_a_host_as_osc_does(self):
        # openstack server migrate --live-migration --host compute-2:
        # OSC needs 2.30 and calls the sdk with the host, no force.
        server = self.compute.add_server()
        admin = self.connect('admin', version='2.30')
        admin.compute.live_migrate_server(server['uuid'], host='compute-2',
                                          block_migration='auto')
        self.assertEqual(('live_migrate', server['uuid'], 'compute-2',
                          'auto'), self.compute.calls[-1])
        self.assertEqual(False, self.compute.forced[-1])
        path = '/v2.1/servers/%s/action' % server['uuid']
        self.assertEqual(['compute 2.30'], self.sent('POST', path))

    def test_live_migrate_from_pinned_clients(self):
        server = self.compute.add_server()
        path = '/v2.1/servers/%s/action' % server['uuid']
        # Pinned to 2.25: the 2.25 body.
        admin = self.connect('admin', version='2.25')
        admin.compute.live_migrate_server(server['uuid'],
                                          block_migration=True)
        self.assertEqual(('live_migrate', server['uuid'], None, True),
                         self.compute.calls[-1])
        self.assertEqual(['compute 2.25'], self.sent('POST', path))
        # Pinned below 2.25: the old body, with disk_over_commit.
        self.compute.servers[server['uuid']]['status'] = 'ACTIVE'
        self.compute.servers[server['uuid']]['task_state'] = None
        admin = self.connect('admin', version='2.20')
        admin.compute.live_migrate_server(server['uuid'])
        self.assertEqual(('live_migrate', server['uuid'], None, False),
                         self.compute.calls[-1])
        self.assertEqual(['compute 2.25', 'compute 2.20'],
                         self.sent('POST', path))
        # Pinned above our maximum: the sdk reads it and refuses.
        admin = self.connect('admin', version='2.31')
        e = self.assertRaises(
            sdk_exceptions.ConfigException,
            lambda: admin.compute.live_migrate_server(server['uuid']))
        self.assertIn('maximum of 2.30', str(e))

    def test_live_migrate_errors(self):
        server = self.compute.add_server()
        admin = self.connect('admin')
        e = self.assertRaises(sdk_exceptions.BadRequestException,
                              admin.compute.live_migrate_server,
                              server['uuid'], host='compute-9', force=True)
        self.assertIn('Compute host compute-9 could not be found',
                      str(e))
        self.assertRaises(sdk_exceptions.ForbiddenException,
                          self.conn.compute.live_migrate_server,
                          server['uuid'])

    def test_services(self):
        admin = self.connect('admin')
        services = list(admin.compute.services())
        self.assertEqual(
            [('nova-compute', 'compute-1', 'up', 'enabled', 'nova', False),
             ('nova-compute', 'compute-2', 'up', 'enabled', 'nova', False)],
            [(s.binary, s.host, s.state, s.status, s.availability_zone,
              s.is_forced_down) for s in services])
        self.assertEqual(
            ['compute-2'],
            [s.host for s in admin.compute.services(host='compute-2')])
        self.assertRaises(sdk_exceptions.ForbiddenException, list,
                          self.conn.compute.services())

    def test_hypervisors(self):
        admin = self.connect('admin')
        names = [h.name for h in admin.compute.hypervisors()]
        self.assertEqual(['compute-1.example.org', 'compute-2.example.org'],
                         names)
        detailed = list(admin.compute.hypervisors(details=True))
        self.assertEqual([8, 4], [h.vcpus for h in detailed])
        # This project's facts are in its own extension, not in Nova's
        # bodies.
        raw = admin.compute.get('/os-hypervisors/detail').json()
        self.assertNotIn('virtlogd', raw['hypervisors'][0])
        raw = admin.compute.get('/os-hypervisors/serial-console-facts').json()
        self.assertEqual(
            [(True, 'virtlogd'), (False, 'file')],
            [(h['virtlogd'], h['console_log'])
             for h in raw['serial_console_facts']])
        hypervisor = admin.compute.get_hypervisor(2)
        self.assertEqual(('compute-2.example.org', 'up', 'enabled', 'QEMU'),
                         (hypervisor.name, hypervisor.state,
                          hypervisor.status, hypervisor.hypervisor_type))
        self.assertEqual('compute-2', hypervisor.service_details['host'])
        # By name: the id lookup is a 404, then the sdk searches the list.
        found = admin.compute.find_hypervisor('compute-1.example.org')
        self.assertEqual(1, found.id)
        self.assertRaises(sdk_exceptions.ForbiddenException, list,
                          self.conn.compute.hypervisors())
