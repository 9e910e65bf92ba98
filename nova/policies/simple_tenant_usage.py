"""os-simple-tenant-usage: Nova's
``os_compute_api:os-simple-tenant-usage:*`` rules.

Every project's usage is the admin's; a project reads its own (the
target is the project named in the URL).
"""

from nova.policies import base

USAGE = base.COMPUTE_API + ':os-simple-tenant-usage:%s'
LIST = USAGE % 'list'
SHOW = USAGE % 'show'

rules = [
    base.rule(LIST, base.ADMIN,
              'List the usage of every project over a period.',
              'GET', '/os-simple-tenant-usage'),
    base.rule(SHOW, base.PROJECT_READER_OR_ADMIN,
              'Show the usage of one project over a period.',
              'GET', '/os-simple-tenant-usage/{tenant_id}'),
]


def list_rules():
    return rules
