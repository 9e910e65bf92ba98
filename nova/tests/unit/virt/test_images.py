"""The compute host's image cache (nova.virt.images), with a fake Glance
and the real qemu-img."""

import hashlib
import os
import subprocess
import threading

from nova import exception
from nova.objects import instance as objects
from nova import test
from nova.virt import images

KERNEL_ID = '11111111-1111-4111-8111-111111111111'
RAMDISK_ID = '22222222-2222-4222-8222-222222222222'
DISK_ID = '33333333-3333-4333-8333-333333333333'
AMI_ID = '44444444-4444-4444-8444-444444444444'


class FakeGlance:
    """Images by id: {'data': bytes, ...Glance keys}; ``corrupt`` counts
    downloads whose data is changed on the way, ``cut`` downloads that
    break off after their first chunk."""

    def __init__(self):
        self.images = {}
        self.downloads = []
        self.corrupt = 0
        self.cut = 0
        self.gate = None  # an Event every download waits for
        self.lock = threading.Lock()

    def add(self, image_id, data, disk_format='raw', **props):
        self.images[image_id] = {
            'id': image_id, 'name': image_id[:4], 'status': 'active',
            'disk_format': disk_format, 'container_format': 'bare',
            'size': len(data), 'os_hash_algo': 'sha512',
            'os_hash_value': hashlib.sha512(data).hexdigest(),
            'properties': props, 'data': data}

    def get(self, ctx, image_id):
        if image_id not in self.images:
            raise exception.ImageNotFound(image_id=image_id)
        return {k: v for k, v in self.images[image_id].items()
                if k != 'data'}

    def download(self, ctx, image_id, write, chunk_size):
        with self.lock:
            self.downloads.append(image_id)
            corrupt = self.corrupt > 0
            cut = not corrupt and self.cut > 0
            self.corrupt -= corrupt
            self.cut -= cut
        if self.gate is not None:
            self.gate.wait(10)
        data = self.images[image_id]['data']
        if corrupt:
            data = b'X' + data[1:]
        write(data[:chunk_size])
        if cut:
            raise exception.ImageDownloadFailed(image_id=image_id,
                                                reason='connection reset')
        for i in range(chunk_size, len(data), chunk_size):
            write(data[i:i + chunk_size])


def _qemu_img(*args):
    subprocess.run(('qemu-img',) + args, check=True, capture_output=True)


class ImageCacheTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='glance')
        self.flags(download_chunk_size=4096, group='glance')
        self.glance = FakeGlance()
        self.cache = images.ImageCache(self.conf.conf, self.glance)
        self.base = os.path.join(self.instances_path, '_base')

    def _raw(self, size=64 * 1024):
        return os.urandom(size)

    def _file(self, name, data=b''):
        path = os.path.join(self.instances_path, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def _qcow2(self, backing=None):
        path = os.path.join(self.instances_path, 'src.qcow2')
        args = ['create', '-f', 'qcow2']
        if backing:
            args += ['-F', 'raw', '-b', backing]
        _qemu_img(*(args + [path, '1M']))
        with open(path, 'rb') as f:
            return f.read()

    def _files(self):
        """What is in the cache but the lock files (one per image)."""
        return [n for n in os.listdir(self.base)
                if not n.startswith('nova-image-')]

    def _parts(self):
        return [n for n in os.listdir(self.base) if images._PART in n]

    def test_disk_image_fetched_once_into_base(self):
        data = self._raw()
        self.glance.add(DISK_ID, data)
        files = self.cache.files(None, DISK_ID)
        self.assertEqual(images.cache_path(self.conf.conf, DISK_ID),
                         files.disk)
        self.assertEqual(self.base, os.path.dirname(files.disk))
        self.assertEqual('raw', files.disk_format)
        with open(files.disk, 'rb') as f:
            self.assertEqual(data, f.read())
        self.assertEqual(0o644, os.stat(files.disk).st_mode & 0o777)
        self.cache.files(None, DISK_ID)
        self.assertEqual([DISK_ID], self.glance.downloads)

    def test_kernel_and_ramdisk_by_properties(self):
        self.glance.add(KERNEL_ID, b'kernel', 'aki')
        self.glance.add(RAMDISK_ID, b'initrd', 'ari')
        self.glance.add(AMI_ID, b'', 'ami', kernel_id=KERNEL_ID,
                        ramdisk_id=RAMDISK_ID)
        files = self.cache.files(None, AMI_ID)
        self.assertIsNone(files.disk)
        with open(files.kernel, 'rb') as f:
            self.assertEqual(b'kernel', f.read())
        with open(files.ramdisk, 'rb') as f:
            self.assertEqual(b'initrd', f.read())
        # A later start finds them without asking Glance.
        meta = objects.ImageMeta(id=AMI_ID, disk_format='ami', properties={
            'kernel_id': KERNEL_ID, 'ramdisk_id': RAMDISK_ID})
        self.assertEqual(files, images.boot_files(None, self.conf.conf, meta,
                                                  fetch=False))

    def test_concurrent_fetches_download_once(self):
        self.glance.add(DISK_ID, self._raw())
        self.glance.gate = threading.Event()
        results, errors = [], []

        def boot():
            try:
                results.append(self.cache.files(None, DISK_ID).disk)
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=boot) for _ in range(4)]
        for t in threads:
            t.start()
        self.glance.gate.set()
        for t in threads:
            t.join(30)
        self.assertEqual([], errors)
        self.assertEqual(4, len(results))
        self.assertEqual(1, len(set(results)))
        self.assertEqual([DISK_ID], self.glance.downloads)
        self.assertEqual([], self._parts())

    def test_checksum_mismatch_retried_then_refused(self):
        data = self._raw()
        self.glance.add(DISK_ID, data)
        self.flags(num_retries=1, group='glance')
        self.glance.corrupt = 1
        path = self.cache.files(None, DISK_ID).disk  # the retry is whole
        with open(path, 'rb') as f:
            self.assertEqual(data, f.read())
        os.unlink(path)
        self.glance.corrupt = 5
        e = self.assertRaises(exception.ImageDownloadFailed,
                              self.cache.files, None, DISK_ID)
        self.assertIn('does not match the sha512 hash', str(e))
        self.assertFalse(os.path.exists(path))
        self.assertEqual([], self._parts())
        self.assertEqual(2 + 2, len(self.glance.downloads))

    def test_partial_download_leaves_nothing(self):
        self.glance.add(DISK_ID, self._raw())
        self.flags(num_retries=0, group='glance')
        self.glance.cut = 1
        e = self.assertRaises(exception.ImageDownloadFailed,
                              self.cache.files, None, DISK_ID)
        self.assertIn('connection reset', str(e))
        self.assertEqual([], self._files())
        # A crash's leftover is removed by the next fetch.
        stale = os.path.join(self.base, '.' + os.path.basename(
            images.cache_path(self.conf.conf, DISK_ID)) + images._PART + 'x')
        with open(stale, 'wb') as f:
            f.write(b'half')
        self.cache.files(None, DISK_ID)
        self.assertEqual([], self._parts())

    def test_qcow2_with_backing_file_refused(self):
        secret = self._file('secret', b'password')
        self.glance.add(DISK_ID, self._qcow2(backing=secret), 'qcow2')
        e = self.assertRaises(exception.ImageUnacceptable,
                              self.cache.files, None, DISK_ID)
        self.assertIn('has a backing file', str(e))
        self.assertNotIn(secret, str(e))
        self.assertEqual([], self._files())

    def test_format_other_than_declared_refused(self):
        # A qcow2 header declared raw: the guest would get a raw disk, but
        # a raw image holding a qcow2 header is the probing attack.
        self.glance.add(DISK_ID, self._qcow2(), 'raw')
        e = self.assertRaises(exception.ImageUnacceptable,
                              self.cache.files, None, DISK_ID)
        self.assertIn('format qcow2, not the declared raw', str(e))
        self.glance.add(AMI_ID, self._raw(), 'qcow2')
        e = self.assertRaises(exception.ImageUnacceptable,
                              self.cache.files, None, AMI_ID)
        self.assertIn('format raw, not the declared qcow2', str(e))
        self.assertEqual([], self._files())

    def test_clean_qcow2_accepted(self):
        self.glance.add(DISK_ID, self._qcow2(), 'qcow2')
        self.assertEqual('qcow2', self.cache.files(None, DISK_ID).disk_format)

    def test_unbootable_formats_and_states(self):
        self.glance.add(DISK_ID, b'x', 'iso')
        e = self.assertRaises(exception.ImageUnacceptable,
                              self.cache.files, None, DISK_ID)
        self.assertIn('disk format iso', str(e))
        self.glance.add(AMI_ID, self._raw())
        self.glance.images[AMI_ID]['status'] = 'queued'
        e = self.assertRaises(exception.ImageUnacceptable,
                              self.cache.files, None, AMI_ID)
        self.assertIn('status is queued', str(e))
        self.glance.images[AMI_ID].update(status='active',
                                          os_hash_value=None)
        e = self.assertRaises(exception.ImageUnacceptable,
                              self.cache.files, None, AMI_ID)
        self.assertIn('no hash', str(e))
        self.assertEqual([], self.glance.downloads)

    def test_planted_link_in_cache_never_followed(self):
        data = self._raw()
        self.glance.add(DISK_ID, data)
        os.mkdir(self.base)
        secret = self._file('secret', b'password')
        path = images.cache_path(self.conf.conf, DISK_ID)
        os.symlink(secret, path)
        self.assertEqual(path, self.cache.files(None, DISK_ID).disk)
        self.assertFalse(os.path.islink(path))
        with open(secret, 'rb') as f:
            self.assertEqual(b'password', f.read())

    def test_cache_folder_that_is_a_link_refused(self):
        self.glance.add(DISK_ID, self._raw())
        elsewhere = os.path.join(self.instances_path, 'elsewhere')
        os.mkdir(elsewhere)
        os.symlink(elsewhere, self.base)
        e = self.assertRaises(exception.ImageDownloadFailed,
                              self.cache.files, None, DISK_ID)
        self.assertIn('is not a folder', str(e))
        self.assertEqual([], os.listdir(elsewhere))

    def test_subdirectory_name_option(self):
        self.flags(subdirectory_name='cache', group='image_cache')
        self.glance.add(DISK_ID, self._raw())
        self.assertEqual(os.path.join(self.instances_path, 'cache'),
                         os.path.dirname(self.cache.files(None,
                                                          DISK_ID).disk))


class BootFilesTestCase(test.TestCase):
    def test_in_process_paths(self):
        meta = objects.ImageMeta(kernel_path='/k', ramdisk_path='/r')
        self.assertEqual(images.BootFiles('/k', '/r', None, 'raw'),
                         images.boot_files(None, self.conf.conf, meta))

    def test_glance_image_needs_no_fetch_at_a_later_start(self):
        self.flags(enabled=True, group='glance')
        meta = objects.ImageMeta(id=DISK_ID, disk_format='qcow2')
        self.assertEqual(
            images.BootFiles(None, None, images.cache_path(
                self.conf.conf, DISK_ID), 'qcow2'),
            images.boot_files(None, self.conf.conf, meta, fetch=False))
