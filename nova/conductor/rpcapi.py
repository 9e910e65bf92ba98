"""Client side of the conductor topic: a compute service's heartbeat."""

from oslo_log import log as logging
import oslo_messaging

from nova.objects import instance as objects
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
    def __init__(self, conf):
        self.client = rpc.get_client(conf, TOPIC, '1.0')
        self.last_error = None  # why the last report was not sent

    def report_state(self, ctx, host, report, up=True):
        """Send one heartbeat (a cast); False when it could not be sent.

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
                instance=objects.to_primitive(instance), source=source,
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
