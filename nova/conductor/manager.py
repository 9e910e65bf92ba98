"""The conductor topic's endpoint: records compute services' reports and
the outcomes of live migrations (nova.conductor.live_migrate)."""

from oslo_log import log as logging
import oslo_messaging

from nova.conductor import live_migrate
from nova.db import api as db

LOG = logging.getLogger(__name__)


class ConductorManager:
    target = oslo_messaging.Target(version='1.0')

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
                                    instance['uuid'], source, dest, outcome,
                                    fault)

    def recover_live_migrations(self, ctxt, host):
        """A cast from a compute service that started: settle the live
        migrations no service drives any more."""
        LOG.info('Compute service of %s started: looking at interrupted '
                 'live migrations', host)
        live_migrate.recover_live_migrations(ctxt, self.compute_rpcapi,
                                             self.conf, started_host=host)
