"""Service bodies of GET /os-services, shaped like Nova's."""

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.views import links

FORCED_DOWN_VERSION = microversion.APIVersion(2, 11)
COMPUTE_TOPIC = 'compute'
# Nova's default availability zone, where every compute host is here;
# other services are in Nova's "internal" zone.
COMPUTE_ZONE = 'nova'
INTERNAL_ZONE = 'internal'


def service(req, svc):
    body = {
        'id': svc['id'],
        'binary': svc['binary'],
        'host': svc['host'],
        'zone': (COMPUTE_ZONE if svc.get('topic') == COMPUTE_TOPIC
                 else INTERNAL_ZONE),
        'status': 'disabled' if svc['disabled'] else 'enabled',
        'state': 'up' if svc['up'] else 'down',
        'updated_at': links.isotime(svc.get('updated_at')),
        'disabled_reason': svc.get('disabled_reason'),
    }
    if microversion.is_supported(req, FORCED_DOWN_VERSION):
        body['forced_down'] = bool(svc.get('forced_down'))
    return body
