"""POST /servers/{id}/remote-consoles (microversion 2.6)."""

# Every protocol and type Nova knows, so that asking for one this cloud
# does not serve gets "unavailable console type" rather than a schema
# error; only serial/serial is served.
PROTOCOLS = ['vnc', 'spice', 'rdp', 'serial', 'mks']
TYPES = ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'serial', 'webmks']

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
