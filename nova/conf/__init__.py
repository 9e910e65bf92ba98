"""Configuration options, registered on the global ``CONF`` object.

Each group lives in its own module with a ``register_opts`` and a
``list_opts`` function; ``nova.conf.opts`` feeds oslo-config-generator.
"""

from oslo_config import cfg

from nova.conf import api
from nova.conf import base
from nova.conf import conductor
from nova.conf import database
from nova.conf import glance
from nova.conf import libvirt
from nova.conf import quota
from nova.conf import serial_console
from nova.conf import service
from nova.conf import upgrade_levels

_MODULES = (base, libvirt, serial_console, api, database, service,
            upgrade_levels, conductor, glance, quota)


def register_all(conf):
    for module in _MODULES:
        module.register_opts(conf)
    return conf


def new_conf():
    """A separate ConfigOpts with every option, for one compute host.

    A nova-compute process uses the global ``CONF``. Tests and tools that
    drive several hosts from one process give each host's driver its own.
    """
    return register_all(cfg.ConfigOpts())


CONF = register_all(cfg.CONF)
