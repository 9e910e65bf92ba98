"""Server metadata: Nova's server-metadata rules."""

from nova.policies import base

ROOT = base.COMPUTE_API + ':server-metadata:%s'
INDEX, SHOW = ROOT % 'index', ROOT % 'show'
CREATE, UPDATE = ROOT % 'create', ROOT % 'update'
UPDATE_ALL, DELETE = ROOT % 'update_all', ROOT % 'delete'
PATH = '/servers/{server_id}/metadata'

rules = [
    base.rule(INDEX, base.PROJECT_READER_OR_ADMIN,
              'List a server\'s metadata.', 'GET', PATH),
    base.rule(SHOW, base.PROJECT_READER_OR_ADMIN,
              'Show one metadata item of a server.', 'GET', PATH + '/{key}'),
    base.rule(CREATE, base.PROJECT_MEMBER_OR_ADMIN,
              'Add or change metadata items of a server.', 'POST', PATH),
    base.rule(UPDATE_ALL, base.PROJECT_MEMBER_OR_ADMIN,
              'Replace the metadata of a server.', 'PUT', PATH),
    base.rule(UPDATE, base.PROJECT_MEMBER_OR_ADMIN,
              'Set one metadata item of a server.', 'PUT', PATH + '/{key}'),
    base.rule(DELETE, base.PROJECT_MEMBER_OR_ADMIN,
              'Delete one metadata item of a server.', 'DELETE',
              PATH + '/{key}'),
]


def list_rules():
    return rules
