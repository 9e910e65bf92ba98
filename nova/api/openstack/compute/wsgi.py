"""Request and response helpers shared by every controller, and the
controller decorators, as Nova's (see ``Controller``).

Request bodies are JSON. As in Nova, a missing Content-Type or
``text/plain`` is read as JSON too; any other media type is refused with
415. A body that is not UTF-8 JSON gets a 400 that says what is wrong.

The decoder is the one place every body passes, so it also refuses what
JSON allows but nothing behind it can hold: a string or key that is not
valid Unicode (a lone UTF-16 surrogate such as ``"\\ud800"``, which
json.loads turns into a str that cannot be encoded to UTF-8, so the
database would fail on it), an integer of more than MAX_INT_DIGITS digits
and a number too large for a float (``1e999``).
"""

import functools
import inspect
import json
import math

from oslo_log import log as logging
import webob
import webob.exc

from nova.api.openstack.compute import versioned_method
from nova import exception

LOG = logging.getLogger(__name__)

# The environ keys the middlewares fill in for the controllers.
CONTEXT_KEY = 'nova.context'
VERSION_KEY = 'nova.api_version'
REQUEST_ID_KEY = 'openstack.request_id'
# URL of the API root (above /v2.1), for the unversioned bookmark links.
API_ROOT_URL_KEY = 'nova.api_root_url'

JSON_MEDIA_TYPES = frozenset((
    'application/json',
    'application/vnd.openstack.compute+json',
))
# Sent by clients that do not bother; Nova parses these as JSON as well.
LAX_MEDIA_TYPES = frozenset(('', 'text/plain'))

MAX_BODY_BYTES = 1024 * 1024
# Far more digits than any number the API takes (a length of 10 ** 30
# lines still means "all of them"), far fewer than int() refuses (4300).
MAX_INT_DIGITS = 100
# Of a bad number, at most this much is quoted back; of a field's
# dotted name, at most MAX_FIELD_SHOWN characters (its end).
MAX_SHOWN = 40
MAX_FIELD_SHOWN = 100
JSON_RESPONSE_TYPE = 'application/json'


class MalformedRequestBody(webob.exc.HTTPBadRequest):
    """The body is not the JSON object the endpoint expects."""


class MalformedQueryString(webob.exc.HTTPBadRequest):
    """The query string cannot be read (not UTF-8)."""


