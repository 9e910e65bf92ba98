"""The local image catalog: files on this host registered by an admin
with ``nova-manage image create`` (the embedded one-host cloud only).

Its rows name files (``kernel_path``, ``ramdisk_path``, ``disk_path``);
those paths stay in the database and on the host that registered them.
They never travel in an RPC message: a compute host looks them up by
the image's id (``nova.virt.images``).
"""

import os
import uuid

from nova.db import api as db
from nova import exception

# Where a compute host of the one-host cloud keeps snapshot files for the
# catalog (under its instances_path; nova.virt.libvirt.snapshot).
SNAPSHOT_DIR = '_snapshots'


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

    # -- shv: snapshots (a shelved server's disk), as Glance's ------------

    def create(self, ctx, name, properties=None, disk_format='qcow2',
               container_format='bare'):
        """A queued catalog row without a file yet (see upload)."""
        row = db.image_create({
            'id': str(uuid.uuid4()), 'name': name,
            'disk_format': disk_format, 'status': 'queued',
            'properties': dict(properties or {},
                               owner_project=getattr(ctx, 'project_id',
                                                     None))})
        return image_dict(row)

    def upload(self, ctx, image_id, path):
        """Register the file ``path`` (on this host, where the compute
        host left it for good) as the image's disk; it is active then."""
        if db.image_get(image_id) is None:
            raise exception.ImageNotFound(image_id=image_id)
        db.image_update(image_id, {'disk_path': path, 'status': 'active'})

    def delete(self, ctx, image_id):
        """Forget the row; a snapshot's file (under ``SNAPSHOT_DIR`` of
        the instances path, as upload registered it) goes with it."""
        row = db.image_get(image_id)
        if row is None:
            return
        db.image_delete(image_id)
        path = row.get('disk_path')
        if path and os.path.basename(os.path.dirname(path)) == SNAPSHOT_DIR:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    # -- access: the /images proxy's writes ------------------------------

    def update_properties(self, ctx, image_id, changes, remove=()):
        """The local catalog is an admin's, changed with nova-manage:
        ImageNotAuthorized (403) for the proxy, once the image is
        known to exist (ImageNotFound otherwise)."""
        self.get(ctx, image_id)
        raise exception.ImageNotAuthorized(image_id=image_id)

    def delete_image(self, ctx, image_id):
        """As update_properties: 404 or 403, never a change."""
        self.get(ctx, image_id)
        raise exception.ImageNotAuthorized(image_id=image_id)
