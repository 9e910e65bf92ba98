"""Server tags (microversion 2.26): Nova's os-server-tags rules."""

from nova.policies import base

ROOT = base.COMPUTE_API + ':os-server-tags:%s'
INDEX, SHOW = ROOT % 'index', ROOT % 'show'
UPDATE, UPDATE_ALL = ROOT % 'update', ROOT % 'update_all'
DELETE, DELETE_ALL = ROOT % 'delete', ROOT % 'delete_all'
PATH = '/servers/{server_id}/tags'

rules = [
    base.rule(INDEX, base.PROJECT_READER_OR_ADMIN, 'List a server\'s tags.',
              'GET', PATH),
    base.rule(SHOW, base.PROJECT_READER_OR_ADMIN,
              'Check whether a server has a tag.', 'GET', PATH + '/{tag}'),
    base.rule(UPDATE, base.PROJECT_MEMBER_OR_ADMIN, 'Add a tag to a server.',
              'PUT', PATH + '/{tag}'),
    base.rule(UPDATE_ALL, base.PROJECT_MEMBER_OR_ADMIN,
              'Replace every tag of a server.', 'PUT', PATH),
    base.rule(DELETE, base.PROJECT_MEMBER_OR_ADMIN,
              'Delete a tag of a server.', 'DELETE', PATH + '/{tag}'),
    base.rule(DELETE_ALL, base.PROJECT_MEMBER_OR_ADMIN,
              'Delete every tag of a server.', 'DELETE', PATH),
]


def list_rules():
    return rules
