"""/images/{image_id}/metadata[/{key}]: the deprecated image proxy's
metadata (Nova before microversion 2.39), forwarded to Glance with the
caller's token.

- ``GET /metadata``: ``{"metadata": {...}}``, the image's properties.
- ``POST /metadata`` ``{"metadata": {...}}``: merged in; the whole
  metadata (200). ``PUT /metadata``: replaces them (200).
- ``GET /metadata/{key}``: ``{"meta": {key: value}}``.
- ``PUT /metadata/{key}`` ``{"meta": {key: value}}`` with exactly that
  key (400 "Request body and URI mismatch"); 200 with the item.
- ``DELETE /metadata/{key}``: 204.

Keys of 1 to 255 characters of ``[a-zA-Z0-9-_:. ]``, string values up
to 255 (400, Nova's schema); at most 128 properties in all (403, Nova's
default metadata items quota). 404 for an image the caller does not see
or a key it lacks; 403 or 409 as Glance answers a change (another
project's or a protected image, a reserved property; an image not in a
state to change).
"""

import webob.exc

from nova.api.openstack.compute.schemas import server_records as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova import exception


class ImageMetadataController(wsgi.Controller):
    def _metadata(self, req, image_id):
        return self.compute_api.image_metadata(wsgi.get_context(req),
                                               image_id)

    def _update(self, req, image_id, metadata, replace=False):
        return self.compute_api.image_metadata_update(
            wsgi.get_context(req), image_id, metadata, replace=replace)

    @wsgi.expected_errors(404)
    def index(self, req, image_id):
        return {'metadata': self._metadata(req, image_id)}

    @wsgi.expected_errors(404)
    def show(self, req, image_id, key):
        metadata = self._metadata(req, image_id)
        if key not in metadata:
            raise webob.exc.HTTPNotFound(explanation='Invalid metadata key')
        return {'meta': {key: metadata[key]}}

    @wsgi.expected_errors((400, 403, 404, 409))
    @validation.schema(schema.create_metadata)
    def create(self, req, image_id, body):
        return {'metadata': self._update(req, image_id, body['metadata'])}

    @wsgi.expected_errors((400, 403, 404, 409))
    @validation.schema(schema.update_all_metadata)
    def update_all(self, req, image_id, body):
        return {'metadata': self._update(req, image_id, body['metadata'],
                                         replace=True)}

    @wsgi.expected_errors((400, 403, 404, 409))
    @validation.schema(schema.update_metadata_item)
    def update(self, req, image_id, key, body):
        if key not in body['meta']:
            raise webob.exc.HTTPBadRequest(
                explanation='Request body and URI mismatch')
        self._update(req, image_id, body['meta'])
        return {'meta': body['meta']}

    @wsgi.response(204)
    @wsgi.expected_errors((403, 404, 409))
    def delete(self, req, image_id, key):
        try:
            self.compute_api.image_metadata_delete(wsgi.get_context(req),
                                                   image_id, key)
        except exception.MetadataItemNotFound:
            raise webob.exc.HTTPNotFound(explanation='Invalid metadata key')
