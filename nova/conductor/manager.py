"""The conductor topic's endpoint: records compute services' reports."""

from oslo_log import log as logging
import oslo_messaging

from nova.db import api as db
from nova import exception
from nova.objects import compute_node

LOG = logging.getLogger(__name__)


class ConductorManager:
    # The newest conductor RPC API version served (history:
    # nova.conductor.rpcapi).
    target = oslo_messaging.Target(version='2.0')

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
