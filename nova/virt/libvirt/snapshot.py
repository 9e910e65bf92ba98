"""A guest's disk saved as an image, and a disk made again from one
(shelve and unshelve; see nova.conductor.shelve).

Saving: the guest is stopped first (its disk no longer changes); the
disk is checked to be our own qcow2 overlay of its image before
qemu-img opens it (disk_check: a planted header naming another backing
file would otherwise be copied into the image), then flattened with
``qemu-img convert`` into one standalone qcow2 (overlay and image
merged, no backing file: the image does not depend on any host's image
cache), and uploaded through the image API (Glance as the caller, or
the local catalog). The work file lives in ``<instances_path>/_snapshots``
(the instances file system has the room; never the instance folder,
which others write); Glance's copy is the only one kept, while the
local catalog keeps that file as the image.

Making a disk again: the saved image is fetched like any other (Glance's
hash checked, qemu-img info: qcow2, no backing or data file), and
converted into a qcow2 overlay of the server's ORIGINAL image
(``qemu-img convert -B``): the result reads exactly as the saved disk,
and is what the driver makes for every server, so every later start
checks it the same way (disk_check) and a hard reboot or a rebuild
knows its backing file from the server's own image.
"""

import os
import subprocess
import tempfile

from oslo_concurrency import processutils
from oslo_log import log as logging

from nova import exception
from nova.image import local as local_images
from nova.virt import images
from nova.virt.libvirt import disk_check

LOG = logging.getLogger(__name__)

SNAPSHOT_DIR = local_images.SNAPSHOT_DIR
# Converting a disk reads and writes all of it: minutes for a big one.
CONVERT_TIMEOUT = 3600


def snapshot_dir(conf):
    """``<instances_path>/_snapshots``, made 0700 if missing; never a
    link."""
    path = os.path.join(conf.instances_path, SNAPSHOT_DIR)
    os.makedirs(conf.instances_path, mode=0o755, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    if os.path.islink(path) or not os.path.isdir(path):
        raise exception.InstanceFileUnsafe(
            path=path, reason='not a folder (a link is never followed)')
    return path


def _qemu_img(*args, what):
    try:
        processutils.execute('qemu-img', *args, timeout=CONVERT_TIMEOUT)
    except (processutils.ProcessExecutionError, subprocess.TimeoutExpired,
            OSError) as e:
        raise exception.SnapshotFailed(reason='%s: %s' % (
            what, (getattr(e, 'stderr', '') or str(e)).strip()[:300]))


def flatten(disk_path, files, out_path):
    """Write ``disk_path`` (our overlay of ``files.disk``) merged with
    its image into the new standalone qcow2 ``out_path``.

    :raises InstanceFileUnsafe: the disk is not our overlay.
    :raises SnapshotFailed: qemu-img failed (the disk full, ...).
    """
    disk_check.check_disk(disk_path, files.disk, files.disk_format)
    _qemu_img('convert', '-f', 'qcow2', '-O', 'qcow2', disk_path, out_path,
              what='qemu-img convert of %s' % disk_path)


def save_disk(ctx, conf, image_api, instance_uuid, disk_path, files,
              image_id):
    """Flatten the (stopped) guest's disk and upload it as ``image_id``
    (a queued image the compute API made as the caller).

    :raises SnapshotFailed, InstanceFileUnsafe, ImageNotFound,
        GlanceConnectionFailed: nothing was uploaded; no file is left.
    """
    folder = snapshot_dir(conf)
    fd, work = tempfile.mkstemp(dir=folder, prefix='.%s-' % instance_uuid,
                                suffix='.qcow2')
    os.close(fd)
    keep = False
    try:
        flatten(disk_path, files, work)
        if not conf.glance.enabled:
            # The catalog names the file itself: give it its final name.
            final = os.path.join(folder, '%s.qcow2' % image_id)
            os.rename(work, final)
            work = final
        image_api.upload(ctx, image_id, work)
        keep = not conf.glance.enabled
        LOG.info('Disk of %s saved as image %s', instance_uuid, image_id)
    finally:
        if not keep:
            try:
                os.unlink(work)
            except FileNotFoundError:
                pass


def restore_disk(ctx, conf, snapshot_meta, base_files, disk_path):
    """Make ``disk_path`` (missing) from the saved image ``snapshot_meta``
    (ImageMeta): an overlay of ``base_files.disk``, the server's own
    image, reading as the saved disk.

    :raises InstanceBootFailed: the image cannot be fetched or used, or
        qemu-img failed; no disk is left behind.
    """
    try:
        saved = images.boot_files(ctx, conf, snapshot_meta)
        if not saved.disk:
            raise exception.ImageUnacceptable(
                image_id=snapshot_meta.id, reason='it holds no disk')
        # The catalog's file is ours, Glance's was checked when fetched;
        # checked here again, as nothing opens it but through the header.
        problem = images.disk_problem(images.qemu_img_info(saved.disk),
                                      'qcow2')
        if problem:
            raise exception.ImageUnacceptable(image_id=snapshot_meta.id,
                                              reason=problem)
        _qemu_img('convert', '-f', 'qcow2', '-O', 'qcow2',
                  '-B', base_files.disk, '-F', base_files.disk_format,
                  saved.disk, disk_path,
                  what='qemu-img convert of image %s' % snapshot_meta.id)
    except (exception.NovaException, ValueError) as e:
        try:
            os.unlink(disk_path)
        except FileNotFoundError:
            pass
        raise exception.InstanceBootFailed(
            instance_uuid=os.path.basename(os.path.dirname(disk_path)),
            reason='its saved disk %s: %s' % (snapshot_meta.id,
                                              exception.fault_message(e)))
    return saved


def forget_cached(conf, image_id):
    """Drop the image cache's copy of a saved disk once its disk is made
    (the image is deleted next; nothing else boots from it)."""
    if not conf.glance.enabled:
        return
    try:
        os.unlink(images.cache_path(conf, image_id))
    except FileNotFoundError:
        pass
    except OSError as e:
        LOG.warning('Cached copy of image %s not removed: %s', image_id, e)
