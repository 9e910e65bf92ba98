"""The server response schemas tempest 47 validates against, restated.

Facts of tempest 47 (``tempest/lib/api_schema/response/compute/v2_*/
servers.py``), written out here so the unit tests need no tempest: which
keys a server body may have (``additionalProperties: false``), which it
must have, and their JSON types, by microversion. ``servers(version)``
returns an object with the schemas tempest's compute client uses:
``get_server``, ``list_servers``, ``list_servers_detail``,
``update_server`` and ``rebuild_server_with_admin_pass``.
"""

import types

STRING = {'type': 'string'}
STRING_OR_NULL = {'type': ['string', 'null']}
LINKS = {
    'type': 'array',
    'items': {
        'type': 'object',
        'properties': {'href': STRING, 'rel': STRING},
        'additionalProperties': False,
        'required': ['href', 'rel'],
    },
}
_ID_AND_LINKS = {
    'type': 'object',
    'properties': {'id': STRING, 'links': LINKS},
    'additionalProperties': False,
    'required': ['id', 'links'],
}

# Keys of every server body (create's excepted) and those it must have.
COMMON = {
    'id': STRING, 'name': STRING, 'status': STRING,
    'image': {'oneOf': [_ID_AND_LINKS, {'type': ['string', 'null']}]},
    'flavor': _ID_AND_LINKS,
    'fault': {
        'type': 'object',
        'properties': {'code': {'type': 'integer'}, 'created': STRING,
                       'message': STRING, 'details': STRING},
        'additionalProperties': False,
        'required': ['code', 'created', 'message'],
    },
    'user_id': STRING, 'tenant_id': STRING, 'created': STRING,
    'updated': STRING, 'progress': {'type': 'integer'},
    'metadata': {'type': 'object'}, 'links': LINKS,
    'addresses': {'type': 'object'}, 'hostId': STRING,
    'OS-DCF:diskConfig': STRING,
    'accessIPv4': {'type': 'string',
                   'oneOf': [{'format': 'ipv4'}, {'enum': ['']}]},
    'accessIPv6': {'type': 'string',
                   'oneOf': [{'format': 'ipv6'}, {'enum': ['']}]},
}
REQUIRED = ['id', 'name', 'status', 'image', 'flavor', 'user_id',
            'tenant_id', 'created', 'updated', 'metadata', 'links',
            'addresses', 'hostId']

# GET /servers/{id} and /servers/detail also allow these.
DETAIL = {
    'key_name': STRING_OR_NULL, 'security_groups': {'type': 'array'},
    'OS-SRV-USG:launched_at': STRING_OR_NULL,
    'OS-SRV-USG:terminated_at': STRING_OR_NULL,
    'OS-EXT-AZ:availability_zone': STRING,
    'OS-EXT-STS:task_state': STRING_OR_NULL,
    'OS-EXT-STS:vm_state': STRING,
    'OS-EXT-STS:power_state': {'type': 'integer',
                               'enum': [0, 1, 3, 4, 6, 7]},
    'OS-EXT-SRV-ATTR:host': STRING_OR_NULL,
    'OS-EXT-SRV-ATTR:instance_name': STRING,
    'OS-EXT-SRV-ATTR:hypervisor_hostname': STRING_OR_NULL,
    'os-extended-volumes:volumes_attached': {'type': 'array'},
    'config_drive': STRING,
}
# ... and from 2.3 these.
DETAIL_V23 = {
    'OS-EXT-SRV-ATTR:reservation_id': STRING_OR_NULL,
    'OS-EXT-SRV-ATTR:launch_index': {'type': 'integer'},
    'OS-EXT-SRV-ATTR:kernel_id': STRING_OR_NULL,
    'OS-EXT-SRV-ATTR:ramdisk_id': STRING_OR_NULL,
    'OS-EXT-SRV-ATTR:hostname': STRING,
    'OS-EXT-SRV-ATTR:root_device_name': STRING_OR_NULL,
    'OS-EXT-SRV-ATTR:user_data': STRING_OR_NULL,
}

CREATE_WITH_ADMIN_PASS = {
    'status_code': [202],
    'response_body': {
        'type': 'object',
        'properties': {'server': {
            'type': 'object',
            'properties': {'id': STRING, 'security_groups':
                           {'type': 'array'}, 'links': LINKS,
                           'OS-DCF:diskConfig': STRING,
                           'adminPass': STRING},
            'additionalProperties': False,
            'required': ['id', 'links', 'adminPass'],
        }},
        'additionalProperties': False,
        'required': ['server'],
    },
}


def _parse(version):
    major, minor = version.split('.')
    return int(major), int(minor)


def _wrap(key, server, status, many=False):
    inner = {'type': 'array', 'items': server} if many else server
    properties = {key: inner}
    if many:
        properties['servers_links'] = LINKS
    return {'status_code': [status], 'response_body': {
        'type': 'object', 'properties': properties,
        'additionalProperties': False, 'required': [key]}}


def _server(properties, required):
    return {'type': 'object', 'properties': dict(properties),
            'additionalProperties': False, 'required': list(required)}


def servers(version):
    """tempest 47's server schemas at ``version`` ('2.1' to '2.25')."""
    v = _parse(version)
    short, required = dict(COMMON), list(REQUIRED)
    detail = dict(COMMON, **DETAIL)
    if v >= (2, 3):
        detail.update(DETAIL_V23)
    detail_required = list(required)
    if v >= (2, 9):
        for props, req in ((short, required), (detail, detail_required)):
            props['locked'] = {'type': 'boolean'}
            req.append('locked')
    if v >= (2, 16):
        detail['host_status'] = STRING
    if v >= (2, 19):
        for props, req in ((short, required), (detail, detail_required)):
            props['description'] = STRING_OR_NULL
            req.append('description')
    with_pass = dict(short, adminPass=STRING)
    basic = _server({'id': STRING, 'links': LINKS, 'name': STRING},
                    ['id', 'links', 'name'])
    return types.SimpleNamespace(
        get_server=_wrap('server', _server(detail, detail_required), 200),
        list_servers_detail=_wrap('servers', _server(
            detail, detail_required), 200, many=True),
        list_servers=_wrap('servers', basic, 200, many=True),
        update_server=_wrap('server', _server(short, required), 200),
        rebuild_server_with_admin_pass=_wrap('server', _server(
            with_pass, required + ['adminPass']), 202))
