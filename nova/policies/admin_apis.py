"""The admin-only APIs: live migration, hypervisors, services, flavors.

Nova's rule names and defaults. Flavor and image creation is reached
through nova-manage only (this API's /flavors and /images are read-only);
``os_compute_api:os-image-manage:create`` is this project's own name,
for registering files on the compute hosts as an image.
"""

from oslo_policy import policy

from nova.policies import base

MIGRATE_LIVE = base.COMPUTE_API + ':os-migrate-server:migrate_live'
HYPERVISORS = base.COMPUTE_API + ':os-hypervisors:%s'
HYPERVISORS_LIST = HYPERVISORS % 'list'
HYPERVISORS_LIST_DETAIL = HYPERVISORS % 'list-detail'
HYPERVISORS_SHOW = HYPERVISORS % 'show'
SERVICES_LIST = base.COMPUTE_API + ':os-services:list'
FLAVOR_CREATE = base.COMPUTE_API + ':os-flavor-manage:create'
EXTRA_SPECS = base.COMPUTE_API + ':os-flavor-extra-specs:%s'
EXTRA_SPECS_INDEX = EXTRA_SPECS % 'index'
EXTRA_SPECS_SHOW = EXTRA_SPECS % 'show'
IMAGE_CREATE = base.COMPUTE_API + ':os-image-manage:create'


rules = [
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
    base.rule(SERVICES_LIST, base.ADMIN, 'List the compute services.',
              'GET', '/os-services'),
    # Not in the REST API here (it is read-only): nova-manage only.
    policy.RuleDefault(
        FLAVOR_CREATE, base.ADMIN,
        'Create a flavor (nova-manage flavor create; this API serves no '
        'POST /flavors).', scope_types=['project']),
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
