"""Shelve, shelveOffload, unshelve: POST /servers/{id}/action (Nova's
os-shelve, 202 each).

``{"shelve": null}`` (the owner): the server's disk saved as the image
"<name>-shelved", the guest stopped: SHELVED, then SHELVED_OFFLOADED at
once with ``[DEFAULT] shelved_offload_time`` = 0. ``{"shelveOffload":
null}`` (admins by default): a SHELVED server leaves its host.
``{"unshelve": null}`` (the owner): ACTIVE again, on its host or on one
the scheduler picks, with its whole console log. A server in another
state, or locked, is 409; another project's, 404. See
nova.conductor.shelve and doc/source/admin/shelve.rst.
"""

from nova.api.openstack.compute import servers
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import wsgi
from nova.policies import shelve as shelve_policies


def _null_body(name):
    return {
        'type': 'object',
        'properties': {name: {'type': 'null'}},
        'required': [name],
        'additionalProperties': False,
    }


shelve_schema = _null_body('shelve')
shelve_offload_schema = _null_body('shelveOffload')
# Before 2.77 Nova's unshelve takes no options; {} is let through as
# null (clients of later microversions send it).
unshelve_schema = {
    'type': 'object',
    'properties': {'unshelve': {'anyOf': [
        {'type': 'null'},
        {'type': 'object', 'additionalProperties': False}]}},
    'required': ['unshelve'],
    'additionalProperties': False,
}


class ShelveActions(wsgi.Controller):
    """Mixed into ServerActionsController: its three actions."""

    @wsgi.response(202)
    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('shelve')
    @validation.schema(shelve_schema)
    def _shelve(self, req, id, body):
        servers.server_action(self.compute_api, req,
                              shelve_policies.SHELVE, id, 'shelve')

    @wsgi.response(202)
    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('shelveOffload')
    @validation.schema(shelve_offload_schema)
    def _shelve_offload(self, req, id, body):
        servers.server_action(self.compute_api, req,
                              shelve_policies.SHELVE_OFFLOAD, id,
                              'shelve_offload')

    @wsgi.response(202)
    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('unshelve')
    @validation.schema(unshelve_schema)
    def _unshelve(self, req, id, body):
        servers.server_action(self.compute_api, req,
                              shelve_policies.UNSHELVE, id, 'unshelve')
