"""os-quota-sets and os-quota-class-sets: Nova's rules.

Readers see their own project's quotas (the target is the project in
the path); only admins change or delete them, and only admins read or
change quota classes. The defaults are read as a project's quotas are
(Nova lets anyone; here, as every rule, a caller with no role may not).
"""

from nova.policies import base

QUOTA_SETS = base.COMPUTE_API + ':os-quota-sets:%s'
SHOW = QUOTA_SETS % 'show'
DETAIL = QUOTA_SETS % 'detail'
DEFAULTS = QUOTA_SETS % 'defaults'
UPDATE = QUOTA_SETS % 'update'
DELETE = QUOTA_SETS % 'delete'
QUOTA_CLASS_SETS = base.COMPUTE_API + ':os-quota-class-sets:%s'
CLASS_SHOW = QUOTA_CLASS_SETS % 'show'
CLASS_UPDATE = QUOTA_CLASS_SETS % 'update'

rules = [
    base.rule(SHOW, base.PROJECT_READER_OR_ADMIN,
              'Show the quotas of a project (or of one user of it).',
              'GET', '/os-quota-sets/{tenant_id}'),
    base.rule(DETAIL, base.PROJECT_READER_OR_ADMIN,
              'Show the quotas of a project with what is in use.',
              'GET', '/os-quota-sets/{tenant_id}/detail'),
    base.rule(DEFAULTS, base.PROJECT_READER_OR_ADMIN,
              'Show the default quotas (as a project\'s reader).',
              'GET', '/os-quota-sets/{tenant_id}/defaults'),
    base.rule(UPDATE, base.ADMIN,
              'Change the quotas of a project (or of one user of it).',
              'PUT', '/os-quota-sets/{tenant_id}'),
    base.rule(DELETE, base.ADMIN,
              'Set the quotas of a project back to the defaults.',
              'DELETE', '/os-quota-sets/{tenant_id}'),
    base.rule(CLASS_SHOW, base.ADMIN, 'Show the quotas of a quota class.',
              'GET', '/os-quota-class-sets/{id}'),
    base.rule(CLASS_UPDATE, base.ADMIN,
              'Change the quotas of a quota class (``default``: the '
              'defaults of every project).',
              'PUT', '/os-quota-class-sets/{id}'),
]


def list_rules():
    return rules
