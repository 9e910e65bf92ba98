"""Request bodies of server tags (2.26) and server metadata, as Nova's."""

# A tag: 1 to 60 characters, no ',' nor '/' (they separate tags in the
# list filters and the URL), and no control character: the router
# refuses those in a path, so /tags/{tag} could never name the tag.
tag = {
    'type': 'string', 'minLength': 1, 'maxLength': 60,
    'pattern': r'^[^,/\x00-\x1f\x7f-\x9f]*\Z',
    'description': 'a tag holds neither "," nor "/" nor a control '
                   'character',
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
        # \Z, not $: $ also matches before a trailing newline.
        r'^[a-zA-Z0-9-_:. ]{1,255}\Z': {'type': 'string', 'maxLength': 255},
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
