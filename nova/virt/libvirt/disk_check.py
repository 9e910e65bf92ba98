"""Check a guest's disk before QEMU opens it.

The driver makes each server's ``disk`` itself (LibvirtDriver._create_disk):
a qcow2 overlay whose backing file is the image (``image_meta.disk_path``,
format ``image_meta.disk_format``), and the image has no backing file of
its own. But the instance folder is written by others (a log copy from
another host, anyone who got write access to it), and QEMU opens whatever
a qcow2 header names as its backing file or external data file, as root:
a disk replaced by a qcow2 whose backing file is ``/etc/shadow`` or a host
block device would hand that to the guest.

So before every start ``qemu-img info`` reads the disk's header
(``--force-share`` because the guest may be running while we look; a
time limit and Nova's resource limits for qemu-img) and the disk is
refused unless it is exactly what the driver made: qcow2, backed by the
image by its own path in its own format, no external data file. Only
then is the whole chain read (``--backing-chain``), which opens nothing
but our image, to make sure the image has no backing or data file of its
own. So qemu-img never opens a file, or connects to a server (``json:``
and protocol names such as ``nbd:`` or ``http:``), that a hostile header
names.
"""

import json
import subprocess

from oslo_concurrency import processutils

from nova.virt.libvirt import console_log

# qemu-img only reads headers; a disk that takes longer is itself suspect
# (a fifo, a stalled network file system), and a start must not hang.
QEMU_IMG_TIMEOUT = 30
# The overlay and the image: anything deeper was not made by us.
_CHAIN_LENGTH = 2


def check_disk(path, image_path, image_format):
    """Refuse ``path`` unless it is our qcow2 overlay of ``image_path``.

    :param path: the instance's ``disk`` (it must exist).
    :param image_path: the image it must be backed by (absolute path).
    :param image_format: that image's format (``raw``, ``qcow2`` ...).
    :raises nova.exception.InstanceFileUnsafe: naming ``path``, with what
        was wrong (a warning is logged too).
    """
    # The header alone first: qemu-img info opens no backing file.
    problem = _chain_problem([_info(path)], image_path, image_format)
    if problem:
        console_log.refuse(path, problem)
    problem = _chain_problem(_info(path, '--backing-chain'), image_path,
                             image_format, whole=True)
    if problem:
        console_log.refuse(path, problem)


def header_info(path):
    """qemu-img's dict of ``path``'s own header (no backing file is
    opened); InstanceFileUnsafe when qemu-img cannot read it."""
    return _info(path)


def has_data_file(info):
    """Whether qemu-img's dict names an external data file."""
    return _has_data_file(info)


def _info(path, *opts):
    try:
        out, _err = processutils.execute(
            'qemu-img', 'info', '--output=json', '--force-share', *opts,
            path,
            # As Nova does for qemu-img info on untrusted images: bounded
            # CPU and memory, killed when the time is up.
            prlimit=processutils.ProcessLimits(
                cpu_time=QEMU_IMG_TIMEOUT, address_space=1024 ** 3),
            timeout=QEMU_IMG_TIMEOUT)
        return json.loads(out)
    except (processutils.ProcessExecutionError, subprocess.TimeoutExpired,
            OSError, ValueError) as e:
        reason = (getattr(e, 'stderr', '') or str(e)).strip()
        console_log.refuse(path, 'qemu-img cannot read it: %s' % reason)


def _chain_problem(chain, image_path, image_format, whole=False):
    """What is wrong with ``chain`` (qemu-img's dicts, the disk first);
    None if nothing. ``whole``: the entire backing chain, else the disk's
    own header only."""
    if isinstance(chain, dict):
        chain = [chain]
    if not isinstance(chain, list) or not chain or not all(
            isinstance(info, dict) for info in chain):
        return 'qemu-img gave no information about it'
    disk = chain[0]
    if disk.get('format') != 'qcow2':
        return 'format %s, not a qcow2 overlay' % disk.get('format')
    if _has_data_file(disk):
        return 'it has an external data file'
    if (disk.get('backing-filename') != image_path or
            disk.get('full-backing-filename') not in (None, image_path)):
        # Never name a foreign backing file: it may be a secret's path.
        return 'its backing file is not the image %s' % image_path
    if disk.get('backing-filename-format') != image_format:
        return 'its backing file is not in the image\'s format %s' % (
            image_format)
    if not whole:
        return None
    if len(chain) != _CHAIN_LENGTH:
        return ('its backing chain has %d file(s), not the overlay and '
                'the image %s' % (len(chain), image_path))
    image = chain[1]
    if image.get('filename') != image_path:
        return 'its backing file is not the image %s' % image_path
    if image.get('format') != image_format:
        return 'the image is in format %s, not %s' % (
            image.get('format'), image_format)
    if _has_data_file(image):
        return 'the image has an external data file'
    return None


def _has_data_file(info):
    specific = info.get('format-specific')
    data = specific.get('data') if isinstance(specific, dict) else None
    return isinstance(data, dict) and 'data-file' in data
