"""nova-conductor: the conductor service of a split deployment.

    nova-conductor [--config-file F]

Owns the database side of the compute services: records their heartbeats,
and runs the instance actions the compute API hands over (build, reboot,
rebuild, delete, live migration) by casting them to the compute hosts and
recording what the hosts report back. At start it recovers the instances
a stopped conductor left in a task, asking their hosts first. Needs
``[DEFAULT] transport_url`` (the message broker) and ``[database]
connection``; nova-all runs one in its own process instead. Runs until
SIGTERM or SIGINT. Exit status 1: it could not start.
"""

import sys

from oslo_log import log as logging

import nova.conf
from nova.cmd import common
from nova.db import api as db
from nova import exception

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def main(argv=None):
    prog = 'nova-conductor'
    if not common.parse_args(sys.argv if argv is None else argv, prog):
        return 1
    if not common.require_broker(prog):
        return 1
    conductor = None
    with common.stop_on_signal() as stopping:
        try:
            try:
                db.configure()
                conductor = common.start_conductor(CONF)
            except (exception.NovaException, OSError) as e:
                LOG.error('%s cannot start: %s', prog, e)
                return 1
            LOG.info('%s serving the conductor topic as %s', prog,
                     CONF.host)
            while not stopping.wait(1):
                pass
        finally:
            common.stop_rpc_server(conductor)
    return 0


if __name__ == '__main__':
    sys.exit(main())
