"""Service bodies of GET /os-services, shaped like Nova's."""

from nova.api.openstack.compute import microversion
from nova.api.openstack.compute.views import links
import nova.conf

CONF = nova.conf.CONF
FORCED_DOWN_VERSION = microversion.APIVersion(2, 11)
COMPUTE_TOPIC = 'compute'


def _zone(svc):
    """The compute API gives each service its ``zone``
    (nova.compute.availability_zones); without one, the zone a service
    outside any aggregate is in."""
    if svc.get('zone'):
        return svc['zone']
    if svc.get('topic') == COMPUTE_TOPIC:
        return CONF.default_availability_zone
    return CONF.internal_service_availability_zone


def service(req, svc):
    body = {
        'id': svc['id'],
        'binary': svc['binary'],
        'host': svc['host'],
        'zone': _zone(svc),
        'status': 'disabled' if svc['disabled'] else 'enabled',
        'state': 'up' if svc['up'] else 'down',
        'updated_at': links.isotime(svc.get('updated_at')),
        'disabled_reason': svc.get('disabled_reason'),
    }
    if microversion.is_supported(req, FORCED_DOWN_VERSION):
        body['forced_down'] = bool(svc.get('forced_down'))
    return body
