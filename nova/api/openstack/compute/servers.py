"""/servers: list, create, show and delete servers.

Listing takes Nova's filters ``status`` (e.g. ACTIVE), ``flavor`` and
``image`` (ids), and ``name``, matched as a substring (Nova takes a
regular expression; we do not run a caller's regular expression), then
Nova's paging: ``marker`` (a server listed; 400 when none is) and
``limit`` (a whole number). Other query parameters are ignored, as Nova
does before microversion 2.75. ``all_tenants`` (a
boolean, oslo's strict spellings; 400 for any other value) is for admins:
true lists every project's servers (403 for others), false only the
caller's project. An admin without it sees every project's servers.

From 2.19 a create may carry a ``description``; it reaches the compute
API only when the body has one.

Create and rebuild take what Nova takes (see ``schemas/servers.py``):
``adminPass`` (returned, never stored: ``[api] enable_instance_password``),
``metadata``, ``accessIPv4``/``accessIPv6``, ``OS-DCF:diskConfig``,
``key_name``, ``availability_zone``, ``user_data`` (base64),
``os:scheduler_hints`` (``different_host``/``same_host``; other hints
ignored) and ``block_device_mapping_v2`` when it only restates the image
as the local boot disk, as openstackclient sends it. What this cloud
cannot do (volumes, networks, security groups, file injection, a config
drive) is a 400 naming it. PUT /servers/{id} changes the name, the
access IPs and (2.19) the description.
"""

import base64
import binascii
import ipaddress
import secrets
import string

from oslo_utils import strutils
from oslo_utils import uuidutils
import webob.exc

import nova.conf

from nova.api.openstack import common
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.schemas import servers as schema
from nova.api.openstack.compute import server_tags
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


# -- srv: input Nova takes that JSON schema draft 4 cannot check -------------

_UNSUPPORTED_REASONS = {
    'personality': 'file injection (personality) is not supported: this '
                   'cloud has no way to put files in a guest',
    'block_device_mapping': 'block_device_mapping (v1) is not supported: '
                            'there is no volume service',
    'security_groups': 'security_groups are not supported: servers get no '
                       'network, so there is nothing to filter',
    'return_reservation_id': 'return_reservation_id is not supported: one '
                             'server per request',
}
_NETWORKLESS = ('none', 'auto')
_BDM_BOOT_IMAGE = ('block_device_mapping_v2: only the image as the local '
                   'boot disk (boot_index 0, source_type image, '
                   'destination_type local) is supported; there is no '
                   'volume service')
PASSWORD_LENGTH = 12
_PASSWORD_CHARACTERS = string.ascii_letters + string.digits


def _bad(field, detail):
    return exception.ValidationError(field=field, detail=detail)


def refuse_unsupported(request, prefix):
    """400 for a key Nova takes that this cloud cannot do."""
    for key in sorted(request):
        if key in _UNSUPPORTED_REASONS:
            raise exception.InvalidRequest(reason='%s.%s: %s' % (
                prefix, key, _UNSUPPORTED_REASONS[key]))


def check_access_ip(request, prefix, key, version):
    """The access IP ``request[key]`` (IPv4 or IPv6 by ``version``)."""
    value = request[key]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise _bad('%s.%s' % (prefix, key),
                   '%r is not an IPv%d address' % (value[:40], version))
    return str(address)


def _check_user_data(value):
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad('server.user_data', 'user_data must be base64 encoded')
    return value


def _check_networks(value):
    if value in _NETWORKLESS or value == []:
        return
    raise exception.InvalidRequest(reason=(
        'server.networks: this cloud has no network service and a server '
        'gets no network; send "none", "auto" or [], or leave networks '
        'out (got %s)' % microversion.shown(str(value))))


def _is_zero(boot_index):
    return str(boot_index).strip() == '0'


