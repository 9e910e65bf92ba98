"""The admin-only APIs: live migration, hypervisors, services, flavors.

Nova's rule names and defaults. Image registration is reached through
nova-manage only (this API's /images is read-only);
``os_compute_api:os-image-manage:create`` is this project's own name,
for registering files on the compute hosts as an image, and
``os_compute_api:os-hypervisors:serial-console-facts`` for this project's
``/os-hypervisors/{id}/serial-console-facts``.
"""

from oslo_policy import policy

from nova.policies import base

MIGRATE_LIVE = base.COMPUTE_API + ':os-migrate-server:migrate_live'
MIGRATE = base.COMPUTE_API + ':os-migrate-server:migrate'
HYPERVISORS = base.COMPUTE_API + ':os-hypervisors:%s'
HYPERVISORS_LIST = HYPERVISORS % 'list'
HYPERVISORS_LIST_DETAIL = HYPERVISORS % 'list-detail'
HYPERVISORS_SHOW = HYPERVISORS % 'show'
HYPERVISORS_STATISTICS = HYPERVISORS % 'statistics'
HYPERVISORS_SEARCH = HYPERVISORS % 'search'
HYPERVISORS_SERVERS = HYPERVISORS % 'servers'
HYPERVISORS_UPTIME = HYPERVISORS % 'uptime'
HYPERVISORS_CONSOLE_FACTS = HYPERVISORS % 'serial-console-facts'
SERVICES_LIST = base.COMPUTE_API + ':os-services:list'
SERVICES_UPDATE = base.COMPUTE_API + ':os-services:update'
SERVICES_DELETE = base.COMPUTE_API + ':os-services:delete'
FLAVOR_CREATE = base.COMPUTE_API + ':os-flavor-manage:create'
FLAVOR_DELETE = base.COMPUTE_API + ':os-flavor-manage:delete'
EXTRA_SPECS = base.COMPUTE_API + ':os-flavor-extra-specs:%s'
EXTRA_SPECS_INDEX = EXTRA_SPECS % 'index'
EXTRA_SPECS_SHOW = EXTRA_SPECS % 'show'
EXTRA_SPECS_CREATE = EXTRA_SPECS % 'create'
EXTRA_SPECS_UPDATE = EXTRA_SPECS % 'update'
EXTRA_SPECS_DELETE = EXTRA_SPECS % 'delete'
IMAGE_CREATE = base.COMPUTE_API + ':os-image-manage:create'


rules = [
    base.rule(MIGRATE, base.ADMIN,
              'Cold migrate a server to a host the scheduler picks.',
              'POST', '/servers/{server_id}/action (migrate)'),
    base.rule(MIGRATE_LIVE, base.ADMIN,
              'Live-migrate a server to another host.',
              'POST', '/servers/{server_id}/action (os-migrateLive)'),
    base.rule(HYPERVISORS_LIST, base.ADMIN, 'List the hypervisors.',
              'GET', '/os-hypervisors'),
    base.rule(HYPERVISORS_LIST_DETAIL, base.ADMIN,
              'List the hypervisors with their details.',
              'GET', '/os-hypervisors/detail'),
    base.rule(HYPERVISORS_SHOW, base.ADMIN, 'Show a hypervisor.',
              'GET', '/os-hypervisors/{hypervisor_id}'),
    base.rule(HYPERVISORS_STATISTICS, base.ADMIN,
              'Show the hypervisors\' summed statistics.',
              'GET', '/os-hypervisors/statistics'),
    base.rule(HYPERVISORS_SEARCH, base.ADMIN,
              'Search the hypervisors by host name.',
              'GET', '/os-hypervisors/{hypervisor_hostname_pattern}/search'),
    base.rule(HYPERVISORS_SERVERS, base.ADMIN,
              'List the servers of the hypervisors matching a pattern.',
              'GET',
              '/os-hypervisors/{hypervisor_hostname_pattern}/servers'),
    base.rule(HYPERVISORS_UPTIME, base.ADMIN,
              'Show the uptime of a hypervisor.',
              'GET', '/os-hypervisors/{hypervisor_id}/uptime'),
    base.rule(HYPERVISORS_CONSOLE_FACTS, base.ADMIN,
              'Show how a hypervisor serves the serial console and its '
              'log (virtlogd, versions, serial ports). Not a Nova rule: '
              'this project\'s own extension.',
              'GET', '/os-hypervisors/{hypervisor_id}/serial-console-facts'),
    base.rule(SERVICES_LIST, base.ADMIN, 'List the compute services.',
              'GET', '/os-services'),
    policy.DocumentedRuleDefault(
        name=SERVICES_UPDATE, check_str=base.ADMIN,
        description='Enable or disable a compute service, or force it '
                    'down.',
        operations=[
            {'method': 'PUT', 'path': '/os-services/enable'},
            {'method': 'PUT', 'path': '/os-services/disable'},
            {'method': 'PUT', 'path': '/os-services/disable-log-reason'},
            {'method': 'PUT', 'path': '/os-services/force-down'}],
        scope_types=['project']),
    base.rule(SERVICES_DELETE, base.ADMIN, 'Delete a compute service.',
              'DELETE', '/os-services/{service_id}'),
    base.rule(FLAVOR_CREATE, base.ADMIN,
              'Create a flavor (also nova-manage flavor create).',
              'POST', '/flavors'),
    base.rule(FLAVOR_DELETE, base.ADMIN, 'Delete a flavor.',
              'DELETE', '/flavors/{flavor_id}'),
    base.rule(EXTRA_SPECS_CREATE, base.ADMIN,
              'Add or change extra specs of a flavor.',
              'POST', '/flavors/{flavor_id}/os-extra_specs'),
    base.rule(EXTRA_SPECS_UPDATE, base.ADMIN,
              'Change one extra spec of a flavor.',
              'PUT',
              '/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}'),
    base.rule(EXTRA_SPECS_DELETE, base.ADMIN,
              'Delete one extra spec of a flavor.',
              'DELETE',
              '/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}'),
    base.rule(EXTRA_SPECS_INDEX, base.PROJECT_READER_OR_ADMIN,
              'List the extra specs of a flavor.',
              'GET', '/flavors/{flavor_id}/os-extra_specs'),
    base.rule(EXTRA_SPECS_SHOW, base.PROJECT_READER_OR_ADMIN,
              'Show one extra spec of a flavor.',
              'GET',
              '/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}'),
    policy.RuleDefault(
        IMAGE_CREATE, base.ADMIN,
        'Register files on the compute hosts as an image (nova-manage '
        'image create). Not a Nova rule: this project\'s own.',
        scope_types=['project']),
]


def list_rules():
    return rules
