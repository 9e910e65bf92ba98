"""/os-services: the compute services and their state (admins only).

``GET /os-services`` lists them; two query parameters filter the list,
as in Nova: ``host`` and ``binary``, each an exact match; an empty value
filters nothing.

The changes are Nova's forms before 2.53, a service named by ``host``
and ``binary`` in the body: ``PUT /os-services/enable``, ``/disable``,
``/disable-log-reason`` (with ``disabled_reason``) and, from 2.11,
``/force-down`` (with ``forced_down``). A disabled host takes no new
server; a forced-down one counts as down at once. ``DELETE
/os-services/{id}`` forgets a service whose host has no server.
"""

from oslo_utils import strutils
import webob.exc

from nova.api.openstack.compute.schemas import services as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import services as views
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import admin_apis as admin_policies

FILTERS = ('host', 'binary')
_ID_DIGITS = 19


def _unknown_action(action):
    return webob.exc.HTTPNotFound(
        explanation='Unknown action: %s' % action[:40])


class ServicesController(wsgi.Controller):
    @wsgi.expected_errors(())
    def index(self, req):
        wsgi.get_context(req).can(admin_policies.SERVICES_LIST)
        params = wsgi.query_params(req)
        services = self.compute_api.service_list(wsgi.get_context(req))
        for name in FILTERS:
            value = params.get(name)
            if value:
                services = [s for s in services if s[name] == value]
        return {'services': [views.service(req, s) for s in services]}

    def _values(self, action, body):
        """The new values of the service, from ``action`` and ``body``."""
        if action == 'enable':
            return {'disabled': False, 'disabled_reason': None}
        if action == 'disable':
            return {'disabled': True}
        if action == 'disable-log-reason':
            reason = (body.get('disabled_reason') or '').strip()
            if not reason:
                raise exception.ValidationError(
                    field='disabled_reason',
                    detail='is required and must not be blank')
            return {'disabled': True, 'disabled_reason': reason}
        raise _unknown_action(action)

    def _update(self, req, values, body):
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.SERVICES_UPDATE)
        service = self.compute_api.service_find(ctx, body['host'],
                                                body['binary'])
        return self.compute_api.service_update(ctx, service['id'], values)

    @wsgi.expected_errors((400, 404))
    @validation.schema(schema.service_update, '2.1', '2.10')
    @validation.schema(schema.service_update_v211, '2.11')
    def update(self, req, verb, body):
        # force-down is its own route (2.11 and later): below 2.11 it
        # is an unknown action here, a 404 as in Nova.
        action = verb  # 'action' is a routing key of the mapper
        values = self._values(action, body)
        service = self._update(req, values, body)
        answer = {'host': service['host'], 'binary': service['binary'],
                  'status': 'disabled' if service['disabled']
                  else 'enabled'}
        if action == 'disable-log-reason':
            answer['disabled_reason'] = service['disabled_reason']
        return {'service': answer}

    @wsgi.Controller.api_version('2.11')
    @wsgi.expected_errors((400, 404))
    @validation.schema(schema.service_update_v211)
    def force_down(self, req, body):
        if 'forced_down' not in body:
            raise exception.ValidationError(field='forced_down',
                                            detail='is required')
        service = self._update(req, {'forced_down': strutils.bool_from_string(
            body['forced_down'], strict=True)}, body)
        return {'service': {'host': service['host'],
                            'binary': service['binary'],
                            'forced_down': bool(service['forced_down'])}}

    @wsgi.response(204)
    @wsgi.expected_errors((404, 409))
    def delete(self, req, id):
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.SERVICES_DELETE)
        if not id.isdigit() or len(id) > _ID_DIGITS:
            raise exception.ServiceNotFound(service_id=id[:40])
        self.compute_api.service_delete(ctx, int(id))
