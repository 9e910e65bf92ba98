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
from nova.policies import flavor_access as access_policies
from nova.virt import hardware

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


# -- flavors (adm) -----------------------------------------------------------
#
# A server keeps the flavor it was created with (a snapshot the database
# writes with its row, as Nova's instance.flavor): deleting a flavor or
# changing its extra specs never changes an existing server, its
# reboots, rebuilds, consoles or the serial ports the scheduler counts
# for it.

def _project_flavor_ids(ctx):
    """Ids of the private flavors the caller's project was given."""
    project_id = getattr(ctx, 'project_id', None)
    if not project_id:
        return set()
    return db.flavor_ids_of_project(project_id)


def _visible(ctx, flavor, granted=None):
    """Nova's rule: a private flavor is seen by admins and by the
    projects given access to it (os-flavor-access). ``granted``: the
    caller's _project_flavor_ids, read once for a list."""
    if flavor.get('is_public', True) or ctx.is_admin:
        return True
    if granted is None:
        granted = _project_flavor_ids(ctx)
    return flavor['id'] in granted


def flavor_list(ctx, is_public=True):
    """The live flavors ``ctx`` may see, as Nova's ``?is_public``:
    True (the default, and always for non-admins) the public ones and
    the private ones the caller's project was given access to; False
    every private one; None every flavor. False and None are admins'
    (the API passes True for anyone else)."""
    if not ctx.is_admin:
        is_public = True
    flavors = db.flavor_list()
    if is_public is None:
        return flavors
    if not is_public:
        return [f for f in flavors if not f.get('is_public', True)]
    granted = _project_flavor_ids(ctx)
    return [f for f in flavors
            if f.get('is_public', True) or f['id'] in granted]


def flavor_get(ctx, flavor_id, read_deleted=True):
    """A flavor by id; an integer id means its string (as in Nova).

    ``read_deleted``: a deleted flavor that existing servers still use
    is returned as they have it, with ``deleted`` True (their bodies and
    actions still name it); without it only live flavors are found (new
    servers, GET /flavors/{id}). FlavorNotFound otherwise.
    """
    if isinstance(flavor_id, int) and not isinstance(flavor_id, bool):
        flavor_id = str(flavor_id)
    flavor = None
    if isinstance(flavor_id, str):
        flavor = db.flavor_get(flavor_id)
        if flavor is None and read_deleted:
            flavor = db.flavor_get_deleted(flavor_id)
    if flavor is None or not _visible(ctx, flavor):
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return flavor


# -- access: os-flavor-access -------------------------------------------------

def _access_list(flavor_id):
    return [{'flavor_id': flavor_id, 'tenant_id': project_id}
            for project_id in db.flavor_projects(flavor_id)]


def _private_flavor(ctx, flavor_id, refusal):
    """The live flavor ``flavor_id`` (404 when missing); ``refusal``
    (an exception) when it is public: public flavors have no list."""
    flavor = flavor_get(ctx, flavor_id, read_deleted=False)
    if flavor.get('is_public', True):
        raise refusal
    return flavor


def flavor_access_list(ctx, flavor_id):
    """``[{'flavor_id', 'tenant_id'}]`` of the private flavor (admins).

    :raises FlavorNotFound: no such live flavor.
    :raises FlavorAccessNotAvailable: the flavor is public (404).
    """
    ctx.can(access_policies.FLAVOR_ACCESS)
    flavor = _private_flavor(ctx, flavor_id,
                             exception.FlavorAccessNotAvailable())
    return _access_list(flavor['id'])


def flavor_access_add(ctx, flavor_id, project_id):
    """Give ``project_id`` access to a private flavor (admins); the new
    access list.

    :raises FlavorNotFound: no such live flavor.
    :raises FlavorAccessPublic: the flavor is public (409).
    :raises FlavorAccessExists: the project has access already (409).
    """
    ctx.can(access_policies.ADD)
    flavor = _private_flavor(ctx, flavor_id, exception.FlavorAccessPublic())
    db.flavor_project_add(flavor['id'], check_string(project_id, 'tenant'))
    return _access_list(flavor['id'])


