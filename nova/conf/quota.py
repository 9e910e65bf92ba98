"""``[quota]``: the default limits of every project (Nova's names and
defaults), and whether a create is counted again after it is made."""

from oslo_config import cfg

from nova.conf import base

quota_group = cfg.OptGroup(
    'quota',
    title='Quota options',
    help="""
The default quota of every project. An admin overrides them for all
projects with ``PUT /os-quota-class-sets/default`` and for one project (or
one user of a project) with ``PUT /os-quota-sets/{project_id}``; what is
stored there wins over these options. -1 means unlimited.
""")

_RELATED = """
Related options:

* ``PUT /os-quota-class-sets/default`` (stored) overrides this default;
  ``PUT /os-quota-sets/{project_id}`` overrides both for one project.
"""


def _limit(name, default, what, enforced_at):
    return cfg.IntOpt(
        name,
        default=default,
        min=-1,
        help="""
%s

Enforced at %s: a request that would go over gets a 403 naming the quota.

Possible values:

* A non-negative number: the limit.
* -1: unlimited.
%s""" % (what, enforced_at, _RELATED))


def _unenforced(name, default, what):
    return cfg.IntOpt(
        name,
        default=default,
        min=-1,
        help="""
%s

Served in the quota bodies and in ``/limits`` as Nova does, but NOT
enforced here: this cloud takes no file injection (personality) and has
no server groups, so nothing can be counted against it.

Possible values:

* A non-negative number: the limit shown.
* -1: unlimited.
%s""" % (what, _RELATED))


quota_opts = [
    _limit('instances', 10, 'Servers a project may have (every state, '
           'ERROR included, until deleted).', 'server create'),
    _limit('cores', 20, 'vCPUs the servers of a project may have, summed '
           'over their flavors.', 'server create and resize (the increase)'),
    _limit('ram', 51200, 'MiB of RAM the servers of a project may have, '
           'summed over their flavors.',
           'server create and resize (the increase)'),
    _limit('metadata_items', 128, 'Metadata items (key/value pairs) one '
           'server may have.', 'server create and every metadata change'),
    _limit('key_pairs', 100, 'Key pairs one user may have (key pairs '
           'belong to users, not projects, as in Nova).', 'key pair create'),
    _unenforced('injected_files', 5, 'Files one server create may inject '
                '(personality).'),
    _unenforced('injected_file_content_bytes', 10240, 'Bytes of one '
                'injected file.'),
    _unenforced('injected_file_path_length', 255, 'Characters of an '
                'injected file\'s path (served as '
                '``injected_file_path_bytes``).'),
    _unenforced('server_groups', 10, 'Server groups a project may have.'),
    _unenforced('server_group_members', 10, 'Servers one server group may '
                'have.'),
    cfg.BoolOpt(
        'recheck_quota',
        default=True,
        help="""
Count again after a server or key pair was made, and undo it (with the
same 403) when the count is then over the limit.

The first check and the insert are separate: two creates racing from
different API workers may both pass the check. With the recheck, a create
that pushed the count over is removed again, so the limit holds; both
racers may then be refused (as Nova's ``recheck_quota``).

Possible values:

* True: recheck (the limit always holds, a race may refuse both creates).
* False: check once (a race may go over the limit by the racers' sum).

Related options:

* ``[quota] instances``, ``cores``, ``ram``, ``key_pairs``.
"""),
]


def register_opts(conf):
    group = base.fresh_group(quota_group)
    conf.register_group(group)
    conf.register_opts(quota_opts, group=group)


def list_opts():
    return {quota_group: quota_opts}
