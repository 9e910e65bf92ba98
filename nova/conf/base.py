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
