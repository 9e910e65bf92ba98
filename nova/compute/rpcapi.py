"""Client side of the compute RPC API: the API's calls to one host.

Every message names its host (``server=`` the host's name). Instance
actions (build, reboot, rebuild, terminate) are casts from the conductor;
the live-migration steps wait ``long_rpc_timeout``; console calls and
the other short calls ``rpc_response_timeout``. A host
that does not answer in time gives ``InstanceHostUnavailable`` naming the
server and the host; a broker that cannot be reached gives
``ServiceUnavailable``.
"""

from oslo_log import log as logging
import oslo_messaging

from nova.console import type as ctype
from nova import exception
from nova.objects import instance as objects
from nova import rpc
from nova.virt.libvirt import migration

LOG = logging.getLogger(__name__)

TOPIC = 'compute'
# Connection attempts before a call gives up on an unreachable broker:
# a request fails in seconds rather than hanging while the broker is down.
CALL_RETRIES = 3


class ComputeAPI:
    def __init__(self, conf):
        self.conf = conf
        self.client = rpc.get_client(conf, TOPIC, '1.0')

    def _call(self, ctx, to_host, method, instance, long=False, **kwargs):
        """Call ``method`` on host ``to_host`` for ``instance``."""
        timeout = (self.conf.long_rpc_timeout if long else
                   self.conf.rpc_response_timeout)
        cctxt = self.client.prepare(server=to_host, timeout=timeout,
                                    retry=CALL_RETRIES)
        try:
            return cctxt.call(ctx, method,
                              instance=objects.to_primitive(instance),
                              **kwargs)
        except exception.NovaException:
            raise  # the host's answer
        except oslo_messaging.MessagingTimeout:
            raise exception.InstanceHostUnavailable(
                instance_uuid=instance.uuid, host=to_host,
                reason='did not answer within %d s' % timeout)
        except oslo_messaging.RemoteError as e:
            raise exception.ComputeHostError(host=to_host, reason=e.value)
        except Exception as e:
            # The transport's own errors: oslo.messaging's delivery
            # failure once its retries are spent, or the driver's (kombu)
            # when the broker refuses the connection.
            raise exception.ServiceUnavailable(
                reason='The message broker cannot be reached (%s); try '
                       'again later' % type(e).__name__)

    # -- server actions -------------------------------------------------------
    # Casts, from the conductor: the host reports each outcome back to it
    # with its serial port facts (ConductorAPI.instance_action_done).

    def _cast(self, ctx, to_host, method, instance, **kwargs):
        """Cast ``method`` to host ``to_host`` for ``instance``;
        ServiceUnavailable when the broker cannot be reached."""
        cctxt = self.client.prepare(server=to_host, retry=CALL_RETRIES)
        try:
            cctxt.cast(ctx, method, instance=objects.to_primitive(instance),
                       **kwargs)
        except exception.NovaException:
            raise
        except Exception as e:
            raise exception.ServiceUnavailable(
                reason='The message broker cannot be reached (%s); try '
                       'again later' % type(e).__name__)

    def build_and_run_instance(self, ctx, host, instance):
        self._cast(ctx, host, 'build_and_run_instance', instance)

    def reboot_instance(self, ctx, host, instance, reboot_type):
        self._cast(ctx, host, 'reboot_instance', instance,
                   reboot_type=reboot_type)

    def rebuild_instance(self, ctx, host, instance):
        self._cast(ctx, host, 'rebuild_instance', instance)

    def terminate_instance(self, ctx, host, instance):
        self._cast(ctx, host, 'terminate_instance', instance)

    def get_instance_state(self, ctx, host, instance):
        """``{'exists': bool, 'busy': bool}`` of the guest on ``host``
        (a short call, for the conductor's recovery)."""
        return self._call(ctx, host, 'get_instance_state', instance)

    # -- consoles -------------------------------------------------------------

    def get_serial_port_facts(self, ctx, host, instance):
        """``host``'s serial port facts now (``instance`` names the
        action they follow, for the logs)."""
        return self._call(ctx, host, 'get_serial_port_facts', instance)

    def get_console_output(self, ctx, host, instance):
        text = self._call(ctx, host, 'get_console_output', instance)
        return text.encode('latin-1')  # see ComputeManager

    def get_serial_console(self, ctx, host, instance, console_type):
        console = self._call(ctx, host, 'get_serial_console', instance,
                             console_type=console_type)
        return ctype.ConsoleSerial(host=console['host'],
                                   port=console['port'])

    def validate_console_port(self, ctx, host, instance, port_host, port,
                              console_type):
        return self._call(ctx, host, 'validate_console_port', instance,
                          host=port_host, port=port,
                          console_type=console_type)

    def follow_console_log(self, ctx, host, instance, follow_id,
                           history_bytes, wait):
        """Open (``follow_id`` None) or read a console follower on
        ``host``: see ComputeManager.follow_console_log. A short call
        (``rpc_response_timeout``; the host waits at most half of its
        own).

        :returns: ``{'follow_id': str, 'data': bytes, 'gap': bool,
            'ended': bool, 'retry_after': float}`` (``retry_after`` 0.0
            from a host that does not send it).
        """
        answer = self._call(ctx, host, 'follow_console_log', instance,
                            follow_id=follow_id,
                            history_bytes=history_bytes, wait=wait)
        return _follow_answer(host, answer)

    def end_console_follow(self, ctx, host, instance, follow_id):
        """Close the follower ``follow_id`` on ``host`` (a cast).

        Never raises: when it cannot be sent, the host closes the
        follower after ``[serial_console] console_follower_idle_timeout``
        anyway. Returns whether it was sent.
        """
        try:
            self.client.prepare(server=host, retry=0).cast(
                ctx, 'end_console_follow',
                instance=objects.to_primitive(instance),
                follow_id=follow_id)
        except Exception as e:
            LOG.info('End of the console follower of %s not sent to %s '
                     '(%s: %s); it expires there by itself',
                     instance.uuid, host, type(e).__name__, e)
            return False
        return True

    # -- live migration -------------------------------------------------------

    def host(self, host):
        """``host`` as nova.compute.live_migration expects a driver."""
        return RemoteHost(self, host)


