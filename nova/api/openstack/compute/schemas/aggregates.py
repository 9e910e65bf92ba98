"""Request bodies of /os-aggregates, as Nova's (before 2.41)."""

from nova.api.openstack.compute.schemas import parameter_types

_az = {'type': ['string', 'null'], 'minLength': 1, 'maxLength': 255,
       'pattern': parameter_types.name['pattern'],
       'description': parameter_types.name['description']}

create = {
    'type': 'object',
    'properties': {
        'aggregate': {
            'type': 'object',
            'properties': {
                'name': parameter_types.name,
                'availability_zone': _az,
            },
            'required': ['name'],
            'additionalProperties': False,
        },
    },
    'required': ['aggregate'],
    'additionalProperties': False,
}

update = {
    'type': 'object',
    'properties': {
        'aggregate': {
            'type': 'object',
            'properties': {
                'name': parameter_types.name,
                'availability_zone': _az,
            },
            'additionalProperties': False,
            'minProperties': 1,
        },
    },
    'required': ['aggregate'],
    'additionalProperties': False,
}


def _host_action(name):
    return {
        'type': 'object',
        'properties': {
            name: {
                'type': 'object',
                'properties': {'host': parameter_types.hostname},
                'required': ['host'],
                'additionalProperties': False,
            },
        },
        'required': [name],
        'additionalProperties': False,
    }


add_host = _host_action('add_host')
remove_host = _host_action('remove_host')

set_metadata = {
    'type': 'object',
    'properties': {
        'set_metadata': {
            'type': 'object',
            'properties': {
                'metadata': {
                    'type': 'object',
                    'patternProperties': {
                        r'^[a-zA-Z0-9-_:. ]{1,255}\Z': {
                            'type': ['string', 'null'],
                            'maxLength': 255,
                        },
                    },
                    'additionalProperties': False,
                },
            },
            'required': ['metadata'],
            'additionalProperties': False,
        },
    },
    'required': ['set_metadata'],
    'additionalProperties': False,
}
