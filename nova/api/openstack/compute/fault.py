"""Turn every error into a Nova-style JSON fault.

``{"itemNotFound": {"code": 404, "message": "..."}}``: the key names the
kind of error, as Nova's clients expect. A NovaException carries its own
status (``.code``) and a message written for the user. Anything else is
a bug: the client gets a 500 with the request id and nothing more, the
traceback goes to the log only.

An error response that is not JSON (a webob page, made by a middleware
of oslo.middleware out of the errors it raises) becomes a JSON fault of
the same status too.
"""

from oslo_log import log as logging
import webob.exc

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import wsgi
from nova import exception

LOG = logging.getLogger(__name__)

FAULT_NAMES = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    429: 'overLimit',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}
DEFAULT_FAULT_NAME = 'computeFault'

# Headers of a webob error that the JSON fault must keep.
_KEPT_HEADERS = ('Allow', 'Retry-After', 'WWW-Authenticate')

NOT_IMPLEMENTED_MESSAGE = ('This operation is not implemented by the '
                           'compute driver of this cloud.')


def unexpected_error_message(req_id):
    return ('Unexpected API error. The operator can find the details in '
            'the nova-api log under request id %s.' % req_id)


def fault_response(status, message, headers=None):
    name = FAULT_NAMES.get(status, DEFAULT_FAULT_NAME)
    body = {name: {'code': status, 'message': message}}
    return wsgi.json_response(body, status=status, headers=headers)


def _nova_exception_status(exc):
    code = getattr(exc, 'code', 500)
    if isinstance(code, int) and 400 <= code <= 599:
        return code
    return 500


def response_for_exception(exc, environ):
    """The fault response for ``exc``, raised while serving ``environ``."""
    req_id = environ.get(wsgi.REQUEST_ID_KEY, '-')
    if isinstance(exc, exception.NovaException):
        status = _nova_exception_status(exc)
        if status >= 500 and status != 503:
            # Host-side failures name host paths and URIs: the log gets
            # them, the user a message of their own and the request id.
            LOG.error('Request %s failed: %s', req_id, exc.message,
                      exc_info=exc)
            user_message = getattr(exc, 'user_message', None)
            if user_message is None:
                return fault_response(status,
                                      unexpected_error_message(req_id))
            return fault_response(status, '%s (request id %s).' % (
                user_message, req_id))
        return fault_response(status, exc.message)
    if isinstance(exc, webob.exc.HTTPException):
        if exc.code < 400:
            return exc
        headers = {name: exc.headers[name] for name in _KEPT_HEADERS
                   if name in exc.headers}
        message = exc.detail or exc.explanation or exc.title
        return fault_response(exc.code, message, headers=headers)
    if isinstance(exc, NotImplementedError):
        LOG.info('Request %s: not implemented: %s', req_id, exc)
        return fault_response(501, NOT_IMPLEMENTED_MESSAGE)
    LOG.error('Request %s failed with an unexpected error', req_id,
              exc_info=exc)
    return fault_response(500, unexpected_error_message(req_id))


class FaultWrapper(wsgi.Middleware):
    """Errors raised below, and error responses that are not JSON, as
    JSON faults.

    ``plain_messages``: {status: message} for the fault made out of a
    non-JSON error response (default: the status's reason phrase).
    """

    def __init__(self, application, plain_messages=None):
        super().__init__(application)
        self.plain_messages = dict(plain_messages or {})

    def process(self, req):
        try:
            response = req.get_response(self.application)
        except Exception as exc:
            response = response_for_exception(exc, req.environ)
        else:
            if (response.status_int < 400 or
                    response.content_type == wsgi.JSON_RESPONSE_TYPE):
                return response
            status = response.status_int
            message = self.plain_messages.get(
                status, response.status.partition(' ')[2])
            headers = {name: response.headers[name]
                       for name in _KEPT_HEADERS if name in response.headers}
            response = fault_response(status, message, headers=headers)
        microversion.add_headers(response, req.environ)
        return response
