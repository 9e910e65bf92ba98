"""/os-aggregates: host aggregates (admins only), as Nova's before 2.41.

``GET``/``POST /os-aggregates``, ``GET``/``PUT``/``DELETE
/os-aggregates/{id}`` and the actions ``add_host``, ``remove_host`` and
``set_metadata`` (``POST /os-aggregates/{id}/action``). Ids are
integers: any other id is a 404. A host in an aggregate with an
``availability_zone`` is in that zone (see nova.compute.aggregates).
"""

import re

from nova.api.openstack.compute.schemas import aggregates as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import aggregates as views
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import aggregates as policies

_ID_RE = re.compile('[0-9]{1,19}')
MAX_ID = 2 ** 63 - 1
MAX_SHOWN = 40


def parse_id(text):
    if _ID_RE.fullmatch(text) is None or int(text) > MAX_ID:
        if len(text) > MAX_SHOWN:
            text = text[:MAX_SHOWN] + '...'
        raise exception.AggregateNotFound(aggregate_id=text)
    return int(text)


class AggregatesController(wsgi.Controller):
    def _ctx(self, req, rule):
        ctx = wsgi.get_context(req)
        ctx.can(rule)
        return ctx

    @wsgi.expected_errors(())
    def index(self, req):
        ctx = self._ctx(req, policies.INDEX)
        return {'aggregates': [views.aggregate(a) for a in
                               self.compute_api.aggregate_list(ctx)]}

    @wsgi.expected_errors((400, 409))
    @validation.schema(schema.create)
    def create(self, req, body):
        ctx = self._ctx(req, policies.CREATE)
        values = body['aggregate']
        agg = self.compute_api.aggregate_create(
            ctx, values['name'], values.get('availability_zone'))
        return {'aggregate': views.aggregate(agg, with_members=False)}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        ctx = self._ctx(req, policies.SHOW)
        return {'aggregate': views.aggregate(
            self.compute_api.aggregate_get(ctx, parse_id(id)))}

    @wsgi.expected_errors((400, 404, 409))
    @validation.schema(schema.update)
    def update(self, req, id, body):
        ctx = self._ctx(req, policies.UPDATE)
        agg = self.compute_api.aggregate_update(ctx, parse_id(id),
                                                body['aggregate'])
        return {'aggregate': views.aggregate(agg)}

    @wsgi.expected_errors((400, 404))
    def delete(self, req, id):
        ctx = self._ctx(req, policies.DELETE)
        self.compute_api.aggregate_delete(ctx, parse_id(id))

    @wsgi.expected_errors((404, 409))
    @wsgi.action('add_host')
    @validation.schema(schema.add_host)
    def _add_host(self, req, id, body):
        ctx = self._ctx(req, policies.ADD_HOST)
        agg = self.compute_api.aggregate_add_host(
            ctx, parse_id(id), body['add_host']['host'])
        return {'aggregate': views.aggregate(agg)}

    @wsgi.expected_errors((404, 409))
    @wsgi.action('remove_host')
    @validation.schema(schema.remove_host)
    def _remove_host(self, req, id, body):
        ctx = self._ctx(req, policies.REMOVE_HOST)
        agg = self.compute_api.aggregate_remove_host(
            ctx, parse_id(id), body['remove_host']['host'])
        return {'aggregate': views.aggregate(agg)}

    @wsgi.expected_errors((400, 404))
    @wsgi.action('set_metadata')
    @validation.schema(schema.set_metadata)
    def _set_metadata(self, req, id, body):
        ctx = self._ctx(req, policies.SET_METADATA)
        agg = self.compute_api.aggregate_set_metadata(
            ctx, parse_id(id), body['set_metadata']['metadata'])
        return {'aggregate': views.aggregate(agg)}
