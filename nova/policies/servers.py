"""/servers: Nova's ``os_compute_api:servers:*`` rules, as far as served."""

from oslo_policy import policy

from nova.policies import base

SERVERS = base.COMPUTE_API + ':servers:%s'
INDEX = SERVERS % 'index'
DETAIL = SERVERS % 'detail'
INDEX_ALL_TENANTS = SERVERS % 'index:get_all_tenants'
DETAIL_ALL_TENANTS = SERVERS % 'detail:get_all_tenants'
SHOW = SERVERS % 'show'
SHOW_HOST_STATUS = SERVERS % 'show:host_status'
CREATE = SERVERS % 'create'
CREATE_FORCED_HOST = SERVERS % 'create:forced_host'
UPDATE = SERVERS % 'update'
DELETE = SERVERS % 'delete'
REBOOT = SERVERS % 'reboot'
REBUILD = SERVERS % 'rebuild'
# -- resize: Nova's rules.
RESIZE = SERVERS % 'resize'
CONFIRM_RESIZE = SERVERS % 'confirm_resize'
REVERT_RESIZE = SERVERS % 'revert_resize'
# The OS-EXT-SRV-ATTR:* fields (host, hypervisor_hostname,
# instance_name) of a server's body.
STOP = SERVERS % 'stop'
START = SERVERS % 'start'
EXTENDED_ATTRIBUTES = base.COMPUTE_API + ':os-extended-server-attributes'


rules = [
    base.rule(INDEX, base.PROJECT_READER_OR_ADMIN,
              'List the servers of the project.', 'GET', '/servers'),
    base.rule(DETAIL, base.PROJECT_READER_OR_ADMIN,
              'List the servers of the project with their details.',
              'GET', '/servers/detail'),
    # Asked for ?all_tenants=true. Unlike Nova, whoever passes
    # index:get_all_tenants also sees every project's servers without
    # it (in both lists), as admins always did here.
    policy.DocumentedRuleDefault(
        name=INDEX_ALL_TENANTS, check_str=base.ADMIN,
        description='List the servers of every project '
                    '(?all_tenants=true). Who passes this rule sees every '
                    'project\'s servers in both lists without '
                    '?all_tenants too (?all_tenants=false: their own).',
        operations=[{'method': 'GET', 'path': '/servers'},
                    {'method': 'GET', 'path': '/servers/detail'}],
        scope_types=['project']),
    base.rule(DETAIL_ALL_TENANTS, base.ADMIN,
              'List the servers of every project with their details '
              '(?all_tenants=true).', 'GET', '/servers/detail'),
    base.rule(SHOW, base.PROJECT_READER_OR_ADMIN,
              'Show a server.', 'GET', '/servers/{server_id}'),
    policy.DocumentedRuleDefault(
        name=SHOW_HOST_STATUS, check_str=base.ADMIN,
        description='Show the host_status of a server (microversion '
                    '2.16 and later): UP, DOWN, MAINTENANCE or UNKNOWN.',
        operations=[{'method': 'GET', 'path': '/servers/{server_id}'},
                    {'method': 'GET', 'path': '/servers/detail'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=EXTENDED_ATTRIBUTES, check_str=base.ADMIN,
        description='Show the OS-EXT-SRV-ATTR:host, '
                    'OS-EXT-SRV-ATTR:hypervisor_hostname and '
                    'OS-EXT-SRV-ATTR:instance_name fields of a server.',
        operations=[{'method': 'GET', 'path': '/servers/{server_id}'},
                    {'method': 'GET', 'path': '/servers/detail'}],
        scope_types=['project']),
    base.rule(CREATE, base.PROJECT_MEMBER_OR_ADMIN,
              'Create a server.', 'POST', '/servers'),
    base.rule(CREATE_FORCED_HOST, base.ADMIN,
              'Create a server on a named host (availability_zone '
              '"zone:host").', 'POST', '/servers'),
    base.rule(UPDATE, base.PROJECT_MEMBER_OR_ADMIN,
              'Update a server (name, access IPs, description).', 'PUT',
              '/servers/{server_id}'),
    base.rule(DELETE, base.PROJECT_MEMBER_OR_ADMIN,
              'Delete a server.', 'DELETE', '/servers/{server_id}'),
    base.rule(REBOOT, base.PROJECT_MEMBER_OR_ADMIN,
              'Reboot a server.', 'POST',
              '/servers/{server_id}/action (reboot)'),
    base.rule(REBUILD, base.PROJECT_MEMBER_OR_ADMIN,
              'Rebuild a server.', 'POST',
              '/servers/{server_id}/action (rebuild)'),
    base.rule(RESIZE, base.PROJECT_MEMBER_OR_ADMIN,
              'Resize a server to another flavor.',
              'POST', '/servers/{server_id}/action (resize)'),
    base.rule(CONFIRM_RESIZE, base.PROJECT_MEMBER_OR_ADMIN,
              'Confirm a resize or cold migration.',
              'POST', '/servers/{server_id}/action (confirmResize)'),
    base.rule(REVERT_RESIZE, base.PROJECT_MEMBER_OR_ADMIN,
              'Revert a resize or cold migration.',
              'POST', '/servers/{server_id}/action (revertResize)'),
    base.rule(STOP, base.PROJECT_MEMBER_OR_ADMIN,
              'Stop a server (its guest is powered off, it keeps its disk '
              'and console log).', 'POST',
              '/servers/{server_id}/action (os-stop)'),
    base.rule(START, base.PROJECT_MEMBER_OR_ADMIN,
              'Start a stopped server.', 'POST',
              '/servers/{server_id}/action (os-start)'),
]


def list_rules():
    return rules
