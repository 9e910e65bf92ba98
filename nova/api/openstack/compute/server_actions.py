"""POST /servers/{id}/action: the body's single key names the action.

reboot (202), rebuild (202 with the server), os-getConsoleOutput (200),
os-getSerialConsole (200; microversions 2.1 to 2.5 only, as in Nova:
2.6 replaced it by POST /servers/{id}/remote-consoles), lock and unlock
(202; a locked server refuses reboot, rebuild, delete, live migration,
stop, start and metadata changes to all but admins, 409), os-stop and
os-start (202; ACTIVE or ERROR -> SHUTOFF -> ACTIVE) and, for admins,
os-migrateLive (202; from 2.30 a named host passes the scheduler's
checks unless ``force`` is true) and migrate (202); resize (202),
confirmResize (204) and revertResize (202), as Nova; shelve,
shelveOffload and unshelve (202; nova.api.openstack.compute.shelve);
os-resetState (202, admins; nova.api.openstack.compute.admin_actions).
A rebuild is accepted from ACTIVE, ERROR and SHUTOFF (stopped: rebuilt
and left SHUTOFF), as Nova.
"""

from oslo_utils import strutils
import webob.exc

from nova.api.openstack.compute import admin_actions
from nova.api.openstack.compute import console_output
from nova.api.openstack.compute.schemas import server_actions as schemas
from nova.api.openstack.compute import server_tags
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import shelve
from nova.api.openstack.compute import validation
from nova.api.openstack.compute.views import servers as views
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import admin_apis as admin_policies
from nova.policies import consoles as console_policies
from nova.policies import lock_server as lock_policies
from nova.policies import servers as server_policies

# Nova's rule; its default: admins only.
MIGRATE_LIVE_POLICY = admin_policies.MIGRATE_LIVE
MIGRATE_POLICY = admin_policies.MIGRATE

# What a live migration cannot do because of the request (the target, or
# no target the scheduler can find): 400, as Nova. ComputeHostNotFound
# is a 404 elsewhere, but here the host is named in the body.
MIGRATE_LIVE_BAD_REQUEST = (
    exception.NoValidHost,
    exception.ComputeServiceUnavailable,
    exception.ComputeHostNotFound,
    exception.MigrationPreCheckError,
)

SERIAL_CONSOLE_GONE = ('os-getSerialConsole exists up to microversion 2.5; '
                       'from 2.6 on use POST /servers/{id}/remote-consoles.')


