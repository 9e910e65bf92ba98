"""/os-quota-class-sets/{id}: quota classes, as Nova's (2.1-2.49).

Only the ``default`` class means anything (Nova's too): its limits are
the defaults of every project, over ``[quota]``'s. GET ``{"quota_class_set":
{"id": id, <resource>: limit, ...}}``; PUT ``{"quota_class_set":
{<resource>: limit}}`` answers the class's limits without ``id``. Admin
only (Nova's rules).
"""

from nova.api.openstack.compute.schemas import quotas as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova.policies import quotas as policies
from nova import quota


def _body(limits, **extra):
    body = {resource: limits[resource] for resource in quota.RESOURCES}
    body.update(extra)
    return {'quota_class_set': body}


class QuotaClassSetsController(wsgi.Controller):
    @wsgi.expected_errors(400)
    def show(self, req, id):
        wsgi.query_params(req)  # none taken; a bad one is still a 400
        ctx = wsgi.get_context(req)
        ctx.can(policies.CLASS_SHOW)
        return _body(self.compute_api.quota_class_get(ctx, id), id=id)

    @wsgi.expected_errors(400)
    @validation.schema(schema.update_class)
    def update(self, req, id, body):
        ctx = wsgi.get_context(req)
        ctx.can(policies.CLASS_UPDATE)
        return _body(self.compute_api.quota_class_update(
            ctx, id, body['quota_class_set']))
