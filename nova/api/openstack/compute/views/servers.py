"""Server bodies, shaped like Nova's.

By microversion: ``locked`` from 2.9 (the lock and unlock actions),
``description`` from 2.19, ``tags`` from 2.26 (the controller puts them
on the server: server_tags.with_tags) and, for admins, ``host_status``
from 2.16. Admins also get the ``OS-EXT-SRV-ATTR`` fields host,
hypervisor_hostname and instance_name at every microversion.
"""

import hashlib

from nova.api.openstack import common
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import wsgi
from nova.api.openstack.compute.views import links
from nova.objects import instance as instance_obj
from nova.policies import servers as server_policies

COLLECTION = 'servers'
FAULT_STATUSES = ('ERROR', 'DELETED')

LOCKED_VERSION = microversion.APIVersion(2, 9)
HOST_STATUS_VERSION = microversion.APIVersion(2, 16)
DESCRIPTION_VERSION = microversion.APIVersion(2, 19)
TAGS_VERSION = microversion.APIVersion(2, 26)


def host_id(server):
    """Nova's hostId: tells a project which of its servers share a host
    without naming the host; '' before the server has one."""
    host = server.get('host')
    if not host:
        return ''
    data = (str(server.get('project_id')) + host).encode('utf-8')
    return hashlib.sha224(data).hexdigest()


def basic(req, server):
    return {
        'id': server['uuid'],
        'name': server['name'],
        'links': links.self_and_bookmark(req, COLLECTION, server['uuid']),
    }


def _image(req, server):
    image_id = server.get('image_id')
    if not image_id:
        # Nova's value for a server without an image.
        return ''
    return {'id': image_id,
            'links': links.bookmark_only(req, 'images', image_id)}


def _flavor(req, server):
    flavor_id = str(server['flavor_id'])
    return {'id': flavor_id,
            'links': links.bookmark_only(req, 'flavors', flavor_id)}


def _fault(server):
    return {
        'code': 500,
        'message': server['fault'],
        'created': links.isotime(server.get('updated_at')
                                 or server.get('created_at')),
    }


def instance_name(server):
    """The name of the server's libvirt domain."""
    return instance_obj.Instance(uuid=server['uuid']).name


def _extended_attributes(server):
    return {
        'OS-EXT-SRV-ATTR:host': server.get('host'),
        'OS-EXT-SRV-ATTR:hypervisor_hostname': server.get('node'),
        'OS-EXT-SRV-ATTR:instance_name': instance_name(server),
    }


def detail(req, server, extended=True):
    """The full server body; ``extended=False`` leaves out what only
    GET shows (the admin fields and host_status), as Nova does in the
    body of a rebuild before microversion 2.75."""
    context = wsgi.get_context(req)
    status = common.status_of(server)
    body = {
        'id': server['uuid'],
        'name': server['name'],
        'status': status,
        'tenant_id': server['project_id'],
        'user_id': server['user_id'],
        'metadata': {},
        'hostId': host_id(server),
        'image': _image(req, server),
        'flavor': _flavor(req, server),
        'created': links.isotime(server.get('created_at')),
        'updated': links.isotime(server.get('updated_at')
                                 or server.get('created_at')),
        'addresses': {},
        'accessIPv4': '',
        'accessIPv6': '',
        'links': links.self_and_bookmark(req, COLLECTION, server['uuid']),
        'OS-DCF:diskConfig': 'MANUAL',
        'OS-EXT-STS:task_state': server.get('task_state'),
    }
    if microversion.is_supported(req, LOCKED_VERSION):
        body['locked'] = bool(server.get('locked'))
    if microversion.is_supported(req, DESCRIPTION_VERSION):
        body['description'] = server.get('description')
    if microversion.is_supported(req, TAGS_VERSION):
        # Put there by server_tags.with_tags (one query for a list); a
        # caller that forgot it must not turn a body into a 500.
        body['tags'] = server.get('tags', [])
    owner = {'project_id': server['project_id'],
             'user_id': server['user_id']}
    if extended and context.can(server_policies.EXTENDED_ATTRIBUTES,
                                target=owner, fatal=False):
        body.update(_extended_attributes(server))
    if (extended and microversion.is_supported(req, HOST_STATUS_VERSION)
            and context.can(server_policies.SHOW_HOST_STATUS,
                            target=owner, fatal=False)):
        body['host_status'] = server.get('host_status') or ''
    if status in FAULT_STATUSES and server.get('fault'):
        body['fault'] = _fault(server)
    return body


def created(req, server):
    """The body of a 202 to POST /servers: the server is still building."""
    return {
        'id': server['uuid'],
        'links': links.self_and_bookmark(req, COLLECTION, server['uuid']),
        'OS-DCF:diskConfig': 'MANUAL',
        'security_groups': [{'name': 'default'}],
    }
