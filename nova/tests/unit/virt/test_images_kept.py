"""The image cache boots the image as the instance keeps it (its
kernel_id, ramdisk_id and disk_format since its create or rebuild), and
a later start of a guest (hard reboot, power on) uses the cached files
without asking Glance again."""

import os
from unittest import mock

from nova import exception
from nova.objects import instance as objects
from nova import test
from nova.tests.unit.virt import test_images
from nova.virt import images

KERNEL_ID = test_images.KERNEL_ID
RAMDISK_ID = test_images.RAMDISK_ID
AMI_ID = test_images.AMI_ID
OTHER_KERNEL = '55555555-5555-4555-8555-555555555555'


class CountingGlance(test_images.FakeGlance):
    def __init__(self):
        super().__init__()
        self.gets = []

    def get(self, ctx, image_id):
        self.gets.append(image_id)
        return super().get(ctx, image_id)


class KeptImageTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='glance')
        self.glance = CountingGlance()
        self.glance.add(KERNEL_ID, b'kernel', 'aki')
        self.glance.add(OTHER_KERNEL, b'other kernel', 'aki')
        self.glance.add(RAMDISK_ID, b'initrd', 'ari')
        self.glance.add(AMI_ID, b'', 'ami', kernel_id=KERNEL_ID,
                        ramdisk_id=RAMDISK_ID)
        self.meta = objects.ImageMeta(
            id=AMI_ID, disk_format='ami', properties={
                'kernel_id': KERNEL_ID, 'ramdisk_id': RAMDISK_ID})
        patcher = mock.patch.object(images.image_api, 'API',
                                    return_value=self.glance)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _boot(self, known=False):
        return images.boot_files(None, self.conf.conf, self.meta,
                                 known=known)

    def _read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def test_the_kept_kernel_id_boots_not_glance_s_current_one(self):
        self.glance.images[AMI_ID]['properties']['kernel_id'] = OTHER_KERNEL
        files = self._boot()
        self.assertEqual(b'kernel', self._read(files.kernel))
        self.assertNotIn(OTHER_KERNEL, self.glance.gets)

    def test_a_later_start_asks_glance_nothing(self):
        first = self._boot()
        self.assertEqual({KERNEL_ID, RAMDISK_ID}, set(self.glance.gets))
        self.glance.gets.clear()
        # Even with the images gone from Glance since.
        self.glance.images.clear()
        self.assertEqual(first, self._boot(known=True))
        self.assertEqual([], self.glance.gets)

    def test_a_later_start_fetches_what_left_the_cache(self):
        first = self._boot()
        os.unlink(first.kernel)
        self.glance.gets.clear()
        self.assertEqual(first, self._boot(known=True))
        self.assertEqual([KERNEL_ID], self.glance.gets)
        self.assertEqual(b'kernel', self._read(first.kernel))

    def test_a_first_boot_still_asks_glance_for_cached_files(self):
        # The cache is shared: a cached kernel is no more this caller's
        # than one never fetched.
        self._boot()
        self.glance.gets.clear()
        del self.glance.images[KERNEL_ID]
        self.assertRaises(exception.ImageNotFound, self._boot)
