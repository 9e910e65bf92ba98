"""The compute API as one WSGI application.

Outside in: fault (errors to JSON faults), request id, then either the
version documents (/ and /v2.1, no authentication) or, for /v2.1/...,
authentication (``[api] auth_strategy``), microversion negotiation and
the router.
"""

import webob.exc

import nova.conf
from nova.api.openstack.compute import auth
from nova.api.openstack.compute import fault
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import request_id
from nova.api.openstack.compute import router
from nova.api.openstack.compute import versions
from nova.api.openstack.compute import wsgi


def _get_only(req, show):
    if req.method != 'GET':
        raise webob.exc.HTTPMethodNotAllowed(
            explanation='Method %s is not allowed here; use GET.'
                        % req.method,
            headers={'Allow': 'GET'})
    return show(req)


class VersionDispatcher(wsgi.Middleware):
    """Version documents here, everything under /v2.1/ to the API."""

    def process(self, req):
        # Raw PATH_INFO: the router decodes it and rejects what is not UTF-8.
        path = req.environ.get('PATH_INFO', '')
        req.environ[wsgi.API_ROOT_URL_KEY] = req.application_url
        prefix = versions.VERSION_PREFIX
        if path in ('', '/'):
            return _get_only(req, versions.index)
        if path in (prefix, prefix + '/'):
            return _get_only(req, versions.show)
        if path.startswith(prefix + '/'):
            req.environ['SCRIPT_NAME'] = (req.environ.get('SCRIPT_NAME', '')
                                          + prefix)
            req.environ['PATH_INFO'] = path[len(prefix):]
            return req.get_response(self.application)
        raise webob.exc.HTTPNotFound(
            explanation='The resource could not be found. The compute API '
                        'is under %s/.' % versions.VERSION_PREFIX)


def build_app(compute_api, conf=nova.conf.CONF):
    """The WSGI application serving ``compute_api`` (nova.compute.api.API
    or anything with the same methods)."""
    versioned = router.APIRouter(compute_api)
    versioned = microversion.MicroversionMiddleware(versioned)
    versioned = auth.wrap(versioned, conf)
    application = VersionDispatcher(versioned)
    application = request_id.RequestIdMiddleware(application)
    return fault.FaultWrapper(application)
