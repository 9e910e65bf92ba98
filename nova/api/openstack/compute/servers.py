"""/servers: list, create, show and delete servers.

Listing takes two of Nova's filters: ``status`` (e.g. ACTIVE) and
``name``, matched as a substring (Nova takes a regular expression; we do
not run a caller's regular expression). Other query parameters are
ignored, as Nova does before microversion 2.75. ``all_tenants`` (a
boolean, oslo's strict spellings; 400 for any other value) is for admins:
true lists every project's servers (403 for others), false only the
caller's project. An admin without it sees every project's servers.

From 2.19 a create may carry a ``description``; it reaches the compute
API only when the body has one.
"""

from oslo_utils import strutils
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


def _all_tenants(params):
    """The ``all_tenants`` query parameter: None when absent, else its
    bool (oslo's strict spellings; as Nova, an empty value means true)."""
    if 'all_tenants' not in params:
        return None
    value = params['all_tenants']
    if value == '':
        return True
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise webob.exc.HTTPBadRequest(
            explanation='Invalid value %s for query parameter all_tenants: '
                        'expected a boolean such as true or false.'
                        % microversion.shown(value))


def _owner(server):
    """The policy target of ``server``: its project and user."""
    return {'project_id': server['project_id'],
            'user_id': server['user_id']}


def authorize_server(compute_api, req, rule, server_id, read=None):
    """Nova's check of a call on one server: the server first (404 when
    the caller cannot see it), then ``rule`` with the server's owner as
    the target, so that a policy file's ``project_id:%(project_id)s`` or
    ``user_id:%(user_id)s`` compares the caller with the owner, never
    with the caller itself. Returns the server.

    ``read(ctx, server_id)`` reads the server instead of
    ``compute_api.get`` (a call that needs other keys than the server's
    body, e.g. get_console_server), so that it is read only once.
    """
    ctx = wsgi.get_context(req)
    server = (read or compute_api.get)(ctx, server_id)
    ctx.can(rule, target=_owner(server))
    return server


def _filtered(req, servers, params):
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


class ServersController(wsgi.Controller):
    def _list(self, req, all_tenants):
        ctx = wsgi.get_context(req)
        servers = self.compute_api.list(ctx)
        if all_tenants is False:
            # Admins see every project's servers by default; false asks
            # for the caller's project only.
            servers = [s for s in servers
                       if s['project_id'] == ctx.project_id]
        return _filtered(req, servers, wsgi.query_params(req))

    @wsgi.expected_errors((400, 403))
    def index(self, req):
        wsgi.get_context(req).can(server_policies.INDEX)
        all_tenants = _all_tenants(wsgi.query_params(req))
        if all_tenants:
            wsgi.get_context(req).can(server_policies.INDEX_ALL_TENANTS)
        return {'servers': [views.basic(req, s)
                            for s in self._list(req, all_tenants)]}

    @wsgi.expected_errors((400, 403))
    def detail(self, req):
        wsgi.get_context(req).can(server_policies.DETAIL)
        all_tenants = _all_tenants(wsgi.query_params(req))
        if all_tenants:
            wsgi.get_context(req).can(server_policies.DETAIL_ALL_TENANTS)
        return {'servers': [views.detail(req, s)
                            for s in self._list(req, all_tenants)]}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        server = self.compute_api.get(wsgi.get_context(req), id)
        wsgi.get_context(req).can(server_policies.SHOW, target=_owner(server))
        return {'server': views.detail(req, server)}

    @wsgi.response(202)
    @wsgi.expected_errors((400, 403, 404, 409))
    @validation.schema(schema.create, '2.1', '2.18')
    @validation.schema(schema.create_v219, '2.19')
    def create(self, req, body):
        wsgi.get_context(req).can(server_policies.CREATE)
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
        return wsgi.ResponseObject(
            {'server': views.created(req, server)},
            headers={'Location': location(req, server)})

    @wsgi.response(204)
    @wsgi.expected_errors((404, 409))
    def delete(self, req, id):
        authorize_server(self.compute_api, req, server_policies.DELETE, id)
        self.compute_api.delete(wsgi.get_context(req), id)
