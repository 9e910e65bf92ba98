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
# Connection attempts for an outcome that must not be lost lightly.
CALL_RETRIES = 3

# The outcomes report_live_migration carries (nova.conductor.live_migrate).
MIGRATION_DONE = 'done'        # the guest runs on the destination
MIGRATION_FAILED = 'failed'    # it runs on the source, destination rolled back
MIGRATION_UNKNOWN = 'unknown'  # the job failed and the guest does not run
#                                on the source: the conductor asks the hosts


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

    # -- live migration (nova.conductor.live_migrate) -------------------------

    def report_live_migration(self, ctx, instance, source, dest, outcome,
                              fault=None):
        """Cast from a migration's source: how it ended (``outcome``, one
        of the MIGRATION_* values; ``fault`` the error text).
        Not retried past CALL_RETRIES connection attempts: when it cannot
        be sent the migration stays MIGRATING until the conductor's
        recovery asks the hosts (live_migrate.recover_live_migrations)."""
        try:
            self.client.prepare(retry=CALL_RETRIES).cast(
                ctx, 'report_live_migration',
                instance=instance, source=source,
                dest=dest, outcome=outcome, fault=fault)
        except Exception as e:
            LOG.error('Outcome of the live migration of %s (%s) not sent '
                      'to the conductor: %s: %s', instance.uuid, outcome,
                      type(e).__name__, e)
            return False
        return True

    def recover_live_migrations(self, ctx, host):
        """Cast from a compute service that (re)started: the conductor
        settles the live migrations no service drives any more. False
        when it could not be sent."""
        try:
            self.client.prepare(retry=0).cast(
                ctx, 'recover_live_migrations', host=host)
        except Exception as e:
            LOG.info('Recovery request of host %s not sent: %s', host, e)
            return False
        return True
