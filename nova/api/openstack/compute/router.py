"""Map method and path to a controller method, with version gates.

Paths are relative to /v2.1. A path that exists with other methods gets
a 405 naming them; an unknown path, or one the requested microversion
does not have yet, a 404. So is a path whose ids (``{id}`` & co) could
name nothing here: longer than MAX_PATH_PARAM characters or holding
control characters. They never reach a controller or the database.
"""

import re

import routes
import webob
import webob.exc

from nova.api.openstack.compute import aggregates
from nova.api.openstack.compute import console_viewers
from nova.api.openstack.compute import flavors
from nova.api.openstack.compute import hypervisors
from nova.api.openstack.compute import images
from nova.api.openstack.compute import keypairs
from nova.api.openstack.compute import remote_consoles
from nova.api.openstack.compute import server_actions
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import services
from nova.api.openstack.compute import wsgi
# -- ver
from nova.api.openstack.compute import availability_zone
from nova.api.openstack.compute import instance_actions
from nova.api.openstack.compute import limits
from nova.api.openstack.compute import migrations
from nova.api.openstack.compute import server_metadata
from nova.api.openstack.compute import server_tags
# -- quotas
from nova.api.openstack.compute import quota_classes
from nova.api.openstack.compute import quota_sets
# -- admin
from nova.api.openstack.compute import extensions
from nova.api.openstack.compute import server_diagnostics
from nova.api.openstack.compute import server_external_events
# -- access
from nova.api.openstack.compute import flavor_access
from nova.api.openstack.compute import image_metadata
from nova.api.openstack.compute import simple_tenant_usage