def _image_from_bdm(mappings, image_ref):
    """The image id a block_device_mapping_v2 boots from: it may only
    restate the image (one item, boot_index 0, source_type image,
    destination_type local, no size, no volume)."""
    if len(mappings) != 1:
        raise exception.InvalidRequest(
            reason='%s (got %d devices)' % (_BDM_BOOT_IMAGE, len(mappings)))
    item = mappings[0]
    wrong = []
    if item.get('source_type') != 'image':
        wrong.append('source_type %r' % item.get('source_type'))
    if item.get('destination_type') not in (None, 'local'):
        wrong.append('destination_type %r' % item.get('destination_type'))
    if not _is_zero(item.get('boot_index')):
        wrong.append('boot_index %r' % item.get('boot_index'))
    for key in ('volume_size', 'volume_type', 'volume_id', 'snapshot_id',
                'guest_format', 'no_device'):
        if item.get(key) not in (None, ''):
            wrong.append(key)
    if item.get('device_type') not in (None, 'disk'):
        wrong.append('device_type %r' % item.get('device_type'))
    if not item.get('uuid'):
        wrong.append('no uuid')
    if wrong:
        raise exception.InvalidRequest(reason='%s (got %s)' % (
            _BDM_BOOT_IMAGE, ', '.join(wrong)))
    image_id = item['uuid']
    if image_ref and id_from_ref('server.imageRef', image_ref) != image_id:
        raise exception.InvalidRequest(reason=(
            'block_device_mapping_v2: its image %s is not imageRef %s'
            % (image_id, image_ref)))
    return image_id


def admin_password(request):
    """The adminPass to return (the caller's or a new one), or None when
    ``[api] enable_instance_password`` is off."""
    if not nova.conf.CONF.api.enable_instance_password:
        return None
    if request.get('adminPass'):
        return request['adminPass']
    return ''.join(secrets.choice(_PASSWORD_CHARACTERS)
                   for _ in range(PASSWORD_LENGTH))


def common_options(request, prefix):
    """Compute API keyword arguments for what create, rebuild and update
    share (only the keys the body has)."""
    options = {}
    if 'name' in request and prefix != 'server':
        options['name'] = request['name']
    if 'metadata' in request:
        options['metadata'] = request['metadata']
    if 'accessIPv4' in request:
        options['access_ip_v4'] = check_access_ip(request, prefix,
                                                  'accessIPv4', 4)
    if 'accessIPv6' in request:
        options['access_ip_v6'] = check_access_ip(request, prefix,
                                                  'accessIPv6', 6)
    if 'OS-DCF:diskConfig' in request:
        options['disk_config'] = request['OS-DCF:diskConfig']
    if 'description' in request:
        options['description'] = request['description']
    return options


def _hints(body):
    """The hints the scheduler honours, as lists of server uuids."""
    hints = dict(body.get('OS-SCH-HNT:scheduler_hints') or {})
    hints.update(body.get('os:scheduler_hints') or {})
    found = {}
    for key in ('different_host', 'same_host'):
        if key not in hints:
            continue
        values = hints[key]
        values = [values] if isinstance(values, str) else list(values)
        for value in values:
            if not uuidutils.is_uuid_like(value):
                raise _bad('os:scheduler_hints.%s' % key,
                           '%s is not a server uuid'
                           % microversion.shown(value))
        found[key] = values
    return found


def create_options(body):
    """``(image_ref, compute API keyword arguments)`` of a create body."""
    request = body['server']
    refuse_unsupported(request, 'server')
    if 'networks' in request:
        _check_networks(request['networks'])
    image_ref = request.get('imageRef')
    if request.get('block_device_mapping_v2') is not None:
        image_ref = _image_from_bdm(request['block_device_mapping_v2'],
                                    image_ref)
    if not image_ref:
        raise _bad('server.imageRef', 'imageRef is required (or a '
                   'block_device_mapping_v2 naming the image)')
    config_drive = request.get('config_drive', False)
    if config_drive is not None and not isinstance(config_drive, bool):
        config_drive = strutils.bool_from_string(config_drive, strict=True)
    if config_drive:
        raise exception.InvalidRequest(reason=(
            'server.config_drive: this cloud cannot build a config drive'))
    options = common_options(request, 'server')
    if 'key_name' in request:
        options['key_name'] = request['key_name']
    if 'availability_zone' in request:
        options['availability_zone'] = request['availability_zone']
    if 'user_data' in request:
        options['user_data'] = _check_user_data(request['user_data'])
    hints = _hints(body)
    if hints:
        options['scheduler_hints'] = hints
    return image_ref, options


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