def flavor_access_remove(ctx, flavor_id, project_id):
    """Take access to a private flavor from ``project_id`` (admins); the
    access list left.

    :raises FlavorNotFound: no such live flavor.
    :raises FlavorAccessNotFound: the project had no access (404; as
        Nova, also for a public flavor, which has no list).
    """
    ctx.can(access_policies.REMOVE)
    flavor = flavor_get(ctx, flavor_id, read_deleted=False)
    db.flavor_project_remove(flavor['id'],
                             check_string(project_id, 'tenant'))
    return _access_list(flavor['id'])


def _check_flavor_id(flavor_id):
    """Nova's rule: 'auto' or none makes a UUID; a number is its text."""
    if flavor_id is None or flavor_id == 'auto':
        return str(uuid_lib.uuid4())
    if isinstance(flavor_id, (int, float)) and not isinstance(
            flavor_id, bool):
        flavor_id = str(flavor_id)
    return check_string(flavor_id, 'id')


def _check_number(value, field, minimum, integer=True):
    """An int (a float when not ``integer``) >= minimum (> for floats)."""
    if integer:
        return _check_int(value, field, minimum)
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or
            not value > minimum or value > 3.40282e+38):
        raise bad_input(field, 'must be a number greater than %s' % minimum)
    return float(value)


def check_extra_specs(specs):
    """Extra specs as stored: str keys and values of at most 255
    characters; ``hw:serial_port_count`` a whole number >= 1, refused
    here rather than at the next boot."""
    specs = _check_dict(specs, 'extra_specs', True)
    count = specs.get(hardware.FLAVOR_SERIAL_PORT_COUNT)
    if count is not None:
        try:
            hardware.get_number_of_serial_ports(
                _Specs(specs), _Specs({}))
        except exception.Invalid:
            raise bad_input('extra_specs.%s' %
                            hardware.FLAVOR_SERIAL_PORT_COUNT,
                            '%r is not a whole number of at least 1'
                            % count)
    return specs


class _Specs:
    """What hardware.get_number_of_serial_ports reads of a flavor and an
    image."""

    def __init__(self, values):
        self.extra_specs = self.properties = values


def flavor_create(ctx, name, ram, vcpus, disk=0, extra_specs=None,
                  flavor_id=None, swap=0, ephemeral_gb=0, rxtx_factor=1.0,
                  is_public=True):
    """A new flavor (admins only), as Nova's: ``flavor_id`` None or
    'auto' is a new UUID. FlavorIdExists or FlavorExists (409) when the
    id or the name is taken."""
    ctx.can(admin_policies.FLAVOR_CREATE)
    values = {
        'id': _check_flavor_id(flavor_id),
        'name': check_string(name, 'name'),
        'ram': _check_number(ram, 'ram', 1),
        'vcpus': _check_number(vcpus, 'vcpus', 1),
        'disk': _check_number(disk, 'disk', 0),
        'swap': _check_number(swap or 0, 'swap', 0),
        'ephemeral_gb': _check_number(ephemeral_gb or 0,
                                      'OS-FLV-EXT-DATA:ephemeral', 0),
        'rxtx_factor': _check_number(
            1.0 if rxtx_factor is None else rxtx_factor, 'rxtx_factor', 0,
            integer=False),
        'is_public': bool(True if is_public is None else is_public),
        'disabled': False,
        'extra_specs': check_extra_specs(
            {} if extra_specs is None else extra_specs)}
    if db.flavor_get(values['id']) is not None:
        raise exception.FlavorIdExists(flavor_id=values['id'])
    if any(f['name'] == values['name'] for f in db.flavor_list()):
        raise exception.FlavorExists(name=values['name'])
    return db.flavor_create(values)


def flavor_delete(ctx, flavor_id):
    """Delete a live flavor (admins only); servers using it keep theirs."""
    ctx.can(admin_policies.FLAVOR_DELETE)
    flavor = flavor_get(ctx, flavor_id, read_deleted=False)
    if not db.flavor_delete(flavor['id']):
        raise exception.FlavorNotFound(flavor_id=flavor_id)


