"""POST /os-server-external-events (Nova's rule)."""

from nova.policies import base

CREATE = base.COMPUTE_API + ':os-server-external-events:create'

rules = [
    base.rule(CREATE, base.ADMIN,
              'Send events about servers to the compute service (Nova: '
              'from Neutron or Cinder); acknowledged here.',
              'POST', '/os-server-external-events'),
]


def list_rules():
    return rules
