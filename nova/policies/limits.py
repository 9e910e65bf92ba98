"""/limits: Nova's rule."""

from nova.policies import base

LIMITS = base.COMPUTE_API + ':limits'

rules = [
    base.rule(LIMITS, base.PROJECT_READER_OR_ADMIN,
              'Show the limits of the caller\'s project and its usage.',
              'GET', '/limits'),
]


def list_rules():
    return rules
