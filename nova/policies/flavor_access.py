"""os-flavor-access: Nova's ``os_compute_api:os-flavor-access*`` rules.

Admin-only, as Nova's defaults: who may use a private flavor is the
cloud's decision. (Listing and showing the flavors a project was given
is the flavors API's, open to the project.)
"""

from nova.policies import base

FLAVOR_ACCESS = base.COMPUTE_API + ':os-flavor-access'
ADD = FLAVOR_ACCESS + ':add_tenant_access'
REMOVE = FLAVOR_ACCESS + ':remove_tenant_access'

rules = [
    base.rule(FLAVOR_ACCESS, base.ADMIN,
              'List the projects given access to a private flavor.',
              'GET', '/flavors/{flavor_id}/os-flavor-access'),
    base.rule(ADD, base.ADMIN,
              'Give a project access to a private flavor.',
              'POST', '/flavors/{flavor_id}/action (addTenantAccess)'),
    base.rule(REMOVE, base.ADMIN,
              'Take access to a private flavor from a project.',
              'POST', '/flavors/{flavor_id}/action (removeTenantAccess)'),
]


def list_rules():
    return rules
