"""Links and timestamps in response bodies.

``self`` links point into the versioned API (``.../v2.1/servers/ID``),
``bookmark`` links are the same without the version (``.../servers/ID``),
as in Nova.
"""

import datetime
import urllib.parse

from nova.api.openstack.compute import wsgi


def _quote(resource_id):
    return urllib.parse.quote(str(resource_id), safe='')


def versioned_url(req, *parts):
    return '/'.join([req.application_url] + [_quote(p) for p in parts])


def unversioned_url(req, *parts):
    root = req.environ.get(wsgi.API_ROOT_URL_KEY, req.host_url)
    return '/'.join([root] + [_quote(p) for p in parts])


def self_and_bookmark(req, collection, resource_id):
    return [
        {'rel': 'self',
         'href': versioned_url(req, collection, resource_id)},
        {'rel': 'bookmark',
         'href': unversioned_url(req, collection, resource_id)},
    ]


def bookmark_only(req, collection, resource_id):
    return [{'rel': 'bookmark',
             'href': unversioned_url(req, collection, resource_id)}]


def isotime(value):
    """``2024-05-01T12:00:00Z`` for a datetime (naive ones are UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
    return value.strftime('%Y-%m-%dT%H:%M:%SZ')
