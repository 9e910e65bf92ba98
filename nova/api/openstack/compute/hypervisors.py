"""/os-hypervisors: the compute hosts' hypervisors (admins only).

``GET /os-hypervisors`` lists id, name, state and status;
``/os-hypervisors/detail`` and ``/os-hypervisors/{id}`` the full bodies.
Ids are integers, as in Nova before 2.53: any other id is a 404.
"""

import re

from nova.api.openstack.compute.views import hypervisors as views
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import admin_apis as admin_policies

COMPUTE_BINARY = 'nova-compute'
# At most 19 digits, checked before int(): larger ids cannot be in the
# database (a signed 64-bit column), and int() of thousands of digits
# raises rather than answering.
_ID_RE = re.compile('[0-9]{1,19}')
MAX_ID = 2 ** 63 - 1
# Of an id that is none, at most this much is quoted back.
MAX_SHOWN = 40


def parse_id(text):
    """The integer id in the path; HypervisorNotFound if it is none."""
    if _ID_RE.fullmatch(text) is None or int(text) > MAX_ID:
        if len(text) > MAX_SHOWN:
            text = text[:MAX_SHOWN] + '...'
        raise exception.HypervisorNotFound(hypervisor_id=text)
    return int(text)


class HypervisorsController(wsgi.Controller):
    def _service_ids(self, ctx):
        """The nova-compute service id of each host."""
        return {s['host']: s['id']
                for s in self.compute_api.service_list(ctx)
                if s['binary'] == COMPUTE_BINARY}

    @wsgi.expected_errors(())
    def index(self, req):
        wsgi.get_context(req).can(admin_policies.HYPERVISORS_LIST)
        hypervisors = self.compute_api.hypervisor_list(wsgi.get_context(req))
        return {'hypervisors': [views.basic(h) for h in hypervisors]}

    @wsgi.expected_errors(())
    def detail(self, req):
        wsgi.get_context(req).can(admin_policies.HYPERVISORS_LIST_DETAIL)
        ctx = wsgi.get_context(req)
        hypervisors = self.compute_api.hypervisor_list(ctx)
        service_ids = self._service_ids(ctx)
        return {'hypervisors': [views.detail(h, service_ids.get(h['host']))
                                for h in hypervisors]}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        wsgi.get_context(req).can(admin_policies.HYPERVISORS_SHOW)
        ctx = wsgi.get_context(req)
        hypervisor = self.compute_api.hypervisor_get(ctx, parse_id(id))
        service_id = self._service_ids(ctx).get(hypervisor['host'])
        return {'hypervisor': views.detail(hypervisor, service_id)}
