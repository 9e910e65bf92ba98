"""The files a guest boots from, found by the compute host itself.

A compute host is told only an image's id (``ImageMeta``); it finds the
files here:

* ``[glance] enabled``: downloaded from Glance into the image cache,
  ``<instances_path>/<[image_cache] subdirectory_name>/<sha1 of the id>``,
  as Nova's ``_base``. A download goes to a hidden ``.part`` file, is
  checked against Glance's ``os_hash_algo``/``os_hash_value`` (and size),
  and only then renamed into place, so a cached file is always whole. A
  disk image must also pass ``qemu-img info``: the format qemu-img finds
  is the one Glance declares, and it has neither a backing file nor an
  external data file (a hostile qcow2 naming ``/etc/shadow`` as its
  backing file would hand that file to the guest). Downloads of one image
  are serialised across threads and processes (a lock file per image), so
  two guests booting together fetch it once.
* otherwise: the local catalog (``nova-manage image create``), the
  image's files by its id from the database (one-host cloud).
* in the compute's own process, an ``ImageMeta`` built with paths
  (``local_files``, never serialized): those.

An image with ``kernel_id`` (and ``ramdisk_id``) in its properties, as
Nova's, boots that kernel and initrd directly; when the image itself is
a disk (``raw`` or ``qcow2``; not ``ami``, whose data is not used here)
it is also the guest's disk. Any other image is the backing file of the
guest's own qcow2 disk, booted from.
"""

import collections
import errno
import glob
import hashlib
import json
import os
import stat
import subprocess
import tempfile

from oslo_concurrency import lockutils
from oslo_concurrency import processutils
from oslo_log import log as logging

from nova import exception
from nova import image as image_api

LOG = logging.getLogger(__name__)

# Formats a guest disk may be in: what qemu-img must find, too.
DISK_FORMATS = ('raw', 'qcow2')
QEMU_IMG_TIMEOUT = 30
_PART = '.part-'


class BootFiles(collections.namedtuple(
        'BootFiles', 'kernel ramdisk disk disk_format')):
    """Paths on this host: a kernel (+ ramdisk), or a disk image and its
    format; the others None."""


def cache_dir(conf):
    return os.path.join(conf.instances_path,
                        conf.image_cache.subdirectory_name)


def cache_path(conf, image_id):
    """Where image ``image_id`` is cached (its id hashed: any id is a
    safe file name)."""
    name = hashlib.sha1(image_id.encode('utf-8')).hexdigest()
    return os.path.join(cache_dir(conf), name)


def boot_files(ctx, conf, image_meta, fetch=True, known=False):
    """The BootFiles of ``image_meta`` on this host.

    The image's ``kernel_id``, ``ramdisk_id`` and ``disk_format`` are
    those of ``image_meta``: the image as the instance keeps it since
    its create or rebuild (as Nova's system metadata), never Glance's
    current ones.

    :param fetch: False to name the cached files only (nothing is
        fetched nor asked).
    :param known: the guest booted from these files before (hard
        reboot, power on): a file already in the cache is used without
        asking Glance again; one missing is fetched as at a first boot.
    :raises ImageNotFound: no such image (or not for this caller).
    :raises ImageUnacceptable: the image cannot boot a guest here (its
        format, a backing file, no data, not active).
    :raises ImageDownloadFailed: the download failed every time.
    :raises GlanceConnectionFailed: Glance could not be asked.
    """
    local = getattr(image_meta, 'local_files', None)
    if local is not None:
        return BootFiles(local.kernel, local.ramdisk,
                         None if local.kernel else local.disk,
                         image_meta.disk_format)
    if not conf.glance.enabled:
        return _catalog_files(image_meta.id)
    props = image_meta.properties
    if not fetch:
        disk = fmt = None
        if image_meta.disk_format in DISK_FORMATS:
            disk, fmt = cache_path(conf, image_meta.id), image_meta.disk_format
        if props.get('kernel_id'):
            return BootFiles(
                cache_path(conf, props['kernel_id']),
                (cache_path(conf, props['ramdisk_id'])
                 if props.get('ramdisk_id') else None), disk, fmt)
        return BootFiles(None, None, cache_path(conf, image_meta.id),
                         image_meta.disk_format)
    return ImageCache(conf).files(ctx, image_meta.id, image_meta=image_meta,
                                  known=known)


