"""POST /os-keypairs: 2.1, 2.2 (``type``), 2.10 (``user_id``, admins)."""

import copy

create = {
    'type': 'object',
    'properties': {
        'keypair': {
            'type': 'object',
            'properties': {
                # The characters are checked by nova.compute.keypairs,
                # with a message naming the allowed ones.
                'name': {'type': 'string', 'minLength': 1,
                         'maxLength': 255},
                'public_key': {'type': 'string', 'maxLength': 16384},
            },
            'required': ['name'],
            'additionalProperties': False,
        },
    },
    'required': ['keypair'],
    'additionalProperties': False,
}

create_v22 = copy.deepcopy(create)
create_v22['properties']['keypair']['properties']['type'] = {
    'type': 'string', 'enum': ['ssh', 'x509']}

create_v210 = copy.deepcopy(create_v22)
create_v210['properties']['keypair']['properties']['user_id'] = {
    'type': 'string', 'minLength': 1, 'maxLength': 255}
