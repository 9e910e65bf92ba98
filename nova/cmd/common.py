"""What every nova-* service command does first."""

import sys

from oslo_config import cfg
from oslo_log import log as logging

import nova.conf

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def parse_args(argv, prog):
    """Load nova.conf options from ``argv`` and set up logging.

    Returns False, having said why on stderr, when the configuration is
    unusable; the command then exits with status 1.
    """
    logging.register_options(CONF)
    try:
        CONF(argv[1:], project='nova', prog=prog)
    except cfg.Error as e:
        print('%s: %s' % (prog, e), file=sys.stderr)
        return False
    logging.setup(CONF, 'nova')
    return True


def require_broker(prog):
    """A separate service needs a real broker: ``fake://`` reaches only
    services in the same process (nova-all). False, said on stderr, when
    there is none configured."""
    from nova import rpc  # imports oslo.messaging: only for services
    if rpc.in_process(CONF):
        print('%s: [DEFAULT] transport_url is %s, which only reaches '
              'services in the same process; set it to the message broker '
              'of the deployment (rabbit://USER:PASSWORD@HOST:5672/), or '
              'run nova-all on a single host' % (prog, CONF.transport_url),
              file=sys.stderr)
        return False
    return True


def start_conductor(conf):
    """Serve the conductor topic (compute services' reports) here."""
    from nova.conductor import manager
    from nova.conductor import rpcapi
    from nova import rpc
    server = rpc.get_server(conf, rpcapi.TOPIC, conf.host,
                            [manager.ConductorManager()])
    server.start()
    connect_rpc(conf)
    return server


def connect_rpc(conf):
    """Set this process's reply queue up now, with a round trip.

    oslo.messaging makes it at a process's first call, and waits for the
    broker for ever there: better at start-up, said in the log, than in
    a user's request. False when no conductor answered (nova-api down).
    """
    from nova.conductor import rpcapi
    from nova import context
    from nova import rpc
    if rpc.in_process(conf):
        return True
    LOG.info('Connecting to the message broker')
    answered = rpcapi.ConductorAPI(conf).ping(
        context.get_admin_context(), conf.rpc_response_timeout)
    if not answered:
        LOG.warning('No conductor answered within %d s (is nova-api '
                    'running?); going on', conf.rpc_response_timeout)
    return answered


def stop_rpc_server(server):
    if server is not None:
        server.stop()
        server.wait()