def flavor_extra_specs_update(ctx, flavor_id, specs, policy_name):
    """Add or change extra specs of a live flavor (admins only); the
    flavor's new extra specs. Existing servers keep theirs."""
    ctx.can(policy_name)
    flavor = flavor_get(ctx, flavor_id, read_deleted=False)
    specs = check_extra_specs(specs)
    updated = db.flavor_update_extra_specs(flavor['id'], update=specs)
    if updated is None:
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return updated['extra_specs']


def flavor_extra_spec_delete(ctx, flavor_id, key):
    ctx.can(admin_policies.EXTRA_SPECS_DELETE)
    flavor = flavor_get(ctx, flavor_id, read_deleted=False)
    if key not in (flavor.get('extra_specs') or {}):
        raise exception.FlavorExtraSpecsNotFound(flavor_id=flavor_id,
                                                 key=key)
    try:
        updated = db.flavor_update_extra_specs(flavor['id'], remove=key)
    except KeyError:
        updated = None  # removed meanwhile
    if updated is None:
        raise exception.FlavorExtraSpecsNotFound(flavor_id=flavor_id,
                                                 key=key)


# -- images ------------------------------------------------------------------

def image_list(ctx):
    """Every image the caller sees: from Glance when ``[glance] enabled``
    (with the caller's token), else the local catalog."""
    return image_api.API().list(ctx)


def image_get(ctx, image_id):
    """One image (see nova.image); ImageNotFound (404) when the caller
    sees no such image, GlanceConnectionFailed (503) when Glance fails."""
    return image_api.API().get(ctx, image_id)


# -- access: the /images proxy's metadata and delete ------------------------
#
# As Nova's deprecated proxy: the caller's own token reaches Glance, so
# Glance decides who may change or delete what (403, 409 as it says).

# Nova counts an image's properties against the metadata items quota.
MAX_IMAGE_METADATA_ITEMS = 128


def _image_properties(ctx, image_id):
    return dict(image_api.API().get(ctx, image_id)['properties'])


def _check_image_metadata(metadata):
    if len(metadata) > MAX_IMAGE_METADATA_ITEMS:
        raise exception.MetadataLimitExceeded(
            allowed=MAX_IMAGE_METADATA_ITEMS)


def image_metadata(ctx, image_id):
    """The properties of ``image_id`` (str -> value); ImageNotFound."""
    return _image_properties(ctx, image_id)


def image_metadata_update(ctx, image_id, metadata, replace=False):
    """Merge ``metadata`` into the image's properties (or, ``replace``,
    make them exactly that); the properties after it.

    :raises MetadataLimitExceeded: more than MAX_IMAGE_METADATA_ITEMS
        properties would result (403, nothing changed).
    :raises ImageNotFound, ImageNotAuthorized, ImageBadRequest,
        ImageConflict: as Glance answers (see nova.image.glance).
    """
    current = _image_properties(ctx, image_id)
    wanted = dict(metadata) if replace else dict(current, **metadata)
    _check_image_metadata(wanted)
    changes = {key: value for key, value in wanted.items()
               if current.get(key) != value}
    # Glance keeps its os_glance_* properties for itself (403 to any
    # change): a replace leaves them.
    remove = [key for key in current if key not in wanted and
              not key.startswith('os_glance')]
    image = image_api.API().update_properties(ctx, image_id, changes,
                                              remove=remove)
    return dict(image['properties'])


def image_metadata_delete(ctx, image_id, key):
    """Drop the property ``key``; MetadataItemNotFound (404) when the
    image has none."""
    if key not in _image_properties(ctx, image_id):
        raise exception.MetadataItemNotFound()
    image_api.API().update_properties(ctx, image_id, {}, remove=[key])


def image_delete(ctx, image_id):
    """Delete the image as the caller (ImageNotFound, ImageNotAuthorized,
    ImageConflict as Glance answers)."""
    image_api.API().delete_image(ctx, image_id)


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
