"""GET /os-availability-zone and /os-availability-zone/detail (admins),
as Nova's, from nova.compute.availability_zones.

The list names each zone with a compute service and whether one of them
is up and enabled (``zoneState.available``), ``hosts`` null. The detail
adds, per zone, ``{host: {binary: {available, active, updated_at}}}``
(available: the service is up; active: it is enabled), and the internal
zone of the services that are not nova-compute.
"""

from nova.api.openstack.compute.views import links
from nova.api.openstack.compute import wsgi
from nova.policies import availability_zone as policies


def _hosts(hosts):
    return {host: {binary: dict(state,
                                updated_at=links.isotime(
                                    state['updated_at']))
                   for binary, state in services.items()}
            for host, services in hosts.items()}


class AvailabilityZoneController(wsgi.Controller):
    def _zones(self, req, rule, with_hosts):
        ctx = wsgi.get_context(req)
        ctx.can(rule)
        return {'availabilityZoneInfo': [
            {'zoneName': zone, 'zoneState': {'available': available},
             'hosts': None if hosts is None else _hosts(hosts)}
            for zone, available, hosts in
            self.compute_api.availability_zones(ctx,
                                                with_hosts=with_hosts)]}

    @wsgi.expected_errors(())
    def index(self, req):
        return self._zones(req, policies.LIST, False)

    @wsgi.expected_errors(())
    def detail(self, req):
        return self._zones(req, policies.DETAIL, True)
