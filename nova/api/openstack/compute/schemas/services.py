"""Request bodies of PUT /os-services/{action}, as Nova's before 2.53."""

import copy

from nova.api.openstack.compute.schemas import parameter_types

service_update = {
    'type': 'object',
    'properties': {
        'host': parameter_types.hostname,
        'binary': {'type': 'string', 'minLength': 1, 'maxLength': 255},
        'disabled_reason': {'type': 'string', 'minLength': 1,
                            'maxLength': 255},
    },
    'required': ['host', 'binary'],
    'additionalProperties': False,
}

service_update_v211 = copy.deepcopy(service_update)
service_update_v211['properties']['forced_down'] = parameter_types.boolean
