"""Schema fragments used by several request bodies."""

# No control characters; no white space at either end.
_PRINTABLE = r'[^\x00-\x1f\x7f]'
_PRINTABLE_NOT_SPACE = r'[^\s\x00-\x1f\x7f]'

name = {
    'type': 'string',
    'minLength': 1,
    'maxLength': 255,
    'pattern': r'^%s(%s*%s)?\Z' % (_PRINTABLE_NOT_SPACE, _PRINTABLE,
                                   _PRINTABLE_NOT_SPACE),
    'description': 'a name has no control characters and no white space '
                   'at either end',
}

# An image id, or an href whose last path segment is the id.
image_ref = {
    'type': 'string',
    'minLength': 1,
    'maxLength': 1024,
    'pattern': r'^%s+\Z' % _PRINTABLE_NOT_SPACE,
    'description': 'an image id or URL has no white space or control '
                   'characters',
}

# A flavor id (string or integer, as Nova), or an href ending with it.
flavor_ref = {
    'type': ['string', 'integer'],
    'minLength': 1,
    'maxLength': 1024,
    'pattern': r'^%s+\Z' % _PRINTABLE_NOT_SPACE,
    'description': 'a flavor id or URL has no white space or control '
                   'characters',
}

# One server per request: 1 or "1" only.
count_of_one = {
    'anyOf': [
        {'type': 'integer', 'enum': [1]},
        {'type': 'string', 'enum': ['1']},
    ],
}
