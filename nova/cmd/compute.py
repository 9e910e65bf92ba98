"""nova-compute: one compute host's service, on the message broker.

    nova-compute [--config-file F]

Drives this host's libvirt (``[libvirt] connection_uri``) and answers the
API's calls for the instances on ``[DEFAULT] host``; reports every
``report_interval`` seconds. Needs ``[DEFAULT] transport_url``; it never
opens the database. Runs until SIGTERM or SIGINT, then reports itself
down. Exit status 1: it could not start.
"""

import sys

from oslo_log import log as logging

import nova.conf
from nova.cmd import common
from nova.compute import manager
from nova.compute import service
from nova import exception
import nova.privsep
from nova.virt.libvirt import driver as libvirt_driver

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def main(argv=None):
    prog = 'nova-compute'
    if not common.parse_args(sys.argv if argv is None else argv, prog):
        return 1
    if not common.require_broker(prog):
        return 1
    nova.privsep.log_start(LOG)
    with common.stop_on_signal() as stopping:
        compute = service.ComputeService(
            CONF, manager.ComputeManager(libvirt_driver.LibvirtDriver()))
        try:
            compute.start()
        except (exception.NovaException, OSError) as e:
            LOG.error('nova-compute cannot start: %s', e)
            return 1
        while not stopping.wait(1):
            pass
        compute.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
