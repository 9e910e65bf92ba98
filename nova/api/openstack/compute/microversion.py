"""Microversion negotiation, as Nova does it.

The client asks with ``OpenStack-API-Version: compute X.Y`` or the legacy
``X-OpenStack-Nova-API-Version: X.Y`` (the first wins when both name a
version), read with microversion-parse as Nova does (of several values,
joined by commas, the last compute one counts); ``latest`` means the
maximum. Without either the request gets the minimum, 2.1. A value that
is not ``MAJOR.MINOR`` is a 400, a version outside [2.1, 2.30] a 406
(also one whose numbers have too many digits to be read: Python refuses
int() of more than 4300 digits). Every response
of the versioned API says which version served it.

What each microversion changed, for the calls served here (Nova's other
changes up to 2.30 are to APIs this project does not have: fixed IPs,
networks, evacuate, volumes, server groups, crash dumps):

- 2.2, 2.10: key pair ``type``; an admin's ``user_id`` (os-keypairs).
- 2.3: the extended attributes of server bodies.
- 2.6: POST /servers/{id}/remote-consoles replaces the console actions.
- 2.8: remote-consoles knows protocol ``mks`` and type ``webmks``.
- 2.9: server bodies say whether the server is ``locked`` (the lock and
  unlock actions).
- 2.11: GET /os-services shows ``forced_down``.
- 2.16: server bodies show ``host_status`` to admins.
- 2.19: servers have a ``description`` (create, rebuild, show).
- 2.21: os-instance-actions shows the actions of a deleted server.
- 2.23: os-migrations shows ``migration_type`` and links; GET
  /servers/{id}/migrations[/{id}] lists a server's live migrations in
  progress.
- 2.25: os-migrateLive takes ``block_migration: "auto"`` and no longer
  ``disk_over_commit``.
- 2.26: server tags: /servers/{id}/tags, ``tags`` in server bodies, the
  list filters tags, tags-any, not-tags, not-tags-any.
- 2.27: the ``OpenStack-API-Version`` header (served here at every
  version, beside the legacy one).
- 2.28: os-hypervisors' ``cpu_info`` is an object.
- 2.30: os-migrateLive takes ``force``: without it a named host must
  pass the scheduler's checks (enabled, up, RAM, serial ports); with
  ``force: true`` only the hosts' own pre-checks run, as before 2.30.

2.22 (force-complete) and 2.24 (abort a live migration) are not served:
those calls answer 404.
"""

import re

import microversion_parse
import webob.exc

from nova.api.openstack.compute import wsgi

HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'
SERVICE_TYPE = 'compute'

# Stricter than microversion_parse.parse_version_string, which takes
# "2.01", " 2.1" and full-width digits: as Nova, no leading zero and no
# white space.
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


class APIVersion(microversion_parse.Version):
    """MAJOR.MINOR, ordered as a tuple (microversion-parse's Version)."""

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

    def matches(self, min_version=None, max_version=None):
        """Whether this is in [min_version, max_version]; None is open."""
        return ((min_version is None or min_version <= self) and
                (max_version is None or self <= max_version))


MIN_VERSION = APIVersion(2, 1)
MAX_VERSION = APIVersion(2, 30)
DEFAULT_VERSION = MIN_VERSION


def _check_standard_header(value):
    """400 unless every item of an OpenStack-API-Version value is
    ``service version``: microversion-parse skips a malformed item, which
    would serve the client a version it did not ask for."""
    for item in value.split(','):
        if item.strip() and len(item.split()) != 2:
            raise webob.exc.HTTPBadRequest(
                explanation='%s header %s is malformed: expected '
                            "'compute MAJOR.MINOR'." % (HEADER,
                                                        shown(value)))


def requested_version_string(headers):
    """The version the client asked for, as text, or None."""
    if HEADER in headers:
        _check_standard_header(headers[HEADER])
    return microversion_parse.get_version(
        headers, service_type=SERVICE_TYPE, legacy_headers=[LEGACY_HEADER])


def negotiate(headers):
    """The APIVersion a request with ``headers`` is served at."""
    text = requested_version_string(headers)
    if text is None:
        return DEFAULT_VERSION
    if text.lower() == 'latest':
        return MAX_VERSION
    version = APIVersion.parse(text)
    if not version.matches(MIN_VERSION, MAX_VERSION):
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
