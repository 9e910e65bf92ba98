"""/flavors: list and show flavors and their extra specs (read only)."""

from nova.api.openstack.compute.views import flavors as views
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import admin_apis as admin_policies


class FlavorsController(wsgi.Controller):
    def _flavors(self, req):
        return self.compute_api.flavor_list(wsgi.get_context(req))

    def _flavor(self, req, flavor_id):
        return self.compute_api.flavor_get(wsgi.get_context(req), flavor_id)

    @wsgi.expected_errors(())
    def index(self, req):
        return {'flavors': [views.basic(req, f) for f in self._flavors(req)]}

    @wsgi.expected_errors(())
    def detail(self, req):
        return {'flavors': [views.detail(req, f)
                            for f in self._flavors(req)]}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        return {'flavor': views.detail(req, self._flavor(req, id))}

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
            raise exception.NotFound(
                'Flavor %s has no extra spec with key %s.' % (flavor_id, key))
        return {key: specs[key]}
