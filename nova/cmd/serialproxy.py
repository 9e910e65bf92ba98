"""nova-serialproxy: serve guests' tcp serial consoles over websockets.

``nova-serialproxy --config-file /etc/nova/nova.conf`` listens on
``[serial_console] serialproxy_host``:``serialproxy_port`` and runs in the
foreground (a service manager supervises it) until SIGTERM or SIGINT, which
stop accepting, close open sessions with websocket close code 1001 and exit
with status 0. Status 1: it could not start (the port is taken, or
``[DEFAULT] transport_url`` names no message broker).

What it talks to is built here and given to the proxy: the token store
(``nova.console.tokens``, on the database) and the compute RPC client
(``nova.compute.rpcapi.ComputeAPI``), which the proxy's console API
(``nova.console.api``) uses with the instance read from the database.
Not the compute API: no task pool, no catalog.

At start it raises its soft open-files limit to the hard one, and it
holds at most ``[serial_console] max_connections`` connections (fewer
when that limit cannot hold them): see ``nova.console.websocketproxy``.
"""

import signal
import sys

from oslo_log import log as logging

import nova.conf
from nova.cmd import common
from nova.compute import rpcapi
from nova.console import tokens
from nova.console import websocketproxy

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def main(argv=None, compute_rpcapi=None, token_store=None):
    """Run nova-serialproxy; its exit status.

    ``compute_rpcapi`` (default: ``nova.compute.rpcapi.ComputeAPI`` on
    ``CONF``'s transport) and ``token_store`` (default:
    ``nova.console.tokens``) are what the proxy is given; a test gives
    its own.
    """
    if not common.parse_args(sys.argv if argv is None else argv,
                             'nova-serialproxy'):
        return 1
    if not common.require_broker('nova-serialproxy'):
        return 1
    if compute_rpcapi is None:
        compute_rpcapi = rpcapi.ComputeAPI(CONF)
    server = websocketproxy.make_server(
        CONF, compute_rpcapi, tokens if token_store is None else token_store)
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
