"""os-simple-tenant-usage: each project's server hours over a period.

As Nova's before microversion 2.40 (no ``limit``/``marker``):

- ``GET /os-simple-tenant-usage?start=&end=&detailed=1`` (admins):
  ``{"tenant_usages": [...]}``, with ``server_usages`` when ``detailed``
  is ``1``.
- ``GET /os-simple-tenant-usage/{tenant_id}?start=&end=`` (the project
  or an admin): ``{"tenant_usage": {...}}``, always detailed, ``{}``
  when the project used nothing.

``start`` and ``end`` are UTC times as ``2026-11-30T15:00:00[.123456]``
or ``2026-11-30 15:00:00.123456`` (default: now); a time in another
format, or a ``start`` not before ``end``, is a 400. See
nova.compute.usage for the arithmetic.
"""

import datetime

import webob.exc

from nova.api.openstack.compute import wsgi

# Nova's accepted formats, in its order.
FORMATS = ('%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M:%S.%f',
           '%Y-%m-%d %H:%M:%S.%f')
# Of a bad value, at most this much is quoted back.
MAX_SHOWN = 40
# Nova's format of the datetimes of its bodies.
SHOWN_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'


def _parse(value):
    if not value:
        return datetime.datetime.now(datetime.timezone.utc)
    for fmt in FORMATS:
        try:
            parsed = datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=datetime.timezone.utc)
    raise webob.exc.HTTPBadRequest(
        explanation='Invalid start time. Datetime is in invalid format: '
                    '%r (use YYYY-MM-DDTHH:MM:SS[.ffffff])'
                    % value[:MAX_SHOWN])


def _period(req):
    """(start, end, detailed) of the query, Nova's rules."""
    params = wsgi.query_params(req)
    start = _parse(params.get('start'))
    end = _parse(params.get('end'))
    if not start < end:
        raise webob.exc.HTTPBadRequest(
            explanation='Invalid start time. The start time cannot occur '
                        'after the end time.')
    return start, end, params.get('detailed', '0') == '1'


def _shown(value):
    """Datetimes as Nova's JSON shows them, recursively."""
    if isinstance(value, datetime.datetime):
        return value.strftime(SHOWN_FORMAT)
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return value


class SimpleTenantUsageController(wsgi.Controller):
    @wsgi.expected_errors((400, 404))
    def index(self, req):
        if req.path_info.endswith('/'):
            # /os-simple-tenant-usage/ is show with an empty tenant id
            # in Nova: a 404, never the admin's list.
            raise webob.exc.HTTPNotFound(
                explanation='The resource could not be found.')
        start, end, detailed = _period(req)
        usages = self.compute_api.usage_list(wsgi.get_context(req), start,
                                             end, detailed)
        return {'tenant_usages': _shown(usages)}

    @wsgi.expected_errors(400)
    def show(self, req, tenant_id):
        start, end, _detailed = _period(req)
        usage = self.compute_api.usage_show(wsgi.get_context(req),
                                            tenant_id, start, end)
        return {'tenant_usage': _shown(usage)}
