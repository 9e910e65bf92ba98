"""GET /os-migrations (admins), and from microversion 2.23 a server's
live migrations in progress: GET /servers/{server_id}/migrations and
/migrations/{migration_id}. As Nova's.

Every live migration is recorded: status preparing, running, then
completed, failed (the guest stayed on its source) or error (refused
before it started). os-migrations takes Nova's filters
``host`` (source or destination), ``status``, ``instance_uuid``,
``source_compute`` and ``migration_type``, newest first; its
migration_type and, for one in progress, links to the server's
migration appear from 2.23. ``old_instance_type_id`` and
``new_instance_type_id`` are integers in Nova: the flavor id when it is
one, else null. A server's migration has no progress counters here
(``*_bytes`` null): libvirt's job statistics are not collected.
"""

from nova.api.openstack.compute import instance_actions
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import servers
from nova.api.openstack.compute.views import links
from nova.api.openstack.compute import wsgi
from nova import exception
from nova.policies import migrations as policies

TYPE_VERSION = microversion.APIVersion(2, 23)
IN_PROGRESS = ('preparing', 'running')
LIVE_MIGRATION = 'live-migration'
FILTERS = ('host', 'status', 'instance_uuid', 'source_compute',
           'migration_type')
KEYS = ('id', 'status', 'instance_uuid', 'source_node', 'source_compute',
        'dest_node', 'dest_compute', 'dest_host', 'old_instance_type_id',
        'new_instance_type_id')
SERVER_KEYS = ('id', 'status', 'source_node', 'source_compute',
               'dest_node', 'dest_compute', 'dest_host')
PROGRESS_KEYS = ('disk_processed_bytes', 'disk_remaining_bytes',
                 'disk_total_bytes', 'memory_processed_bytes',
                 'memory_remaining_bytes', 'memory_total_bytes')


def _times(body, migration):
    body['created_at'] = instance_actions.isotime(migration['created_at'])
    body['updated_at'] = instance_actions.isotime(migration['updated_at'])
    return body


def _links(req, migration):
    parts = ('servers', migration['instance_uuid'], 'migrations',
             str(migration['id']))
    return [{'rel': 'self', 'href': links.versioned_url(req, *parts)},
            {'rel': 'bookmark', 'href': links.unversioned_url(req, *parts)}]


def _body(req, migration):
    body = _times({key: migration[key] for key in KEYS}, migration)
    if microversion.is_supported(req, TYPE_VERSION):
        body['migration_type'] = migration['migration_type']
        if (migration['migration_type'] == LIVE_MIGRATION and
                migration['status'] in IN_PROGRESS):
            body['links'] = _links(req, migration)
    return body


def _server_body(migration):
    body = {key: migration[key] for key in SERVER_KEYS}
    body['server_uuid'] = migration['instance_uuid']
    body.update(dict.fromkeys(PROGRESS_KEYS))
    return _times(body, migration)


class MigrationsController(wsgi.Controller):
    @wsgi.expected_errors(())
    def index(self, req):
        ctx = wsgi.get_context(req)
        ctx.can(policies.INDEX)
        params = wsgi.query_params(req)
        filters = {name: params[name] for name in FILTERS
                   if params.get(name)}
        return {'migrations': [
            _body(req, m)
            for m in self.compute_api.migration_list(ctx, **filters)]}


class ServerMigrationsController(wsgi.Controller):
    def _in_progress(self, req, server_id, rule):
        server = servers.authorize_server(self.compute_api, req, rule,
                                          server_id)
        return [m for m in self.compute_api.migration_list(
                    wsgi.get_context(req), instance_uuid=server['uuid'],
                    migration_type=LIVE_MIGRATION)
                if m['status'] in IN_PROGRESS], server

    @wsgi.Controller.api_version('2.23')
    @wsgi.expected_errors(404)
    def index(self, req, server_id):
        found, _server = self._in_progress(req, server_id,
                                           policies.SERVER_INDEX)
        return {'migrations': [_server_body(m) for m in found]}

    @wsgi.Controller.api_version('2.23')
    @wsgi.expected_errors(404)
    def show(self, req, server_id, migration_id):
        found, server = self._in_progress(req, server_id,
                                          policies.SERVER_SHOW)
        for migration in found:
            if str(migration['id']) == migration_id:
                return {'migration': _server_body(migration)}
        raise exception.MigrationNotFoundForInstance(
            migration_id=migration_id, instance_id=server['uuid'])
