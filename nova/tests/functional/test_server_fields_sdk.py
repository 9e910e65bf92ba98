"""openstacksdk creates, updates and rebuilds a server with the fields
Nova's clients send (block_device_mapping_v2 restating the image,
adminPass, metadata, access IPs, diskConfig, scheduler hints, key_name,
availability zone), against a real Keystone and nova-all on the real
hypervisor; the body shows Nova's fields; all_tenants from a member is
403."""

import uuid

import openstack
from openstack import exceptions as sdk_exc

from nova.tests.functional import base
from nova.tests.functional import services
from nova.tests.functional import test_keystone

# What openstackclient's server create sends with --image.
OSC_BDM = [{'uuid': services.IMAGE_ID, 'boot_index': 0,
            'source_type': 'image', 'destination_type': 'local',
            'delete_on_termination': True}]


class ServerFieldsSDKTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        self.clouds = test_keystone._Keystone.ensure()
        authtoken = test_keystone.authtoken_conf(self.clouds)
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type,
            extra_conf={'api': {'auth_strategy': 'keystone'},
                        'keystone_authtoken': authtoken})
        self.addCleanup(self.services.cleanup)
        self.services.start()

    def connect(self, cloud):
        """An SDK connection as ``cloud`` of clouds.yaml, to this test's
        compute API (Keystone's catalog names the default port)."""
        conn = openstack.connection.Connection(
            auth_type='password', auth=dict(self.clouds[cloud]['auth']),
            region_name='RegionOne',
            compute_endpoint_override=self.services.endpoint,
            compute_api_version='2.19')
        self.addCleanup(conn.close)
        return conn

    def test_create_update_rebuild_with_nova_fields(self):
        demo = self.connect('nova-demo')
        pair = demo.compute.create_keypair(name='sdk-key-%s' % uuid.uuid4())
        self.addCleanup(demo.compute.delete_keypair, pair,
                        ignore_missing=True)
        self.assertIn('PRIVATE KEY', pair.private_key)
        self.assertEqual([pair.name], [k.name for k in demo.compute.keypairs()
                                       if k.name == pair.name])

        server = demo.compute.create_server(
            name='sdk-fields', image_id=services.IMAGE_ID, flavor_id='1',
            networks='none', key_name=pair.name,
            metadata={'role': 'console-test'}, admin_password='Sdk-Pass-1',
            access_ipv4='192.0.2.7', access_ipv6='2001:db8::7',
            disk_config='MANUAL', block_device_mapping=OSC_BDM,
            availability_zone='nova', description='made by the SDK',
            scheduler_hints={'different_host': [str(uuid.uuid4())]})
        self.addCleanup(self._delete, demo, server.id)
        self.assertEqual('Sdk-Pass-1', server.admin_password)
        server = demo.compute.wait_for_server(server, wait=120)
        self.assertEqual(
            ('ACTIVE', pair.name, {'role': 'console-test'}, '192.0.2.7',
             '2001:db8::7', 'MANUAL', 'nova', 'active', 1,
             'made by the SDK'),
            (server.status, server.key_name, server.metadata,
             server.access_ipv4, server.access_ipv6, server.disk_config,
             server.availability_zone, server.vm_state,
             server.power_state, server.description))
        self.assertIsNotNone(server.launched_at)
        self.assertIsNone(server.terminated_at)

        server = demo.compute.update_server(server, name='sdk-renamed',
                                            access_ipv4='192.0.2.8')
        self.assertEqual(('sdk-renamed', '192.0.2.8'),
                         (server.name, server.access_ipv4))

        rebuilt = demo.compute.rebuild_server(
            server, image=services.IMAGE_ID, name='sdk-rebuilt',
            admin_password='Sdk-Pass-2', metadata={'round': '2'})
        self.assertEqual('Sdk-Pass-2', rebuilt.admin_password)
        server = demo.compute.wait_for_server(
            demo.compute.get_server(server.id), wait=120)
        self.assertEqual(('sdk-rebuilt', {'round': '2'}, 1),
                         (server.name, server.metadata, server.power_state))

        # A member asking for every project's servers: 403, as Nova.
        self.assertRaises(sdk_exc.ForbiddenException, list,
                          demo.compute.servers(all_projects=True))
        admin = self.connect('nova-admin')
        self.assertIn(server.id, [s.id for s in admin.compute.servers(
            all_projects=True)])

    def test_what_cannot_be_done_is_a_clear_400(self):
        demo = self.connect('nova-demo')
        volume = [{'uuid': services.IMAGE_ID, 'boot_index': 0,
                   'source_type': 'volume', 'destination_type': 'volume'}]
        e = self.assertRaises(
            sdk_exc.BadRequestException, demo.compute.create_server,
            name='bad', image_id=services.IMAGE_ID, flavor_id='1',
            networks='none', block_device_mapping=volume)
        self.assertIn('block_device_mapping_v2', str(e))
        self.assertIn('no volume service', str(e))
        self.assertEqual([], list(demo.compute.servers()))

    def _delete(self, conn, server_id):
        server = conn.compute.find_server(server_id, ignore_missing=True)
        if server is not None:
            conn.compute.delete_server(server)
            conn.compute.wait_for_delete(server, wait=120)
