"""Console connection info: where nova-serialproxy connects for a guest.

``nova.console.type.ConsoleSerial`` is this class: drivers build it,
``get_serial_console`` sends it over RPC, and the console token records
its host and port.
"""

from nova.objects import base
from nova.objects import fields


@base.NovaObjectRegistry.register
class ConsoleSerial(base.NovaObject):
    """A guest's tcp serial port: ``host`` (address), ``port`` (tcp port)
    and ``type`` ('serial', or 'serial-readonly' for a viewer)."""

    # Version 1.0: host, port, type
    VERSION = '1.0'
    POSITIONAL = ('host', 'port', 'type')

    fields = {
        'host': fields.StringField(),
        'port': fields.IntegerField(),
        'type': fields.StringField(default='serial'),
    }
