"""/os-aggregates: Nova's ``os_compute_api:os-aggregates:*`` rules."""

from nova.policies import base

AGGREGATES = base.COMPUTE_API + ':os-aggregates:%s'
INDEX = AGGREGATES % 'index'
CREATE = AGGREGATES % 'create'
SHOW = AGGREGATES % 'show'
UPDATE = AGGREGATES % 'update'
DELETE = AGGREGATES % 'delete'
ADD_HOST = AGGREGATES % 'add_host'
REMOVE_HOST = AGGREGATES % 'remove_host'
SET_METADATA = AGGREGATES % 'set_metadata'

_ACTION = 'POST', '/os-aggregates/{aggregate_id}/action (%s)'

rules = [
    base.rule(INDEX, base.ADMIN, 'List the host aggregates.',
              'GET', '/os-aggregates'),
    base.rule(CREATE, base.ADMIN, 'Create a host aggregate.',
              'POST', '/os-aggregates'),
    base.rule(SHOW, base.ADMIN, 'Show a host aggregate.',
              'GET', '/os-aggregates/{aggregate_id}'),
    base.rule(UPDATE, base.ADMIN,
              'Rename a host aggregate or change its availability zone.',
              'PUT', '/os-aggregates/{aggregate_id}'),
    base.rule(DELETE, base.ADMIN, 'Delete an empty host aggregate.',
              'DELETE', '/os-aggregates/{aggregate_id}'),
    base.rule(ADD_HOST, base.ADMIN, 'Add a host to an aggregate.',
              _ACTION[0], _ACTION[1] % 'add_host'),
    base.rule(REMOVE_HOST, base.ADMIN, 'Remove a host from an aggregate.',
              _ACTION[0], _ACTION[1] % 'remove_host'),
    base.rule(SET_METADATA, base.ADMIN,
              'Set or delete metadata of an aggregate.',
              _ACTION[0], _ACTION[1] % 'set_metadata'),
]


def list_rules():
    return rules