class Middleware:
    """A WSGI middleware over webob requests.

    Not ``webob.dec.wsgify``: that turns a raised ``webob.exc`` error into
    an HTML page, and every error here must reach the fault middleware.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        response = self.process(webob.Request(environ))
        return response(environ, start_response)

    def process(self, req):
        raise NotImplementedError()


def get_context(req):
    return req.environ[CONTEXT_KEY]


def get_version(req):
    return req.environ[VERSION_KEY]


def query_params(req):
    try:
        return req.GET
    except UnicodeDecodeError:
        raise MalformedQueryString(
            explanation='The query string is not valid UTF-8.')


def _reject_constant(name):
    # json.loads accepts NaN and Infinity, which are not JSON.
    raise ValueError('%s is not valid JSON' % name)


class _BadNumber(ValueError):
    pass


def _shown(text):
    if len(text) > MAX_SHOWN:
        return text[:MAX_SHOWN] + '...'
    return text


def _parse_int(text):
    # Checked before int(), which raises on thousands of digits.
    if len(text.lstrip('-')) > MAX_INT_DIGITS:
        raise _BadNumber('the integer %s has more than %d digits'
                         % (_shown(text), MAX_INT_DIGITS))
    return int(text)


def _parse_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber('the number %s is too large' % _shown(text))
    return value


def _escaped(text):
    """``text`` with anything not printable ASCII as a Python escape."""
    return text.encode('ascii', 'backslashreplace').decode('ascii')


def _field_name(node):
    """The dotted path of a (parent, key) chain, as validation names it."""
    parts = []
    while node is not None:
        node, key = node
        parts.append(_escaped(str(key)))
    name = '.'.join(reversed(parts)) or 'request body'
    if len(name) > MAX_FIELD_SHOWN:
        name = '...' + name[-MAX_FIELD_SHOWN:]
    return name


def _invalid_unicode(text):
    """Where ``text`` has a lone surrogate, or None when it is valid."""
    try:
        text.encode('utf-8')
    except UnicodeEncodeError as e:
        return e.start
    return None


def check_unicode(body):
    """ValidationError naming the first string or key of ``body`` that is
    not valid Unicode. Iterative: the nesting is as deep as json allows.
    """
    # (value, node): node is (parent node, key), None for the body.
    pending = [(body, None)]
    while pending:
        value, node = pending.pop()
        if isinstance(value, str):
            position = _invalid_unicode(value)
            if position is not None:
                raise exception.ValidationError(
                    field=_field_name(node),
                    detail='the string is not valid Unicode: it holds a '
                           'lone UTF-16 surrogate (%s) at character %d'
                           % (_escaped(value[position]), position))
        elif isinstance(value, dict):
            for key, item in value.items():
                position = _invalid_unicode(key)
                if position is not None:
                    raise exception.ValidationError(
                        field=_field_name((node, key)),
                        detail='the key is not valid Unicode: it holds a '
                               'lone UTF-16 surrogate (%s) at character %d'
                               % (_escaped(key[position]), position))
                pending.append((item, (node, key)))
        elif isinstance(value, list):
            pending.extend((item, (node, index))
                           for index, item in enumerate(value))


def read_json_body(req):
    """The decoded JSON body of ``req``; raises a 4xx naming the problem."""
    media_type = (req.content_type or '').lower()
    if media_type not in JSON_MEDIA_TYPES | LAX_MEDIA_TYPES:
        raise webob.exc.HTTPUnsupportedMediaType(
            explanation='Unsupported Content-Type %r: send the request '
                        'body as application/json.' % media_type)
    length = req.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise webob.exc.HTTPRequestEntityTooLarge(
            explanation='The request body is larger than %d bytes.'
                        % MAX_BODY_BYTES)
    raw = req.body_file.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise webob.exc.HTTPRequestEntityTooLarge(
            explanation='The request body is larger than %d bytes.'
                        % MAX_BODY_BYTES)
    if not raw.strip():
        raise MalformedRequestBody(
            explanation='The request body is empty; this request needs a '
                        'JSON object.')
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise MalformedRequestBody(
            explanation='Malformed request body: not UTF-8 (byte %d).'
                        % e.start)
    try:
        body = json.loads(text, parse_constant=_reject_constant,
                          parse_int=_parse_int, parse_float=_parse_float)
    except RecursionError:
        raise MalformedRequestBody(
            explanation='Malformed request body: JSON nested too deeply.')
    except ValueError as e:
        raise MalformedRequestBody(
            explanation='Malformed request body: %s.' % e)
    check_unicode(body)
    return body


def encode_json(body):
    # ASCII escapes keep any string, even a lone surrogate, encodable.
    return json.dumps(body, ensure_ascii=True).encode('ascii')


def json_response(body, status=200, headers=None):
    response = webob.Response(status=status,
                              content_type=JSON_RESPONSE_TYPE)
    response.body = encode_json(body)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def empty_response(status):
    response = webob.Response(status=status)
    # No body: drop the Content-Type webob puts on by default.
    del response.content_type
    response.body = b''
    return response


# Controllers and their decorators, as Nova's.
#
# A handler takes ``(self, req, <path ids>)`` and, for a POST, ``body``
# (the decoded JSON, read by ``invoke``); it returns the response body (a
# dict), None for no body, or a ResponseObject for headers. Its decorators,
# outermost first, as Nova orders them:
#
#     @wsgi.Controller.api_version('2.1', '2.5')  # several allowed per name
#     @wsgi.response(202)                         # the success status
#     @wsgi.expected_errors((400, 404))            # anything else is a bug
#     @wsgi.action('os-getSerialConsole')          # a server action
#     @validation.schema(schema.x, '2.1', '2.18')  # a body schema per range


class ResponseObject:
    """A handler's answer: ``obj`` (JSON body, or None), status, headers."""

    def __init__(self, obj=None, code=None, headers=None):
        self.obj = obj
        self.code = code
        self.headers = dict(headers or {})


def to_response(result):
    """The webob response for what a handler returned."""
    if isinstance(result, webob.Response):
        return result
    if not isinstance(result, ResponseObject):
        result = ResponseObject(result)
    code = result.code or 200
    if result.obj is None:
        response = empty_response(code)
        response.headers.update(result.headers)
        return response
    return json_response(result.obj, status=code, headers=result.headers)


