"""An instance folder swapped for a link, and a disk swapped for one
backed by a host file, on real libvirtd/virtlogd/QEMU."""

import os
import subprocess

import fixtures

from nova import exception
from nova.objects import instance as objects
from nova.tests.functional import base

SECRET = b'root-only host file: not for tenants\n'


class FolderAndDiskTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.secret = os.path.join(self.tmp, 'host-secret')
        with open(self.secret, 'wb') as f:
            f.write(SECRET * 100)
        os.chmod(self.secret, 0o600)

    def test_linked_instance_folder_is_refused_for_output(self):
        inst = self.boot()
        self.wait_for_output(inst, base.BANNER)
        elsewhere = os.path.join(self.tmp, 'elsewhere')
        os.mkdir(elsewhere, 0o700)
        with open(os.path.join(elsewhere, 'console.log'), 'wb') as f:
            f.write(SECRET)
        folder = self.driver.instance_dir(inst)
        os.rename(folder, folder + '.moved')
        self.addCleanup(os.rename, folder + '.moved', folder)
        os.symlink(elsewhere, folder)
        self.addCleanup(os.unlink, folder)
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.get_console_output, None, inst)
        self.assertEqual(409, e.code)
        self.assertIn(folder, str(e))
        self.assertNotIn('not for tenants', str(e))

    def test_disk_backed_by_a_host_file_is_refused(self):
        image = os.path.join(self.tmp, 'image.raw')
        subprocess.run(['qemu-img', 'create', '-f', 'raw', image, '1M'],
                       check=True, capture_output=True)
        inst = self.make_instance()
        inst.image_meta = objects.ImageMeta(name='blank-disk',
                                            disk_path=image)
        # No bootable disk: the firmware keeps the guest running anyway.
        self.boot(inst)
        self.assertTrue(self.driver.is_running(inst))
        disk = self.driver.disk_path(inst)
        planted = disk + '.planted'
        subprocess.run(['qemu-img', 'create', '-f', 'qcow2', '-F', 'raw',
                        '-b', self.secret, planted],
                       check=True, capture_output=True)
        os.rename(planted, disk)
        self.flags(wait_soft_reboot_seconds=2, group='libvirt')
        for reboot_type in ('HARD', 'SOFT'):
            e = self.assertRaises(exception.InstanceFileUnsafe,
                                  self.driver.reboot, None, inst,
                                  reboot_type=reboot_type)
            self.assertIn(disk, str(e))
            self.assertNotIn(self.secret, str(e))
        # Refused before the running guest was touched: the soft reboot
        # the firmware ignores falls back to a hard one, refused too.
        self.assertTrue(self.driver.is_running(inst))
