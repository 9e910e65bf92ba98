"""The instance's disk is checked with the real qemu-img before every
start: only the driver's own qcow2 overlay of the image is accepted."""

import os
import subprocess

import fixtures

from nova import exception
from nova.objects import instance as objects
from nova import test
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import disk_check


def qemu_img(*args):
    subprocess.run(('qemu-img',) + args, check=True, capture_output=True)


class CheckDiskTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.image = os.path.join(self.dir, 'image.raw')
        qemu_img('create', '-f', 'raw', self.image, '1M')
        self.disk = os.path.join(self.dir, 'disk')
        self.secret = os.path.join(self.dir, 'shadow')
        with open(self.secret, 'wb') as f:
            f.write(b'root:secret-hash:19000::::::\n' * 100)

    def overlay(self, backing, fmt='raw', path=None, *opts):
        qemu_img('create', '-f', 'qcow2', '-F', fmt, '-b', backing,
                 *opts, path or self.disk)

    def assertRefused(self, reason, image=None, image_format='raw'):
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              disk_check.check_disk, self.disk,
                              image or self.image, image_format)
        self.assertEqual(self.disk, e.kwargs['path'])
        self.assertIn(reason, e.kwargs['reason'])
        # Never the path of a foreign backing file.
        self.assertNotIn(self.secret, str(e))
        return e

    def test_our_overlay_is_accepted(self):
        self.overlay(self.image)
        disk_check.check_disk(self.disk, self.image, 'raw')

    def test_qcow2_image_is_accepted(self):
        image = os.path.join(self.dir, 'image.qcow2')
        qemu_img('create', '-f', 'qcow2', image, '1M')
        self.overlay(image, 'qcow2')
        disk_check.check_disk(self.disk, image, 'qcow2')

    def test_host_file_as_backing_is_refused(self):
        self.overlay(self.secret)
        self.assertRefused('backing file is not the image')

    def test_raw_disk_is_refused(self):
        qemu_img('create', '-f', 'raw', self.disk, '1M')
        self.assertRefused('not a qcow2 overlay')

    def test_qcow2_without_backing_is_refused(self):
        qemu_img('create', '-f', 'qcow2', self.disk, '1M')
        self.assertRefused('backing file is not the image')

    def test_deeper_chain_is_refused(self):
        middle = os.path.join(self.dir, 'middle.qcow2')
        self.overlay(self.image, path=middle)
        self.overlay(middle, 'qcow2')
        self.assertRefused('backing file is not the image')

    def test_image_with_its_own_backing_is_refused(self):
        # The "image" named by the overlay is itself an overlay of a host
        # file: the chain is longer than ours.
        fake_image = os.path.join(self.dir, 'image.qcow2')
        self.overlay(self.secret, path=fake_image)
        self.overlay(fake_image, 'qcow2')
        self.assertRefused('backing chain has 3 file', image=fake_image,
                           image_format='qcow2')

    def test_backing_format_other_than_the_image_is_refused(self):
        # Probed as qcow2 an image could name its own backing file.
        qemu_img('create', '-f', 'qcow2', '-u', '-F', 'qcow2', '-b',
                 self.image, self.disk, '1M')
        self.assertRaises(exception.InstanceFileUnsafe,
                          disk_check.check_disk, self.disk, self.image,
                          'raw')

    def test_json_backing_name_is_refused(self):
        name = 'json:{"driver": "raw", "file": {"driver": "file", ' \
               '"filename": "%s"}}' % self.secret
        qemu_img('create', '-f', 'qcow2', '-u', '-F', 'raw', '-b', name,
                 self.disk, '1M')
        self.assertRefused('backing file is not the image')

    def test_protocol_backing_name_is_refused(self):
        qemu_img('create', '-f', 'qcow2', '-u', '-F', 'raw', '-b',
                 'nbd://127.0.0.1:1/x', self.disk, '1M')
        # Refused from the header alone: qemu-img never connects to it.
        self.assertRefused('backing file is not the image')

    def test_external_data_file_is_refused(self):
        qemu_img('create', '-f', 'qcow2', '-F', 'raw', '-b', self.image,
                 '-o', 'data_file=%s' % os.path.join(self.dir, 'data'),
                 self.disk)
        self.assertRefused('external data file')

    def test_unreadable_disk_is_refused(self):
        # Missing, or anything else qemu-img cannot open.
        self.assertRefused('qemu-img cannot read it')


class StartChecksDiskTestCase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.image = os.path.join(self.instances_path, 'image.raw')
        qemu_img('create', '-f', 'raw', self.image, '1M')
        self.inst = objects.Instance()
        self.inst.image_meta = objects.ImageMeta(disk_path=self.image)

    def test_hard_reboot_refuses_a_disk_backed_by_a_host_file(self):
        self._spawn(self.inst)
        disk = self.driver.disk_path(self.inst)
        secret = os.path.join(self.instances_path, 'secret')
        with open(secret, 'wb') as f:
            f.write(b'x' * 4096)
        os.unlink(disk)
        qemu_img('create', '-f', 'qcow2', '-F', 'raw', '-b', secret, disk)
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.reboot, None, self.inst,
                              reboot_type='HARD')
        self.assertEqual(disk, e.kwargs['path'])
        # Refused before the running guest was touched.
        self.assertTrue(self.driver.is_running(self.inst))

    def test_spawn_refuses_a_planted_raw_disk(self):
        os.makedirs(self.driver.instance_dir(self.inst), mode=0o700)
        qemu_img('create', '-f', 'raw', self.driver.disk_path(self.inst),
                 '1M')
        self.assertRaises(exception.InstanceFileUnsafe, self._spawn,
                          self.inst)
        self.assertFalse(self.driver.instance_exists(self.inst))
