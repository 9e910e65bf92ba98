"""/os-hypervisors: the compute hosts' hypervisors (admins only).

As Nova before 2.53: ``GET /os-hypervisors`` lists id, name, state and
status; ``/detail`` and ``/{id}`` the full bodies; ``/statistics`` the
sums over enabled hosts; ``/{pattern}/search`` the hypervisors whose
host name contains ``pattern`` (404 when none does);
``/{pattern}/servers`` those with their servers; ``/{id}/uptime`` the
host's ``uptime`` line, asked of it (compute RPC 2.6; 400 when its
service is down).
Ids are integers: any other id is a 404.

``/os-hypervisors/serial-console-facts`` and
``/os-hypervisors/{id}/serial-console-facts`` are this project's
extension: how each host serves the serial console and its log.
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
# Of an id or a pattern that matches none, at most this much is quoted.
MAX_SHOWN = 40


def _shown(text):
    return text[:MAX_SHOWN] + '...' if len(text) > MAX_SHOWN else text


def parse_id(text):
    """The integer id in the path; HypervisorNotFound if it is none."""
    if _ID_RE.fullmatch(text) is None or int(text) > MAX_ID:
        raise exception.HypervisorNotFound(hypervisor_id=_shown(text))
    return int(text)


class HypervisorsController(wsgi.Controller):
    def _service_ids(self, ctx):
        """The nova-compute service id of each host."""
        return {s['host']: s['id']
                for s in self.compute_api.service_list(ctx)
                if s['binary'] == COMPUTE_BINARY}

    def _get(self, req, id, rule):
        ctx = wsgi.get_context(req)
        ctx.can(rule)
        return self.compute_api.hypervisor_get(ctx, parse_id(id))

    def _matching(self, req, pattern, rule):
        """Hypervisors whose host name contains ``pattern`` (Nova's
        LIKE '%pattern%' before 2.53); 404 when there is none."""
        ctx = wsgi.get_context(req)
        ctx.can(rule)
        found = [h for h in self.compute_api.hypervisor_list(ctx)
                 if pattern in h['hypervisor_hostname']]
        if not found:
            raise exception.HypervisorNotFound(
                hypervisor_id="matching '%s'" % _shown(pattern))
        return found

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
        return {'hypervisors': [
            views.detail(req, h, service_ids.get(h['host']))
            for h in hypervisors]}

    @wsgi.expected_errors(404)
    def show(self, req, id):
        hypervisor = self._get(req, id, admin_policies.HYPERVISORS_SHOW)
        service_id = self._service_ids(
            wsgi.get_context(req)).get(hypervisor['host'])
        return {'hypervisor': views.detail(req, hypervisor, service_id)}

    @wsgi.expected_errors(())
    def statistics(self, req):
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.HYPERVISORS_STATISTICS)
        return {'hypervisor_statistics': views.statistics(
            self.compute_api.hypervisor_list(ctx))}

    @wsgi.expected_errors(404)
    def search(self, req, pattern):
        return {'hypervisors': [views.basic(h) for h in self._matching(
            req, pattern, admin_policies.HYPERVISORS_SEARCH)]}

    @wsgi.expected_errors(404)
    def servers(self, req, pattern):
        found = self._matching(req, pattern,
                               admin_policies.HYPERVISORS_SERVERS)
        ctx = wsgi.get_context(req)
        return {'hypervisors': [views.with_servers(
            h, self.compute_api.hypervisor_servers(ctx, h['host']))
            for h in found]}

    @wsgi.expected_errors((400, 404, 501))
    def uptime(self, req, id):
        hypervisor = self._get(req, id, admin_policies.HYPERVISORS_UPTIME)
        # Asked of the host now (compute RPC 2.6), as Nova: 400 when its
        # service is down (ComputeServiceUnavailable).
        text = self.compute_api.get_host_uptime(wsgi.get_context(req),
                                                hypervisor['host'])
        return {'hypervisor': views.uptime(hypervisor, text)}

    @wsgi.expected_errors(())
    def console_facts_list(self, req):
        ctx = wsgi.get_context(req)
        ctx.can(admin_policies.HYPERVISORS_CONSOLE_FACTS)
        return {'serial_console_facts': [
            views.console_facts(h)
            for h in self.compute_api.hypervisor_list(ctx)]}

    @wsgi.expected_errors(404)
    def console_facts(self, req, id):
        hypervisor = self._get(req, id,
                               admin_policies.HYPERVISORS_CONSOLE_FACTS)
        return {'serial_console_facts': views.console_facts(hypervisor)}
