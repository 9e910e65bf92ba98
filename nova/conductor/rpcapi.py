"""Client side of the conductor topic: a compute service's heartbeat.

Conductor RPC API version history (``ConductorManager.target`` is the
newest a conductor serves; ``[upgrade_levels] conductor`` caps what is
sent):

* 1.0 - report_state with the report as a dict. (Releases before
  versioned objects.)
* 2.0 - report_state with the report as a ComputeNode object; the
  conductor of this issue's control plane (its task API is versioned
  with it).
"""

from oslo_log import log as logging
import oslo_messaging

from nova import rpc

LOG = logging.getLogger(__name__)

TOPIC = 'conductor'
BINARY = 'nova-compute'


class ConductorAPI:
    """Conductor RPC API 2.0 (history above), capped by
    ``[upgrade_levels] conductor``."""

    def __init__(self, conf):
        self.client = rpc.get_client(
            conf, TOPIC, '2.0', version_cap=conf.upgrade_levels.conductor)
        self.last_error = None  # why the last report was not sent

    def report_state(self, ctx, host, report, up=True):
        """Send one heartbeat (a cast); False when it could not be sent.

        ``report``: a ComputeNode, or None.

        Never retried: the next heartbeat is as good, and a service must
        not block on a broker that is away. Not only MessagingException:
        a broker that refuses a new connection raises kombu's
        OperationalError through oslo.messaging, and a heartbeat must not
        end the thread that sends it.
        """
        try:
            self.client.prepare(retry=0).cast(
                ctx, 'report_state', host=host, binary=BINARY,
                topic='compute', report=report, up=up)
        except Exception as e:
            self.last_error = '%s: %s' % (type(e).__name__, e)
            LOG.debug('Report of host %s not sent: %s', host,
                      self.last_error)
            return False
        self.last_error = None
        return True

    def ping(self, ctx, timeout):
        """A round trip through the broker to a conductor: True, or
        False when no conductor answered within ``timeout``."""
        try:
            return self.client.prepare(timeout=timeout).call(ctx, 'ping')
        except oslo_messaging.MessagingTimeout:
            return False
