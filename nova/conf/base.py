import os

from oslo_config import cfg

base_opts = [
    cfg.StrOpt(
        'instances_path',
        default='/var/lib/nova/instances',
        help="""
Directory holding one sub-directory per instance, named by the instance UUID.

The libvirt driver writes each guest's console log to
``<instances_path>/<instance uuid>/console.log`` (and virtlogd rotates it to
``console.log.0``, ``console.log.1`` ...). Put it on a file system with room
for ``max_size * (max_backups + 1)`` bytes (see virtlogd.conf) per guest.
"""),
    cfg.StrOpt(
        'host',
        default=os.uname().nodename,
        sample_default='<current hostname>',
        help="""
Name of this compute host, as the rest of the deployment knows it.
"""),
    cfg.StrOpt(
        'default_availability_zone',
        default='nova',
        help="""
Availability zone of a compute host that no host aggregate puts in a zone.

Users see it in a server's ``OS-EXT-AZ:availability_zone`` and in
``GET /os-availability-zone``, and may ask for it when they create a server.

Possible values:

* Any non-empty name; Nova's default is ``nova``.

Related options:

* ``internal_service_availability_zone``: the zone shown for services other
  than nova-compute.
"""),
    cfg.StrOpt(
        'internal_service_availability_zone',
        default='internal',
        help="""
Availability zone shown for services other than nova-compute (conductor,
scheduler, console proxies). Servers are never placed in it.

Possible values:

* Any name other than ``default_availability_zone``; Nova's default is
  ``internal``.

Related options:

* ``default_availability_zone``
"""),
    # -- shv
    cfg.IntOpt(
        'shelved_offload_time',
        default=0,
        min=-1,
        help="""
Seconds a shelved server keeps its host before it is offloaded.

A shelved server's guest is stopped and its disk saved as an image; while
it keeps its host it still holds that host's disk space and serial ports,
and unshelving it only starts it again. Offloading destroys it there and
frees them: its console log is then kept in the database (at most
virtlogd's ``max_size x (max_backups + 1)``) and an unshelve boots it on
whatever host the scheduler picks, from the saved image, with that log.

Possible values:

* 0 (Nova's default): offload at once, as part of the shelve.
* -1: never offload on its own (an admin may, with ``shelveOffload``).
* A positive number: the conductor offloads shelved servers older than
  this, checking every minute or so.

Related options:

* ``[conductor] stuck_task_timeout``: its check runs the periodic offload
  too (0 turns both off).
"""),
    cfg.BoolOpt(
        'allow_resize_to_same_host',
        default=False,
        help="""
Whether a resize or cold migration may pick the server's own host.

Nova's option. When false (the default) the scheduler leaves the server's
host out, so a one-host cloud cannot resize; set it true there. On the
same host the disk is copied in place and the console log moved, not sent.

Possible values:

* false: always another host; true: any host, the server's own included.

Related options:

* ``[serial_console] port_range``: a resize on one host holds the old and
  the new serial ports until the resize is confirmed or reverted.
"""),
]


def fresh_group(group):
    """A new OptGroup like ``group``, for registering on one ConfigOpts.

    ConfigOpts.register_group keeps a shallow copy, which shares the
    group's table of options, and so overrides, with every other
    ConfigOpts the group object was registered on.
    """
    return cfg.OptGroup(group.name, title=group.title, help=group.help)


def register_opts(conf):
    conf.register_opts(base_opts)


def list_opts():
    return {'DEFAULT': base_opts}
