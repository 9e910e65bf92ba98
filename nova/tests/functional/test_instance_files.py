"""Planted files in an instance folder, on real libvirtd/virtlogd/QEMU.

The attack of issue 10: ``<uuid>/console.log`` replaced by a symlink to a
root-only host file. Console output must not return that file's bytes,
and a hard reboot must not let virtlogd append the guest's console to it.
"""

import os
import time

import fixtures

from nova import exception
from nova.tests.functional import base
from nova.tests.functional import test_api

SECRET = b'root-only host file: not for tenants\n'


class PlantedConsoleLogTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        self.secret = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                   'host-secret')
        with open(self.secret, 'wb') as f:
            f.write(SECRET)
        os.chmod(self.secret, 0o600)
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt'))

    def assertSecretUnchanged(self):
        with open(self.secret, 'rb') as f:
            self.assertEqual(SECRET, f.read())

    def test_link_is_refused_for_output_and_hard_reboot(self):
        inst = self.boot()
        self.wait_for_output(inst, base.BANNER)
        path = self.driver.console_log_path(inst)
        os.rename(path, path + '.moved')
        os.symlink(self.secret, path)

        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.get_console_output, None, inst)
        self.assertEqual(409, e.code)
        self.assertIn(path, str(e))
        self.assertNotIn('not for tenants', str(e))
        self.assertNotIn(self.secret, str(e))

        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.reboot, None, inst,
                              reboot_type='HARD')
        self.assertIn(path, str(e))
        self.assertIn('Refusing to use %s' % path, self.logs.output)
        self.assertNotIn(self.secret, self.logs.output)
        # The guest was not touched, and nothing of it reached the file.
        self.assertTrue(self.driver.is_running(inst))
        client = self.shell(self.connect_console(inst))
        self.assertEqual(b'typed-after\n', client.run('echo typed-after'))
        client.close()
        self.assertSecretUnchanged()

        # Once the operator removes the link, everything works again.
        os.unlink(path)
        os.rename(path + '.moved', path)
        self.driver.reboot(None, inst, reboot_type='HARD')
        self.wait_for_output(inst, base.BANNER, count=2)
        self.assertSecretUnchanged()
        self.assertFalse(os.path.islink(path))

    def test_link_in_place_before_boot_is_refused(self):
        inst = self.make_instance()
        inst_dir = self.driver.instance_dir(inst)
        os.mkdir(inst_dir, 0o700)
        os.symlink(self.secret, os.path.join(inst_dir, 'console.log'))
        self.assertRaises(exception.InstanceFileUnsafe, self.boot, inst)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertSecretUnchanged()


class PlantedConsoleLogAPITestCase(test_api.APITestCase):
    """The same attack as a tenant sees it, through nova-all's REST API."""

    def wait_error(self, server, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.services.request(
                'GET', '/servers/%s' % server.id)
            self.assertEqual(200, status, body)
            if body['server']['status'] == 'ERROR':
                return body['server']
            time.sleep(0.5)
        self.fail('server %s not in ERROR within %d s' % (server.id,
                                                          timeout))

    def test_tenant_gets_409_and_a_fault_never_the_file(self):
        secret = os.path.join(self.useFixture(fixtures.TempDir()).path,
                              'host-secret')
        with open(secret, 'wb') as f:
            f.write(SECRET)
        os.chmod(secret, 0o600)
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        path = os.path.join(self.services.workdir, 'instances', server.id,
                            'console.log')
        os.rename(path, path + '.moved')
        os.symlink(secret, path)

        status, body = self.services.request(
            'POST', '/servers/%s/action' % server.id,
            {'os-getConsoleOutput': {}})
        self.assertEqual(409, status, body)
        message = body['conflictingRequest']['message']
        self.assertIn('Refusing to use %s' % path, message)
        self.assertNotIn('not for tenants', str(body))
        self.assertNotIn(secret, str(body))

        self.conn.compute.reboot_server(server, 'HARD')
        fault = self.wait_error(server)['fault']['message']
        self.assertIn('Refusing to use %s' % path, fault)
        self.assertNotIn(secret, fault)
        with open(secret, 'rb') as f:
            self.assertEqual(SECRET, f.read())

        # The operator removes the link; a hard reboot from ERROR works.
        os.unlink(path)
        os.rename(path + '.moved', path)
        self.conn.compute.reboot_server(server, 'HARD')
        server = self.wait_active(server)
        self.wait_output(server, 'NOVA-GUEST-BANNER', count=2)
        with open(secret, 'rb') as f:
            self.assertEqual(SECRET, f.read())
