"""/os-quota-sets/{tenant_id}: a project's quotas, as Nova's (2.1-2.35).

GET (``?user_id=``: that user's within the project) ``{"quota_set":
{"id": tenant_id, <resource>: limit, ...}}``; ``/detail`` gives each
resource as ``{"limit", "in_use", "reserved": 0}``; ``/defaults`` the
defaults. PUT ``{"quota_set": {<resource>: limit, "force": bool}}``
(admin; 400 for a limit below the usage or a user's above its project's,
unless forced) answers the limits then in force, without ``id``. DELETE
(admin) sets the project (and its users) back to the defaults, 202.
What is enforced and what is only stored: ``nova.quota``.
"""

from nova.api.openstack.compute.schemas import quotas as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import quotas as policies
from nova import quota


def _body(limits, **extra):
    body = {resource: limits[resource] for resource in quota.RESOURCES}
    body.update(extra)
    return {'quota_set': body}


def _user_id(req):
    user_id = wsgi.query_params(req).get('user_id')
    if user_id is not None and not 1 <= len(user_id) <= 255:
        raise exception.ValidationError(
            field='user_id', detail='a user id has 1 to 255 characters')
    return user_id


class QuotaSetsController(wsgi.Controller):
    def _authorize(self, req, rule, tenant_id, user_id=None):
        ctx = wsgi.get_context(req)
        ctx.can(rule, target={'project_id': tenant_id,
                              'user_id': user_id or ctx.user_id})
        return ctx

    @wsgi.expected_errors(400)
    def show(self, req, id):
        user_id = _user_id(req)
        ctx = self._authorize(req, policies.SHOW, id, user_id)
        return _body(self.compute_api.quota_limits(ctx, id, user_id),
                     id=id)

    @wsgi.expected_errors(400)
    def detail(self, req, id):
        user_id = _user_id(req)
        ctx = self._authorize(req, policies.DETAIL, id, user_id)
        limits = self.compute_api.quota_limits(ctx, id, user_id)
        used = self.compute_api.quota_usage(ctx, id, user_id)
        return _body({resource: {'limit': limits[resource],
                                 'in_use': used[resource], 'reserved': 0}
                      for resource in quota.RESOURCES}, id=id)

    @wsgi.expected_errors(400)
    def defaults(self, req, id):
        wsgi.query_params(req)  # none taken; a bad one is still a 400
        ctx = self._authorize(req, policies.DEFAULTS, id)
        return _body(self.compute_api.quota_defaults(ctx), id=id)

    @wsgi.expected_errors(400)
    @validation.schema(schema.update)
    def update(self, req, id, body):
        user_id = _user_id(req)
        ctx = self._authorize(req, policies.UPDATE, id, user_id)
        values = dict(body['quota_set'])
        force = str(values.pop('force', False)).lower() in (
            'true', '1', 'on', 'yes')
        return _body(self.compute_api.quota_update(
            ctx, id, values, user_id=user_id, force=force))

    @wsgi.response(202)
    @wsgi.expected_errors(400)
    def delete(self, req, id):
        user_id = _user_id(req)
        ctx = self._authorize(req, policies.DELETE, id, user_id)
        self.compute_api.quota_delete(ctx, id, user_id)
