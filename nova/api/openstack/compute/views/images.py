"""Image bodies of the image proxy (Nova before microversion 2.36)."""

from nova.api.openstack.compute.views import links

COLLECTION = 'images'

# Glance status -> (Nova status, progress), as Nova's proxy reports them.
_STATUS = {
    'active': ('ACTIVE', 100),
    'queued': ('SAVING', 25),
    'saving': ('SAVING', 50),
    'deleted': ('DELETED', 0),
    'pending_delete': ('DELETED', 0),
    'killed': ('ERROR', 0),
}


def _status_and_progress(image):
    status = str(image.get('status') or '').lower()
    return _STATUS.get(status, ('UNKNOWN', 0))


def basic(req, image):
    image_id = str(image['id'])
    return {
        'id': image_id,
        'name': image.get('name'),
        'links': links.self_and_bookmark(req, COLLECTION, image_id),
    }


def detail(req, image):
    status, progress = _status_and_progress(image)
    body = basic(req, image)
    body.update({
        'status': status,
        'progress': progress,
        'minRam': image.get('min_ram') or 0,
        'minDisk': image.get('min_disk') or 0,
        'metadata': dict(image.get('properties') or {}),
        'created': links.isotime(image.get('created_at')),
        'updated': links.isotime(image.get('updated_at')),
    })
    if image.get('size') is not None:
        body['OS-EXT-IMG-SIZE:size'] = image['size']
    return body
