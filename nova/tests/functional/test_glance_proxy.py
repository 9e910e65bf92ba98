"""The /images proxy's metadata and DELETE against a real Glance and a
real Keystone (issue 13: tempest's ImagesMetadataTestJSON and
ListImageFiltersTestJSON's clean-up): the caller's own token reaches
Glance, which decides what the caller may change, and its answers come
back with Nova's codes."""

import os

from nova.tests.functional import base
from nova.tests.functional import services
from nova.tests.functional import test_keystone


class GlanceProxyTestCase(test_keystone.KeystoneCalls,
                          base.FunctionalTestCase):
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
        # The admin's public images (setup-glance.sh run here).
        self.public = services.GlanceImages.ensure(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline)
        self.demo = self.token('nova-demo')

    def _own_image(self):
        """A private image of the demo project, as its user makes one."""
        image = services.openstack(
            'nova-demo', 'image', 'create', '--private', '--disk-format',
            'raw', '--container-format', 'bare', '--file', os.devnull,
            '--property', 'os_distro=debian', '-f', 'json',
            'proxy-%d' % os.getpid())
        self.addCleanup(services.GlanceImages.delete, image['id'])
        return image['id']

    def _glance_properties(self, image_id):
        shown = services.openstack('nova-demo', 'image', 'show', image_id,
                                   '-f', 'json')
        return shown.get('properties') or {}

    def test_metadata_and_delete_as_the_owner(self):
        image_id = self._own_image()
        path = '/images/%s/metadata' % image_id
        status, body = self.request(self.demo, 'GET', path)
        self.assertEqual(200, status, body)
        self.assertEqual('debian', body['metadata']['os_distro'])
        status, body = self.request(self.demo, 'POST', path, {
            'metadata': {'os_version': '12', 'architecture': 'x86_64'}})
        self.assertEqual(200, status, body)
        self.assertEqual(('debian', '12', 'x86_64'), tuple(
            body['metadata'][k] for k in ('os_distro', 'os_version',
                                          'architecture')))
        status, body = self.request(self.demo, 'PUT', path + '/os_version',
                                    {'meta': {'os_version': '13'}})
        self.assertEqual((200, {'meta': {'os_version': '13'}}),
                         (status, body))
        status, body = self.request(self.demo, 'DELETE',
                                    path + '/architecture')
        self.assertEqual(204, status, body)
        glance = self._glance_properties(image_id)
        self.assertEqual('13', glance.get('os_version'))
        self.assertNotIn('architecture', glance)
        status, body = self.request(self.demo, 'GET',
                                    path + '/architecture')
        self.assertEqual(404, status, body)
        # PUT replaces the properties the user set.
        status, body = self.request(self.demo, 'PUT', path, {
            'metadata': {'os_distro': 'alpine'}})
        self.assertEqual(200, status, body)
        glance = self._glance_properties(image_id)
        self.assertEqual('alpine', glance.get('os_distro'))
        self.assertNotIn('os_version', glance)
        status, body = self.request(self.demo, 'DELETE',
                                    '/images/%s' % image_id)
        self.assertEqual(204, status, body)
        status, body = self.request(self.demo, 'GET',
                                    '/images/%s' % image_id)
        self.assertEqual(404, status, body)
        status, body = self.request(self.demo, 'DELETE',
                                    '/images/%s' % image_id)
        self.assertEqual(404, status, body)

    def test_another_projects_image_is_glances_403(self):
        image_id = self.public['kernel']
        status, body = self.request(self.demo, 'POST',
                                    '/images/%s/metadata' % image_id,
                                    {'metadata': {'x': 'y'}})
        self.assertEqual(403, status, body)
        status, body = self.request(self.demo, 'DELETE',
                                    '/images/%s' % image_id)
        self.assertEqual(403, status, body)
        # Still there, unchanged.
        status, body = self.request(self.demo, 'GET',
                                    '/images/%s/metadata' % image_id)
        self.assertEqual(200, status, body)
        self.assertNotIn('x', body['metadata'])
