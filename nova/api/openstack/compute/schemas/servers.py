"""POST /servers: ``create`` up to 2.18, ``create_v219`` from 2.19."""

import copy

from nova.api.openstack.compute.schemas import parameter_types

# This cloud has no network service: a server gets no network, so only
# the requests that ask for nothing in particular are accepted.
networks = {
    'anyOf': [
        {'type': 'string', 'enum': ['none', 'auto']},
        {'type': 'array', 'maxItems': 0},
    ],
}

create = {
    'type': 'object',
    'properties': {
        'server': {
            'type': 'object',
            'properties': {
                'name': parameter_types.name,
                'imageRef': parameter_types.image_ref,
                'flavorRef': parameter_types.flavor_ref,
                'networks': networks,
                # openstacksdk always sends these two.
                'min_count': parameter_types.count_of_one,
                'max_count': parameter_types.count_of_one,
            },
            'required': ['name', 'imageRef', 'flavorRef'],
            'additionalProperties': False,
        },
    },
    'required': ['server'],
    'additionalProperties': False,
}

# 2.19: an optional description.
create_v219 = copy.deepcopy(create)
create_v219['properties']['server']['properties']['description'] = (
    parameter_types.description)
