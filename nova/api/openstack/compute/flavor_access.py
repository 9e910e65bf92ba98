"""os-flavor-access: who may use a private flavor, as Nova's.

- ``GET /flavors/{flavor_id}/os-flavor-access``: ``{"flavor_access":
  [{"flavor_id": ..., "tenant_id": ...}]}``; 404 for a missing flavor
  and for a public one ("Access list not available for public
  flavors.").
- ``POST /flavors/{flavor_id}/action`` with ``{"addTenantAccess":
  {"tenant": <project id>}}``: the new list (200); 409 when the flavor
  is public or the project has access already, 404 when the flavor is
  missing.
- ``{"removeTenantAccess": {"tenant": ...}}``: the list left (200); 404
  when the project had no access (or the flavor is missing).

All admin-only (``os_compute_api:os-flavor-access[:...]``). A project
given access sees the flavor in ``GET /flavors[/detail]`` and may boot
and resize to it; other non-admins get a 404 for it (400 at boot).
"""

from nova.api.openstack.compute.schemas import flavor_access as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi


class FlavorAccessController(wsgi.Controller):
    @wsgi.expected_errors(404)
    def index(self, req, flavor_id):
        access = self.compute_api.flavor_access_list(wsgi.get_context(req),
                                                     flavor_id)
        return {'flavor_access': access}

    @wsgi.expected_errors((400, 403, 404, 409))
    @wsgi.action('addTenantAccess')
    @validation.schema(schema.add_tenant_access)
    def _add_tenant_access(self, req, id, body):
        access = self.compute_api.flavor_access_add(
            wsgi.get_context(req), id, body['addTenantAccess']['tenant'])
        return {'flavor_access': access}

    @wsgi.expected_errors((400, 403, 404))
    @wsgi.action('removeTenantAccess')
    @validation.schema(schema.remove_tenant_access)
    def _remove_tenant_access(self, req, id, body):
        access = self.compute_api.flavor_access_remove(
            wsgi.get_context(req), id,
            body['removeTenantAccess']['tenant'])
        return {'flavor_access': access}
