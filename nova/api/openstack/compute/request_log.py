"""One access line per request, as Nova's ``requestlog`` middleware:

    INFO nova.api.openstack.compute.request_log [req-... USER PROJECT ...]
    127.0.0.1 "GET /v2.1/servers/UUID" status: 200 len: 1234
    microversion: 2.6 time: 0.012 s

The request id, user and project come from oslo.log's context part of
the line (``logging_context_format_string``), like every other line
written while the request is handled.
"""

import time
from urllib import parse

from oslo_log import log as logging
from oslo_middleware import request_id

from nova.api.openstack.compute import wsgi
from nova import context as nova_context

LOG = logging.getLogger(__name__)

# What stays readable in a logged path and query; everything else is
# %-quoted (a client's control characters never reach the log raw).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = "/:@!$&'()*+,;=-._~%?"
# A method is an HTTP token; a WSGI server that does not insist on it
# passes anything, which is quoted too ('%' as well: unambiguous).
_METHOD_SAFE = "!#$&'*+-.^_`|~"


def _raw_target(environ):
    """The request's path and query as the client sent them (WSGI keeps
    them latin-1 decoded), %-quoted; never raises, whatever the bytes."""
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    target = parse.quote(path.encode('latin-1', 'replace'), safe=_PATH_SAFE)
    query = environ.get('QUERY_STRING', '')
    if query:
        target += '?' + parse.quote(query.encode('latin-1', 'replace'),
                                    safe=_QUERY_SAFE)
    return target


class RequestLog(wsgi.Middleware):
    """Logs every request once it is answered (INFO)."""

    def process(self, req):
        environ = req.environ
        start = time.monotonic()
        method = parse.quote(
            environ.get('REQUEST_METHOD', '-').encode('latin-1', 'replace'),
            safe=_METHOD_SAFE)
        target = _raw_target(environ)
        # The request's own context becomes this thread's current one
        # until authentication replaces it with the caller's: lines
        # written before that, and for the unauthenticated version
        # documents, carry this request's id, never the previous
        # request's of the same worker thread.
        nova_context.RequestContext(
            request_id=environ.get(request_id.ENV_REQUEST_ID),
            global_request_id=environ.get(request_id.GLOBAL_REQ_ID))
        status, length = 500, 0
        try:
            response = req.get_response(self.application)
            status, length = response.status_int, response.content_length
            return response
        finally:
            ctxt = environ.get(wsgi.CONTEXT_KEY)
            extra = {} if ctxt is None else {'context': ctxt}
            LOG.info('%(remote)s "%(method)s %(target)s" status: %(status)d '
                     'len: %(length)s microversion: %(version)s '
                     'time: %(time).3f s',
                     {'remote': environ.get('REMOTE_ADDR', '-'),
                      'method': method, 'target': target,
                      'status': status, 'length': length or 0,
                      'version': environ.get(wsgi.VERSION_KEY, '-'),
                      'time': time.monotonic() - start}, **extra)
