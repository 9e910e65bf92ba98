"""GET /extensions[/{alias}] (Nova's rule name). Nova's default is '@'
(any token); here a reader or member of the caller's own project, or an
admin: no API of this project is open to a token without a role."""

from nova.policies import base

EXTENSIONS = base.COMPUTE_API + ':extensions'
rules = [
    base.rule(EXTENSIONS, base.PROJECT_READER_OR_ADMIN,
              'List the API extensions this compute API serves, or show '
              'one (deprecated in Nova, served for old clients).',
              'GET', '/extensions'),
]


def list_rules():
    return rules
