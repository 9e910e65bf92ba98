"""os-instance-actions: Nova's rules. Events (with the error text each
failed one recorded) are shown to admins only, as in Nova before 2.51."""

from nova.policies import base

ROOT = base.COMPUTE_API + ':os-instance-actions:%s'
LIST, SHOW, EVENTS = ROOT % 'list', ROOT % 'show', ROOT % 'events'
PATH = '/servers/{server_id}/os-instance-actions'

rules = [
    base.rule(LIST, base.PROJECT_READER_OR_ADMIN,
              'List the actions done on a server.', 'GET', PATH),
    base.rule(SHOW, base.PROJECT_READER_OR_ADMIN,
              'Show one action done on a server.', 'GET',
              PATH + '/{request_id}'),
    base.rule(EVENTS, base.ADMIN,
              'See the events of an action (each host step, its result '
              'and, for a failed one, the error).', 'GET',
              PATH + '/{request_id}'),
]


def list_rules():
    return rules
