"""Request bodies of POST /flavors and os-extra_specs, as Nova's."""

import copy

from nova.api.openstack.compute.schemas import parameter_types

MAX_INT = 2 ** 31 - 1

# An integer, or its decimal digits as a string (Nova takes both).
_positive = {'type': ['integer', 'string'], 'pattern': r'^[0-9]*\Z',
             'minimum': 1, 'maximum': MAX_INT}
_non_negative = dict(_positive, minimum=0)

create = {
    'type': 'object',
    'properties': {
        'flavor': {
            'type': 'object',
            'properties': {
                'name': parameter_types.name,
                # 'auto' and null make a UUID, as in Nova.
                'id': {
                    'type': ['string', 'number', 'null'],
                    'minLength': 1, 'maxLength': 255,
                    'pattern': r'^(?! )[a-zA-Z0-9. _-]+(?<! )\Z',
                    'description': 'a flavor id has only letters, digits, '
                                   '".", "_", "-" and inner spaces',
                },
                'ram': _positive,
                'vcpus': _positive,
                'disk': _non_negative,
                'OS-FLV-EXT-DATA:ephemeral': _non_negative,
                # Nova also takes '' for no swap.
                'swap': {'type': ['integer', 'string'],
                         'pattern': r'^[0-9]*\Z', 'minimum': 0,
                         'maximum': MAX_INT},
                'rxtx_factor': {
                    'type': ['number', 'string'],
                    'pattern': r'^[0-9]+(\.[0-9]+)?\Z',
                    'minimum': 0, 'exclusiveMinimum': True,
                    'maximum': 3.40282e+38,
                    'description': 'a positive number'},
                'os-flavor-access:is_public': parameter_types.boolean,
            },
            'required': ['name', 'ram', 'vcpus', 'disk'],
            'additionalProperties': False,
        },
    },
    'required': ['flavor'],
    'additionalProperties': False,
}

# Nova's extra spec keys and values.
_specs = {
    'type': 'object',
    'patternProperties': {
        r'^[a-zA-Z0-9-_:. ]{1,255}\Z': {
            'type': ['string', 'number', 'boolean'],
            'minLength': 0, 'maxLength': 255,
        },
    },
    'additionalProperties': False,
}

extra_specs_create = {
    'type': 'object',
    'properties': {'extra_specs': _specs},
    'required': ['extra_specs'],
    'additionalProperties': False,
}

extra_spec_update = copy.deepcopy(_specs)
extra_spec_update.update(minProperties=1, maxProperties=1)
