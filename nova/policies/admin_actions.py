"""os-resetState (Nova's os-admin-actions rule)."""

from nova.policies import base

RESET_STATE = base.COMPUTE_API + ':os-admin-actions:reset_state'

rules = [
    base.rule(RESET_STATE, base.ADMIN,
              "Reset a server's vm_state to active or error and clear its "
              "task_state (the guest is not touched).",
              'POST', '/servers/{server_id}/action (os-resetState)'),
]


def list_rules():
    return rules
