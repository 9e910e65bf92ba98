"""/servers: list, create, show and delete servers.

Listing takes two of Nova's filters: ``status`` (e.g. ACTIVE) and
``name``, matched as a substring (Nova takes a regular expression; we do
not run a caller's regular expression). Other query parameters are
ignored, as Nova does before microversion 2.75.

From 2.19 a create may carry a ``description``; it reaches the compute
API only when the body has one.
"""

import webob.exc

from nova.api.openstack import common
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.schemas import servers as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import links
from nova.api.openstack.compute.views import servers as views
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import servers as server_policies


def id_from_ref(field, ref):
    """The id in an image or flavor reference: an id or an href to one."""
    ref = str(ref)
    if '/' not in ref:
        return ref
    resource_id = ref.rsplit('/', 1)[-1]
    if not resource_id:
        raise exception.ValidationError(
            field=field, detail='%r names no id' % ref)
    return resource_id


def location(req, server):
    return links.versioned_url(req, views.COLLECTION, server['uuid'])


def _owner(server):
    """The policy target of ``server``: its project and user."""
    return {'project_id': server['project_id'],
            'user_id': server['user_id']}


def _filtered(req, servers):
    params = wsgi.query_params(req)
    status = params.get('status')
    name = params.get('name')
    if status:
        # The status each server shows, derived from its vm_state and
        # task_state as in its body.
        servers = [s for s in servers
                   if common.status_of(s) == status.upper()]
    if name:
        servers = [s for s in servers if name in s['name']]
    return servers


class ServersController:
    def __init__(self, compute_api):
        self.compute_api = compute_api

    def _list(self, req):
        servers = self.compute_api.list(wsgi.get_context(req))
        return _filtered(req, servers)

    def index(self, req):
        wsgi.get_context(req).can(server_policies.INDEX)
        return wsgi.json_response(
            {'servers': [views.basic(req, s) for s in self._list(req)]})

    def detail(self, req):
        wsgi.get_context(req).can(server_policies.DETAIL)
        return wsgi.json_response(
            {'servers': [views.detail(req, s) for s in self._list(req)]})

    def show(self, req, id):
        server = self.compute_api.get(wsgi.get_context(req), id)
        wsgi.get_context(req).can(server_policies.SHOW, target=_owner(server))
        return wsgi.json_response({'server': views.detail(req, server)})

    def create(self, req):
        wsgi.get_context(req).can(server_policies.CREATE)
        body = wsgi.read_json_body(req)
        with_description = microversion.is_supported(
            req, views.DESCRIPTION_VERSION)
        validation.validate(
            body, schema.create_v219 if with_description else schema.create)
        server_body = body['server']
        image_id = id_from_ref('server.imageRef', server_body['imageRef'])
        flavor_id = id_from_ref('server.flavorRef', server_body['flavorRef'])
        kwargs = {}
        if 'description' in server_body:
            kwargs['description'] = server_body['description']
        try:
            server = self.compute_api.create(
                wsgi.get_context(req), server_body['name'], image_id,
                flavor_id, **kwargs)
        except exception.ImageNotFound as e:
            # A bad reference in the body, not a missing URL: 400, as Nova.
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid imageRef provided: %s' % e.message)
        except exception.FlavorNotFound as e:
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid flavorRef provided: %s' % e.message)
        return wsgi.json_response(
            {'server': views.created(req, server)}, status=202,
            headers={'Location': location(req, server)})

    def delete(self, req, id):
        wsgi.get_context(req).can(server_policies.DELETE)
        self.compute_api.delete(wsgi.get_context(req), id)
        return wsgi.empty_response(204)
