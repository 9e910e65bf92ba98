"""Shelve, shelveOffload, unshelve: Nova's rules (os-shelve)."""

from nova.policies import base

ROOT = base.COMPUTE_API + ':os-shelve:%s'
SHELVE = ROOT % 'shelve'
SHELVE_OFFLOAD = ROOT % 'shelve_offload'
UNSHELVE = ROOT % 'unshelve'
PATH = '/servers/{server_id}/action'

rules = [
    base.rule(SHELVE, base.PROJECT_MEMBER_OR_ADMIN,
              'Shelve a server: its disk saved as an image, its guest '
              'stopped (and offloaded by [DEFAULT] shelved_offload_time).',
              'POST', PATH + ' (shelve)'),
    base.rule(SHELVE_OFFLOAD, base.ADMIN,
              'Offload a shelved server: destroyed on its host, which it '
              'leaves.', 'POST', PATH + ' (shelveOffload)'),
    base.rule(UNSHELVE, base.PROJECT_MEMBER_OR_ADMIN,
              'Unshelve a shelved or offloaded server.', 'POST',
              PATH + ' (unshelve)'),
]


def list_rules():
    return rules
