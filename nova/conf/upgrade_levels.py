"""``[upgrade_levels]``: the RPC versions a service may send while older
services still run (a rolling upgrade, as in Nova)."""

from oslo_config import cfg

from nova.conf import base

# A major.minor RPC API version, e.g. 2.0.
_VERSION = r'^\d+\.\d+$'

upgrade_group = cfg.OptGroup(
    'upgrade_levels',
    title='RPC version caps for rolling upgrades',
    help="""
Each RPC API (compute, conductor) has a version; a service serves its own
version and every older minor version of the same major. During a rolling
upgrade, cap what the upgraded services send to the version of the oldest
service still running, then lift the cap (unset it) once every service of
that API runs the new release.
""")

upgrade_levels_opts = [
    cfg.StrOpt(
        'compute',
        regex=_VERSION,
        help="""
Newest compute RPC API version to send to compute hosts.

Set it on every service that calls compute hosts (nova-api, nova-conductor,
nova-serialproxy, nova-all) while any nova-compute still runs an older
release; a message of a newer version than a host serves is refused by that
host, and the request fails with an error saying so. Methods that gained
arguments in a newer version fall back to their older form under the cap
(e.g. console output crosses whole and is cut on the API side).

Possible values:

* unset (default): send the newest version this release knows (2.1)
* a version ``major.minor`` such as ``2.0``: the version of the oldest
  nova-compute in the deployment (see ``nova.compute.rpcapi`` for the
  history)

Related options:

* ``[upgrade_levels] conductor``
"""),
    cfg.StrOpt(
        'conductor',
        regex=_VERSION,
        help="""
Newest conductor RPC API version to send to nova-conductor.

Set it on the compute hosts (and other callers of the conductor) while any
nova-conductor still runs an older release: upgrade nova-conductor first,
then lift the cap.

Possible values:

* unset (default): send the newest version this release knows (2.0)
* a version ``major.minor`` such as ``2.0``

Related options:

* ``[upgrade_levels] compute``
"""),
]


def register_opts(conf):
    group = base.fresh_group(upgrade_group)
    conf.register_group(group)
    conf.register_opts(upgrade_levels_opts, group=group)


def list_opts():
    return {upgrade_group: upgrade_levels_opts}
