"""os-migrations and a server's migrations: Nova's rules (admins)."""

from nova.policies import base

INDEX = base.COMPUTE_API + ':os-migrations:index'
# A server's in-progress live migrations (microversion 2.23).
SERVER_INDEX = base.COMPUTE_API + ':servers:migrations:index'
SERVER_SHOW = base.COMPUTE_API + ':servers:migrations:show'

rules = [
    base.rule(INDEX, base.ADMIN, 'List the migrations of every project.',
              'GET', '/os-migrations'),
    base.rule(SERVER_INDEX, base.ADMIN,
              'List the live migrations of a server in progress.', 'GET',
              '/servers/{server_id}/migrations'),
    base.rule(SERVER_SHOW, base.ADMIN,
              'Show a live migration of a server in progress.', 'GET',
              '/servers/{server_id}/migrations/{migration_id}'),
]


def list_rules():
    return rules
