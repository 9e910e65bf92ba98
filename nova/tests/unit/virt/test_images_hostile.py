"""The image cache against callers and a Glance that are hostile: no
image reaches a caller Glance would not show it to, and a download
never writes more than the image's declared size."""

import hashlib

from nova import context
from nova import exception
from nova import test
from nova.tests.unit.virt import test_images as base
from nova.virt import images

VICTIM_ID = '77777777-7777-4777-8777-777777777777'
KERNEL_ID = base.KERNEL_ID
EVIL_ID = '88888888-8888-4888-8888-888888888888'


class ScopedGlance(base.FakeGlance):
    """Glance where an image with ``owner`` is seen by that project
    only (as Glance's private images)."""

    def get(self, ctx, image_id):
        image = super().get(ctx, image_id)
        owner = image['properties'].get('owner')
        if owner is not None and (ctx is None or
                                  ctx.project_id != owner):
            raise exception.ImageNotFound(image_id=image_id)
        return image

    def download(self, ctx, image_id, write, chunk_size):
        self.get(ctx, image_id)
        return super().download(ctx, image_id, write, chunk_size)


class CachedImageAccessTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='glance')
        self.flags(download_chunk_size=4096, group='glance')
        self.glance = ScopedGlance()
        self.cache = images.ImageCache(self.conf.conf, self.glance)

    def test_cached_private_image_is_not_anothers_ramdisk(self):
        victim = context.RequestContext('v', 'victim', auth_token='tv')
        attacker = context.RequestContext('a', 'attacker', auth_token='ta')
        self.glance.add(VICTIM_ID, b'secret disk' * 100, 'raw',
                        owner='victim')
        self.glance.add(KERNEL_ID, b'kernel', 'aki')
        # The attacker's own image names the victim's as its ramdisk.
        self.glance.add(EVIL_ID, b'', 'ami', kernel_id=KERNEL_ID,
                        ramdisk_id=VICTIM_ID)
        # Not cached yet: Glance refuses the attacker.
        self.assertRaises(exception.ImageNotFound, self.cache.files,
                          attacker, EVIL_ID)
        # The victim boots from it on this host: now it is cached...
        self.cache.files(victim, VICTIM_ID)
        # ...and must still be refused to the attacker.
        self.assertRaises(exception.ImageNotFound, self.cache.files,
                          attacker, EVIL_ID)


class LyingGlance(base.FakeGlance):
    """Sends ``extra`` chunks more than the image's size; records how
    many of them were written."""

    def __init__(self, extra):
        super().__init__()
        self.extra = extra
        self.written = 0

    def download(self, ctx, image_id, write, chunk_size):
        chunk = b'\0' * chunk_size
        for _ in range(self.extra):
            write(chunk)
            self.written += 1


class DownloadBoundTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='glance')
        self.flags(download_chunk_size=4096, num_retries=0, group='glance')

    def test_download_stops_past_the_declared_size(self):
        glance = LyingGlance(extra=256)  # 1 MiB for a 4 KiB image
        data = b'\0' * 4096
        glance.add(base.DISK_ID, data)
        glance.images[base.DISK_ID]['os_hash_value'] = (
            hashlib.sha512(data).hexdigest())
        cache = images.ImageCache(self.conf.conf, glance)
        self.assertRaises(exception.ImageDownloadFailed, cache.fetch,
                          None, base.DISK_ID)
        # The first chunk past the size ends the download.
        self.assertLessEqual(glance.written, 2)
