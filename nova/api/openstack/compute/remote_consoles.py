"""POST /servers/{id}/remote-consoles (microversion 2.6 and later).

Only the serial console is served; asking for vnc, spice, rdp or (from
2.8, when Nova's schema learnt it) mks is a 400 "Unavailable console
type".
"""

from nova.api.openstack.compute.schemas import remote_consoles as schema
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import consoles as console_policies

SERIAL = 'serial'


class RemoteConsolesController(wsgi.Controller):
    # Before 2.6, as the router answered it before the decorators.
    @wsgi.Controller.api_version(
        '2.6', explanation='The resource could not be found. (It needs '
                           'microversion 2.6 or later.)')
    @wsgi.expected_errors((400, 404, 409))
    @validation.schema(schema.create, '2.6', '2.7')
    @validation.schema(schema.create_v28, '2.8')
    def create(self, req, server_id, body):
        protocol = body['remote_console']['protocol']
        console_type = body['remote_console']['type']
        # What this cloud serves is no secret: said before the server is
        # looked up.
        if protocol != SERIAL:
            raise exception.ConsoleTypeUnavailable(console_type=protocol)
        if console_type != SERIAL:
            raise exception.ConsoleTypeUnavailable(
                console_type='%s (protocol serial has only type serial)'
                % console_type)
        servers.authorize_server(
            self.compute_api, req, console_policies.REMOTE_CONSOLES,
            server_id)
        console = self.compute_api.get_serial_console(
            wsgi.get_context(req), server_id, console_type=console_type)
        return {'remote_console': {
            'protocol': protocol,
            'type': console['type'],
            'url': console['url'],
        }}
