"""/flavors: list, show, create and delete flavors; their extra specs.

As Nova's (before microversion 2.55): ``POST /flavors`` and
``DELETE /flavors/{id}`` (202) are admin-only, as are the writes of
``/flavors/{id}/os-extra_specs``. A deleted flavor is gone from these
calls; the servers that use it keep the flavor they were created with.
``?is_public`` lists public flavors (the default), private ones
(``false``) or both (``none``) for admins; others see public ones only.
``minRam``, ``minDisk``, ``limit`` and ``marker`` filter and page the
lists, as Nova's.
"""

import urllib.parse

from oslo_utils import strutils
import webob.exc

from nova.api.openstack.compute.schemas import flavor_manage as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import flavors as views
from nova.api.openstack.compute.views import links
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import admin_apis as admin_policies


def _is_public(req):
    """Nova's ``?is_public``: none/None means both; else a boolean."""
    value = wsgi.query_params(req).get('is_public')
    if value is None:
        return True
    if value.lower() == 'none':
        return None
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise exception.ValidationError(
            field='is_public',
            detail='must be a boolean or none, not %r' % value[:40])


def _int(values, key):
    """A number of the body as an int: Nova takes its digits as a
    string too, and '' (or nothing) for swap and ephemeral is 0. The
    schema let only digits through."""
    value = values.get(key, 0)
    if isinstance(value, str):
        # A string of 4000 digits is refused before int() sees it.
        if len(value) > 10:
            raise exception.ValidationError(
                field='flavor.%s' % key,
                detail='must be at most %d' % schema.MAX_INT)
        value = int(value) if value else 0
    return value


def _spec_strings(specs):
    """Nova stores a number or boolean value as its text (True:
    'True')."""
    return {key: value if isinstance(value, str) else str(value)
            for key, value in specs.items()}


# Of a bad query value, at most this much is quoted back.
MAX_SHOWN = 40
# Digits of a minRam, minDisk or limit read with int().
MAX_DIGITS = 10


def _int_param(params, name):
    """Query parameter ``name`` as an int >= 0, None when absent; 400
    naming it otherwise (Nova's "Invalid minRam filter [x]")."""
    value = params.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > MAX_DIGITS:
        raise exception.ValidationError(
            field=name, detail='must be a whole number, not %r'
                               % value[:MAX_SHOWN])
    return int(value)


def _filtered(req, flavors):
    """Nova's filters and pages of GET /flavors[/detail]: ``minRam``,
    ``minDisk``, then ``marker`` (the flavors after that id; 400 when no
    listed flavor has it) and ``limit``. The list is ordered by id."""
    params = wsgi.query_params(req)
    min_ram = _int_param(params, 'minRam')
    min_disk = _int_param(params, 'minDisk')
    limit = _int_param(params, 'limit')
    flavors = sorted(flavors, key=lambda f: f['id'])
    all_ids = {f['id'] for f in flavors}
    if min_ram is not None:
        flavors = [f for f in flavors if f['ram'] >= min_ram]
    if min_disk is not None:
        flavors = [f for f in flavors if f['disk'] >= min_disk]
    marker = params.get('marker')
    if marker is not None:
        # As Nova: the marker is any flavor listed, the filters apart.
        if marker not in all_ids:
            raise webob.exc.HTTPBadRequest(
                explanation='marker [%s] not found' % marker[:MAX_SHOWN])
        flavors = [f for f in flavors if f['id'] > marker]
    more = limit is not None and len(flavors) > limit
    if limit is not None:
        flavors = flavors[:limit]
    return flavors, more


def _next_link(req, flavors, path):
    """Nova's ``flavors_links``: the next page after a full one."""
    query = [(k, v) for k, v in wsgi.query_params(req).items()
             if k != 'marker']
    query.append(('marker', flavors[-1]['id']))
    return [{'rel': 'next', 'href': '%s?%s' % (
        links.versioned_url(req, *path), urllib.parse.urlencode(query))}]


