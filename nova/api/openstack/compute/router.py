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
from nova.api.openstack.compute import remote_consoles
from nova.api.openstack.compute import server_actions
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import services
from nova.api.openstack.compute import wsgi

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
            # -- adm
            'aggregates': aggregates.AggregatesController(compute_api),
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
        # Every POST and PUT here takes a JSON body.
        return wsgi.invoke(method, req, arguments,
                           with_body=req.method in ('POST', 'PUT'))
