"""Server bodies, shaped like Nova's.

By microversion: ``locked`` from 2.9 (the lock and unlock actions),
``description`` from 2.19, ``tags`` from 2.26 (the controller puts them
on the server: server_tags.with_tags) and, for admins, ``host_status``
from 2.16. Admins also get the ``OS-EXT-SRV-ATTR`` fields host,
hypervisor_hostname and instance_name at every microversion, and from 2.3
reservation_id, launch_index, hostname, kernel_id, ramdisk_id,
root_device_name and user_data.

Everyone who may see the server gets Nova's extension fields:
``OS-EXT-STS:*`` (vm_state, task_state, power_state),
``OS-EXT-AZ:availability_zone``, ``OS-SRV-USG:launched_at`` and
``terminated_at``, ``key_name``, ``config_drive`` and
``os-extended-volumes:volumes_attached`` (always empty: there are no
volumes). ``security_groups`` is left out: servers have no network port a
group could filter. The bodies of PUT and of a rebuild are Nova's shorter
ones (no extension fields).
"""

import re

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
EXTENDED_ATTRIBUTES_VERSION = microversion.APIVersion(2, 3)
# Statuses whose body shows "progress", as Nova's.
PROGRESS_STATUSES = ('ACTIVE', 'BUILD', 'REBUILD', 'RESIZE',
                     'VERIFY_RESIZE', 'MIGRATING')
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


def hostname(name):
    """Nova's hostname of a server: its name, lower case, with only
    letters, digits, '-' and '.' kept (spaces and '_' become '-'), at most
    63 characters, 'Server-<uuid>' when nothing is left."""
    text = re.sub(r'[ _]', '-', name.lower())
    text = re.sub(r'[^a-z0-9.-]', '', text).strip('.-')
    return text[:63].rstrip('.-')


def _extended_attributes(req, server):
    body = {
        'OS-EXT-SRV-ATTR:host': server.get('host'),
        'OS-EXT-SRV-ATTR:hypervisor_hostname': server.get('node'),
        'OS-EXT-SRV-ATTR:instance_name': instance_name(server),
    }
    if microversion.is_supported(req, EXTENDED_ATTRIBUTES_VERSION):
        body.update({
            # One server per request: no reservation, index 0.
            'OS-EXT-SRV-ATTR:reservation_id': None,
            'OS-EXT-SRV-ATTR:launch_index': 0,
            'OS-EXT-SRV-ATTR:hostname': (
                hostname(server['name']) or 'Server-' + server['uuid']),
            # Not recorded on the instance (the compute host reads its
            # image): null, which Nova's schema allows.
            'OS-EXT-SRV-ATTR:kernel_id': None,
            'OS-EXT-SRV-ATTR:ramdisk_id': None,
            'OS-EXT-SRV-ATTR:root_device_name': None,
            'OS-EXT-SRV-ATTR:user_data': server.get('user_data'),
        })
    return body


def _usage_time(value):
    # Nova's OS-SRV-USG times have no zone suffix.
    return None if value is None else value.strftime('%Y-%m-%dT%H:%M:%S.%f')


def _extensions(server):
    """Nova's extension fields every reader of the server sees."""
    return {
        'OS-EXT-STS:task_state': server.get('task_state'),
        'OS-EXT-STS:vm_state': server.get('vm_state'),
        'OS-EXT-STS:power_state': server.get('power_state') or 0,
        'OS-EXT-AZ:availability_zone': server.get('availability_zone') or '',
        'OS-SRV-USG:launched_at': _usage_time(server.get('launched_at')),
        'OS-SRV-USG:terminated_at': _usage_time(server.get('terminated_at')),
        'key_name': server.get('key_name'),
        'config_drive': server.get('config_drive') or '',
        'os-extended-volumes:volumes_attached': [],
    }


def detail(req, server, extended=True):
    """The full server body; ``extended=False`` is Nova's shorter body of
    PUT and of a rebuild (before microversion 2.75): no extension fields,
    no admin fields, no host_status."""
    context = wsgi.get_context(req)
    status = common.status_of(server)
    body = {
        'id': server['uuid'],
        'name': server['name'],
        'status': status,
        'tenant_id': server['project_id'],
        'user_id': server['user_id'],
        'metadata': dict(server.get('metadata') or {}),
        'hostId': host_id(server),
        'image': _image(req, server),
        'flavor': _flavor(req, server),
        'created': links.isotime(server.get('created_at')),
        'updated': links.isotime(server.get('updated_at')
                                 or server.get('created_at')),
        'addresses': {},
        'accessIPv4': server.get('access_ip_v4') or '',
        'accessIPv6': server.get('access_ip_v6') or '',
        'links': links.self_and_bookmark(req, COLLECTION, server['uuid']),
        'OS-DCF:diskConfig': server.get('disk_config') or 'MANUAL',
    }
    if status in PROGRESS_STATUSES:
        body['progress'] = 0
    if extended:
        body.update(_extensions(server))
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
        body.update(_extended_attributes(req, server))
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
        'OS-DCF:diskConfig': server.get('disk_config') or 'MANUAL',
    }
