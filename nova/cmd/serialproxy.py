"""nova-serialproxy: serve guests' tcp serial consoles over websockets.

``nova-serialproxy --config-file /etc/nova/nova.conf`` listens on
``[serial_console] serialproxy_host``:``serialproxy_port`` and runs in the
foreground (a service manager supervises it) until SIGTERM or SIGINT, which
stop accepting, close open sessions with websocket close code 1001 and exit
with status 0. Status 1: it could not start (the port is taken, or the
token store or compute API cannot be imported).

At start it raises its soft open-files limit to the hard one, and it
holds at most ``[serial_console] max_connections`` connections (fewer
when that limit cannot hold them): see ``nova.console.websocketproxy``.
"""

import importlib
import signal
import sys

from oslo_log import log as logging

import nova.conf
from nova.cmd import common
from nova.console import websocketproxy

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# Checked at start-up so a broken installation fails at once rather than at
# the first user's connection. The compute API object itself is built at
# the first connection (it may open database connections).
BACKENDS = ('nova.console.tokens', 'nova.compute.api')


def main(argv=None):
    if not common.parse_args(sys.argv if argv is None else argv,
                             'nova-serialproxy'):
        return 1
    if not common.require_broker('nova-serialproxy'):
        return 1

    for name in BACKENDS:
        try:
            importlib.import_module(name)
        except ImportError as e:
            LOG.error('nova-serialproxy cannot start: %s', e)
            return 1

    server = websocketproxy.make_server(CONF)
    try:
        server.listen()
    except OSError as e:
        LOG.error('nova-serialproxy cannot listen on %s:%s: %s',
                  CONF.serial_console.serialproxy_host,
                  CONF.serial_console.serialproxy_port, e)
        return 1
    common.connect_rpc(CONF)  # port checks ask the compute hosts

    def stop(signum, frame):
        # Only sets a flag: the serving loop does the work and the logging.
        server.request_stop('signal %s' % signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop)
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start_server()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == '__main__':
    sys.exit(main())
