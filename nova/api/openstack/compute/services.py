"""GET /os-services: the compute services and their state (admins only).

Two query parameters filter the list, as in Nova: ``host`` and
``binary``, each an exact match; an empty value filters nothing. Nova's
PUT and DELETE calls (enable, disable, force-down, delete) are not
served.
"""

from nova.api.openstack.compute.views import services as views
from nova.api.openstack.compute import wsgi
from nova.policies import admin_apis as admin_policies

FILTERS = ('host', 'binary')


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
