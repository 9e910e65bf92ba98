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

# A server description (2.19): empty allowed, spaces anywhere, but no
# control characters or line breaks. null clears it.
description = {
    'type': ['string', 'null'],
    'minLength': 0,
    'maxLength': 255,
    'pattern': r'^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*\Z',
    'description': 'a description has no control characters or line '
                   'breaks',
}

# A compute host name, as Nova's: underscores are allowed, as real hosts
# sometimes have them.
hostname = {
    'type': 'string',
    'minLength': 1,
    'maxLength': 255,
    'pattern': r'^[a-zA-Z0-9._-]+\Z',
    'description': 'a host name has only letters, digits, ".", "_" and "-"',
}

# The spellings of a boolean Nova accepts in bodies: JSON true/false and
# these strings, every one of which oslo_utils.strutils.bool_from_string
# (strict=True) reads, as the handlers do once the schema has passed.
TRUE_STRINGS = ('True', 'TRUE', 'true', '1', 'ON', 'On', 'on',
                'YES', 'Yes', 'yes')
FALSE_STRINGS = ('False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off',
                 'NO', 'No', 'no')
boolean = {
    'type': ['boolean', 'string'],
    'enum': [True, False] + list(TRUE_STRINGS) + list(FALSE_STRINGS),
}
