"""nova-api: the compute API (v2.1) over HTTP.

``nova-api --config-file /etc/nova/nova.conf`` serves on
``osapi_compute_listen``:``osapi_compute_listen_port`` with waitress, in
the foreground, until SIGTERM or SIGINT. Exit status 1: it could not
start (bad configuration, the port is taken, or the compute API cannot
be loaded).

It runs no conductor: a split deployment runs nova-conductor (with the
database) for the instance actions and the compute hosts' reports.
"""

import resource
import signal
import sys
import threading

from oslo_log import log as logging

from nova.api import http_server
from nova.api.openstack import wsgi_app
from nova.cmd import common
import nova.conf
from nova import utils

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

THREADS = 16
# Seconds an idle (keep-alive) connection is kept open.
CHANNEL_TIMEOUT = 120
# Descriptors kept for the rest of the process (database, RPC, logs, and
# in nova-all the compute service and the proxy) when checking that
# [api] max_connections fits under the open-file limit.
SPARE_DESCRIPTORS = 256
MAX_REQUEST_HEADER_BYTES = 64 * 1024
# A little over what the API reads (nova.api.openstack.compute.wsgi), so
# an oversized body gets the API's JSON 413.
MAX_REQUEST_BODY_BYTES = 2 * 1024 * 1024


class APIServer:
    """A WSGI application served by waitress on one host and port.

    ``run()`` serves in the calling thread until ``stop()`` (from any
    thread), SIGINT or a SystemExit raised in that thread; then it closes
    every connection and waits for the requests being served.

    Connections are held to ``[api] request_header_timeout``,
    ``request_body_timeout``, ``max_connections_per_client`` and
    ``max_connections`` as they are when the server is made (see
    nova.api.http_server).
    """

    def __init__(self, application, host, port, threads=THREADS):
        self._running = False
        self.guard = http_server.ConnectionGuard(
            CONF.api.max_connections, CONF.api.max_connections_per_client,
            CONF.api.request_header_timeout,
            CONF.api.request_body_timeout)
        self._server = http_server.create_server(
            application, self.guard, host=host, port=port,
            threads=threads,
            channel_timeout=CHANNEL_TIMEOUT,
            max_request_header_size=MAX_REQUEST_HEADER_BYTES,
            max_request_body_size=MAX_REQUEST_BODY_BYTES,
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
            ident='nova-api')
        self._map = self._server.map
        # Several sockets when the host name has several addresses.
        self.host, self.port = self._server.effective_listen[0]
        self.port = int(self.port)

    def _close_all(self):
        self._server.close_all()

    def run(self):
        self._running = True
        try:
            # waitress returns from here on SystemExit and SIGINT.
            self._server.run()
        finally:
            self._running = False
            self._close_all()
            self._server.task_dispatcher.shutdown()

    def stop(self):
        if not self._running:
            self._close_all()
            self._server.task_dispatcher.shutdown()
            return
        # A second stop, or run() ending, finds the loop closing already.
        self._server.close_from_any_thread()


def make_server(application, host, port, threads=THREADS):
    """A bound APIServer, not yet running."""
    return APIServer(application, host, port, threads=threads)


def raise_open_file_limit():
    """Raise this process's open-file soft limit (``nova.utils.
    raise_open_files_limit``), so that connections, not the limit, are
    what [api] max_connections counts; warn when the limit still cannot
    hold max_connections. Returns the soft limit now in force."""
    soft = utils.raise_open_files_limit()
    if soft != resource.RLIM_INFINITY and (
            CONF.api.max_connections + SPARE_DESCRIPTORS > soft):
        LOG.warning('[api] max_connections = %d leaves too few of the %d '
                    'descriptors this process may open; raise its hard '
                    'limit (LimitNOFILE= in its systemd unit) or lower '
                    'max_connections', CONF.api.max_connections, soft)
    return soft


def _exit_on_sigterm(signum, frame):
    raise SystemExit('SIGTERM')


def serve(application, host, port, threads=THREADS):
    """Serve ``application`` until SIGTERM or SIGINT; OSError if the
    address cannot be bound."""
    raise_open_file_limit()
    server = make_server(application, host, port, threads=threads)
    # Signal handlers can only be set from the main thread.
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    LOG.info('nova-api listening on http://%s:%s/', server.host,
             server.port)
    try:
        server.run()
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    LOG.info('nova-api stopped')


def main(argv=None, compute_api=None):
    """Run nova-api; 0 once stopped, 1 when it could not start.

    ``compute_api`` (default: a ``nova.compute.api.API`` on this
    process's configuration) is what the REST layer calls; tests pass
    their own rather than replacing modules.
    """
    if not common.parse_args(sys.argv if argv is None else argv,
                             'nova-api'):
        return 1
    if not common.require_broker('nova-api'):
        return 1
    # No conductor and no task pool here: the actions go to
    # nova-conductor as casts (as under any WSGI server, see
    # nova.wsgi.osapi_compute).
    try:
        application, compute_api = wsgi_app.load_app(CONF, compute_api)
    except RuntimeError as e:
        LOG.error('nova-api cannot start: %s', e)
        return 1
    host = CONF.osapi_compute_listen
    port = CONF.osapi_compute_listen_port
    try:
        serve(application, host, port)
    except OSError as e:
        LOG.error('nova-api cannot listen on %s:%s: %s', host, port, e)
        return 1
    finally:
        compute_api.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