# An answer holds at most 256 KiB (console_followers.READ_LIMIT).
_MAX_FOLLOW_DATA = 256 * 1024
# A host asks for at most this pause (console_followers.RETRY_AFTER is 1).
_MAX_RETRY_AFTER = 60


def _follow_answer(host, answer):
    """A host's follow_console_log answer, checked, with bytes as data.

    :raises nova.exception.ComputeHostError: it is not the documented
        shape (an old or broken host): never a KeyError or
        UnicodeError in the proxy.
    """
    try:
        if not (isinstance(answer, dict) and
                isinstance(answer['follow_id'], str) and
                len(answer['follow_id']) <= 64 and
                isinstance(answer['data'], str) and
                len(answer['data']) <= _MAX_FOLLOW_DATA and
                isinstance(answer['gap'], bool) and
                isinstance(answer['ended'], bool)):
            raise ValueError('not the answer of follow_console_log')
        # Optional: a host of before it was added does not send it.
        retry_after = answer.get('retry_after', 0.0)
        if (isinstance(retry_after, bool) or
                not isinstance(retry_after, (int, float)) or
                not 0 <= retry_after <= _MAX_RETRY_AFTER):
            raise ValueError('bad retry_after')
        data = answer['data'].encode('latin-1')
    except (KeyError, ValueError) as e:
        raise exception.ComputeHostError(
            host=host, reason='malformed console follow answer (%s)'
            % type(e).__name__)
    return {'follow_id': answer['follow_id'], 'data': data,
            'gap': answer['gap'], 'ended': answer['ended'],
            'retry_after': float(retry_after)}


class RemoteHost:
    """One host's live-migration calls, with the driver's signatures."""

    def __init__(self, rpcapi, host_name):
        self._rpcapi = rpcapi
        self.host_name = host_name

    def _call(self, ctx, method, instance, migrate_data=None, long=True,
              **kwargs):
        if migrate_data is not None:
            kwargs['migrate_data'] = migrate_data.to_dict()
        result = self._rpcapi._call(ctx, self.host_name, method, instance,
                                    long=long, **kwargs)
        if isinstance(result, dict):
            return migration.LibvirtLiveMigrateData.from_dict(result)
        return result

    def check_can_live_migrate_destination(self, ctx, instance):
        # The pre-checks answer the API request: short time-out.
        return self._call(ctx, 'check_can_live_migrate_destination',
                          instance, long=False)

    def check_can_live_migrate_source(self, ctx, instance, migrate_data):
        return self._call(ctx, 'check_can_live_migrate_source', instance,
                          migrate_data, long=False)

    def pre_live_migration(self, ctx, instance, migrate_data):
        return self._call(ctx, 'pre_live_migration', instance, migrate_data)

    def live_migration(self, ctx, instance, dest_uri, migrate_data):
        # The source reads the URI from the migrate data itself.
        self._call(ctx, 'live_migration', instance, migrate_data)

    def post_live_migration_at_destination(self, ctx, instance,
                                           migrate_data):
        self._call(ctx, 'post_live_migration_at_destination', instance,
                   migrate_data)

    def rollback_live_migration_at_destination(self, ctx, instance,
                                               migrate_data):
        self._call(ctx, 'rollback_live_migration_at_destination', instance,
                   migrate_data)
