"""The flavor and image catalog of the compute API.

Flavors and images are shared by every project; creating them is for
admins, as an image names files on the compute hosts. Every function
takes the caller's RequestContext; input errors are ValidationError or
Invalid (400), a missing row FlavorNotFound or ImageNotFound (404).
"""

import json
import os
import uuid as uuid_lib

from nova.db import api as db
from nova import exception
from nova import image as image_api
from nova.policies import admin_apis as admin_policies

MAX_NAME_LENGTH = 255
MAX_INT = 2 ** 31 - 1
DISK_FORMATS = ('raw', 'qcow2', 'qed', 'vdi', 'vmdk', 'vhdx')


# -- input checks -------------------------------------------------------------

def bad_input(field, detail):
    return exception.ValidationError(field=field, detail=detail)


def check_string(value, field, max_length=MAX_NAME_LENGTH):
    if (not isinstance(value, str) or not value.strip() or
            len(value) > max_length):
        raise bad_input(field, 'must be a non-blank string of at most '
                               '%d characters' % max_length)
    return value


def check_description(value):
    """Any string of at most 255 characters, empty too (as Nova), or None."""
    if value is not None and (not isinstance(value, str) or
                              len(value) > MAX_NAME_LENGTH):
        raise bad_input('description', 'must be null or a string of at '
                                       'most %d characters' %
                        MAX_NAME_LENGTH)
    return value


def _check_int(value, field, minimum):
    if (isinstance(value, bool) or not isinstance(value, int) or
            not minimum <= value <= MAX_INT):
        raise bad_input(field, 'must be an integer from %d to %d' % (
            minimum, MAX_INT))
    return value


def _check_dict(value, field, string_values):
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(key, str) and key and len(key) <= MAX_NAME_LENGTH
            for key in value):
        raise bad_input(field, 'must be an object with non-empty string keys')
    if string_values:
        if not all(isinstance(v, str) and len(v) <= MAX_NAME_LENGTH
                   for v in value.values()):
            raise bad_input(field, 'values must be strings of at most '
                                   '%d characters' % MAX_NAME_LENGTH)
    else:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise bad_input(field, 'values must be JSON')
    return dict(value)


def _check_path(value, field):
    if value is None:
        return None
    if not isinstance(value, str) or not os.path.isabs(value):
        raise exception.Invalid(reason='%s must be an absolute path, not %r'
                                % (field, value))
    if not os.path.isfile(value):
        raise exception.Invalid(reason='%s %s does not exist or is not a '
                                'file' % (field, value))
    return value


# -- flavors -----------------------------------------------------------------

def flavor_list(ctx):
    return db.flavor_list()


def flavor_get(ctx, flavor_id):
    """A flavor by id; an integer id means its string (as in Nova)."""
    if isinstance(flavor_id, int) and not isinstance(flavor_id, bool):
        flavor_id = str(flavor_id)
    flavor = db.flavor_get(flavor_id) if isinstance(
        flavor_id, str) else None
    if flavor is None:
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return flavor


def flavor_create(ctx, name, ram, vcpus, disk=0, extra_specs=None,
                  flavor_id=None):
    ctx.can(admin_policies.FLAVOR_CREATE)
    return db.flavor_create({
        'id': (str(uuid_lib.uuid4()) if flavor_id is None else
               check_string(flavor_id, 'id')),
        'name': check_string(name, 'name'),
        'ram': _check_int(ram, 'ram', 1),
        'vcpus': _check_int(vcpus, 'vcpus', 1),
        'disk': _check_int(disk, 'disk', 0),
        'extra_specs': _check_dict(extra_specs, 'extra_specs', True)})


# -- images ------------------------------------------------------------------

def image_list(ctx):
    """Every image the caller sees: from Glance when ``[glance] enabled``
    (with the caller's token), else the local catalog."""
    return image_api.API().list(ctx)


def image_get(ctx, image_id):
    """One image (see nova.image); ImageNotFound (404) when the caller
    sees no such image, GlanceConnectionFailed (503) when Glance fails."""
    return image_api.API().get(ctx, image_id)


def image_create(ctx, name, kernel_path=None, ramdisk_path=None,
                 disk_path=None, disk_format='raw', properties=None,
                 image_id=None):
    """Register files on the compute host as an image of the local
    catalog (admins only; the embedded one-host cloud, without Glance).

    A kernel (and optional ramdisk) is booted directly; otherwise the
    disk is booted.
    """
    ctx.can(admin_policies.IMAGE_CREATE)
    values = {
        'id': (str(uuid_lib.uuid4()) if image_id is None else
               check_string(image_id, 'id', 36)),
        'name': check_string(name, 'name'),
        'kernel_path': _check_path(kernel_path, 'kernel_path'),
        'ramdisk_path': _check_path(ramdisk_path, 'ramdisk_path'),
        'disk_path': _check_path(disk_path, 'disk_path'),
        'disk_format': disk_format,
        'properties': _check_dict(properties, 'properties', False),
        'status': 'active'}
    if disk_format not in DISK_FORMATS:
        raise bad_input('disk_format', 'must be one of %s' %
                        ', '.join(DISK_FORMATS))
    if not (kernel_path or disk_path):
        raise exception.Invalid(
            reason='an image needs a kernel_path or a disk_path')
    if ramdisk_path and not kernel_path:
        raise exception.Invalid(reason='a ramdisk_path needs a '
                                       'kernel_path')
    return db.image_create(values)
