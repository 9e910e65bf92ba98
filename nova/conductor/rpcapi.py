"""Client side of the conductor topic.

``ConductorAPI`` is what compute services send: their heartbeat and the
outcome of each action the conductor cast to them
(``instance_action_done``). ``ComputeTaskAPI`` is what the compute API
sends: the instance actions the conductor runs (``nova.conductor.api``
wraps it). Both reach the one ``conductor`` topic, served by
nova-conductor (or nova-all), whose endpoints are ``ConductorManager``
and ``ComputeTaskManager`` (``nova.conductor.manager``).

Which messages are casts: every action and every outcome; the only
calls are ``ping`` and ``live_migrate_instance`` (its pre-checks answer
the API request, with ``rpc_response_timeout``).

Conductor RPC API version history (``ConductorManager.target`` is the
newest a conductor serves; ``[upgrade_levels] conductor`` caps what is
sent):

* 1.0 - report_state with the report as a dict. (Releases before
  versioned objects.)
* 2.0 - report_state with the report as a ComputeNode object; the
  conductor of this issue's control plane: the compute API's
  build_instances, reboot_instance, rebuild_instance, delete_instance
  (casts) and live_migrate_instance (a call), and the compute hosts'
  instance_action_done (a cast), served by ComputeTaskManager.
* 2.1 - live_migrate_instance takes ``force`` (compute API microversion
  2.30: a named destination is checked by the scheduler unless forced).
* 2.2 - live_migrate_instance takes ``disk_over_commit`` (microversions
  before 2.25: the block migration's free space check). A conductor
  capped below is not sent it (no such check there).
* 2.3 - cold migration and resize: migrate_server (a call: the
  destination is chosen before it answers), confirm_resize and
  revert_resize (casts), served by ComputeTaskManager
  (nova.conductor.migrate).
* 2.4 - (shelve; 2.2 and 2.3 are block and resize's) shelve_instance,
  shelve_offload_instance, unshelve_instance (casts from the compute API)
  and shelve_done (a cast from a compute host, with the console log of an
  offloaded server as a ShelvedConsoleLog).
* 2.5 - stop_instance and start_instance (casts; os-stop, os-start).
"""

from oslo_log import log as logging
import oslo_messaging

from nova import exception
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

    def instance_action_done(self, ctx, host, instance_uuid, action,
                             task_state, serial_port_facts, fault=None,
                             error=None):
        """A compute host's outcome of an action the conductor cast to it
        (a cast). See ComputeTaskManager.instance_action_done.

        Retried while the broker is away (oslo.messaging's default): the
        outcome is the only record the host sends of the action.
        """
        self.client.cast(ctx, 'instance_action_done', host=host,
                         instance_uuid=instance_uuid, action=action,
                         task_state=task_state,
                         serial_port_facts=serial_port_facts, fault=fault,
                         error=error)

    # -- live migration (nova.conductor.live_migrate) -------------------------

    def report_live_migration(self, ctx, instance, source, dest, outcome,
                              fault=None):
        """Cast from a migration's source: how it ended (``outcome``, one
        of the MIGRATION_* values; ``fault`` the error text). Not retried
        past CALL_RETRIES connection attempts: when it cannot be sent the
        migration stays MIGRATING until the conductor's recovery asks the
        hosts (live_migrate.recover_live_migrations)."""
        try:
            self.client.prepare(retry=CALL_RETRIES).cast(
                ctx, 'report_live_migration', instance=instance,
                source=source, dest=dest, outcome=outcome, fault=fault)
        except Exception as e:
            LOG.error('Outcome of the live migration of %s (%s) not sent '
                      'to the conductor: %s: %s', instance.uuid, outcome,
                      type(e).__name__, e)
            return False
        return True

    def shelve_done(self, ctx, host, instance_uuid, action, task_state,
                    serial_port_facts, fault=None, error=None, saved=None,
                    console_log=None, log_fault=None):
        """A compute host's outcome of a shelve action (2.4, a cast):
        see nova.conductor.shelve.ShelveTasks.shelve_done. Retried as
        instance_action_done."""
        self.client.prepare(version='2.4').cast(
            ctx, 'shelve_done', host=host, instance_uuid=instance_uuid,
            action=action, task_state=task_state,
            serial_port_facts=serial_port_facts, fault=fault, error=error,
            saved=saved, console_log=console_log, log_fault=log_fault)

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


def _broker_error(e):
    return exception.ServiceUnavailable(
        reason='The message broker cannot be reached (%s); try again '
               'later' % type(e).__name__)


