"""POST /servers/{server_id}/console-viewers: ``{"console_viewer": {}}``.

The object is empty today and must stay so: a key this cloud does not
know is refused (400 naming it) rather than ignored, so a client never
believes it asked for something it did not get.
"""

create = {
    'type': 'object',
    'properties': {
        'console_viewer': {
            'type': 'object',
            'properties': {},
            'additionalProperties': False,
        },
    },
    'required': ['console_viewer'],
    'additionalProperties': False,
}
