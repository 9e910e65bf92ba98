from oslo_config import cfg
from oslo_config import types

from nova.conf import base

DEFAULT_PORT_RANGE = '10000:20000'


class PortRange(types.String):
    """``MIN:MAX`` with 1 <= MIN <= MAX <= 65535, parsed to ``(MIN, MAX)``."""

    def __init__(self):
        super().__init__(type_name='port range')

    def __call__(self, value):
        if isinstance(value, tuple):
            return value
        value = super().__call__(value)
        start, sep, end = value.partition(':')
        try:
            start, end = int(start), int(end)
        except ValueError:
            start = end = None
        if not sep or start is None or not 1 <= start <= end <= 65535:
            raise ValueError(
                "invalid port range %r: expected MIN:MAX with "
                "1 <= MIN <= MAX <= 65535, e.g. %r"
                % (value, DEFAULT_PORT_RANGE))
        return start, end

    def _formatter(self, value):
        if isinstance(value, tuple):
            return '%d:%d' % value
        return value


serial_opt_group = cfg.OptGroup(
    'serial_console',
    title='The serial console feature',
    help="""
The serial console gives interactive access to a guest's serial port over a
websocket (nova-serialproxy). With libvirt >= 1.3.3 and QEMU >= 2.6.0 the
same port is also logged by virtlogd, so os-getConsoleOutput keeps working.
""")

serial_opts = [
    cfg.BoolOpt(
        'enabled',
        default=False,
        help="""
Give guests tcp serial ports for interactive access.

When the host's libvirt and QEMU are new enough (libvirt >= 1.3.3,
QEMU >= 2.6.0) and virtlogd runs, the first serial port is also logged to the
instance's console.log, so console output and the serial console work at
once. On older hosts enabling this turns off the console log of new guests.
"""),
    cfg.Opt(
        'port_range',
        type=PortRange(),
        default=DEFAULT_PORT_RANGE,
        help="""
Range of tcp ports, ``MIN:MAX`` inclusive, from which each guest serial port
gets its own port on ``proxyclient_address``.

Size it for (guests per host) x (serial ports per guest). Ports another
process already uses are skipped. When the range is exhausted new guests
with serial ports fail to boot with a clear error.
"""),
    cfg.URIOpt(
        'base_url',
        default='ws://127.0.0.1:6083/',
        help="""
Public URL of nova-serialproxy handed to clients, to which ``?token=...`` is
appended. Set it to the proxy's address as users reach it, e.g.
``wss://console.example.org:6083/`` behind TLS.
"""),
    cfg.StrOpt(
        'proxyclient_address',
        default='127.0.0.1',
        help="""
Address on this compute host that the guests' tcp serial ports listen on,
and that nova-serialproxy connects to. Use an address the proxy can reach
but guests' users cannot.
"""),
    cfg.HostAddressOpt(
        'serialproxy_host',
        default='0.0.0.0',
        help='Address on which nova-serialproxy listens for websockets.'),
    cfg.PortOpt(
        'serialproxy_port',
        default=6083,
        help='Port on which nova-serialproxy listens for websockets.'),
]


def register_opts(conf):
    group = base.fresh_group(serial_opt_group)
    conf.register_group(group)
    conf.register_opts(serial_opts, group=group)


def list_opts():
    return {serial_opt_group: serial_opts}
