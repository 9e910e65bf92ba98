"""Request bodies of the os-flavor-access actions, as Nova's."""

# A project id, as Nova's flavor_projects.project_id holds it.
_tenant = {'type': 'string', 'minLength': 1, 'maxLength': 255}


def _action(name):
    return {
        'type': 'object',
        'properties': {
            name: {
                'type': 'object',
                'properties': {'tenant': _tenant},
                'required': ['tenant'],
                'additionalProperties': False,
            },
        },
        'required': [name],
        'additionalProperties': False,
    }


add_tenant_access = _action('addTenantAccess')
remove_tenant_access = _action('removeTenantAccess')