class ServerActionsController(admin_actions.AdminActions,
                              shelve.ShelveActions, wsgi.Controller):
    """Each action a handler (``wsgi.action``); the base class's
    ``action`` reads its name from the body."""

    def _authorize(self, req, rule, server_id):
        servers.authorize_server(self.compute_api, req, rule, server_id)

    def _act(self, req, rule, server_id, method):
        servers.server_action(self.compute_api, req, rule, server_id,
                              method)

    @wsgi.response(202)
    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('reboot')
    @validation.schema(schemas.reboot)
    def _reboot(self, req, id, body):
        self._authorize(req, server_policies.REBOOT, id)
        reboot_type = body['reboot']['type'].upper()
        self.compute_api.reboot(wsgi.get_context(req), id, reboot_type)

    @wsgi.response(202)
    @wsgi.expected_errors((400, 403, 404, 409))
    @wsgi.action('rebuild')
    @validation.schema(schemas.rebuild, '2.1', '2.18')
    @validation.schema(schemas.rebuild_v219, '2.19')
    def _rebuild(self, req, id, body):
        self._authorize(req, server_policies.REBUILD, id)
        rebuild = body['rebuild']
        servers.refuse_unsupported(rebuild, 'rebuild')
        image_id = servers.id_from_ref('rebuild.imageRef',
                                       rebuild['imageRef'])
        # name, metadata (replaces the server's), access IPs, diskConfig
        # and (2.19) description; preserve_ephemeral has nothing to keep.
        kwargs = servers.common_options(rebuild, 'rebuild')
        password = servers.admin_password(rebuild)
        try:
            server = self.compute_api.rebuild(wsgi.get_context(req), id,
                                              image_id, **kwargs)
        except exception.ImageNotFound as e:
            raise webob.exc.HTTPBadRequest(
                explanation='Cannot find image for rebuild: %s' % e.message)
        server_tags.with_tags(self.compute_api, req, [server])
        body = views.detail(req, server, extended=False)
        if password is not None:
            body['adminPass'] = password
        return wsgi.ResponseObject(
            {'server': body},
            headers={'Location': servers.location(req, server)})

    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('os-getConsoleOutput')
    @validation.schema(schemas.get_console_output)
    def _get_console_output(self, req, id, body):
        # One database round trip: the server and its host's liveness,
        # read to authorize the call and handed on (not read again).
        server = servers.authorize_server(
            self.compute_api, req, console_policies.CONSOLE_OUTPUT, id,
            read=self.compute_api.get_console_server)
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
                         else length), server=server)
        return {'output': console_output.output_text(data, length)}

    # As in Nova: 2.6 replaced it by POST /servers/{id}/remote-consoles.
    @wsgi.Controller.api_version('2.1', '2.5', SERIAL_CONSOLE_GONE)
    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('os-getSerialConsole')
    @validation.schema(schemas.get_serial_console)
    def _get_serial_console(self, req, id, body):
        self._authorize(req, console_policies.REMOTE_CONSOLES, id)
        console = self.compute_api.get_serial_console(
            wsgi.get_context(req), id,
            console_type=body['os-getSerialConsole']['type'])
        return {'console': {'type': console['type'], 'url': console['url']}}

    @wsgi.response(202)
    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('os-migrateLive')
    def _migrate_live(self, req, id, body):
        # Admins only, whatever the body: checked before the schema.
        self._authorize(req, MIGRATE_LIVE_POLICY, id)
        wsgi.resolve(self._live_migrate, req)(req, id, body=body)

    # 2.25: block_migration "auto", and no disk_over_commit. Before 2.30
    # a named host is forced (no scheduler checks).
    @wsgi.Controller.api_version('2.1', '2.29')
    @validation.schema(schemas.migrate_live, '2.1', '2.24')
    @validation.schema(schemas.migrate_live_v225, '2.25', '2.29')
    def _live_migrate(self, req, id, body):
        self._start_live_migration(req, id, body['os-migrateLive'], True)

    # 2.30: forced only when the body says force: true.
    @wsgi.Controller.api_version('2.30')
    @validation.schema(schemas.migrate_live_v230)
    def _live_migrate(self, req, id, body):  # noqa: F811
        request = body['os-migrateLive']
        self._start_live_migration(
            req, id, request, strutils.bool_from_string(
                request.get('force', False), strict=True))

    def _start_live_migration(self, req, id, request, force):
        block_migration = request['block_migration']
        if block_migration != schemas.BLOCK_MIGRATION_AUTO:
            # The schema allowed only oslo's strict spellings.
            block_migration = strutils.bool_from_string(block_migration,
                                                        strict=True)
        # disk_over_commit (before 2.25): as Nova, how the source checks
        # the destination's free space for a block migration; from 2.25
        # there is no such check (None).
        disk_over_commit = request.get('disk_over_commit')
        if disk_over_commit is not None:
            disk_over_commit = strutils.bool_from_string(disk_over_commit,
                                                         strict=True)
        try:
            self.compute_api.live_migrate(
                wsgi.get_context(req), id, host=request['host'],
                block_migration=block_migration, force=force,
                disk_over_commit=disk_over_commit)
        except MIGRATE_LIVE_BAD_REQUEST as e:
            raise webob.exc.HTTPBadRequest(explanation=e.message)

    # -- ver: lock / unlock (Nova's os-lock-server; 2.9 shows ``locked``)

    @wsgi.response(202)
    @wsgi.expected_errors(404)
    @wsgi.action('lock')
    @validation.schema(schemas.lock)
    def _lock(self, req, id, body):
        self._act(req, lock_policies.LOCK, id, 'lock')

    @wsgi.response(202)
    @wsgi.expected_errors(404)
    @wsgi.action('unlock')
    @validation.schema(schemas.unlock)
    def _unlock(self, req, id, body):
        ctx = wsgi.get_context(req)
        server = servers.authorize_server(self.compute_api, req,
                                          lock_policies.UNLOCK, id)
        if not self.compute_api.is_expected_locked_by(ctx, server):
            # Locked by the other side (an admin's lock on an owner's
            # server): only who may override unlocks it.
            ctx.can(lock_policies.UNLOCK_OVERRIDE,
                    target={'project_id': server['project_id'],
                            'user_id': server['user_id']})
        self.compute_api.unlock(ctx, id)

    # -- resize: migrate, resize, confirmResize, revertResize (Nova's) ---

    @wsgi.response(202)
    @wsgi.expected_errors((400, 403, 404, 409))
    @wsgi.action('migrate')
    def _migrate(self, req, id, body):
        # Admins only, whatever the body: checked before the schema.
        self._authorize(req, MIGRATE_POLICY, id)
        validation.validate(body, schemas.migrate)
        try:
            self.compute_api.migrate(wsgi.get_context(req), id)
        except exception.NoValidHost as e:
            raise webob.exc.HTTPBadRequest(explanation=e.message)

    @wsgi.response(202)
    @wsgi.expected_errors((400, 401, 403, 404, 409))
    @wsgi.action('resize')
    @validation.schema(schemas.resize)
    def _resize(self, req, id, body):
        self._authorize(req, server_policies.RESIZE, id)
        flavor_ref = str(body['resize']['flavorRef'])
        try:
            self.compute_api.resize(wsgi.get_context(req), id, flavor_ref)
        except exception.FlavorNotFound:
            raise webob.exc.HTTPBadRequest(
                explanation='Unable to locate requested flavor.')
        except exception.NoValidHost as e:
            raise webob.exc.HTTPBadRequest(explanation=e.message)

    @wsgi.response(204)
    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('confirmResize')
    @validation.schema(schemas.confirm_resize)
    def _confirm_resize(self, req, id, body):
        self._act(req, server_policies.CONFIRM_RESIZE, id, 'confirm_resize')

    @wsgi.response(202)
    @wsgi.expected_errors((400, 404, 409))
    @wsgi.action('revertResize')
    @validation.schema(schemas.revert_resize)
    def _revert_resize(self, req, id, body):
        self._act(req, server_policies.REVERT_RESIZE, id, 'revert_resize')

    # -- os-stop / os-start (Nova's; the body's value is not read, null
    # as Nova's clients send it)

    @wsgi.response(202)
    @wsgi.expected_errors((404, 409))
    @wsgi.action('os-stop')
    def _stop(self, req, id, body):
        self._act(req, server_policies.STOP, id, 'stop')

    @wsgi.response(202)
    @wsgi.expected_errors((404, 409))
    @wsgi.action('os-start')
    def _start(self, req, id, body):
        self._act(req, server_policies.START, id, 'start')
