"""``[conductor]``: how nova-conductor looks after the instance tasks it
owns."""

from oslo_config import cfg

from nova.conf import base

conductor_group = cfg.OptGroup(
    'conductor',
    title='Conductor options',
    help="""
Options of nova-conductor (and of the conductor inside nova-all).
""")

conductor_opts = [
    cfg.IntOpt(
        'stuck_task_timeout',
        default=600,
        min=0,
        help="""
Seconds an instance may stay in a task (building, rebooting, rebuilding,
deleting) without news before the conductor asks its compute host about it.

The conductor casts each action to the instance's host and waits for the
host's outcome cast. When either cast is lost while both services stay up
(a broker that dropped a message), the instance would stay in its task until
a service restarts. The conductor checks every instance whose task is older
than this, as its restart recovery does: an action still running on the host
is left to finish; an action the host never got is sent again; an action
the host finished whose outcome never came is settled again from the host's
facts (a build whose guest exists ends in ERROR, as after a restart).

Possible values:

* 0: never check (only restarts recover stuck tasks).
* A positive number of seconds: longer than your slowest build (image
  download included) keeps checks rare; an action the host still runs is
  never disturbed whatever the value. The check runs every
  ``min(stuck_task_timeout, 60)`` seconds.

Related options:

* ``[DEFAULT] service_down_time``: a host that counts as down is not asked;
  its instances are recovered when it registers again.
"""),
]


def register_opts(conf):
    group = base.fresh_group(conductor_group)
    conf.register_group(group)
    conf.register_opts(conductor_opts, group=group)


def list_opts():
    return {conductor_group: conductor_opts}
