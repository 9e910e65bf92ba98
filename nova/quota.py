"""Quotas, as Nova's counting quotas: limits stored by admins over the
``[quota]`` defaults, checked against what is counted in the database
when a request would use more.

Limits, most specific first: a user's within a project
(``PUT /os-quota-sets/{project}?user_id=``), the project's, the
``default`` quota class (``PUT /os-quota-class-sets/default``), then
``[quota]``. -1 is unlimited.

Enforced: ``instances``, ``cores`` and ``ram`` at server create (and
``cores``/``ram`` increases at resize), for the project and for the
user; ``metadata_items`` per server; ``key_pairs`` per user. Served but
not enforced (nothing here can use them): the injected file quotas,
server groups, and, before microversion 2.36, Nova's network quotas
(``fixed_ips``, ``floating_ips``, ``security_groups``,
``security_group_rules``: no networks are managed here; default -1).

Nothing is reserved: a check counts the rows, then the caller inserts.
Two racing creates may both pass the check; with ``[quota]
recheck_quota`` the caller counts again after its insert
(:func:`recheck`) and undoes it when the count went over.
"""

from nova.db import api as db
from nova import exception

# Nova's quota resources up to microversion 2.35, in Nova's order.
NETWORK_RESOURCES = ('floating_ips', 'fixed_ips', 'security_groups',
                     'security_group_rules')
RESOURCES = ('instances', 'cores', 'ram', 'floating_ips', 'fixed_ips',
             'metadata_items', 'injected_files',
             'injected_file_content_bytes', 'injected_file_path_bytes',
             'key_pairs', 'security_groups', 'security_group_rules',
             'server_groups', 'server_group_members')
# The resources counted from the servers (per project and per user).
COUNTED = ('instances', 'cores', 'ram')
UNLIMITED = -1
# Nova's upper bound of a limit (a signed 32-bit integer column).
MAX_LIMIT = 2 ** 31 - 1
DEFAULT_CLASS = 'default'
# Where a resource's [quota] option has another name (Nova's).
_OPTION = {'injected_file_path_bytes': 'injected_file_path_length'}


def conf_defaults(conf):
    """``{resource: limit}`` of ``[quota]`` (network quotas -1)."""
    return {resource: (UNLIMITED if resource in NETWORK_RESOURCES else
                       getattr(conf.quota, _OPTION.get(resource, resource)))
            for resource in RESOURCES}


def class_limits(conf, class_name=DEFAULT_CLASS):
    """A quota class's limits: ``[quota]``, then what is stored for
    ``default``, then for ``class_name`` (a class nobody set has the
    defaults, as in Nova)."""
    limits = conf_defaults(conf)
    limits.update(_known(db.quota_class_get(DEFAULT_CLASS)))
    if class_name != DEFAULT_CLASS:
        limits.update(_known(db.quota_class_get(class_name)))
    return limits


def project_limits(conf, project_id, user_id=None):
    """The limits in force for the project, or for one of its users."""
    limits = class_limits(conf)
    limits.update(_known(db.quota_get(project_id)))
    if user_id is not None:
        limits.update(_known(db.quota_get(project_id, user_id)))
    return limits


def _known(stored):
    # A resource a later release dropped stays stored but unserved.
    return {k: v for k, v in stored.items() if k in RESOURCES}


def usage(project_id, user_id=None, key_pair_user=None):
    """``{resource: in_use}``: servers, vCPUs and RAM (MiB) of the
    project (or of one user in it); the key pairs of ``key_pair_user``
    (key pairs belong to users); 0 for what is not counted here."""
    used = dict.fromkeys(RESOURCES, 0)
    used.update(db.quota_usage(project_id, user_id))
    if key_pair_user is not None:
        used['key_pairs'] = db.key_pair_count(key_pair_user)
    return used


def _over(limits, used, deltas):
    for resource in COUNTED:
        if resource not in deltas:
            continue
        limit = limits[resource]
        if limit != UNLIMITED and used[resource] + deltas[resource] > limit:
            return exception.TooManyInstances(
                overs=resource, req=deltas[resource], used=used[resource],
                allowed=limit)
    return None


def check_deltas(conf, project_id, user_id, deltas):
    """Refuse a request that would use ``deltas`` more
    (``{'instances': n, 'cores': vcpus, 'ram': MiB}``, any subset) of
    the project's or the user's quota.

    :raises: TooManyInstances (403) naming the first resource over, as
        Nova's "Quota exceeded for cores: Requested 2, but already used
        3 of 4 cores".
    """
    for user in (None, user_id):
        over = _over(project_limits(conf, project_id, user),
                     db.quota_usage(project_id, user), deltas)
        if over is not None:
            raise over


def recheck(conf, project_id, user_id, resources=COUNTED):
    """After an insert: TooManyInstances when the count of
    ``resources`` is now over a limit (a racing create got in between
    the check and the insert); the caller undoes its insert. A no-op
    when ``[quota] recheck_quota`` is false."""
    if conf.quota.recheck_quota:
        check_deltas(conf, project_id, user_id,
                     dict.fromkeys(resources, 0))


def metadata_limit(conf, project_id):
    """Metadata items a server of the project may have; None: any."""
    limit = project_limits(conf, project_id)['metadata_items']
    return None if limit == UNLIMITED else limit


def key_pair_limit(conf, project_id, user_id):
    """Key pairs the user may have; None: any."""
    limit = project_limits(conf, project_id, user_id)['key_pairs']
    return None if limit == UNLIMITED else limit


def _as_int(resource, value):
    # The REST schema lets Nova's "5120" through as well as 5120; its
    # bounds hold for numbers only.
    number = int(value)
    if not UNLIMITED <= number <= MAX_LIMIT:
        raise exception.InvalidQuota(
            reason='Quota limit %s for %s must be in the range of -1 and '
                   '%d.' % (value, resource, MAX_LIMIT))
    return number


def update(conf, project_id, values, user_id=None, force=False):
    """Store new limits ``{resource: int or int string}`` for the project
    (or one user of it) and return the limits then in force.

    Without ``force`` (Nova's check): a limit below what is in use, or a
    user's limit above its project's, is refused (InvalidQuota, 400,
    naming the resource and the bound) and nothing is stored.
    """
    limits = {resource: _as_int(resource, value) for resource, value in
              values.items()}
    if not force:
        used = usage(project_id, user_id, key_pair_user=user_id)
        project = project_limits(conf, project_id)
        for resource, limit in sorted(limits.items()):
            if limit == UNLIMITED:
                continue
            if limit < used[resource]:
                raise exception.InvalidQuota(
                    reason='Quota limit %d for %s must be greater than or '
                           'equal to already used and reserved %d.' % (
                               limit, resource, used[resource]))
            maximum = project[resource]
            if (user_id is not None and maximum != UNLIMITED and
                    limit > maximum):
                raise exception.InvalidQuota(
                    reason='Quota limit %d for %s must be less than or '
                           'equal to the project\'s %d.' % (
                               limit, resource, maximum))
    db.quota_set(project_id, limits, user_id=user_id or '')
    return project_limits(conf, project_id, user_id)


def delete(project_id, user_id=None):
    """Back to the defaults: forget what is stored for the project (and
    all its users), or for one user of it."""
    db.quota_delete(project_id, user_id)


def update_class(conf, class_name, values):
    """Store limits for a quota class; the class's limits then."""
    db.quota_class_set(class_name, {
        resource: _as_int(resource, value)
        for resource, value in values.items()})
    return class_limits(conf, class_name)