def response(code):
    """Answer ``code`` (e.g. 202) on success, as Nova's wsgi.response."""
    def decorator(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            result = func(*args, **kwargs)
            if not isinstance(result, ResponseObject):
                result = ResponseObject(result)
            if result.code is None:
                result.code = code
            return result
        wrapped.wsgi_code = code
        return wrapped
    return decorator


def action(name):
    """Serve ``func`` as the server action ``name`` (the body's key)."""
    def decorator(func):
        func.wsgi_action = name
        return func
    return decorator


# Always let through, as Nova: the caller may not, the input is wrong
# (both answered with their own message), or the driver has no such thing
# (501 from the fault middleware).
# A request that cannot be read (its query string, its body) is a 400
# whichever handler reads it, declared or not.
_ALWAYS_EXPECTED = (exception.Forbidden, exception.ValidationError,
                    exception.InvalidToken, NotImplementedError,
                    MalformedQueryString, MalformedRequestBody)


def _is_expected(exc, errors, func):
    if isinstance(exc, _ALWAYS_EXPECTED):
        return True
    if isinstance(exc, webob.exc.HTTPException):
        return exc.code < 400 or exc.code in errors
    if isinstance(exc, exception.NovaException):
        # Unlike Nova's handlers, ours let the compute API's typed errors
        # through: each carries its status, which the fault middleware
        # answers (5xx with the error's own user message). One the
        # handler does not declare keeps that answer, as clients rely on
        # it, and is logged so the declaration gets fixed.
        code = exc.code if isinstance(exc.code, int) else 500
        if code not in errors and code < 500:
            LOG.warning('%s raised %s (%s), which it does not declare in '
                        'expected_errors', func.__qualname__,
                        type(exc).__name__, code)
        return True
    return False


def _unexpected(req, func, exc):
    req_id = req.environ.get(REQUEST_ID_KEY, '-')
    LOG.error('Request %s: unexpected %s in %s', req_id,
              type(exc).__name__, func.__qualname__, exc_info=exc)
    # Imported here: the fault middleware imports this module. Its
    # message is the one every unexpected error gets.
    from nova.api.openstack.compute import fault
    return webob.exc.HTTPInternalServerError(
        explanation=fault.unexpected_error_message(req_id))


def expected_errors(errors):
    """Let the statuses ``errors`` (an int or a tuple) out of ``func``.

    An error that is neither one of them nor a NovaException (which
    carries its own status) is a bug: logged here with its traceback and
    answered 500 with the request id only, never a traceback.
    """
    if isinstance(errors, int):
        errors = (errors,)

    def decorator(func):
        @functools.wraps(func)
        def wrapped(self, req, *args, **kwargs):
            try:
                return func(self, req, *args, **kwargs)
            except Exception as exc:
                if _is_expected(exc, errors, func):
                    raise
                raise _unexpected(req, func, exc) from None
        wrapped.wsgi_expected_errors = errors
        return wrapped
    return decorator


def api_version(min_version, max_version=None, explanation=None):
    """Serve the decorated method from ``min_version`` to ``max_version``
    (strings like '2.6'; no max: to the latest). A Controller may define
    the same method again for a disjoint range. A request at a version no
    definition serves gets 404 with ``explanation`` (say what replaced
    the method) or Nova's message."""
    def decorator(func):
        method = versioned_method.VersionedMethod(func.__name__)
        method.add(versioned_method.parse_version(min_version),
                   versioned_method.parse_version(max_version), func,
                   explanation)
        return method
    return decorator


def _resolve(handler, req):
    if isinstance(handler, versioned_method.BoundVersionedMethod):
        return handler.resolve(get_version(req))
    return handler


# invoke's with_body for a method whose handlers may or may not take one.
BODY_IF_TAKEN = 'if-taken'


def resolve(handler, req):
    """The function of ``handler`` (a versioned method or not) that
    serves ``req``'s microversion; 404 when none does."""
    return _resolve(handler, req)


def _takes_body(handler):
    """Whether ``handler`` (through its decorators) has a ``body``."""
    return 'body' in inspect.signature(handler).parameters


def invoke(handler, req, arguments, with_body=False):
    """Call a controller's ``handler`` for ``req`` and make the response.

    The version is chosen first, then the body read (``with_body``), so
    that a method a version lacks is a 404 whatever the body.
    """
    handler = _resolve(handler, req)
    if with_body is True or (with_body == BODY_IF_TAKEN and
                             _takes_body(handler)):
        arguments = dict(arguments, body=read_json_body(req))
    return to_response(handler(req, **arguments))


class Controller(metaclass=versioned_method.ControllerMetaclass):
    """A base for the API's controllers, as Nova's wsgi.Controller."""

    api_version = staticmethod(api_version)

    def __init__(self, compute_api):
        self.compute_api = compute_api

    def action(self, req, id, body):
        """POST /servers/{id}/action: the body's single key names the
        action (``wsgi.action``) and is handed the whole body."""
        if not isinstance(body, dict) or len(body) != 1:
            raise webob.exc.HTTPBadRequest(
                explanation='An action request body must be a JSON object '
                            'with exactly one key, the name of the action.')
        name = next(iter(body))
        method_name = self.wsgi_actions.get(name)
        if method_name is None:
            raise webob.exc.HTTPBadRequest(
                explanation='There is no such action: %s' % name)
        handler = _resolve(getattr(self, method_name), req)
        return handler(req, id, body=body)
