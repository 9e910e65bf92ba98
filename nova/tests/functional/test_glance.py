"""nova-all with a real Glance and a real Keystone: images uploaded with
``openstack image create``, fetched by the compute host into its image
cache, guests booted from them on the real hypervisor.

tools/setup-glance.sh sets Glance up (it runs tools/setup-keystone.sh
first); the compute API is called over HTTP with real tokens.
"""

import os
import subprocess
import time

import libvirt

from nova.tests.functional import base
from nova.tests.functional import services
from nova.tests.functional import test_keystone

BANNER = 'NOVA-GUEST-BANNER'


class GlanceServicesTestCase(test_keystone.KeystoneCalls,
                             base.FunctionalTestCase):
    """KeystoneTestCase's nova-all, with [glance] enabled as well."""

    def setUp(self):
        super().setUp()
        self.clouds = test_keystone._Keystone.ensure()
        authtoken = test_keystone.authtoken_conf(self.clouds)
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type,
            extra_conf={'api': {'auth_strategy': 'keystone'},
                        'keystone_authtoken': authtoken,
                        'glance': services.glance_conf(
                            self.clouds['nova-service'])})
        self.addCleanup(self.services.cleanup)
        self.services.start()
        self.images = services.GlanceImages.ensure(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline)
        self.demo = self.token('nova-demo')
        self.base = os.path.join(self.services.workdir, 'instances',
                                 '_base')

    def create(self, image_id, name='gl'):
        status, body = self.request(self.demo, 'POST', '/servers', {
            'server': {'name': name, 'imageRef': image_id,
                       'flavorRef': '1'}})
        self.assertEqual(202, status, body)
        server_id = body['server']['id']
        self.addCleanup(self.request, self.demo, 'DELETE',
                        '/servers/%s' % server_id)
        return server_id

    def wait_error(self, server_id, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.request(self.demo, 'GET',
                                        '/servers/%s' % server_id)
            self.assertEqual(200, status, body)
            if body['server']['status'] == 'ERROR':
                return body['server']
            self.assertNotEqual('ACTIVE', body['server']['status'])
            time.sleep(0.5)
        self.fail('server %s not ERROR within %d s' % (server_id, timeout))

    def domain_xml(self, server_id):
        conn = libvirt.open('qemu:///system')
        try:
            return conn.lookupByUUIDString(server_id).XMLDesc(0)
        finally:
            conn.close()

    def cached(self):
        return sorted(n for n in os.listdir(self.base)
                      if not n.startswith(('.', 'nova-image-')))

    def test_kernel_and_ramdisk_images(self):
        server_id = self.create(self.images['guest'])
        self.wait_active(self.demo, server_id)
        self.wait_output(self.demo, server_id, BANNER)
        xml = self.domain_xml(server_id)
        # Booted from the files this host fetched into _base, no others.
        self.assertIn('<kernel>%s/' % self.base, xml)
        self.assertIn('<initrd>%s/' % self.base, xml)
        self.assertNotIn(self.stack.kernel, xml)
        self.assertEqual(2, len(self.cached()))
        with open(self.stack.kernel, 'rb') as a, open(
                os.path.join(self.base, self.cached()[0]), 'rb') as b:
            kernel = a.read()
            self.assertIn(b.read(), (kernel, open(self.stack.initrd,
                                                  'rb').read()))

    def test_disk_image_with_its_kernel(self):
        disk = os.path.join(self.services.workdir, 'disk.qcow2')
        subprocess.run(['qemu-img', 'create', '-f', 'qcow2', disk, '8M'],
                       check=True, capture_output=True)
        image_id = services.GlanceImages.create(
            'func-%d-disk' % os.getpid(), disk, 'qcow2',
            kernel_id=self.images['kernel'],
            ramdisk_id=self.images['ramdisk'],
            os_command_line=self.stack.cmdline)
        server_id = self.create(image_id)
        self.wait_active(self.demo, server_id)
        self.wait_output(self.demo, server_id, BANNER)
        # The guest's own disk is a qcow2 overlay of the cached image.
        out = subprocess.run(
            ['qemu-img', 'info', '--force-share', '--output=json',
             os.path.join(self.services.workdir, 'instances', server_id,
                          'disk')], check=True, capture_output=True,
            text=True).stdout
        self.assertIn('"backing-filename": "%s/' % self.base, out)
        self.assertIn('<source file="%s/%s/disk"' % (
            os.path.join(self.services.workdir, 'instances'), server_id),
            self.domain_xml(server_id).replace("'", '"'))

    def test_hostile_images_refused(self):
        # A qcow2 whose backing file is a host file: Glance 33 inspects
        # uploads of container_format bare and refuses it, but takes it
        # in any other container (nothing inspected). And a qcow2 declared
        # raw: Glance takes it ("pretends" it is raw); a guest would get
        # it as raw, but any tool that probes would read its header. Nova
        # must refuse both itself.
        secret = os.path.join(self.services.workdir, 'secret')
        with open(secret, 'w') as f:
            f.write('the host secret\n')
        hostile = os.path.join(self.services.workdir, 'hostile.qcow2')
        subprocess.run(['qemu-img', 'create', '-f', 'qcow2', '-F', 'raw',
                        '-b', secret, hostile, '1M'], check=True,
                       capture_output=True)
        plain = os.path.join(self.services.workdir, 'plain.qcow2')
        subprocess.run(['qemu-img', 'create', '-f', 'qcow2', plain, '1M'],
                       check=True, capture_output=True)
        tag = 'func-%d-hostile' % os.getpid()
        for path, disk_format, container, reason in (
                (hostile, 'qcow2', 'ovf', 'it has a backing file'),
                (plain, 'raw', 'bare', 'its data is in format qcow2, not '
                                       'the declared raw')):
            image_id = services.GlanceImages.create(
                '%s-%s' % (tag, disk_format), path, disk_format,
                container_format=container)
            server = self.wait_error(self.create(image_id))
            message = server['fault']['message']
            self.assertIn('Image %s is unacceptable: %s' % (image_id, reason),
                          message)
            self.assertNotIn(secret, message)
            self.assertEqual([], self.cached())

    def test_image_proxy_is_backed_by_glance(self):
        status, body = self.request(self.demo, 'GET',
                                    '/images/%s' % self.images['guest'])
        self.assertEqual(200, status, body)
        image = body['image']
        self.assertEqual(('ACTIVE', self.images['kernel'],
                          self.images['ramdisk']),
                         (image['status'], image['metadata']['kernel_id'],
                          image['metadata']['ramdisk_id']))
        status, body = self.request(self.demo, 'GET', '/images')
        self.assertEqual(200, status, body)
        self.assertLessEqual(set(self.images.values()),
                             {i['id'] for i in body['images']})
        status, body = self.request(
            self.demo, 'GET', '/images/00000000-0000-4000-8000-000000000000')
        self.assertEqual(404, status, body)

    # -- t13: the image as the server keeps it --------------------------

    def serial_ports(self, server_id):
        return self.domain_xml(server_id).count("<serial type='tcp'")

    def test_image_serial_ports_kept_across_glance_changes(self):
        # A Glance image that asks for 2 serial ports (flavor 1 says
        # nothing): the guest gets 2, the scheduler claimed 2.
        image_id = services.GlanceImages.create(
            'func-%d-ports' % os.getpid(), os.devnull, 'ami',
            kernel_id=self.images['kernel'],
            ramdisk_id=self.images['ramdisk'],
            os_command_line=self.stack.cmdline, hw_serial_port_count='2')
        server_id = self.create(image_id)
        self.wait_active(self.demo, server_id)
        self.wait_output(self.demo, server_id, BANNER)
        self.assertEqual(2, self.serial_ports(server_id))
        # The image changes in Glance: another port count and a kernel
        # that does not exist. The server keeps what it was made with.
        services.openstack(
            'nova-admin', 'image', 'set', '--property',
            'hw_serial_port_count=1', '--property',
            'kernel_id=00000000-0000-4000-8000-0000000000ff', image_id)
        status, body = self.request(self.demo, 'POST',
                                    '/servers/%s/action' % server_id,
                                    {'reboot': {'type': 'HARD'}})
        self.assertEqual(202, status, body)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, body = self.request(self.demo, 'GET',
                                        '/servers/%s' % server_id)
            if body['server']['status'] != 'HARD_REBOOT':
                break
            time.sleep(0.5)
        self.assertEqual('ACTIVE', body['server']['status'], body)
        self.assertEqual(2, self.serial_ports(server_id))
        self.assertIn('<kernel>%s/' % self.base, self.domain_xml(server_id))

    def test_image_bigger_than_the_flavor_disk_is_refused(self):
        admin = self.token('nova-admin')
        status, body = self.request(admin, 'POST', '/flavors', {
            'flavor': {'name': 'func-disk1-%d' % os.getpid(), 'ram': 128,
                       'vcpus': 1, 'disk': 1}})
        self.assertEqual(200, status, body)
        flavor_id = body['flavor']['id']
        self.addCleanup(self.request, admin, 'DELETE',
                        '/flavors/%s' % flavor_id)
        image = services.openstack(
            'nova-admin', 'image', 'create', '--public', '--disk-format',
            'ami', '--container-format', 'ami', '--file', os.devnull,
            '--min-disk', '2', '--property',
            'kernel_id=%s' % self.images['kernel'], '-f', 'json',
            'func-%d-mindisk' % os.getpid())
        self.addCleanup(services.GlanceImages.delete, image['id'])
        status, body = self.request(self.demo, 'POST', '/servers', {
            'server': {'name': 'big', 'imageRef': image['id'],
                       'flavorRef': flavor_id}})
        self.assertEqual(400, status, body)
        self.assertEqual(
            "Flavor's disk is smaller than the minimum size specified in "
            "image metadata. Flavor disk is 1073741824 bytes, minimum "
            "size is 2147483648 bytes.", body['badRequest']['message'])
