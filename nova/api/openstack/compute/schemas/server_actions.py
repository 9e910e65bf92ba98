"""POST /servers/{id}/action: one schema per action (and microversion)."""

import copy

from nova.api.openstack.compute.schemas import parameter_types
from nova.api.openstack.compute.schemas import servers

reboot = {
    'type': 'object',
    'properties': {
        'reboot': {
            'type': 'object',
            'properties': {
                'type': {
                    'type': 'string',
                    'enum': ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'],
                },
            },
            'required': ['type'],
            'additionalProperties': False,
        },
    },
    'required': ['reboot'],
    'additionalProperties': False,
}

rebuild = {
    'type': 'object',
    'properties': {
        'rebuild': {
            'type': 'object',
            'properties': {
                'imageRef': parameter_types.image_ref,
                # -- srv: what Nova's rebuild takes besides the image.
                'name': parameter_types.name,
                'adminPass': {'type': 'string', 'maxLength': 255},
                'metadata': servers.metadata,
                'accessIPv4': {'type': 'string', 'maxLength': 39},
                'accessIPv6': {'type': 'string', 'maxLength': 45},
                'OS-DCF:diskConfig': {'type': 'string',
                                      'enum': ['AUTO', 'MANUAL']},
                # A flavor here has no ephemeral disk: nothing to keep.
                'preserve_ephemeral': parameter_types.boolean,
                # Refused by the controller with the reason.
                'personality': {},
            },
            'required': ['imageRef'],
            'additionalProperties': False,
        },
    },
    'required': ['rebuild'],
    'additionalProperties': False,
}

# 2.19: an optional description; absent means "keep the one it has".
rebuild_v219 = copy.deepcopy(rebuild)
rebuild_v219['properties']['rebuild']['properties']['description'] = (
    parameter_types.description)

# length: null or -1 for everything, else the number of last lines. A
# string of digits is accepted too; its value is checked by the
# controller (a schema minimum applies to numbers only).
LENGTH_STRING_PATTERN = r'^-?[0-9]+\Z'

get_console_output = {
    'type': 'object',
    'properties': {
        'os-getConsoleOutput': {
            'type': 'object',
            'properties': {
                'length': {
                    'type': ['integer', 'string', 'null'],
                    'pattern': LENGTH_STRING_PATTERN,
                    'minimum': -1,
                    'description': 'expected null, an integer >= -1 or a '
                                   'string of decimal digits',
                },
            },
            'additionalProperties': False,
        },
    },
    'required': ['os-getConsoleOutput'],
    'additionalProperties': False,
}

get_serial_console = {
    'type': 'object',
    'properties': {
        'os-getSerialConsole': {
            'type': 'object',
            'properties': {
                'type': {'type': 'string', 'enum': ['serial']},
            },
            'required': ['type'],
            'additionalProperties': False,
        },
    },
    'required': ['os-getSerialConsole'],
    'additionalProperties': False,
}

# os-migrateLive, 2.1 to 2.24: every key is required; host null lets the
# scheduler choose.
_host_or_null = dict(parameter_types.hostname, type=['string', 'null'])

migrate_live = {
    'type': 'object',
    'properties': {
        'os-migrateLive': {
            'type': 'object',
            'properties': {
                'host': _host_or_null,
                'block_migration': parameter_types.boolean,
                'disk_over_commit': parameter_types.boolean,
            },
            'required': ['host', 'block_migration', 'disk_over_commit'],
            'additionalProperties': False,
        },
    },
    'required': ['os-migrateLive'],
    'additionalProperties': False,
}

# 2.25: block_migration may be "auto" (the compute service decides from
# the storage); disk_over_commit is gone.
BLOCK_MIGRATION_AUTO = 'auto'
migrate_live_v225 = copy.deepcopy(migrate_live)
_v225_action = migrate_live_v225['properties']['os-migrateLive']
del _v225_action['properties']['disk_over_commit']
_v225_action['properties']['block_migration'] = {
    'oneOf': [
        parameter_types.boolean,
        {'type': 'string', 'enum': [BLOCK_MIGRATION_AUTO]},
    ],
}
_v225_action['required'] = ['host', 'block_migration']
del _v225_action

# -- ver: 2.30: ``force`` (a boolean): true takes the named host without
# the scheduler's checks.
migrate_live_v230 = copy.deepcopy(migrate_live_v225)
migrate_live_v230['properties']['os-migrateLive']['properties'][
    'force'] = parameter_types.boolean

# lock / unlock: Nova checks no body before 2.73 (which adds a reason):
# null or an empty object, as clients send ({"lock": {}}: tempest,
# novaclient), are the same request.
lock = {
    'type': 'object',
    'properties': {'lock': {'type': ['null', 'object'],
                            'maxProperties': 0}},
    'required': ['lock'],
    'additionalProperties': False,
}
unlock = {
    'type': 'object',
    'properties': {'unlock': {'type': ['null', 'object'],
                              'maxProperties': 0}},
    'required': ['unlock'],
    'additionalProperties': False,
}


# -- resize: Nova's bodies (migrate takes null before 2.56, which is not
# served; resize a flavorRef and optionally OS-DCF:diskConfig).
migrate = {
    'type': 'object',
    'properties': {'migrate': {'type': 'null'}},
    'required': ['migrate'],
    'additionalProperties': False,
}

resize = {
    'type': 'object',
    'properties': {
        'resize': {
            'type': 'object',
            'properties': {
                'flavorRef': parameter_types.flavor_ref,
                'OS-DCF:diskConfig': {'type': 'string',
                                      'enum': ['AUTO', 'MANUAL']},
            },
            'required': ['flavorRef'],
            'additionalProperties': False,
        },
    },
    'required': ['resize'],
    'additionalProperties': False,
}

confirm_resize = {
    'type': 'object',
    'properties': {'confirmResize': {'type': 'null'}},
    'required': ['confirmResize'],
    'additionalProperties': False,
}

revert_resize = {
    'type': 'object',
    'properties': {'revertResize': {'type': 'null'}},
    'required': ['revertResize'],
    'additionalProperties': False,
}
