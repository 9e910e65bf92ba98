"""Configuration options, registered on the global ``CONF`` object.

Each group lives in its own module with a ``register_opts`` and a
``list_opts`` function; ``nova.conf.opts`` feeds oslo-config-generator.
"""

from oslo_config import cfg

from nova.conf import base
from nova.conf import libvirt
from nova.conf import serial_console

CONF = cfg.CONF

base.register_opts(CONF)
libvirt.register_opts(CONF)
serial_console.register_opts(CONF)
