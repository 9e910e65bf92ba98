"""Version documents: GET / (all versions) and GET /v2.1 (this one).

Served without authentication, as Nova does, so that clients (keystoneauth
discovery) learn the microversion range before they authenticate.
"""

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import wsgi

VERSION_ID = 'v2.1'
VERSION_PREFIX = '/v2.1'
# When v2.1 appeared, as Nova reports it.
UPDATED = '2013-07-23T11:33:21Z'
MEDIA_TYPE = 'application/vnd.openstack.compute+json;version=2.1'
DOCS_URL = 'https://docs.openstack.org/'


def _self_link(req):
    root = req.environ.get(wsgi.API_ROOT_URL_KEY, req.host_url)
    return {'rel': 'self', 'href': root + VERSION_PREFIX + '/'}


def _version(req):
    return {
        'id': VERSION_ID,
        'status': 'CURRENT',
        'version': str(microversion.MAX_VERSION),
        'min_version': str(microversion.MIN_VERSION),
        'updated': UPDATED,
    }


def index(req):
    """GET /: every API version served here (only v2.1)."""
    version = _version(req)
    version['links'] = [_self_link(req)]
    return wsgi.json_response({'versions': [version]})


def show(req):
    """GET /v2.1: this version, its range of microversions."""
    version = _version(req)
    version['links'] = [
        _self_link(req),
        {'rel': 'describedby', 'type': 'text/html', 'href': DOCS_URL},
    ]
    version['media-types'] = [
        {'base': 'application/json', 'type': MEDIA_TYPE},
    ]
    return wsgi.json_response({'version': version})
