"""Lock and unlock (microversion 2.9 shows ``locked``): Nova's rules."""

from nova.policies import base

ROOT = base.COMPUTE_API + ':os-lock-server:%s'
LOCK, UNLOCK = ROOT % 'lock', ROOT % 'unlock'
UNLOCK_OVERRIDE = ROOT % 'unlock:unlock_override'
PATH = '/servers/{server_id}/action'

rules = [
    base.rule(LOCK, base.PROJECT_MEMBER_OR_ADMIN,
              'Lock a server: actions on it are refused (409) to all but '
              'admins.', 'POST', PATH + ' (lock)'),
    base.rule(UNLOCK, base.PROJECT_MEMBER_OR_ADMIN, 'Unlock a server.',
              'POST', PATH + ' (unlock)'),
    base.rule(UNLOCK_OVERRIDE, base.ADMIN,
              'Unlock a server locked by the other side (an owner\'s lock '
              'by an admin, an admin\'s by its owner).', 'POST',
              PATH + ' (unlock)'),
]


def list_rules():
    return rules
