"""Microversion negotiation, as Nova does it.

The client asks with ``OpenStack-API-Version: compute X.Y`` or the legacy
``X-OpenStack-Nova-API-Version: X.Y`` (the first wins when both name a
version); ``latest`` means the maximum. Without either the request gets
the minimum, 2.1. A value that is not ``MAJOR.MINOR`` is a 400, a version
outside [2.1, 2.25] a 406 (also one whose numbers have too many digits to
be read: Python refuses int() of more than 4300 digits). Every response
of the versioned API says which version served it.

What each microversion changed, for the calls served here (Nova's other
changes from 2.7 to 2.25 are to APIs this project does not have):

- 2.6: POST /servers/{id}/remote-consoles replaces the console actions.
- 2.8: remote-consoles knows protocol ``mks`` and type ``webmks``.
- 2.9: server bodies say whether the server is ``locked``.
- 2.11: GET /os-services shows ``forced_down``.
- 2.16: server bodies show ``host_status`` to admins.
- 2.19: servers have a ``description`` (create, rebuild, show).
- 2.25: os-migrateLive takes ``block_migration: "auto"`` and no longer
  ``disk_over_commit``.
"""

import functools
import re

import webob.exc

from nova.api.openstack.compute import wsgi

HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'
SERVICE_TYPE = 'compute'

_VERSION_RE = re.compile(r'([1-9][0-9]*)\.(0|[1-9][0-9]*)')
# A MAJOR or MINOR of more digits names no version anyone serves; it is
# refused before int(), which raises on thousands of digits.
MAX_DIGITS = 9
# Of a client's header value, at most this much is quoted back.
MAX_SHOWN = 40


def shown(text):
    """``text`` as a message quotes it: repr, cut to MAX_SHOWN chars."""
    if len(text) > MAX_SHOWN:
        return repr(text[:MAX_SHOWN]) + '...'
    return repr(text)


def _not_acceptable(version_text):
    return webob.exc.HTTPNotAcceptable(
        explanation='Version %s is not supported by the API. Minimum '
                    'is %s and maximum is %s.'
                    % (version_text, MIN_VERSION, MAX_VERSION))


@functools.total_ordering
class APIVersion:
    def __init__(self, major, minor):
        self.major = major
        self.minor = minor

    @classmethod
    def parse(cls, text):
        match = _VERSION_RE.fullmatch(text)
        if match is None:
            raise webob.exc.HTTPBadRequest(
                explanation='API version string %s is of invalid format: '
                            'expected MAJOR.MINOR (for example 2.6) or '
                            "'latest'." % shown(text))
        if max(len(match.group(1)), len(match.group(2))) > MAX_DIGITS:
            raise _not_acceptable(shown(text))
        return cls(int(match.group(1)), int(match.group(2)))

    def _key(self):
        return (self.major, self.minor)

    def __eq__(self, other):
        if not isinstance(other, APIVersion):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        if not isinstance(other, APIVersion):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self):
        return '%d.%d' % (self.major, self.minor)

    def __repr__(self):
        return 'APIVersion(%s)' % self


MIN_VERSION = APIVersion(2, 1)
MAX_VERSION = APIVersion(2, 25)
DEFAULT_VERSION = MIN_VERSION


def _compute_version_from_header(value):
    """The compute version in an OpenStack-API-Version value, or None.

    The value lists ``service version`` pairs separated by commas (several
    headers are joined that way too).
    """
    for item in value.split(','):
        words = item.split()
        if not words:
            continue
        if len(words) != 2:
            raise webob.exc.HTTPBadRequest(
                explanation='%s header %s is malformed: expected '
                            "'compute MAJOR.MINOR'." % (HEADER,
                                                        shown(value)))
        service, version = words
        if service.lower() == SERVICE_TYPE:
            return version
    return None


def requested_version_string(headers):
    version = None
    if HEADER in headers:
        version = _compute_version_from_header(headers[HEADER])
    if version is None and LEGACY_HEADER in headers:
        version = headers[LEGACY_HEADER].strip()
    return version


def negotiate(headers):
    """The APIVersion a request with ``headers`` is served at."""
    text = requested_version_string(headers)
    if text is None:
        return DEFAULT_VERSION
    if text.lower() == 'latest':
        return MAX_VERSION
    version = APIVersion.parse(text)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise _not_acceptable(version)
    return version


def is_supported(req, minimum):
    """Whether ``req`` is served at microversion ``minimum`` or later."""
    return wsgi.get_version(req) >= minimum


def add_headers(response, environ):
    """Say which version served the request, once one was negotiated."""
    version = environ.get(wsgi.VERSION_KEY)
    if version is None:
        return
    response.headers[HEADER] = '%s %s' % (SERVICE_TYPE, version)
    response.headers[LEGACY_HEADER] = str(version)
    vary = [v.strip() for v in response.headers.get('Vary', '').split(',')
            if v.strip()]
    for name in (HEADER, LEGACY_HEADER):
        if name not in vary:
            vary.append(name)
    response.headers['Vary'] = ', '.join(vary)


class MicroversionMiddleware(wsgi.Middleware):
    def process(self, req):
        req.environ[wsgi.VERSION_KEY] = negotiate(req.headers)
        response = req.get_response(self.application)
        add_headers(response, req.environ)
        return response
