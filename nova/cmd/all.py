"""nova-all: the compute API, this host's compute service and the serial
proxy in one process: the embedded single-host set-up.

    nova-all [--config-file F]

Serves the API on ``osapi_compute_listen``:``osapi_compute_listen_port``
and websockets on ``[serial_console] serialproxy_host``:
``serialproxy_port``; creates the default flavors (see nova-manage) when
missing. Runs until SIGTERM or SIGINT. Exit status 1: it could not start.
"""

import sys
import threading

from oslo_log import log as logging

import nova.conf
from nova.api.openstack.compute import app
from nova.cmd import api as api_cmd
from nova.cmd import common
from nova.cmd import manage
from nova.compute import api as compute_api
from nova.compute import manager
from nova.console import websocketproxy
from nova import context
from nova.db import api as db
from nova import exception
from nova.virt.libvirt import driver as libvirt_driver

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def main(argv=None):
    if not common.parse_args(sys.argv if argv is None else argv,
                             'nova-all'):
        return 1
    try:
        db.configure()
        compute = manager.ComputeManager(libvirt_driver.LibvirtDriver())
        compute.init_host()
        api = compute_api.API(compute=compute)
        manage.ensure_default_flavors(api, context.get_admin_context())
        proxy = websocketproxy.make_server(CONF, compute_api=api)
        proxy.listen()
    except (exception.NovaException, OSError) as e:
        LOG.error('nova-all cannot start: %s', e)
        return 1
    proxy_thread = threading.Thread(target=proxy.start_server,
                                    name='nova-serialproxy', daemon=True)
    proxy_thread.start()
    try:
        api_cmd.serve(app.build_app(api), CONF.osapi_compute_listen,
                      CONF.osapi_compute_listen_port)
    except OSError as e:
        LOG.error('nova-all cannot serve the API on %s:%s: %s',
                  CONF.osapi_compute_listen, CONF.osapi_compute_listen_port,
                  e)
        return 1
    finally:
        proxy.request_stop('nova-all stopping')
        proxy_thread.join(15)
        api.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
