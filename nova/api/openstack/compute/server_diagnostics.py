"""GET /servers/{server_id}/diagnostics (admins): Nova's answer before
microversion 2.48, the hypervisor's statistics of the running guest as a
free-form object (from libvirt: ``cpu0_time``, ``memory``,
``memory-<stat>``, ``vda_read``... see
LibvirtDriver.get_diagnostics). 409 when the guest does not run or the
server has no host (yet) or its host is down; 404 for no such server.
"""

from nova.api.openstack.compute import servers
from nova.api.openstack.compute import wsgi
from nova.policies import server_diagnostics as policies


class ServerDiagnosticsController(wsgi.Controller):
    @wsgi.expected_errors((404, 409, 501))
    def index(self, req, server_id):
        servers.authorize_server(self.compute_api, req,
                                 policies.DIAGNOSTICS, server_id)
        return self.compute_api.get_diagnostics(wsgi.get_context(req),
                                                server_id)
