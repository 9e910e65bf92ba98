"""POST /os-server-external-events (admins), Nova's body::

    {"events": [{"name": "network-changed", "server_uuid": "<uuid>",
                 "status": "completed", "tag": "<port id>"}]}

Each event comes back with ``status`` and Nova's ``code``: 200 accepted,
404 no such server, 422 the server has no host yet (both 'failed'). The
answer is 200 when every event was accepted, 207 when some were not,
404 when none was. An accepted event is acknowledged (logged) only:
servers here have no Neutron ports or Cinder volumes that a guest
would wait for (see doc/source/user/admin-apis.rst).
"""

import webob.exc

from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova.compute import api as compute_api_module
from nova.policies import server_external_events as policies

UUID_PATTERN = ('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                '[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')

create_schema = {
    'type': 'object',
    'properties': {
        'events': {
            'type': 'array',
            'minItems': 1,
            'items': {
                'type': 'object',
                'properties': {
                    'server_uuid': {
                        'type': 'string', 'pattern': UUID_PATTERN,
                        'description': 'a server UUID'},
                    'name': {
                        'type': 'string',
                        'enum': list(
                            compute_api_module.EXTERNAL_EVENT_NAMES),
                    },
                    'status': {
                        'type': 'string',
                        'enum': list(
                            compute_api_module.EXTERNAL_EVENT_STATUSES),
                    },
                    'tag': {'type': 'string', 'maxLength': 255},
                },
                'required': ['server_uuid', 'name'],
                'additionalProperties': False,
            },
        },
    },
    'required': ['events'],
    'additionalProperties': False,
}


class ServerExternalEventsController(wsgi.Controller):
    @wsgi.expected_errors((403, 404))
    @validation.schema(create_schema)
    def create(self, req, body):
        ctx = wsgi.get_context(req)
        ctx.can(policies.CREATE)
        answers = self.compute_api.external_instance_events(
            ctx, body['events'])
        if all(a['code'] == 404 for a in answers):
            raise webob.exc.HTTPNotFound(
                explanation='No instances found for any event')
        code = 200 if all(a['code'] == 200 for a in answers) else 207
        return wsgi.ResponseObject({'events': answers}, code=code)
