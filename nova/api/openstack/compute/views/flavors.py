"""Flavor bodies, shaped like Nova's before microversion 2.55."""

from nova.api.openstack.compute.views import links

COLLECTION = 'flavors'


def basic(req, flavor):
    flavor_id = str(flavor['id'])
    return {
        'id': flavor_id,
        'name': flavor['name'],
        'links': links.self_and_bookmark(req, COLLECTION, flavor_id),
    }


def detail(req, flavor):
    body = basic(req, flavor)
    body.update({
        'ram': flavor['ram'],
        'vcpus': flavor['vcpus'],
        'disk': flavor['disk'],
        'OS-FLV-EXT-DATA:ephemeral': flavor.get('ephemeral_gb') or 0,
        # Nova says '' for no swap.
        'swap': flavor.get('swap') or '',
        'rxtx_factor': float(flavor.get('rxtx_factor', 1.0)),
        'OS-FLV-DISABLED:disabled': bool(flavor.get('disabled', False)),
        'os-flavor-access:is_public': bool(flavor.get('is_public', True)),
    })
    return body


def extra_specs(flavor):
    return dict(flavor.get('extra_specs') or {})
