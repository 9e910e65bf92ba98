"""POST /servers/{id}/action: the body's single key names the action.

reboot (202), rebuild (202 with the server), os-getConsoleOutput (200),
os-getSerialConsole (200; microversions 2.1 to 2.5 only, as in Nova:
2.6 replaced it by POST /servers/{id}/remote-consoles) and, for admins,
os-migrateLive (202).
"""

import webob.exc

from nova.api.openstack.compute import console_output
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.schemas import parameter_types
from nova.api.openstack.compute.schemas import server_actions as schemas
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import servers as views
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import admin_apis as admin_policies
from nova.policies import consoles as console_policies
from nova.policies import servers as server_policies

SERIAL_CONSOLE_MAX_VERSION = microversion.APIVersion(2, 5)
# block_migration "auto", and no disk_over_commit.
MIGRATE_LIVE_AUTO_VERSION = microversion.APIVersion(2, 25)
# Nova's rule; its default: admins only.
MIGRATE_LIVE_POLICY = admin_policies.MIGRATE_LIVE

# What a live migration cannot do because of the request (the target, or
# no target the scheduler can find): 400, as Nova. ComputeHostNotFound
# is a 404 elsewhere, but here the host is named in the body.
MIGRATE_LIVE_BAD_REQUEST = (
    exception.NoValidHost,
    exception.ComputeServiceUnavailable,
    exception.ComputeHostNotFound,
    exception.MigrationPreCheckError,
)


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
            'os-migrateLive': self._migrate_live,
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
        wsgi.get_context(req).can(server_policies.REBOOT)
        validation.validate(body, schemas.reboot)
        reboot_type = body['reboot']['type'].upper()
        self.compute_api.reboot(wsgi.get_context(req), id, reboot_type)
        return wsgi.empty_response(202)

    def _rebuild(self, req, id, body):
        wsgi.get_context(req).can(server_policies.REBUILD)
        if microversion.is_supported(req, views.DESCRIPTION_VERSION):
            validation.validate(body, schemas.rebuild_v219)
        else:
            validation.validate(body, schemas.rebuild)
        rebuild = body['rebuild']
        image_id = servers.id_from_ref('rebuild.imageRef',
                                       rebuild['imageRef'])
        kwargs = {}
        if 'description' in rebuild:
            kwargs['description'] = rebuild['description']
        try:
            server = self.compute_api.rebuild(wsgi.get_context(req), id,
                                              image_id, **kwargs)
        except exception.ImageNotFound as e:
            raise webob.exc.HTTPBadRequest(
                explanation='Cannot find image for rebuild: %s' % e.message)
        return wsgi.json_response(
            {'server': views.detail(req, server, extended=False)},
            status=202, headers={'Location': servers.location(req, server)})

    def _get_console_output(self, req, id, body):
        wsgi.get_context(req).can(console_policies.CONSOLE_OUTPUT)
        validation.validate(body, schemas.get_console_output)
        value = body['os-getConsoleOutput'].get('length')
        try:
            length = console_output.parse_length(value)
        except ValueError as e:
            raise exception.ValidationError(
                field='os-getConsoleOutput.length',
                detail='expected null or an integer >= -1: %s' % e)
        # The compute host cuts the lines (RPC API 2.1), so only they
        # cross RPC; cut here again, as the host's answer is not trusted.
        data = self.compute_api.get_console_output(
            wsgi.get_context(req), id,
            tail_length=(None if length == console_output.ALL_LINES
                         else length))
        text = console_output.last_lines(console_output.to_text(data),
                                         length)
        return wsgi.json_response({'output': text})

    def _get_serial_console(self, req, id, body):
        if wsgi.get_version(req) > SERIAL_CONSOLE_MAX_VERSION:
            raise webob.exc.HTTPNotFound(
                explanation='os-getSerialConsole exists up to microversion '
                            '%s; from 2.6 on use POST /servers/{id}/'
                            'remote-consoles.' % SERIAL_CONSOLE_MAX_VERSION)
        wsgi.get_context(req).can(console_policies.REMOTE_CONSOLES)
        validation.validate(body, schemas.get_serial_console)
        console = self.compute_api.get_serial_console(
            wsgi.get_context(req), id,
            console_type=body['os-getSerialConsole']['type'])
        return wsgi.json_response(
            {'console': {'type': console['type'], 'url': console['url']}})

    def _migrate_live(self, req, id, body):
        # Checked first: refused whatever the body (default: admins).
        wsgi.get_context(req).can(MIGRATE_LIVE_POLICY)
        with_auto = microversion.is_supported(req, MIGRATE_LIVE_AUTO_VERSION)
        validation.validate(body, schemas.migrate_live_v225 if with_auto
                            else schemas.migrate_live)
        request = body['os-migrateLive']
        block_migration = request['block_migration']
        if block_migration != schemas.BLOCK_MIGRATION_AUTO:
            block_migration = parameter_types.to_bool(block_migration)
        # disk_over_commit (before 2.25) is validated, not passed on: the
        # compute API has no such switch (Nova dropped it in 2.25).
        try:
            self.compute_api.live_migrate(
                wsgi.get_context(req), id, host=request['host'],
                block_migration=block_migration)
        except MIGRATE_LIVE_BAD_REQUEST as e:
            raise webob.exc.HTTPBadRequest(explanation=e.message)
        return wsgi.empty_response(202)
