"""nova-all: the compute API, the conductor, this host's compute service
and the serial proxy in one process.

    nova-all [--config-file F]

With the default ``[DEFAULT] transport_url = fake://`` it is the whole
cloud on one host, with no broker. With ``rabbit://...`` it is the first
host of several: the API, the conductor, the proxy and this host's compute
service, with nova-compute on the other hosts.

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
from nova.api.openstack.compute import auth
from nova.cmd import api as api_cmd
from nova.cmd import common
from nova.cmd import manage
from nova.compute import api as compute_api
from nova.compute import manager
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import service
from nova.console import tokens
from nova.console import websocketproxy
from nova import context
from nova.db import api as db
from nova import exception
from nova import rpc
from nova.virt.libvirt import driver as libvirt_driver

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

REGISTER_TIMEOUT = 30  # seconds for this host's first report to arrive
STOP_REPORT_TIMEOUT = 5  # seconds for its last one, when stopping


def _broker(conf):
    """The transport URL for a message: without its credentials."""
    url = rpc.transport_url(conf)
    hosts = ','.join(h.hostname if h.port is None else
                     '%s:%d' % (h.hostname, h.port) for h in url.hosts)
    return '%s://%s/' % (url.transport, hosts)


def _report_count(host):
    service = db.service_get_by_host(host)
    return service['report_count'] if service else 0


def _registered(host, after):
    service = db.service_get_by_host(host)
    return (service is not None and service['report_count'] > after and
            not service['stopped'])


def _wait_registered(host, after=0):
    """Servers are scheduled from reports: take none before ours.

    ``after`` is the host's report count before this start: the row an
    earlier run left (stopped, or with an old report) does not count.
    """
    deadline = time.monotonic() + REGISTER_TIMEOUT
    while not _registered(host, after):
        if time.monotonic() > deadline:
            raise exception.ServiceUnavailable(
                reason='this host\'s compute service did not register '
                       'within %d s; is the message broker (%s) up?' % (
                           REGISTER_TIMEOUT, _broker(CONF)))
        time.sleep(0.05)


def main(argv=None):
    if not common.parse_args(sys.argv if argv is None else argv,
                             'nova-all'):
        return 1
    conductor = compute = api = proxy = None
    try:
        auth.check_listen(CONF, CONF.osapi_compute_listen)
        db.configure()
        # Recovery waits for this host's compute service: it asks the
        # host about each instance left in a task.
        conductor = common.start_conductor(CONF, recover=False)
        compute = service.ComputeService(
            CONF, manager.ComputeManager(libvirt_driver.LibvirtDriver()))
        before = _report_count(compute.host)
        compute.start()
        _wait_registered(compute.host, before)
        conductor.task_manager.init_host()
        api = compute_api.API()
        manage.ensure_default_flavors(api, context.get_admin_context())
        proxy = websocketproxy.make_server(
            CONF, compute_rpcapi.ComputeAPI(CONF), tokens)
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
        if conductor is not None:
            _wait_stop_recorded(compute.host)
    common.stop_rpc_server(conductor)


def _wait_stop_recorded(host):
    """Let this process's conductor record the stop report (a cast) before
    it stops: the host then shows down at once, not after
    service_down_time, and no cast is left without its endpoint."""
    deadline = time.monotonic() + STOP_REPORT_TIMEOUT
    while time.monotonic() < deadline:
        service = db.service_get_by_host(host)
        if service is None or service['stopped']:
            return True
        time.sleep(0.05)
    LOG.warning('The stop of the compute service of %s was not recorded '
                'within %d s', host, STOP_REPORT_TIMEOUT)
    return False


if __name__ == '__main__':
    sys.exit(main())
