"""/servers/{server_id}/os-instance-actions[/{request_id}], as Nova's
(bodies of microversions 2.1 to 2.50).

The list ``{"instanceActions": [...]}`` is newest first; each action has
action, instance_uuid, message ('Error' when a step failed, else null),
project_id, request_id, start_time and user_id. The show adds
``events`` (each host step: event, start_time, finish_time, result,
traceback) for those the ``...:events`` rule allows (admins). From 2.21
a deleted server's actions are still shown (to its project and admins).
"""

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import wsgi
from nova.policies import instance_actions as policies

DELETED_VERSION = microversion.APIVersion(2, 21)
ACTION_KEYS = ('action', 'instance_uuid', 'message', 'project_id',
               'request_id', 'user_id')
EVENT_KEYS = ('event', 'result', 'traceback')


def isotime(value):
    """Nova's times in these bodies: ISO 8601 with microseconds."""
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat(timespec='microseconds')


def _action(action):
    body = {key: action[key] for key in ACTION_KEYS}
    body['start_time'] = isotime(action['start_time'])
    return body


def _event(event):
    body = {key: event[key] for key in EVENT_KEYS}
    body['start_time'] = isotime(event['start_time'])
    body['finish_time'] = isotime(event['finish_time'])
    return body


class InstanceActionsController(wsgi.Controller):
    def _owner_target(self, owner):
        return {'project_id': owner['project_id'],
                'user_id': owner['user_id']}

    @wsgi.expected_errors(404)
    def index(self, req, server_id):
        ctx = wsgi.get_context(req)
        owner, actions = self.compute_api.actions_list(
            ctx, server_id,
            deleted_ok=microversion.is_supported(req, DELETED_VERSION))
        ctx.can(policies.LIST, target=self._owner_target(owner))
        return {'instanceActions': [_action(a) for a in actions]}

    @wsgi.expected_errors(404)
    def show(self, req, server_id, request_id):
        ctx = wsgi.get_context(req)
        owner, action = self.compute_api.action_get(
            ctx, server_id, request_id,
            deleted_ok=microversion.is_supported(req, DELETED_VERSION))
        target = self._owner_target(owner)
        ctx.can(policies.SHOW, target=target)
        body = _action(action)
        if ctx.can(policies.EVENTS, target=target, fatal=False):
            body['events'] = [_event(e) for e in action['events']]
        return {'instanceAction': body}
