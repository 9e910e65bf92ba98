"""POST /servers/{server_id}/console-viewers: a read-only console viewer.

An extension of this cloud, at every microversion (2.1 and later); Nova's
own console calls keep their contract (os-getSerialConsole and
remote-consoles hand out interactive ``serial`` consoles only).

Request ``{"console_viewer": {}}``; answer 200::

    {"console_viewer": {"protocol": "serial", "type": "serial-readonly",
                        "url": "ws://<proxy>/?token=<t>",
                        "web_url": "http://<proxy>/console.html?token=<t>"}}

``url`` is the websocket of nova-serialproxy, ``web_url`` its web terminal
(``https`` when ``[serial_console] base_url`` is ``wss``). The viewer sees
the guest's console output, history then live, and can type nothing.

Who may, and the errors, as remote-consoles: the server's project and
admins, enforced by the compute API, to which another project's server
does not exist (404, like an unknown one); 409 when the server is not
ACTIVE or its host is down; 400 for a bad body (naming the field) or a
host without serial consoles; 503 when the message broker cannot be
reached.
"""

from nova.api.openstack.compute.schemas import console_viewers as schema
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova.console import type as ctype
from nova.policies import consoles as console_policies


class ConsoleViewersController(wsgi.Controller):
    @wsgi.expected_errors((400, 404, 409))
    @validation.schema(schema.create)
    def create(self, req, server_id, body):
        servers.authorize_server(
            self.compute_api, req, console_policies.CONSOLE_VIEWERS,
            server_id)
        viewer = self.compute_api.get_console_viewer(wsgi.get_context(req),
                                                     server_id)
        return {'console_viewer': {
            'protocol': ctype.SERIAL,
            'type': viewer['type'],
            'url': viewer['url'],
            'web_url': viewer['web_url'],
        }}
