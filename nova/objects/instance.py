"""The few facts about a guest that the driver needs.

Upstream Nova has versioned objects backed by a database; the API work
will give these a store. The driver only reads them.
"""

import dataclasses
import uuid as uuid_lib


def _new_uuid():
    return str(uuid_lib.uuid4())


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

    @property
    def name(self):
        """The libvirt domain name: unique, and stable for the guest's life."""
        return 'instance-%s' % self.uuid


def to_primitive(instance):
    """``instance`` as JSON-able data, to cross RPC."""
    return dataclasses.asdict(instance)


def from_primitive(data):
    """The Instance that :func:`to_primitive` gave ``data`` for."""
    data = dict(data)
    data['flavor'] = Flavor(**data['flavor'])
    if data.get('image_meta') is not None:
        data['image_meta'] = ImageMeta(**data['image_meta'])
    return Instance(**data)
