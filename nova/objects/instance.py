"""The instance as the compute layer sees it, and its flavor and image.

``Instance`` carries what a compute host needs to act on a guest; the
database row behind it is read by the conductor and the API. Its uuid
names the instance folder and the libvirt domain, so it is checked
canonical (:func:`check_uuid`) whenever an Instance is built or arrives
over RPC: a uuid of ``../victim`` never gets as far as a path.
"""

import uuid as uuid_lib

from nova import exception
from nova.objects import base
from nova.objects import fields


def _new_uuid():
    return str(uuid_lib.uuid4())


def is_canonical_uuid(value):
    """Whether ``value`` is a str in the form ``str(uuid.UUID(...))``
    gives: lower-case hex, 8-4-4-4-12, nothing else."""
    if not isinstance(value, str):
        return False
    try:
        return str(uuid_lib.UUID(value)) == value
    except ValueError:
        return False


def check_uuid(value, field='uuid'):
    """``value`` when canonical (see :func:`is_canonical_uuid`); else
    InvalidUUID naming ``field``. Every uuid that comes from outside
    (RPC, the database) goes through here before it names a file."""
    if not is_canonical_uuid(value):
        raise exception.InvalidUUID(field=field, value=value)
    return value


def _invalid_instance_uuid(attr, value):
    return exception.InvalidUUID(field='instance uuid', value=value)


@base.NovaObjectRegistry.register
class Flavor(base.NovaObject):
    """The flavor an instance was created with (its snapshot row).

    ``root_gb``: the root disk in GiB (the flavors table's ``disk``,
    Nova's ``root_gb``); 0 means the image's own size, unchecked, as
    Nova. A message for a 1.0 receiver leaves it out.
    """

    # Version 1.0: name, memory_mb, vcpus, extra_specs
    # Version 1.1: root_gb
    VERSION = '1.1'
    POSITIONAL = ('name', 'memory_mb', 'vcpus', 'extra_specs')

    fields = {
        'name': fields.StringField(default='m1.tiny'),
        'memory_mb': fields.IntegerField(default=128),
        'vcpus': fields.IntegerField(default=1),
        'extra_specs': fields.JSONDictField(default={}),
        'root_gb': fields.IntegerField(default=0),
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if target_version == '1.0':
            primitive.pop('root_gb', None)


class LocalFiles:
    """Files of this host an in-process caller boots an image from."""

    __slots__ = ('kernel', 'ramdisk', 'disk')

    def __init__(self, kernel=None, ramdisk=None, disk=None):
        self.kernel, self.ramdisk, self.disk = kernel, ramdisk, disk

    def __eq__(self, other):
        return (isinstance(other, LocalFiles) and
                (self.kernel, self.ramdisk, self.disk) ==
                (other.kernel, other.ramdisk, other.disk))

    __hash__ = None


@base.NovaObjectRegistry.register
class ImageMeta(base.NovaObject):
    """The image a guest boots from, as the compute host is told of it.

    It names the image (``id``) and what the host needs to plan the
    guest (``disk_format``, ``container_format``, ``properties`` such as
    ``hw_serial_port_count``, ``hw_architecture``, ``os_command_line``,
    ``kernel_id`` and ``ramdisk_id``); never a file. The compute host
    finds the image's files itself, by ``id`` (``nova.virt.images``:
    Glance into its image cache, or the local catalog), so no message,
    forged or not, can make it boot or back a disk with a file of its
    choice.

    ``kernel_path``, ``ramdisk_path`` and ``disk_path`` are accepted by
    the constructor for callers in the compute host's own process (the
    functional tests driving a driver directly): they are kept in
    ``local_files``, outside the fields, and never serialized, so they
    cannot arrive over RPC either.
    """

    # Version 1.0: id, name, disk_path, disk_format, kernel_path,
    #              ramdisk_path, properties
    # Version 1.1: the paths removed; container_format added
    VERSION = '1.1'
    POSITIONAL = ('id', 'name')
    # Also what deserializing gives a primitive without an id.
    DEFAULT_FACTORIES = {'id': lambda: _new_uuid()}
    _PATHS = ('kernel_path', 'ramdisk_path', 'disk_path')

    fields = {
        'id': fields.StringField(),
        'name': fields.StringField(default=''),
        'disk_format': fields.StringField(default='raw'),
        'container_format': fields.StringField(default='bare'),
        'properties': fields.JSONDictField(default={}),
    }

    def __init__(self, *args, **kwargs):
        paths = {key: kwargs.pop(key, None) for key in self._PATHS}
        if not args:
            kwargs.setdefault('id', _new_uuid())
        super().__init__(*args, **kwargs)
        self.local_files = None
        if any(paths.values()):
            self.local_files = LocalFiles(paths['kernel_path'],
                                          paths['ramdisk_path'],
                                          paths['disk_path'])

    @classmethod
    def _obj_from_primitive(cls, context, objver, primitive):
        image = super()._obj_from_primitive(context, objver, primitive)
        # Whatever a 1.0 message says of paths is dropped with the fields
        # this version does not have: only the id is looked up.
        image.local_files = None
        return image

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if target_version == '1.0':
            primitive.pop('container_format', None)

    @property
    def kernel_path(self):
        return self.local_files.kernel if self.local_files else None

    @property
    def ramdisk_path(self):
        return self.local_files.ramdisk if self.local_files else None

    @property
    def disk_path(self):
        return self.local_files.disk if self.local_files else None


@base.NovaObjectRegistry.register
class Instance(base.NovaObject):
    """``Instance(uuid=None, host=None, flavor=Flavor(), image_meta=None,
    vm_state=None, task_state=None)``; ``uuid`` defaults to a new one.

    Raises InvalidUUID (naming 'instance uuid') for a uuid that is not
    canonical, on construction, on assignment and on deserialization.
    """

    # Version 1.0: uuid, host, flavor, image_meta, vm_state, task_state
    VERSION = '1.0'
    POSITIONAL = ('uuid',)
    # Also what deserializing gives a primitive without a flavor.
    DEFAULT_FACTORIES = {'flavor': lambda: Flavor()}

    fields = {
        'uuid': fields.StrictField(is_canonical_uuid,
                                   _invalid_instance_uuid, nullable=False),
        'host': fields.StringField(nullable=True, default=None),
        'flavor': fields.ObjectField('Flavor'),
        'image_meta': fields.ObjectField('ImageMeta', nullable=True,
                                         default=None),
        'vm_state': fields.StringField(nullable=True, default=None),
        'task_state': fields.StringField(nullable=True, default=None),
    }

    def __init__(self, *args, **kwargs):
        if not args:
            kwargs.setdefault('uuid', _new_uuid())
        if kwargs.get('flavor') is None:
            kwargs['flavor'] = Flavor()
        super().__init__(*args, **kwargs)

    @classmethod
    def _obj_from_primitive(cls, context, objver, primitive):
        # Built with a new uuid first (see __init__): one that arrives
        # without its uuid must not keep that made-up one.
        data = cls._obj_primitive_field(primitive, 'data')
        if 'uuid' not in data:
            raise _invalid_instance_uuid('uuid', None)
        return super()._obj_from_primitive(context, objver, primitive)

    @property
    def name(self):
        """The libvirt domain name: unique, and stable for the guest's life."""
        return 'instance-%s' % self.uuid
