"""nova-compute's moving parts: the RPC server and the heartbeat.

``ComputeService(conf, manager).start()`` re-registers the guests' ports,
starts consuming the host's RPC queue and reports every
``report_interval`` seconds. ``stop()`` stops consuming, waits for the
calls in progress, closes every console follower (their proxies open new
ones on the next service) and tells the API the service is down.
"""

import threading

from oslo_log import log as logging

from nova.compute import rpcapi as compute_rpcapi
from nova.conductor import rpcapi as conductor_rpcapi
from nova import context
from nova.objects import compute_node
from nova import rpc

LOG = logging.getLogger(__name__)


class ComputeService:
    def __init__(self, conf, manager):
        self.conf = conf
        self.manager = manager
        self.host = manager.host
        self._conductor = conductor_rpcapi.ConductorAPI(conf)
        self._server = None
        self._stop = threading.Event()
        self._reporter = None
        self._reported_ok = None

    def start(self):
        # On the driver, not the manager: every public method of the
        # manager can be called over RPC, and these are for this process.
        self.manager.driver.init_host(host=self.host)
        self._server = rpc.get_server(self.conf, compute_rpcapi.TOPIC,
                                      self.host, [self.manager])
        self._server.start()
        self.report()
        # A live migration this host drove before it stopped has no
        # driver now, even if it comes back before it counted as down:
        # the conductor settles it (nova.conductor.live_migrate).
        self._conductor.recover_live_migrations(context.get_admin_context(),
                                                self.host)
        self._reporter = threading.Thread(
            target=self._report_loop, name='nova-compute-report',
            daemon=True)
        self._reporter.start()
        LOG.info('Compute service of host %s started', self.host)
        return self

    def report(self, up=True):
        """Send one heartbeat; log only when sending starts or stops
        working (the broker may be away for a while)."""
        try:
            report = (compute_node.ComputeNode(
                host=self.host, **self.manager.driver.get_host_report())
                if up else None)
        except Exception as e:
            LOG.warning('Cannot read this host\'s state for the report: %s',
                        e)
            report = None
        ok = self._conductor.report_state(context.get_admin_context(),
                                          self.host, report, up=up)
        if ok != self._reported_ok:
            if ok:
                if self._reported_ok is not None:  # not the first report
                    LOG.info('Reporting to the API again')
            else:
                LOG.warning('Cannot report to the API: the message broker '
                            'is not reachable (%s); retrying every %d s',
                            self._conductor.last_error,
                            self.conf.report_interval)
            self._reported_ok = ok
        return ok

    def _report_loop(self):
        while not self._stop.wait(self.conf.report_interval):
            self.report()

    def stop(self):
        if self._server is None and self._reporter is None:
            return  # never started
        self._stop.set()
        if self._reporter is not None:
            self._reporter.join(self.conf.report_interval + 5)
        if self._server is not None:
            self._server.stop()
            self._server.wait()
            self._server = None
        # No call can read them any more: free their descriptors and
        # inotify watches now, not at the process's exit.
        self.manager.console_followers.close_all()
        self.report(up=False)
        LOG.info('Compute service of host %s stopped', self.host)
