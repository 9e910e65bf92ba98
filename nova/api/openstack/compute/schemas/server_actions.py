"""POST /servers/{id}/action: one schema per action."""

from nova.api.openstack.compute.schemas import parameter_types

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
            },
            'required': ['imageRef'],
            'additionalProperties': False,
        },
    },
    'required': ['rebuild'],
    'additionalProperties': False,
}

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
