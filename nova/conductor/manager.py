"""The conductor topic's endpoint: records compute services' reports and
the outcomes of live migrations (nova.conductor.live_migrate)."""

from oslo_log import log as logging
import oslo_messaging

from nova.conductor import live_migrate
from nova.db import api as db
from nova import exception
from nova.objects import compute_node

LOG = logging.getLogger(__name__)


class ConductorManager:
    # The newest conductor RPC API version served (history:
    # nova.conductor.rpcapi).
    target = oslo_messaging.Target(version='2.0')

    def __init__(self, conf=None):
        import nova.conf
        self.conf = conf or nova.conf.CONF
        self._compute_rpcapi = None

    @property
    def compute_rpcapi(self):
        if self._compute_rpcapi is None:
            from nova.compute import rpcapi
            self._compute_rpcapi = rpcapi.ComputeAPI(self.conf)
        return self._compute_rpcapi

    def report_state(self, ctxt, host, binary, topic, report, up):
        """Record a heartbeat; ``report`` is a ComputeNode (None with
        ``up`` False): its fields that are set are recorded (but its
        host, which is the service row's own)."""
        if report is not None:
            if not isinstance(report, compute_node.ComputeNode):
                raise exception.Invalid(
                    reason='the report of host %s is a %s, not a '
                           'ComputeNode' % (host, type(report).__name__))
            report = {k: v for k, v in report.items() if k != 'host'}
        service = db.service_report(host, binary, topic, report, up=up)
        if service['report_count'] == 1:
            LOG.info('Compute service %s on host %s registered', binary,
                     host)
        elif not up:
            LOG.info('Compute service on host %s stopped', host)

    def ping(self, ctxt):
        """Answer, so a process can check its way to the broker and back."""
        return True

    # -- live migration (nova.conductor.live_migrate) -------------------------

    def report_live_migration(self, ctxt, instance, source, dest, outcome,
                              fault=None):
        """A cast from a migration's source: record how it ended."""
        live_migrate.record_outcome(ctxt, self.compute_rpcapi, self.conf,
                                    instance.uuid, source, dest, outcome,
                                    fault)

    def recover_live_migrations(self, ctxt, host):
        """A cast from a compute service that started: settle the live
        migrations no service drives any more."""
        LOG.info('Compute service of %s started: looking at interrupted '
                 'live migrations', host)
        live_migrate.recover_live_migrations(ctxt, self.compute_rpcapi,
                                             self.conf, started_host=host)
