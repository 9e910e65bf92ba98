"""The compute API as one WSGI application.

Outside in, as Nova's api-paste pipeline:

- oslo.middleware's ``RequestId``: a ``req-<uuid>`` for every request,
  in ``environ['openstack.request_id']`` and the response headers
  ``x-openstack-request-id`` and (Nova's) ``x-compute-request-id``;
- oslo.middleware's ``HTTPProxyToWSGI``: with ``[oslo_middleware]
  enable_proxy_headers_parsing``, the scheme and host of the links follow
  the TLS proxy's ``X-Forwarded-Proto``/``X-Forwarded-Host``
  (``Forwarded``);
- the access log (``request_log``): one line per request;
- a fault wrapper for the body size limiter's own 413;
- oslo.middleware's ``RequestBodySizeLimiter`` (``[oslo_middleware]
  max_request_body_size``);
- the fault wrapper (errors to JSON faults);
- the version documents (/ and /v2.1, no authentication) or, for
  /v2.1/..., authentication (``[api] auth_strategy``), microversion
  negotiation and the router.
"""

from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
from oslo_middleware import sizelimit
import webob.exc

import nova.conf
import nova.conf.opts
from nova.api.openstack.compute import auth
from nova.api.openstack.compute import fault
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import request_log
from nova.api.openstack.compute import router
from nova.api.openstack.compute import versions
from nova.api.openstack.compute import wsgi

# The body limit stays what the API has always taken (wsgi.MAX_BODY_BYTES).
nova.conf.opts.set_lib_defaults()

# Nova's own response header for the request id, beside oslo's.
COMPUTE_REQUEST_ID_HEADER = 'x-compute-request-id'


class ComputeRequestId(request_id.RequestId):
    """oslo.middleware's RequestId, also answering in Nova's header."""

    compat_headers = [COMPUTE_REQUEST_ID_HEADER]


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


def _too_large_message(conf):
    return ('The request body is larger than [oslo_middleware] '
            'max_request_body_size (%d bytes).'
            % conf.oslo_middleware.max_request_body_size)


def build_app(compute_api, conf=nova.conf.CONF):
    """The WSGI application serving ``compute_api`` (nova.compute.api.API
    or anything with the same methods)."""
    versioned = router.APIRouter(compute_api)
    versioned = microversion.MicroversionMiddleware(versioned)
    versioned = auth.wrap(versioned, conf)
    application = VersionDispatcher(versioned)
    # oslo.middleware's middlewares are webob.dec.wsgify functions, which
    # turn a webob error raised below them into a webob (HTML) page: the
    # fault wrapper must sit right under the size limiter, and another
    # over it turns the limiter's own 413 into a JSON fault.
    application = fault.FaultWrapper(application)
    application = sizelimit.RequestBodySizeLimiter(application, conf)
    application = fault.FaultWrapper(
        application, plain_messages={413: _too_large_message(conf)})
    application = request_log.RequestLog(application)
    application = http_proxy_to_wsgi.HTTPProxyToWSGI(application, conf)
    application = ComputeRequestId(application, conf)
    # oslo.middleware reads these on every request, and oslo.config
    # checks a value when it is read: an invalid one would fail every
    # request with a 500; read here, it stops the start and is named.
    for name in ('enable_proxy_headers_parsing', 'max_request_body_size'):
        getattr(conf.oslo_middleware, name)
    return application
