"""os-keypairs: Nova's ``os_compute_api:os-keypairs:*`` rules.

The target is the key pair's user: a user manages their own pairs; an
admin may name another user (``user_id``, microversion 2.10). As every
rule of this API, a caller with no role in its project may not: readers
list and show their pairs, members also create and delete them.
"""

from oslo_policy import policy

from nova.policies import base

KEYPAIRS = base.COMPUTE_API + ':os-keypairs:%s'
INDEX = KEYPAIRS % 'index'
CREATE = KEYPAIRS % 'create'
SHOW = KEYPAIRS % 'show'
DELETE = KEYPAIRS % 'delete'

ADMIN_OR_READER_OWNER = (
    '(%s) or (role:reader and user_id:%%(user_id)s)' % base.ADMIN)
ADMIN_OR_MEMBER_OWNER = (
    '(%s) or (role:member and user_id:%%(user_id)s)' % base.ADMIN)


def _rule(name, description, method, path):
    check_str = (ADMIN_OR_READER_OWNER if method == 'GET'
                 else ADMIN_OR_MEMBER_OWNER)
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{'method': method, 'path': path}],
        scope_types=['project'])


rules = [
    _rule(INDEX, 'List the key pairs of a user (own, or any for admins '
          'with ?user_id=).', 'GET', '/os-keypairs'),
    _rule(CREATE, 'Create or import a key pair.', 'POST', '/os-keypairs'),
    _rule(SHOW, 'Show a key pair.', 'GET', '/os-keypairs/{keypair_name}'),
    _rule(DELETE, 'Delete a key pair.', 'DELETE',
          '/os-keypairs/{keypair_name}'),
]


def list_rules():
    return rules
