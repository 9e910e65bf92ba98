"""os-resetState (Nova's os-admin-actions): POST /servers/{id}/action
``{"os-resetState": {"state": "active" | "error"}}``, admins only: the
server's vm_state is set and its task_state cleared (202). Another state
is 400; a server that does not exist, 404. The guest is not touched.
"""

from nova.api.openstack.compute import servers
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova.policies import admin_actions as policies

reset_state_schema = {
    'type': 'object',
    'properties': {
        'os-resetState': {
            'type': 'object',
            'properties': {
                'state': {'type': 'string', 'enum': ['active', 'error']},
            },
            'required': ['state'],
            'additionalProperties': False,
        },
    },
    'required': ['os-resetState'],
    'additionalProperties': False,
}


class AdminActions(wsgi.Controller):
    """Mixed into ServerActionsController: os-resetState."""

    @wsgi.response(202)
    @wsgi.expected_errors((400, 404))
    @wsgi.action('os-resetState')
    @validation.schema(reset_state_schema)
    def _reset_state(self, req, id, body):
        servers.authorize_server(self.compute_api, req,
                                 policies.RESET_STATE, id)
        self.compute_api.reset_state(wsgi.get_context(req), id,
                                     body['os-resetState']['state'])
