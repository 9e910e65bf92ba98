"""POST /servers (``create``; ``create_v219`` from 2.19) and PUT
/servers/{id} (``update``; ``update_v219``).

What Nova accepts at these microversions. What Nova accepts but this
cloud cannot do is let through the schema as ``UNSUPPORTED`` and refused
by the controller with a 400 that names it (not "Additional properties
are not allowed"). Formats the draft-4 validator does not check (IP
addresses, base64, uuids) are checked by the controller.
"""

import copy

from nova.api.openstack.compute.schemas import parameter_types

# This cloud has no network service: a server gets no network. The
# controller accepts what asks for nothing in particular ('none', 'auto',
# []) and says why anything else is refused.
networks = {'type': ['string', 'array']}

image_ref_or_empty = dict(
    parameter_types.image_ref, minLength=0,
    pattern=r'^(%s)?\Z' % parameter_types.image_ref['pattern'][1:-2])

# Nova's metadata: keys of 1-255 of these characters, string values of at
# most 255. Nova's quota of 128 items is no schema limit: more is a 403
# (MetadataLimitExceeded, nova.compute.api), as in Nova.
MAX_METADATA_ITEMS = 128
metadata = {
    'type': 'object',
    'patternProperties': {
        # \Z, not $: $ also matches before a trailing newline.
        r'^[a-zA-Z0-9-_:. ]{1,255}\Z': {'type': 'string', 'maxLength': 255},
    },
    'additionalProperties': False,
    'description': 'metadata keys have 1 to 255 letters, digits, "-", '
                   '"_", ":", "." or spaces',
}

# A block device mapping item: its keys as Nova's; which values this
# cloud can do is the controller's (only the image as local boot disk).
bdm_v2_item = {
    'type': 'object',
    'properties': {
        'uuid': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'source_type': {'type': 'string'},
        'destination_type': {'type': ['string', 'null']},
        'boot_index': {'type': ['integer', 'string', 'null']},
        'delete_on_termination': parameter_types.boolean,
        'device_name': {'type': ['string', 'null']},
        'device_type': {'type': ['string', 'null']},
        'disk_bus': {'type': ['string', 'null']},
        'guest_format': {'type': ['string', 'null']},
        'volume_size': {'type': ['integer', 'string', 'null']},
        'volume_type': {'type': ['string', 'null']},
        'no_device': {},
        'snapshot_id': {}, 'volume_id': {}, 'image_id': {},
    },
    'additionalProperties': False,
}

# Nova's hints: different_host and same_host are server ids (one, or a
# list); every other hint is accepted and ignored, as Nova's scheduler
# ignores hints no enabled filter reads.
_server_ids = {
    'anyOf': [
        {'type': 'string', 'minLength': 1, 'maxLength': 255},
        {'type': 'array', 'maxItems': 1000,
         'items': {'type': 'string', 'minLength': 1, 'maxLength': 255}},
    ],
}
scheduler_hints = {
    'type': 'object',
    'properties': {
        'different_host': _server_ids,
        'same_host': _server_ids,
    },
    'additionalProperties': True,
}

# Accepted by Nova, refused here with the reason (see the controller).
UNSUPPORTED = ('personality', 'block_device_mapping', 'security_groups',
               'return_reservation_id')

_server = {
    'type': 'object',
    'properties': {
        'name': parameter_types.name,
        # Optional, and may be empty, as in Nova: block_device_mapping_v2
        # may name the image instead.
        'imageRef': image_ref_or_empty,
        'flavorRef': parameter_types.flavor_ref,
        'networks': networks,
        # openstacksdk always sends these two.
        'min_count': parameter_types.count_of_one,
        'max_count': parameter_types.count_of_one,
        'adminPass': {'type': 'string', 'maxLength': 255},
        'metadata': metadata,
        'accessIPv4': {'type': 'string', 'maxLength': 39},
        'accessIPv6': {'type': 'string', 'maxLength': 45},
        'OS-DCF:diskConfig': {'type': 'string', 'enum': ['AUTO', 'MANUAL']},
        'key_name': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'availability_zone': {'type': 'string', 'minLength': 1,
                              'maxLength': 255},
        'user_data': {'type': 'string', 'maxLength': 65535},
        'config_drive': parameter_types.boolean,
        'block_device_mapping_v2': {'type': 'array', 'items': bdm_v2_item},
    },
    'required': ['name', 'flavorRef'],
    'additionalProperties': False,
}
for _name in UNSUPPORTED:
    _server['properties'][_name] = {}
del _name

create = {
    'type': 'object',
    'properties': {
        'server': _server,
        # Nova reads the hints next to "server", under either name.
        'os:scheduler_hints': scheduler_hints,
        'OS-SCH-HNT:scheduler_hints': scheduler_hints,
    },
    'required': ['server'],
    'additionalProperties': False,
}

# 2.19: an optional description.
create_v219 = copy.deepcopy(create)
create_v219['properties']['server']['properties']['description'] = (
    parameter_types.description)

update = {
    'type': 'object',
    'properties': {
        'server': {
            'type': 'object',
            'properties': {
                'name': parameter_types.name,
                'accessIPv4': {'type': 'string', 'maxLength': 39},
                'accessIPv6': {'type': 'string', 'maxLength': 45},
                'OS-DCF:diskConfig': {'type': 'string',
                                      'enum': ['AUTO', 'MANUAL']},
            },
            'additionalProperties': False,
        },
    },
    'required': ['server'],
    'additionalProperties': False,
}

update_v219 = copy.deepcopy(update)
update_v219['properties']['server']['properties']['description'] = (
    parameter_types.description)
