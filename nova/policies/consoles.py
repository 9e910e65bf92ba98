"""A server's consoles: its console log and its serial console.

``os_compute_api:os-console-output`` and
``os_compute_api:os-remote-consoles`` are Nova's (the latter also covers
the older os-getSerialConsole action, as in Nova).
``os_compute_api:os-console-viewers`` is this project's own, for its own
API: POST /servers/{server_id}/console-viewers.
"""

from oslo_policy import policy

from nova.policies import base

CONSOLE_OUTPUT = base.COMPUTE_API + ':os-console-output'
REMOTE_CONSOLES = base.COMPUTE_API + ':os-remote-consoles'
CONSOLE_VIEWERS = base.COMPUTE_API + ':os-console-viewers'

rules = [
    policy.DocumentedRuleDefault(
        name=CONSOLE_OUTPUT, check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Show a server's console output (its console log).",
        operations=[{'method': 'POST', 'path':
                     '/servers/{server_id}/action (os-getConsoleOutput)'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=REMOTE_CONSOLES, check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Get a URL of a server's interactive serial console. "
                    'os-getSerialConsole is the action of microversions '
                    '2.1 to 2.5; remote-consoles replaced it in 2.6.',
        operations=[
            {'method': 'POST', 'path':
             '/servers/{server_id}/action (os-getSerialConsole)'},
            {'method': 'POST', 'path': '/servers/{server_id}/remote-consoles'},
        ],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=CONSOLE_VIEWERS, check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Get a URL of a read-only viewer of a server's serial "
                    'console. Not a Nova API: this project\'s own '
                    'extension, named in Nova\'s pattern.',
        operations=[{'method': 'POST',
                     'path': '/servers/{server_id}/console-viewers'}],
        scope_types=['project']),
]


def list_rules():
    return rules
