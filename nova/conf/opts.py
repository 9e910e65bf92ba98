"""Entry point for oslo-config-generator (namespace ``nova.conf``)."""

from nova.conf import base
from nova.conf import libvirt
from nova.conf import serial_console

_MODULES = (base, libvirt, serial_console)


def list_opts():
    grouped = {}
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            grouped.setdefault(group, []).extend(opts)
    return list(grouped.items())
