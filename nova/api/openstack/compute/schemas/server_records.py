"""Request bodies of server tags (2.26) and server metadata, as Nova's."""

# A tag: 1 to 60 characters, no ',' nor '/' (they separate tags in the
# list filters and the URL).
tag = {
    'type': 'string', 'minLength': 1, 'maxLength': 60,
    'pattern': '^[^,/]*$',
    'description': 'a tag holds neither "," nor "/"',
}

update_all_tags = {
    'type': 'object',
    'properties': {
        'tags': {'type': 'array', 'items': tag, 'maxItems': 50},
    },
    'required': ['tags'],
    'additionalProperties': False,
}

# Nova's parameter_types.metadata.
metadata = {
    'type': 'object',
    'patternProperties': {
        '^[a-zA-Z0-9-_:. ]{1,255}$': {'type': 'string', 'maxLength': 255},
    },
    'additionalProperties': False,
}

create_metadata = {
    'type': 'object',
    'properties': {'metadata': metadata},
    'required': ['metadata'],
    'additionalProperties': False,
}

update_all_metadata = create_metadata

update_metadata_item = {
    'type': 'object',
    'properties': {
        'meta': dict(metadata, minProperties=1, maxProperties=1),
    },
    'required': ['meta'],
    'additionalProperties': False,
}
