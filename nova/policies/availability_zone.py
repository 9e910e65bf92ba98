"""os-availability-zone: Nova's rules."""

from nova.policies import base

ROOT = base.COMPUTE_API + ':os-availability-zone:%s'
LIST, DETAIL = ROOT % 'list', ROOT % 'detail'

rules = [
    base.rule(LIST, base.PROJECT_READER_OR_ADMIN,
              'List the availability zones.', 'GET',
              '/os-availability-zone'),
    base.rule(DETAIL, base.ADMIN,
              'List the availability zones with their hosts and services.',
              'GET', '/os-availability-zone/detail'),
]


def list_rules():
    return rules