# (method, path, controller, controller method); the microversions a
# method serves are declared on it (wsgi.Controller.api_version).
ROUTES = (
    ('GET', '/servers', 'servers', 'index'),
    ('POST', '/servers', 'servers', 'create'),
    ('GET', '/servers/detail', 'servers', 'detail'),
    ('GET', '/servers/{id}', 'servers', 'show'),
    ('DELETE', '/servers/{id}', 'servers', 'delete'),
    ('POST', '/servers/{id}/action', 'server_actions', 'action'),
    ('POST', '/servers/{server_id}/remote-consoles', 'remote_consoles',
     'create'),
    ('POST', '/servers/{server_id}/console-viewers', 'console_viewers',
     'create'),
    ('GET', '/flavors', 'flavors', 'index'),
    ('GET', '/flavors/detail', 'flavors', 'detail'),
    ('GET', '/flavors/{id}', 'flavors', 'show'),
    ('GET', '/flavors/{flavor_id}/os-extra_specs', 'flavors',
     'extra_specs'),
    ('GET', '/flavors/{flavor_id}/os-extra_specs/{key}', 'flavors',
     'extra_spec'),
    ('GET', '/images', 'images', 'index'),
    ('GET', '/images/detail', 'images', 'detail'),
    ('GET', '/images/{id}', 'images', 'show'),
    ('GET', '/os-services', 'services', 'index'),
    ('GET', '/os-hypervisors', 'hypervisors', 'index'),
    ('GET', '/os-hypervisors/detail', 'hypervisors', 'detail'),
    # adm: before /os-hypervisors/{id}, which would take it.
    ('GET', '/os-hypervisors/statistics', 'hypervisors', 'statistics'),
    ('GET', '/os-hypervisors/serial-console-facts', 'hypervisors',
     'console_facts_list'),
    ('GET', '/os-hypervisors/{id}', 'hypervisors', 'show'),
    # -- ver
    ('GET', '/servers/{server_id}/tags', 'server_tags', 'index'),
    ('PUT', '/servers/{server_id}/tags', 'server_tags', 'update_all'),
    ('DELETE', '/servers/{server_id}/tags', 'server_tags', 'delete_all'),
    ('GET', '/servers/{server_id}/tags/{tag}', 'server_tags', 'show'),
    ('PUT', '/servers/{server_id}/tags/{tag}', 'server_tags', 'update'),
    ('DELETE', '/servers/{server_id}/tags/{tag}', 'server_tags', 'delete'),
    ('GET', '/servers/{server_id}/metadata', 'server_metadata', 'index'),
    ('POST', '/servers/{server_id}/metadata', 'server_metadata', 'create'),
    ('PUT', '/servers/{server_id}/metadata', 'server_metadata',
     'update_all'),
    ('GET', '/servers/{server_id}/metadata/{key}', 'server_metadata',
     'show'),
    ('PUT', '/servers/{server_id}/metadata/{key}', 'server_metadata',
     'update'),
    ('DELETE', '/servers/{server_id}/metadata/{key}', 'server_metadata',
     'delete'),
    ('GET', '/servers/{server_id}/os-instance-actions', 'instance_actions',
     'index'),
    ('GET', '/servers/{server_id}/os-instance-actions/{request_id}',
     'instance_actions', 'show'),
    ('GET', '/servers/{server_id}/migrations', 'server_migrations',
     'index'),
    ('GET', '/servers/{server_id}/migrations/{migration_id}',
     'server_migrations', 'show'),
    ('GET', '/os-migrations', 'migrations', 'index'),
    ('GET', '/limits', 'limits', 'index'),
    ('GET', '/os-availability-zone', 'availability_zone', 'index'),
    ('GET', '/os-availability-zone/detail', 'availability_zone', 'detail'),
    # -- srv
    ('PUT', '/servers/{id}', 'servers', 'update'),
    ('GET', '/os-keypairs', 'keypairs', 'index'),
    ('POST', '/os-keypairs', 'keypairs', 'create'),
    ('GET', '/os-keypairs/{id}', 'keypairs', 'show'),
    ('DELETE', '/os-keypairs/{id}', 'keypairs', 'delete'),
    # -- adm
    ('POST', '/flavors', 'flavors', 'create'),
    ('DELETE', '/flavors/{id}', 'flavors', 'delete'),
    ('POST', '/flavors/{flavor_id}/os-extra_specs', 'flavors',
     'extra_specs_create'),
    ('PUT', '/flavors/{flavor_id}/os-extra_specs/{key}', 'flavors',
     'extra_spec_update'),
    ('DELETE', '/flavors/{flavor_id}/os-extra_specs/{key}', 'flavors',
     'extra_spec_delete'),
    ('GET', '/os-hypervisors/{pattern}/search', 'hypervisors', 'search'),
    ('GET', '/os-hypervisors/{pattern}/servers', 'hypervisors', 'servers'),
    ('GET', '/os-hypervisors/{id}/uptime', 'hypervisors', 'uptime'),
    ('GET', '/os-hypervisors/{id}/serial-console-facts', 'hypervisors',
     'console_facts'),
    ('PUT', '/os-services/force-down', 'services', 'force_down'),
    ('PUT', '/os-services/{verb}', 'services', 'update'),
    ('DELETE', '/os-services/{id}', 'services', 'delete'),
    ('GET', '/os-aggregates', 'aggregates', 'index'),
    ('POST', '/os-aggregates', 'aggregates', 'create'),
    ('GET', '/os-aggregates/{id}', 'aggregates', 'show'),
    ('PUT', '/os-aggregates/{id}', 'aggregates', 'update'),
    ('DELETE', '/os-aggregates/{id}', 'aggregates', 'delete'),
    ('POST', '/os-aggregates/{id}/action', 'aggregates', 'action'),
    # -- quotas
    ('GET', '/os-quota-sets/{id}', 'quota_sets', 'show'),
    ('PUT', '/os-quota-sets/{id}', 'quota_sets', 'update'),
    ('DELETE', '/os-quota-sets/{id}', 'quota_sets', 'delete'),
    ('GET', '/os-quota-sets/{id}/detail', 'quota_sets', 'detail'),
    ('GET', '/os-quota-sets/{id}/defaults', 'quota_sets', 'defaults'),
    ('GET', '/os-quota-class-sets/{id}', 'quota_classes', 'show'),
    ('PUT', '/os-quota-class-sets/{id}', 'quota_classes', 'update'),
    # -- admin
    ('GET', '/servers/{server_id}/diagnostics', 'server_diagnostics',
     'index'),
    ('POST', '/os-server-external-events', 'server_external_events',
     'create'),
    ('GET', '/extensions', 'extensions', 'index'),
    ('GET', '/extensions/{id}', 'extensions', 'show'),
    # -- access
    ('GET', '/flavors/{flavor_id}/os-flavor-access', 'flavor_access',
     'index'),
    ('POST', '/flavors/{id}/action', 'flavor_access', 'action'),
    ('GET', '/os-simple-tenant-usage', 'simple_tenant_usage', 'index'),
    ('GET', '/os-simple-tenant-usage/{tenant_id}', 'simple_tenant_usage',
     'show'),
    ('DELETE', '/images/{id}', 'images', 'delete'),
    ('GET', '/images/{image_id}/metadata', 'image_metadata', 'index'),
    ('POST', '/images/{image_id}/metadata', 'image_metadata', 'create'),
    ('PUT', '/images/{image_id}/metadata', 'image_metadata', 'update_all'),
    ('GET', '/images/{image_id}/metadata/{key}', 'image_metadata', 'show'),
    ('PUT', '/images/{image_id}/metadata/{key}', 'image_metadata',
     'update'),
    ('DELETE', '/images/{image_id}/metadata/{key}', 'image_metadata',
     'delete'),
)

METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE')
_ROUTING_KEYS = ('controller', 'action')
# Nova's ids and extra spec keys have at most 255 characters.
MAX_PATH_PARAM = 255
_CONTROL_CHARACTERS = re.compile('[\x00-\x1f\x7f-\x9f]')


def _not_found():
    return webob.exc.HTTPNotFound(
        explanation='The resource could not be found.')


def check_path_params(arguments):
    """404 unless every id of the path could name something."""
    for value in arguments.values():
        if (len(value) > MAX_PATH_PARAM or
                _CONTROL_CHARACTERS.search(value) is not None):
            raise _not_found()


def decoded_path(req):
    """PATH_INFO as text (WSGI hands it over as latin-1 of the bytes)."""
    try:
        path = req.environ.get('PATH_INFO', '').encode('latin-1').decode(
            'utf-8')
    except UnicodeError:
        raise webob.exc.HTTPBadRequest(
            explanation='The URL path is not valid UTF-8.')
    if len(path) > 1 and path.endswith('/'):
        path = path[:-1]
    return path


def make_mapper():
    mapper = routes.Mapper()
    for method, path, controller, action in ROUTES:
        mapper.connect(path, controller=controller, action=action,
                       conditions={'method': [method]})
    mapper.create_regs([])
    return mapper


class APIRouter:
    def __init__(self, compute_api):
        self.controllers = {
            'servers': servers.ServersController(compute_api),
            'server_actions': server_actions.ServerActionsController(
                compute_api),
            'remote_consoles': remote_consoles.RemoteConsolesController(
                compute_api),
            'console_viewers': console_viewers.ConsoleViewersController(
                compute_api),
            'flavors': flavors.FlavorsController(compute_api),
            'images': images.ImagesController(compute_api),
            'services': services.ServicesController(compute_api),
            'hypervisors': hypervisors.HypervisorsController(compute_api),
            # -- ver
            'server_tags': server_tags.ServerTagsController(compute_api),
            'server_metadata': server_metadata.ServerMetadataController(
                compute_api),
            'instance_actions': instance_actions.InstanceActionsController(
                compute_api),
            'migrations': migrations.MigrationsController(compute_api),
            'server_migrations': migrations.ServerMigrationsController(
                compute_api),
            'limits': limits.LimitsController(compute_api),
            'availability_zone':
                availability_zone.AvailabilityZoneController(compute_api),
            # -- srv
            'keypairs': keypairs.KeypairsController(compute_api),
            # -- adm
            'aggregates': aggregates.AggregatesController(compute_api),
            # -- quotas
            'quota_sets': quota_sets.QuotaSetsController(compute_api),
            'quota_classes': quota_classes.QuotaClassSetsController(
                compute_api),
            # -- admin
            'server_diagnostics':
                server_diagnostics.ServerDiagnosticsController(compute_api),
            'server_external_events':
                server_external_events.ServerExternalEventsController(
                    compute_api),
            'extensions': extensions.ExtensionsController(compute_api),
            # -- access
            'flavor_access': flavor_access.FlavorAccessController(
                compute_api),
            'simple_tenant_usage':
                simple_tenant_usage.SimpleTenantUsageController(compute_api),
            'image_metadata': image_metadata.ImageMetadataController(
                compute_api),
        }
        self.mapper = make_mapper()

    def __call__(self, environ, start_response):
        response = self.dispatch(webob.Request(environ))
        return response(environ, start_response)

    def _allowed_methods(self, path):
        return [method for method in METHODS
                if self.mapper.match(path, {'REQUEST_METHOD': method})]

    def dispatch(self, req):
        path = decoded_path(req)
        match = self.mapper.match(path, req.environ)
        if match is None:
            allowed = self._allowed_methods(path)
            if allowed:
                raise webob.exc.HTTPMethodNotAllowed(
                    explanation='Method %s is not allowed here; use %s.'
                                % (req.method, ', '.join(allowed)),
                    headers={'Allow': ', '.join(allowed)})
            raise _not_found()
        controller = self.controllers[match['controller']]
        method = getattr(controller, match['action'])
        arguments = {key: value for key, value in match.items()
                     if key not in _ROUTING_KEYS}
        check_path_params(arguments)
        # Every POST here takes a JSON body, and so does a PUT whose
        # handler takes one (not PUT /servers/{id}/tags/{tag}).
        with_body = {'POST': True, 'PUT': wsgi.BODY_IF_TAKEN}.get(
            req.method, False)
        return wsgi.invoke(method, req, arguments, with_body=with_body)
