"""nova-all: the compute API, this host's compute service and the serial
proxy in one process.

    nova-all [--config-file F]

With the default ``[DEFAULT] transport_url = fake://`` it is the whole
cloud on one host, with no broker. With ``rabbit://...`` it is the first
host of several: the API, the proxy and this host's compute service, with
nova-compute on the other hosts.

Serves the API on ``osapi_compute_listen``:``osapi_compute_listen_port``
and websockets on ``[serial_console] serialproxy_host``:
``serialproxy_port``; creates the default flavors (see nova-manage) when
missing. Runs until SIGTERM or SIGINT. Exit status 1: it could not start.
"""

import sys
import threading
import time

from oslo_log import log as logging

import nova.conf
from nova.api.openstack.compute import app
from nova.cmd import api as api_cmd
from nova.cmd import common
from nova.cmd import manage
from nova.compute import api as compute_api
from nova.compute import manager
from nova.compute import service
from nova.console import websocketproxy
from nova import context
from nova.db import api as db
from nova import exception
from nova import rpc
from nova.virt.libvirt import driver as libvirt_driver

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

REGISTER_TIMEOUT = 30  # seconds for this host's first report to arrive


def _wait_registered(host):
    """Servers are scheduled from reports: take none before ours."""
    deadline = time.monotonic() + REGISTER_TIMEOUT
    while db.service_get_by_host(host) is None:
        if time.monotonic() > deadline:
            raise exception.ServiceUnavailable(
                reason='this host\'s compute service did not register '
                       'within %d s; is the message broker (%s) up?' % (
                           REGISTER_TIMEOUT, rpc.transport_url(CONF)))
        time.sleep(0.05)


def main(argv=None):
    if not common.parse_args(sys.argv if argv is None else argv,
                             'nova-all'):
        return 1
    conductor = compute = api = proxy = None
    try:
        db.configure()
        conductor = common.start_conductor(CONF)
        compute = service.ComputeService(
            CONF, manager.ComputeManager(libvirt_driver.LibvirtDriver()))
        compute.start()
        _wait_registered(compute.host)
        api = compute_api.API()
        api.start()
        manage.ensure_default_flavors(api, context.get_admin_context())
        proxy = websocketproxy.make_server(CONF, compute_api=api)
        proxy.listen()
    except (exception.NovaException, OSError) as e:
        LOG.error('nova-all cannot start: %s', e)
        _stop(None, None, api, compute, conductor)
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
        _stop(proxy, proxy_thread, api, compute, conductor)
    return 0


def _stop(proxy, proxy_thread, api, compute, conductor):
    if proxy is not None:
        proxy.request_stop('nova-all stopping')
        if proxy_thread is not None:
            proxy_thread.join(15)
    if api is not None:
        api.shutdown()
    if compute is not None:
        compute.stop()
    common.stop_rpc_server(conductor)


if __name__ == '__main__':
    sys.exit(main())
