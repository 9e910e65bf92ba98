"""/servers/{server_id}/tags (microversion 2.26), as Nova's.

GET lists the tags ``{"tags": [...]}``; PUT ``{"tags": [...]}`` replaces
them (200 with the new list); DELETE removes all (204).
``/tags/{tag}``: GET 204 when the server has it (404 otherwise), PUT
adds it (201, or 204 when it was there; Location names it), DELETE 204
(404 when absent). At most 50 tags of 1 to 60 characters without ','
or '/' (400); changing tags needs the server ACTIVE or SHUTOFF (409).
"""

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.schemas import server_records as schema
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import links
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import server_tags as policies

MIN_VERSION = '2.26'
TAGS_VERSION = microversion.APIVersion(2, 26)


class ServerTagsController(wsgi.Controller):
    def _authorize(self, req, rule, server_id):
        return servers.authorize_server(self.compute_api, req, rule,
                                        server_id)

    @wsgi.Controller.api_version(MIN_VERSION)
    @wsgi.expected_errors(404)
    def index(self, req, server_id):
        self._authorize(req, policies.INDEX, server_id)
        return {'tags': self.compute_api.get_tags(wsgi.get_context(req),
                                                  server_id)}

    @wsgi.Controller.api_version(MIN_VERSION)
    @wsgi.response(204)
    @wsgi.expected_errors(404)
    def show(self, req, server_id, tag):
        self._authorize(req, policies.SHOW, server_id)
        if tag not in self.compute_api.get_tags(wsgi.get_context(req),
                                                server_id):
            raise exception.InstanceTagNotFound(instance_id=server_id,
                                                tag=tag)

    @wsgi.Controller.api_version(MIN_VERSION)
    @wsgi.expected_errors((400, 404, 409))
    @validation.schema(schema.update_all_tags)
    def update_all(self, req, server_id, body):
        self._authorize(req, policies.UPDATE_ALL, server_id)
        return {'tags': self.compute_api.set_tags(
            wsgi.get_context(req), server_id, body['tags'])}

    @wsgi.Controller.api_version(MIN_VERSION)
    @wsgi.expected_errors((400, 404, 409))
    def update(self, req, server_id, tag):
        server = self._authorize(req, policies.UPDATE, server_id)
        validation.validate(tag, schema.tag)
        created = self.compute_api.add_tag(wsgi.get_context(req),
                                           server_id, tag)
        location = links.versioned_url(req, 'servers', server['uuid'],
                                       'tags', tag)
        return wsgi.ResponseObject(None, code=201 if created else 204,
                                   headers={'Location': location})

    @wsgi.Controller.api_version(MIN_VERSION)
    @wsgi.response(204)
    @wsgi.expected_errors((404, 409))
    def delete(self, req, server_id, tag):
        self._authorize(req, policies.DELETE, server_id)
        self.compute_api.delete_tag(wsgi.get_context(req), server_id, tag)

    @wsgi.Controller.api_version(MIN_VERSION)
    @wsgi.response(204)
    @wsgi.expected_errors((404, 409))
    def delete_all(self, req, server_id):
        self._authorize(req, policies.DELETE_ALL, server_id)
        self.compute_api.delete_tags(wsgi.get_context(req), server_id)


def with_tags(compute_api, req, servers_found):
    """``servers_found`` (a list of server dicts), each with its
    ``tags`` from 2.26 (one query for all), for the server bodies."""
    if microversion.is_supported(req, TAGS_VERSION):
        tags = compute_api.tags_of([s['uuid'] for s in servers_found])
        for server in servers_found:
            server['tags'] = tags.get(server['uuid'], [])
    return servers_found


def _split(value):
    return {t for t in value.split(',') if t}


def filter_by_tags(compute_api, req, servers_found, params):
    """Nova's list filters from 2.26: ``tags`` (all of them),
    ``tags-any`` (one of them), ``not-tags`` (not all of them),
    ``not-tags-any`` (none of them); comma-separated."""
    if not microversion.is_supported(req, TAGS_VERSION):
        return servers_found
    wanted = {name: _split(params[name]) for name in
              ('tags', 'tags-any', 'not-tags', 'not-tags-any')
              if params.get(name)}
    if not wanted:
        return servers_found
    tags = compute_api.tags_of([s['uuid'] for s in servers_found])
    kept = []
    for server in servers_found:
        held = set(tags.get(server['uuid'], ()))
        if 'tags' in wanted and not wanted['tags'] <= held:
            continue
        if 'tags-any' in wanted and not wanted['tags-any'] & held:
            continue
        if 'not-tags' in wanted and wanted['not-tags'] <= held:
            continue
        if 'not-tags-any' in wanted and wanted['not-tags-any'] & held:
            continue
        kept.append(server)
    return kept
