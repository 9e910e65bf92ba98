"""The local image catalog: files on this host registered by an admin
with ``nova-manage image create`` (the embedded one-host cloud only).

Its rows name files (``kernel_path``, ``ramdisk_path``, ``disk_path``);
those paths stay in the database and on the host that registered them.
They never travel in an RPC message: a compute host looks them up by
the image's id (``nova.virt.images``).
"""

from nova.db import api as db
from nova import exception


def image_dict(row):
    """A catalog row with the keys a Glance image has, too."""
    image = dict(row)
    image.setdefault('container_format', 'bare')
    image.setdefault('min_ram', 0)
    image.setdefault('min_disk', 0)
    image.setdefault('size', None)
    image.setdefault('created_at', None)
    image.setdefault('updated_at', None)
    image['properties'] = dict(image.get('properties') or {})
    return image


class API:
    def get(self, ctx, image_id):
        row = db.image_get(image_id) if isinstance(image_id, str) else None
        if row is None:
            raise exception.ImageNotFound(image_id=image_id)
        return image_dict(row)

    def list(self, ctx):
        return [image_dict(row) for row in db.image_list()]