def _catalog_files(image_id):
    from nova.db import api as db  # the local catalog only
    row = db.image_get(image_id) if isinstance(image_id, str) else None
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    if row['kernel_path']:
        return BootFiles(row['kernel_path'], row['ramdisk_path'], None, None)
    return BootFiles(None, None, row['disk_path'], row['disk_format'])


def qemu_img_info(path):
    """``qemu-img info`` of ``path`` as a dict (the format probed, not
    given), with Nova's limits for untrusted images; ImageUnacceptable
    when qemu-img cannot read it."""
    try:
        out, _err = processutils.execute(
            'qemu-img', 'info', '--output=json', path,
            prlimit=processutils.ProcessLimits(
                cpu_time=QEMU_IMG_TIMEOUT, address_space=1024 ** 3),
            timeout=QEMU_IMG_TIMEOUT)
        info = json.loads(out)
    except (processutils.ProcessExecutionError, subprocess.TimeoutExpired,
            OSError, ValueError) as e:
        raise ValueError('qemu-img cannot read it: %s' % (
            (getattr(e, 'stderr', '') or str(e)).strip()[:300]))
    if not isinstance(info, dict):
        raise ValueError('qemu-img gave no information about it')
    return info


def disk_problem(info, disk_format):
    """What makes qemu-img's ``info`` unfit for a guest disk declared
    ``disk_format``; None if nothing."""
    found = info.get('format')
    if found != disk_format:
        return 'its data is in format %s, not the declared %s' % (
            found, disk_format)
    if info.get('backing-filename') or info.get('full-backing-filename'):
        # Never repeat the name: it may be a secret's path.
        return 'it has a backing file'
    specific = info.get('format-specific')
    data = specific.get('data') if isinstance(specific, dict) else None
    if isinstance(data, dict) and 'data-file' in data:
        return 'it has an external data file'
    return None


