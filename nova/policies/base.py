"""The rules every API rule is written with, as Nova's base rules.

An API rule names one of these (``rule:project_member_or_admin``) rather
than repeating role checks, so an operator who redefines, say,
``project_reader_api`` in the policy file changes every read API at once.
"""

from oslo_policy import policy

COMPUTE_API = 'os_compute_api'

ADMIN = 'rule:context_is_admin'
PROJECT_MEMBER = 'rule:project_member_api'
PROJECT_READER = 'rule:project_reader_api'
PROJECT_MEMBER_OR_ADMIN = 'rule:project_member_or_admin'
PROJECT_READER_OR_ADMIN = 'rule:project_reader_or_admin'

rules = [
    policy.RuleDefault(
        'context_is_admin', 'role:admin',
        "Who is an administrator: the is_admin of a request's context, "
        "and the rule of every admin-only API."),
    policy.RuleDefault(
        'project_member_api', 'role:member and project_id:%(project_id)s',
        'A member of the project that owns the resource.'),
    policy.RuleDefault(
        'project_reader_api', 'role:reader and project_id:%(project_id)s',
        'A reader of the project that owns the resource.'),
    policy.RuleDefault(
        'project_member_or_admin',
        'rule:project_member_api or rule:context_is_admin',
        'The default of the APIs that change a project\'s resources.'),
    policy.RuleDefault(
        'project_reader_or_admin',
        'rule:project_reader_api or rule:context_is_admin',
        'The default of the APIs that read a project\'s resources.'),
]


def rule(name, check_str, description, method, path):
    """A documented project-scoped rule for one API operation."""
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{'method': method, 'path': path}],
        scope_types=['project'])


def list_rules():
    return rules