class FlavorsController(wsgi.Controller):
    def _flavors(self, req):
        ctx = wsgi.get_context(req)
        # As Nova: only an admin's ?is_public is read; anyone else sees
        # the public flavors and those their project was given.
        is_public = _is_public(req) if ctx.is_admin else True
        return self.compute_api.flavor_list(ctx, is_public=is_public)

    def _listed(self, req, view, path):
        flavors, more = _filtered(req, self._flavors(req))
        body = {'flavors': [view(req, f) for f in flavors]}
        if more and flavors:
            body['flavors_links'] = _next_link(req, flavors, path)
        return body

    def _flavor(self, req, flavor_id):
        return self.compute_api.flavor_get(wsgi.get_context(req), flavor_id)

    @wsgi.expected_errors(400)
    def index(self, req):
        return self._listed(req, views.basic, ('flavors',))

    @wsgi.expected_errors(400)
    def detail(self, req):
        return self._listed(req, views.detail, ('flavors', 'detail'))

    @wsgi.expected_errors(404)
    def show(self, req, id):
        return {'flavor': views.detail(req, self._flavor(req, id))}

    @wsgi.expected_errors((400, 409))
    @validation.schema(schema.create)
    def create(self, req, body):
        values = body['flavor']
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.FLAVOR_CREATE)
        is_public = values.get('os-flavor-access:is_public', True)
        flavor = self.compute_api.flavor_create(
            ctx, values['name'], _int(values, 'ram'), _int(values, 'vcpus'),
            disk=_int(values, 'disk'), flavor_id=values.get('id'),
            swap=_int(values, 'swap'),
            ephemeral_gb=_int(values, 'OS-FLV-EXT-DATA:ephemeral'),
            rxtx_factor=float(values.get('rxtx_factor', 1.0)),
            is_public=strutils.bool_from_string(is_public, strict=True))
        return {'flavor': views.detail(req, flavor)}

    @wsgi.response(202)
    @wsgi.expected_errors(404)
    def delete(self, req, id):
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.FLAVOR_DELETE)
        self.compute_api.flavor_delete(ctx, id)

    @wsgi.expected_errors(404)
    def extra_specs(self, req, flavor_id):
        wsgi.get_context(req).can(admin_policies.EXTRA_SPECS_INDEX)
        flavor = self._flavor(req, flavor_id)
        return {'extra_specs': views.extra_specs(flavor)}

    @wsgi.expected_errors(404)
    def extra_spec(self, req, flavor_id, key):
        wsgi.get_context(req).can(admin_policies.EXTRA_SPECS_SHOW)
        specs = views.extra_specs(self._flavor(req, flavor_id))
        if key not in specs:
            raise exception.FlavorExtraSpecsNotFound(flavor_id=flavor_id,
                                                     key=key)
        return {key: specs[key]}

    @wsgi.expected_errors((400, 404))
    @validation.schema(schema.extra_specs_create)
    def extra_specs_create(self, req, flavor_id, body):
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.EXTRA_SPECS_CREATE)
        specs = self.compute_api.flavor_extra_specs_update(
            ctx, flavor_id, _spec_strings(body['extra_specs']),
            admin_policies.EXTRA_SPECS_CREATE)
        return {'extra_specs': specs}

    @wsgi.expected_errors((400, 404))
    @validation.schema(schema.extra_spec_update)
    def extra_spec_update(self, req, flavor_id, key, body):
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.EXTRA_SPECS_UPDATE)
        if key not in body:
            raise webob.exc.HTTPBadRequest(
                explanation='Request body and URI mismatch: the body '
                            'must set the key the URL names (%s).' % key)
        specs = self.compute_api.flavor_extra_specs_update(
            ctx, flavor_id, _spec_strings(body),
            admin_policies.EXTRA_SPECS_UPDATE)
        return {key: specs[key]}

    # 200 with no body, as Nova (the flavor's delete is a 202).
    @wsgi.expected_errors(404)
    def extra_spec_delete(self, req, flavor_id, key):
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.EXTRA_SPECS_DELETE)
        self.compute_api.flavor_extra_spec_delete(ctx, flavor_id, key)
