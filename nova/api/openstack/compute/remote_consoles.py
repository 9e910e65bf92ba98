"""POST /servers/{id}/remote-consoles (microversion 2.6 and later).

Only the serial console is served; asking for vnc, spice, rdp or (from
2.8, when Nova's schema learnt it) mks is a 400 "Unavailable console
type".
"""

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.schemas import remote_consoles as schema
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import consoles as console_policies

SERIAL = 'serial'
MKS_VERSION = microversion.APIVersion(2, 8)


class RemoteConsolesController:
    def __init__(self, compute_api):
        self.compute_api = compute_api

    def create(self, req, server_id):
        wsgi.get_context(req).can(console_policies.REMOTE_CONSOLES)
        body = wsgi.read_json_body(req)
        validation.validate(
            body, schema.create_v28
            if microversion.is_supported(req, MKS_VERSION) else schema.create)
        protocol = body['remote_console']['protocol']
        console_type = body['remote_console']['type']
        if protocol != SERIAL:
            raise exception.ConsoleTypeUnavailable(console_type=protocol)
        if console_type != SERIAL:
            raise exception.ConsoleTypeUnavailable(
                console_type='%s (protocol serial has only type serial)'
                % console_type)
        console = self.compute_api.get_serial_console(
            wsgi.get_context(req), server_id, console_type=console_type)
        return wsgi.json_response({'remote_console': {
            'protocol': protocol,
            'type': console['type'],
            'url': console['url'],
        }})
