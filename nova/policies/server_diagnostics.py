"""GET /servers/{id}/diagnostics (Nova's rule)."""

from nova.policies import base

DIAGNOSTICS = base.COMPUTE_API + ':os-server-diagnostics'

rules = [
    base.rule(DIAGNOSTICS, base.ADMIN,
              "Show a running server's hypervisor statistics (CPU time, "
              "memory, disk and interface counters).",
              'GET', '/servers/{server_id}/diagnostics'),
]


def list_rules():
    return rules
