"""PUT /os-quota-sets/{tenant_id} and /os-quota-class-sets/{id}: Nova's
bodies up to microversion 2.35 (the network quotas are still there)."""

import copy

from nova import quota

# Nova's quota limit: an integer, or a string of one ("5120"), from -1
# (unlimited) to the largest 32-bit signed integer.
limit = {
    'type': ['integer', 'string'],
    'pattern': r'^-?[0-9]+\Z',
    'minimum': -1,
    'maximum': quota.MAX_LIMIT,
    'description': 'a limit is an integer from -1 (unlimited) to %d'
                   % quota.MAX_LIMIT,
}

# Nova's boolean parameter: JSON true/false or their usual spellings.
boolean = {
    'type': ['boolean', 'string'],
    'enum': [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES',
             'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF',
             'Off', 'off', 'NO', 'No', 'no'],
}

_limits = {resource: limit for resource in quota.RESOURCES}

update_class = {
    'type': 'object',
    'properties': {
        'quota_class_set': {
            'type': 'object',
            'properties': _limits,
            'additionalProperties': False,
        },
    },
    'required': ['quota_class_set'],
    'additionalProperties': False,
}

update = copy.deepcopy(update_class)
update['properties']['quota_set'] = update['properties'].pop(
    'quota_class_set')
update['properties']['quota_set']['properties']['force'] = boolean
update['required'] = ['quota_set']
