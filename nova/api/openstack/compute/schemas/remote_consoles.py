"""POST /servers/{id}/remote-consoles: ``create`` for 2.6 and 2.7,
``create_v28`` from 2.8 on."""

import copy

# Every protocol and type Nova knows at that microversion, so that asking
# for one this cloud does not serve gets "unavailable console type" rather
# than a schema error; only serial/serial is served.
PROTOCOLS = ['vnc', 'spice', 'rdp', 'serial']
TYPES = ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'serial']
# 2.8: VMware's MKS console.
PROTOCOLS_V28 = PROTOCOLS + ['mks']
TYPES_V28 = TYPES + ['webmks']

create = {
    'type': 'object',
    'properties': {
        'remote_console': {
            'type': 'object',
            'properties': {
                'protocol': {'type': 'string', 'enum': PROTOCOLS},
                'type': {'type': 'string', 'enum': TYPES},
            },
            'required': ['protocol', 'type'],
            'additionalProperties': False,
        },
    },
    'required': ['remote_console'],
    'additionalProperties': False,
}

create_v28 = copy.deepcopy(create)
create_v28['properties']['remote_console']['properties'].update(
    protocol={'type': 'string', 'enum': PROTOCOLS_V28},
    type={'type': 'string', 'enum': TYPES_V28})