def server_action(compute_api, req, rule, server_id, method):
    """The action handlers whose body carries nothing to read: Nova's
    check (authorize_server with ``rule``), then the compute API's
    ``method`` (its name) on the server; its errors go to the caller."""
    authorize_server(compute_api, req, rule, server_id)
    getattr(compute_api, method)(wsgi.get_context(req), server_id)


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
    # -- t13: Nova's flavor and image filters (by id), marker and limit
    # (tempest's ListServerFiltersTestJSON).
    for param, key in (('flavor', 'flavor_id'), ('image', 'image_id')):
        if params.get(param):
            servers = [s for s in servers if s[key] == params[param]]
    marker = params.get('marker')
    if marker is not None:
        uuids = [s['uuid'] for s in servers]
        if marker not in uuids:
            raise webob.exc.HTTPBadRequest(
                explanation='marker [%s] not found' % marker[:40])
        servers = servers[uuids.index(marker) + 1:]
    limit = params.get('limit')
    if limit is not None:
        if not limit.isdigit() or len(limit) > 10:
            raise exception.ValidationError(
                field='limit', detail='must be a whole number, not %r'
                                      % limit[:40])
        servers = servers[:int(limit)]
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
        servers = _filtered(req, servers, wsgi.query_params(req))
        # -- ver: 2.26's tag filters
        return server_tags.filter_by_tags(self.compute_api, req, servers,
                                          wsgi.query_params(req))

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
        found = server_tags.with_tags(self.compute_api, req,
                                      self._list(req, all_tenants))
        return {'servers': [views.detail(req, s) for s in found]}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        server = self.compute_api.get(wsgi.get_context(req), id)
        wsgi.get_context(req).can(server_policies.SHOW, target=_owner(server))
        server_tags.with_tags(self.compute_api, req, [server])
        return {'server': views.detail(req, server)}

    @wsgi.response(202)
    @wsgi.expected_errors((400, 403, 404, 409))
    @validation.schema(schema.create, '2.1', '2.18')
    @validation.schema(schema.create_v219, '2.19')
    def create(self, req, body):
        ctx = wsgi.get_context(req)
        ctx.can(server_policies.CREATE)
        server_body = body['server']
        image_ref, options = create_options(body)
        if ':' in options.get('availability_zone', ''):
            # zone:host[:node] forces a host, for admins only (Nova's).
            ctx.can(server_policies.CREATE_FORCED_HOST)
        image_id = id_from_ref('server.imageRef', image_ref)
        flavor_id = id_from_ref('server.flavorRef', server_body['flavorRef'])
        password = admin_password(server_body)
        try:
            server = self.compute_api.create(
                ctx, server_body['name'], image_id, flavor_id, **options)
        except exception.ImageNotFound as e:
            # A bad reference in the body, not a missing URL: 400, as Nova.
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid imageRef provided: %s' % e.message)
        except exception.FlavorNotFound as e:
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid flavorRef provided: %s' % e.message)
        except exception.KeypairNotFound:
            raise webob.exc.HTTPBadRequest(
                explanation='Invalid key_name provided.')
        created = views.created(req, server)
        if password is not None:
            created['adminPass'] = password
        return wsgi.ResponseObject(
            {'server': created},
            headers={'Location': location(req, server)})

    @wsgi.expected_errors((400, 404))
    @validation.schema(schema.update, '2.1', '2.18')
    @validation.schema(schema.update_v219, '2.19')
    def update(self, req, id, body):
        authorize_server(self.compute_api, req, server_policies.UPDATE, id)
        request = body['server']
        options = common_options(request, 'server')
        if 'name' in request:
            options['name'] = request['name']
        server = self.compute_api.update(wsgi.get_context(req), id,
                                         **options)
        return {'server': views.detail(req, server, extended=False)}

    @wsgi.response(204)
    @wsgi.expected_errors((404, 409))
    def delete(self, req, id):
        authorize_server(self.compute_api, req, server_policies.DELETE, id)
        self.compute_api.delete(wsgi.get_context(req), id)