class ImageCache:
    """Glance's images on this host (see the module's docstring)."""

    def __init__(self, conf, api=None):
        self._conf = conf
        self._api = api or image_api.API(conf)

    def files(self, ctx, image_id, image_meta=None, known=False):
        """The BootFiles of Glance image ``image_id``, fetched if need be.

        ``image_meta``: the image as the instance keeps it (its kernel_id,
        ramdisk_id and disk_format are used; Glance is asked only for
        what it downloads and for the caller's right to read it); None:
        Glance's image as it is now. ``known``: see :func:`boot_files`.
        """
        if image_meta is None:
            image = self._api.get(ctx, image_id)
            props, disk_format = image['properties'], image.get('disk_format')
        else:
            image = None
            props = image_meta.properties
            disk_format = image_meta.disk_format
        if props.get('kernel_id'):
            kernel = self.fetch(ctx, props['kernel_id'], known=known)
            ramdisk = (self.fetch(ctx, props['ramdisk_id'], known=known)
                       if props.get('ramdisk_id') else None)
            if disk_format not in DISK_FORMATS:
                return BootFiles(kernel, ramdisk, None, None)
            # A disk image with its own kernel (as Nova boots it): the
            # kernel boots, the image is the guest's disk.
            disk = self.fetch(ctx, image_id, image=image,
                              disk_format=disk_format, known=known)
            return BootFiles(kernel, ramdisk, disk, disk_format)
        if disk_format not in DISK_FORMATS:
            raise exception.ImageUnacceptable(
                image_id=image_id,
                reason='disk format %s cannot boot here (%s only; a kernel '
                       'image needs the property kernel_id)' % (
                           disk_format, ', '.join(DISK_FORMATS)))
        path = self.fetch(ctx, image_id, image=image, disk_format=disk_format,
                          known=known)
        return BootFiles(None, None, path, disk_format)

    def _base(self):
        base = cache_dir(self._conf)
        try:
            os.mkdir(base, 0o755)
        except FileExistsError:
            pass
        st = os.lstat(base)
        if not stat.S_ISDIR(st.st_mode):
            raise exception.ImageDownloadFailed(
                image_id='-', reason='the image cache %s is not a folder '
                '(a link or a file is never followed)' % base)
        return base

    def fetch(self, ctx, image_id, image=None, disk_format=None,
              known=False):
        """The cached file of ``image_id``; downloaded when missing.

        :param image: its dict, when the caller already read it.
        :param disk_format: for a disk image, the format qemu-img must
            find (and no backing or data file).
        :param known: the guest asking booted from this file before: a
            cached file is used without asking Glance.
        """
        base = self._base()
        path = cache_path(self._conf, image_id)
        if known and image is None and self._cached(path):
            # Glance said at the guest's first boot that its owner may
            # read it; its cached file is whole (renamed in once done).
            return path
        # Asked of Glance with the caller's token even when the file is
        # cached: the cache is shared by every project's guests, and a
        # cached image is no more the caller's than one never fetched
        # (a kernel_id or ramdisk_id may name anyone's image).
        image = image or self._api.get(ctx, image_id)
        name = os.path.basename(path)
        with lockutils.lock(name, lock_file_prefix='nova-image-',
                            external=True, lock_path=base):
            if self._cached(path):
                return path
            for stale in glob.glob(os.path.join(base, '.' + name + _PART +
                                                '*')):
                # A download a crash cut off (we hold the lock).
                _unlink(stale)
            algo, digest = self._hash_of(image_id, image)
            attempts = self._conf.glance.num_retries + 1
            for attempt in range(1, attempts + 1):
                try:
                    self._download(ctx, image_id, image, base, name, path,
                                   algo, digest, disk_format)
                    LOG.info('Image %s cached in %s', image_id, path)
                    return path
                except exception.ImageDownloadFailed as e:
                    LOG.warning('Download %d/%d of image %s failed: %s',
                                attempt, attempts, image_id, e)
                    if attempt == attempts:
                        raise

    @staticmethod
    def _cached(path):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return False
        if stat.S_ISREG(st.st_mode):
            return True
        # Not what we write (a link, a fifo...): never used, replaced.
        LOG.warning('%s in the image cache is no regular file: removed',
                    path)
        _unlink(path)
        return False

    @staticmethod
    def _hash_of(image_id, image):
        if image.get('status') != 'active':
            raise exception.ImageUnacceptable(
                image_id=image_id,
                reason='its status is %s, not active' % image.get('status'))
        algo, digest = image.get('os_hash_algo'), image.get('os_hash_value')
        if not algo or not digest:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason='Glance gives no hash of its data '
                '(os_hash_algo, os_hash_value)')
        if algo not in hashlib.algorithms_available:
            raise exception.ImageUnacceptable(
                image_id=image_id, reason='unknown hash algorithm %r' % algo)
        return algo, str(digest).lower()

    def _download(self, ctx, image_id, image, base, name, path, algo,
                  digest, disk_format):
        fd, part = tempfile.mkstemp(dir=base, prefix='.' + name + _PART)
        try:
            hasher = hashlib.new(algo)
            size = 0
            declared = image.get('size')
            with os.fdopen(fd, 'wb') as f:
                def write(chunk):
                    nonlocal size
                    size += len(chunk)
                    if declared is not None and size > declared:
                        # Stopped at once: the data can only be refused,
                        # and a Glance that never stops would fill the
                        # host's disk.
                        raise exception.ImageDownloadFailed(
                            image_id=image_id, reason='more than the %s '
                            'bytes Glance says it has' % declared)
                    hasher.update(chunk)
                    f.write(chunk)
                self._api.download(ctx, image_id, write,
                                   self._conf.glance.download_chunk_size)
                f.flush()
                os.fsync(f.fileno())
            if hasher.hexdigest() != digest:
                raise exception.ImageDownloadFailed(
                    image_id=image_id, reason='its data does not match '
                    'the %s hash Glance gives (%d bytes read)' % (algo, size))
            if image.get('size') is not None and size != image['size']:
                raise exception.ImageDownloadFailed(
                    image_id=image_id, reason='%d bytes read, Glance says '
                    '%s' % (size, image['size']))
            if disk_format is not None:
                try:
                    problem = disk_problem(qemu_img_info(part), disk_format)
                except ValueError as e:
                    problem = str(e)
                if problem:
                    raise exception.ImageUnacceptable(image_id=image_id,
                                                      reason=problem)
            os.chmod(part, 0o644)
            os.rename(part, path)
        finally:
            _unlink(part)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