class ComputeTaskAPI:
    """The compute API's messages to the conductor.

    Each action is a cast: the compute API has already put the instance
    in the action's task_state, and answers its client at once. A cast
    that cannot be sent raises ServiceUnavailable (503).
    """

    # Connection attempts before a message gives up on a broker that is
    # away: the request fails in seconds rather than hanging.
    RETRIES = 3

    def __init__(self, conf):
        self.conf = conf
        self.client = rpc.get_client(
            conf, TOPIC, '2.0', version_cap=conf.upgrade_levels.conductor)

    def _prepare(self, method, version, **kwargs):
        """The client context of ``method`` (conductor RPC API
        ``version``; None: the client's 2.0). A conductor capped below
        ``version`` cannot run it: ServiceUnavailable (503) saying so,
        nothing sent."""
        if version is not None:
            # 2.0 is never checked: no cap is below it that sends anything.
            if (version != BASE_VERSION and
                    not self.client.can_send_version(version)):
                raise exception.ServiceUnavailable(
                    reason='%s needs conductor RPC API %s; [upgrade_levels] '
                           'conductor is %s' % (method, version,
                                                self.client.version_cap))
            kwargs['version'] = version
        return self.client.prepare(retry=self.RETRIES, **kwargs)

    def _cast(self, ctx, method, version=None, **kwargs):
        """Cast ``method`` of ``version`` (see _prepare): the one cast
        helper of every action."""
        cctxt = self._prepare(method, version)
        try:
            cctxt.cast(ctx, method, **kwargs)
        except exception.NovaException:
            raise
        except Exception as e:
            raise _broker_error(e)

    def _call(self, ctx, method, version=None, **kwargs):
        """Call ``method`` of ``version`` (see _prepare), a short call
        (``rpc_response_timeout``): the conductor's own errors reach the
        caller; no answer is ServiceUnavailable naming nova-conductor."""
        timeout = self.conf.rpc_response_timeout
        cctxt = self._prepare(method, version, timeout=timeout)
        try:
            return cctxt.call(ctx, method, **kwargs)
        except exception.NovaException:
            raise
        except oslo_messaging.MessagingTimeout:
            raise exception.ServiceUnavailable(
                reason='No conductor answered within %d s; is '
                       'nova-conductor running?' % timeout)
        except oslo_messaging.RemoteError as e:
            raise exception.ComputeHostError(host='conductor',
                                             reason=e.value)
        except Exception as e:
            raise _broker_error(e)

    def build_instances(self, ctx, instance_uuid):
        self._cast(ctx, 'build_instances', instance_uuid=instance_uuid)

    def reboot_instance(self, ctx, instance_uuid, reboot_type):
        self._cast(ctx, 'reboot_instance', instance_uuid=instance_uuid,
                   reboot_type=reboot_type)

    def rebuild_instance(self, ctx, instance_uuid, image_id):
        self._cast(ctx, 'rebuild_instance', instance_uuid=instance_uuid,
                   image_id=image_id)

    def delete_instance(self, ctx, instance_uuid):
        self._cast(ctx, 'delete_instance', instance_uuid=instance_uuid)

    # -- shelve (2.4)

    def shelve_instance(self, ctx, instance_uuid, image_id):
        self._cast(ctx, 'shelve_instance', SHELVE_VERSION,
                   instance_uuid=instance_uuid, image_id=image_id)

    def shelve_offload_instance(self, ctx, instance_uuid):
        self._cast(ctx, 'shelve_offload_instance', SHELVE_VERSION,
                   instance_uuid=instance_uuid)

    def unshelve_instance(self, ctx, instance_uuid):
        self._cast(ctx, 'unshelve_instance', SHELVE_VERSION,
                   instance_uuid=instance_uuid)

    def live_migrate_instance(self, ctx, instance_uuid, host,
                              block_migration, force=True,
                              disk_over_commit=None):
        """A short call: the pre-checks' errors are the caller's; it
        returns once the migration was started. ``force`` False (2.1):
        a named ``host`` goes through the scheduler's filters; a
        conductor capped at 2.0 takes it as forced (as before 2.30)."""
        kwargs = {}
        version = '2.0'
        if self.client.can_send_version('2.1'):
            version = '2.1'
            kwargs['force'] = force
        if (disk_over_commit is not None and
                self.client.can_send_version('2.2')):
            version = '2.2'
            kwargs['disk_over_commit'] = disk_over_commit
        elif not force and host is not None:
            LOG.warning('Conductor RPC API capped below 2.1: the named '
                        'destination %s is not checked by the scheduler',
                        host)
        return self._call(ctx, 'live_migrate_instance', version,
                          instance_uuid=instance_uuid, host=host,
                          block_migration=block_migration, **kwargs)

    # -- resize: cold migration and resize (2.3; nova.conductor.migrate) --

    def migrate_server(self, ctx, instance_uuid, flavor_id):
        """A short call: the destination is chosen (NoValidHost, 400,
        otherwise) and the move started when it returns; ``flavor_id``
        None for a cold migration."""
        return self._call(ctx, 'migrate_server', RESIZE_VERSION,
                          instance_uuid=instance_uuid, flavor_id=flavor_id)

    def confirm_resize(self, ctx, instance_uuid):
        self._cast(ctx, 'confirm_resize', RESIZE_VERSION,
                   instance_uuid=instance_uuid)

    def revert_resize(self, ctx, instance_uuid):
        self._cast(ctx, 'revert_resize', RESIZE_VERSION,
                   instance_uuid=instance_uuid)

    # -- os-stop / os-start (2.5) ---------------------------------------------

    def stop_instance(self, ctx, instance_uuid):
        self._cast(ctx, 'stop_instance', POWER_VERSION,
                   instance_uuid=instance_uuid)

    def start_instance(self, ctx, instance_uuid):
        self._cast(ctx, 'start_instance', POWER_VERSION,
                   instance_uuid=instance_uuid)


# The version of the messages that have not changed since 2.0.
BASE_VERSION = '2.0'
# Cold migration and resize.
RESIZE_VERSION = '2.3'
# Shelve, shelve offload and unshelve.
SHELVE_VERSION = '2.4'
# os-stop and os-start.
POWER_VERSION = '2.5'
