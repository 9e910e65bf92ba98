"""/servers/{server_id}/metadata and /metadata/{key}, as Nova's.

GET ``{"metadata": {...}}``; POST ``{"metadata": {...}}`` merges (200,
the whole metadata); PUT replaces it. ``/metadata/{key}``: GET
``{"meta": {key: value}}`` (404 "Metadata item was not found"), PUT
``{"meta": {key: value}}`` with exactly that key (400 "Request body
and URI mismatch"), DELETE 204. Keys of 1 to 255 characters of
``[a-zA-Z0-9-_:. ]``, string values up to 255 (400); at most 128 items
(403, Nova's default quota, enforced here); changes need the server
ACTIVE or SHUTOFF without a task, and not locked (409).
"""

import webob.exc

from nova.api.openstack.compute.schemas import server_records as schema
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import server_metadata as policies


class ServerMetadataController(wsgi.Controller):
    def _authorize(self, req, rule, server_id):
        servers.authorize_server(self.compute_api, req, rule, server_id)

    def _metadata(self, req, server_id):
        return self.compute_api.get_metadata(wsgi.get_context(req),
                                             server_id)

    @wsgi.expected_errors(404)
    def index(self, req, server_id):
        self._authorize(req, policies.INDEX, server_id)
        return {'metadata': self._metadata(req, server_id)}

    @wsgi.expected_errors((400, 403, 404, 409))
    @validation.schema(schema.create_metadata)
    def create(self, req, server_id, body):
        self._authorize(req, policies.CREATE, server_id)
        return {'metadata': self.compute_api.update_metadata(
            wsgi.get_context(req), server_id, body['metadata'])}

    @wsgi.expected_errors((400, 403, 404, 409))
    @validation.schema(schema.update_all_metadata)
    def update_all(self, req, server_id, body):
        self._authorize(req, policies.UPDATE_ALL, server_id)
        return {'metadata': self.compute_api.update_metadata(
            wsgi.get_context(req), server_id, body['metadata'],
            replace=True)}

    @wsgi.expected_errors(404)
    def show(self, req, server_id, key):
        self._authorize(req, policies.SHOW, server_id)
        metadata = self._metadata(req, server_id)
        if key not in metadata:
            raise exception.MetadataItemNotFound()
        return {'meta': {key: metadata[key]}}

    @wsgi.expected_errors((400, 403, 404, 409))
    @validation.schema(schema.update_metadata_item)
    def update(self, req, server_id, key, body):
        self._authorize(req, policies.UPDATE, server_id)
        if key not in body['meta']:
            raise webob.exc.HTTPBadRequest(
                explanation='Request body and URI mismatch')
        self.compute_api.update_metadata(wsgi.get_context(req), server_id,
                                         body['meta'])
        return {'meta': body['meta']}

    @wsgi.response(204)
    @wsgi.expected_errors((404, 409))
    def delete(self, req, server_id, key):
        self._authorize(req, policies.DELETE, server_id)
        self.compute_api.delete_metadata_item(wsgi.get_context(req),
                                              server_id, key)
