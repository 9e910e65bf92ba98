"""The few facts about a guest that the driver needs.

Upstream Nova has versioned objects backed by a database; the API work
will give these a store. The driver only reads them.
"""

import dataclasses
import uuid as uuid_lib

from nova import exception


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


@dataclasses.dataclass
class Flavor:
    name: str = 'm1.tiny'
    memory_mb: int = 128
    vcpus: int = 1
    extra_specs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ImageMeta:
    """A bootable image: a disk file, or a kernel (+ initrd) booted directly.

    ``properties`` holds image properties such as ``hw_serial_port_count``,
    ``hw_architecture`` and ``os_command_line``.
    """

    id: str = dataclasses.field(default_factory=_new_uuid)
    name: str = ''
    disk_path: str = None
    disk_format: str = 'raw'
    kernel_path: str = None
    ramdisk_path: str = None
    properties: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Instance:
    uuid: str = dataclasses.field(default_factory=_new_uuid)
    flavor: Flavor = dataclasses.field(default_factory=Flavor)
    image_meta: ImageMeta = None
    host: str = None

    def __post_init__(self):
        # The uuid becomes the instance folder's name and the domain's
        # name: a path ('../x') must never get that far.
        check_uuid(self.uuid, 'instance uuid')

    @property
    def name(self):
        """The libvirt domain name: unique, and stable for the guest's life."""
        return 'instance-%s' % self.uuid


def to_primitive(instance):
    """``instance`` as JSON-able data, to cross RPC."""
    return dataclasses.asdict(instance)


def from_primitive(data):
    """The Instance that :func:`to_primitive` gave ``data`` for.

    Raises InvalidUUID when ``data['uuid']`` is not a canonical uuid.
    """
    data = dict(data)
    check_uuid(data.get('uuid'), 'instance uuid')
    data['flavor'] = Flavor(**data['flavor'])
    if data.get('image_meta') is not None:
        data['image_meta'] = ImageMeta(**data['image_meta'])
    return Instance(**data)
