"""POST /servers/{id}/action: the body's single key names the action.

reboot (202), rebuild (202 with the server), os-getConsoleOutput (200)
and os-getSerialConsole (200; microversions 2.1 to 2.5 only, as in Nova:
2.6 replaced it by POST /servers/{id}/remote-consoles).
"""

import webob.exc

from nova.api.openstack.compute import console_output
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.schemas import server_actions as schemas
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import servers as views
from nova.api.openstack.compute import wsgi
from nova import exception

SERIAL_CONSOLE_MAX_VERSION = microversion.APIVersion(2, 5)


def action_name(body):
    if not isinstance(body, dict) or len(body) != 1:
        raise webob.exc.HTTPBadRequest(
            explanation='An action request body must be a JSON object with '
                        'exactly one key, the name of the action.')
    return next(iter(body))


class ServerActionsController:
    def __init__(self, compute_api):
        self.compute_api = compute_api
        self.actions = {
            'reboot': self._reboot,
            'rebuild': self._rebuild,
            'os-getConsoleOutput': self._get_console_output,
            'os-getSerialConsole': self._get_serial_console,
        }

    def action(self, req, id):
        body = wsgi.read_json_body(req)
        name = action_name(body)
        handler = self.actions.get(name)
        if handler is None:
            raise webob.exc.HTTPBadRequest(
                explanation='There is no such action: %s' % name)
        return handler(req, id, body)

    def _reboot(self, req, id, body):
        validation.validate(body, schemas.reboot)
        reboot_type = body['reboot']['type'].upper()
        self.compute_api.reboot(wsgi.get_context(req), id, reboot_type)
        return wsgi.empty_response(202)

    def _rebuild(self, req, id, body):
        validation.validate(body, schemas.rebuild)
        image_id = servers.id_from_ref('rebuild.imageRef',
                                       body['rebuild']['imageRef'])
        try:
            server = self.compute_api.rebuild(wsgi.get_context(req), id,
                                              image_id)
        except exception.ImageNotFound as e:
            raise webob.exc.HTTPBadRequest(
                explanation='Cannot find image for rebuild: %s' % e.message)
        return wsgi.json_response(
            {'server': views.detail(req, server)}, status=202,
            headers={'Location': servers.location(req, server)})

    def _get_console_output(self, req, id, body):
        validation.validate(body, schemas.get_console_output)
        value = body['os-getConsoleOutput'].get('length')
        try:
            length = console_output.parse_length(value)
        except ValueError as e:
            raise exception.ValidationError(
                field='os-getConsoleOutput.length',
                detail='expected null or an integer >= -1: %s' % e)
        data = self.compute_api.get_console_output(wsgi.get_context(req), id)
        text = console_output.last_lines(console_output.to_text(data),
                                         length)
        return wsgi.json_response({'output': text})

    def _get_serial_console(self, req, id, body):
        if wsgi.get_version(req) > SERIAL_CONSOLE_MAX_VERSION:
            raise webob.exc.HTTPNotFound(
                explanation='os-getSerialConsole exists up to microversion '
                            '%s; from 2.6 on use POST /servers/{id}/'
                            'remote-consoles.' % SERIAL_CONSOLE_MAX_VERSION)
        validation.validate(body, schemas.get_serial_console)
        console = self.compute_api.get_serial_console(
            wsgi.get_context(req), id,
            console_type=body['os-getSerialConsole']['type'])
        return wsgi.json_response(
            {'console': {'type': console['type'], 'url': console['url']}})
