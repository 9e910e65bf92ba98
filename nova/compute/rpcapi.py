"""Client side of the compute RPC API: the calls to one compute host.

Every message names its host (``server=`` the host's name). Instance
actions (build, reboot, rebuild, terminate) are casts from the conductor;
the live-migration steps wait ``long_rpc_timeout``; console calls and
the other short calls ``rpc_response_timeout``. A host
that does not answer in time gives ``InstanceHostUnavailable`` naming the
server and the host; a broker that cannot be reached gives
``ServiceUnavailable``; a host that does not serve the version sent gives
``ComputeHostError`` saying so.

Compute RPC API version history (``ComputeManager.target`` is the
newest a host serves; ``[upgrade_levels] compute`` caps what is sent):

* 1.0 - Instances and migrate data as plain dicts converted by hand;
  every action a blocking call. (Releases before versioned objects.)
* 2.0 - Versioned objects for every argument and result that is not
  plain data (Instance, LibvirtLiveMigrateData, ConsoleSerial), one
  serializer; the protocol of the conductor (actions as casts whose
  outcome the host casts back to the conductor, get_instance_state for
  its recovery, source driven live migration).
* 2.1 - get_console_output takes ``tail_length`` (lines): the host
  sends only those. Under a 2.0 cap the whole log crosses and this
  client cuts it the same way.
* 2.2 - cleanup_live_migration_destination_check: the destination
  removes its shared storage check file (block migration). Not sent
  under a cap below 2.2 (the file stays in that host's instances
  folder).
* 2.3 - cold migration and resize: prep_resize, resize_instance,
  finish_resize, confirm_resize, revert_resize, finish_revert_resize
  (calls from the conductor, nova.conductor.migrate). Under a lower cap
  the move is refused before anything changes.
* 2.4 - (shelve; 2.2 and 2.3 are block and resize's) shelve_instance,
  shelve_offload_instance, unshelve_instance (casts from the conductor;
  unshelve carries the saved disk's ImageMeta and the stored console log
  as a ShelvedConsoleLog).
* 2.5 - stop_instance and start_instance (casts; os-stop, os-start).
* 2.6 - get_diagnostics (a call: the running guest's statistics) and
  get_host_uptime (a call, no instance: the host's ``uptime`` line);
  rebuild_instance of an instance whose ``vm_state`` is 'stopped'
  rebuilds it without starting it (a 2.5 host would start it: under a
  cap below 2.6 that rebuild is refused, ComputeHostError).

Bump the minor version for an added method or an added optional
argument, and keep sending the older form while ``can_send_version``
says the cap is below it; a major bump is for a release that drops the
older forms (every host must run it first).
"""

import time

from oslo_log import log as logging
import oslo_messaging

from nova.compute import console_output
from nova.compute import task_states
from nova.compute import vm_states
from nova.console import type as ctype
from nova import exception
from nova import rpc

LOG = logging.getLogger(__name__)

TOPIC = 'compute'
# Connection attempts before a call gives up on an unreachable broker:
# a request fails in seconds rather than hanging while the broker is down.
CALL_RETRIES = 3

# The version of the messages that have not changed since 2.0.
BASE_VERSION = '2.0'
# Cold migration and resize.
RESIZE_VERSION = '2.3'
# Shelve, shelve offload and unshelve.
SHELVE_VERSION = '2.4'
# os-stop and os-start.
POWER_VERSION = '2.5'
# Diagnostics, host uptime, rebuild of a stopped instance.
ADMIN_VERSION = '2.6'
# The longest answers taken from a host: an uptime line, and a
# diagnostics dict (a guest has a few disks and interfaces, 8 counters
# each).
MAX_UPTIME_LENGTH = 256
MAX_DIAGNOSTICS_KEYS = 512
MAX_DIAGNOSTICS_KEY_LENGTH = 64


class ComputeAPI:
    def __init__(self, conf):
        self.conf = conf
        self.client = rpc.get_client(
            conf, TOPIC, BASE_VERSION,
            version_cap=conf.upgrade_levels.compute)

    def _prepare(self, to_host, method, version, **kwargs):
        """The client context of ``method`` (RPC API ``version``) to host
        ``to_host``; a cap below ``version`` is ComputeHostError naming
        the host and the version (nothing is sent)."""
        # 2.0 is never checked: no cap is below it that sends anything.
        if (version != BASE_VERSION and
                not self.client.can_send_version(version)):
            raise exception.ComputeHostError(
                host=to_host, reason=_too_old(method, version))
        return self.client.prepare(server=to_host, version=version,
                                   retry=CALL_RETRIES, **kwargs)

    def _call(self, ctx, to_host, method, instance, long=False,
              version=BASE_VERSION, **kwargs):
        """Call ``method`` (RPC API ``version``) on host ``to_host`` for
        ``instance``: the one call helper (see _prepare for the cap)."""
        timeout = (self.conf.long_rpc_timeout if long else
                   self.conf.rpc_response_timeout)
        cctxt = self._prepare(to_host, method, version, timeout=timeout)
        if instance is not None:
            kwargs['instance'] = instance
        try:
            return cctxt.call(ctx, method, **kwargs)
        except exception.MalformedRPCData as e:
            # Its answer (or our message, as the host read it).
            raise exception.ComputeHostError(host=to_host, reason=e.message)
        except exception.NovaException:
            raise  # the host's answer
        except oslo_messaging.MessagingTimeout:
            if instance is None:  # a question about the host itself
                raise exception.ComputeServiceUnavailable(host=to_host)
            raise exception.InstanceHostUnavailable(
                instance_uuid=instance.uuid, host=to_host,
                reason='did not answer within %d s' % timeout)
        except oslo_messaging.RemoteError as e:
            # Sent by name, in process as on RabbitMQ (not one of
            # rpc.ALLOWED_EXMODS).
            if e.exc_type == 'UnsupportedVersion':
                raise exception.ComputeHostError(
                    host=to_host, reason=_too_old(method, version))
            raise exception.ComputeHostError(host=to_host, reason=e.value)
        except Exception as e:
            raise _broker_error(e)

    def _cast(self, ctx, to_host, method, instance, version=BASE_VERSION,
              **kwargs):
        """Cast ``method`` (RPC API ``version``) to host ``to_host`` for
        ``instance``: the one cast helper (see _prepare for the cap);
        ServiceUnavailable when the broker cannot be reached."""
        cctxt = self._prepare(to_host, method, version)
        try:
            cctxt.cast(ctx, method, instance=instance, **kwargs)
        except exception.NovaException:
            raise
        except Exception as e:
            raise _broker_error(e)

    # -- server actions -------------------------------------------------------
    # Casts, from the conductor: the host reports each outcome back to it
    # with its serial port facts (ConductorAPI.instance_action_done).

    def build_and_run_instance(self, ctx, host, instance):
        self._cast(ctx, host, 'build_and_run_instance', instance)

    def reboot_instance(self, ctx, host, instance, reboot_type):
        self._cast(ctx, host, 'reboot_instance', instance,
                   reboot_type=reboot_type)

    def rebuild_instance(self, ctx, host, instance):
        # A stopped instance stays stopped only on a 2.6 host.
        version = (ADMIN_VERSION if instance.vm_state == vm_states.STOPPED
                   else BASE_VERSION)
        self._cast(ctx, host, 'rebuild_instance', instance, version=version)

    def terminate_instance(self, ctx, host, instance):
        self._cast(ctx, host, 'terminate_instance', instance)

    # -- shelve (2.4): casts from the conductor (nova.conductor.shelve)

    def shelve_instance(self, ctx, host, instance, image_id, offload):
        self._cast(ctx, host, 'shelve_instance', instance,
                   version=SHELVE_VERSION, image_id=image_id,
                   offload=offload)

    def shelve_offload_instance(self, ctx, host, instance):
        self._cast(ctx, host, 'shelve_offload_instance', instance,
                   version=SHELVE_VERSION)

    def unshelve_instance(self, ctx, host, instance, snapshot_meta,
                          console_log):
        self._cast(ctx, host, 'unshelve_instance', instance,
                   version=SHELVE_VERSION, snapshot_meta=snapshot_meta,
                   console_log=console_log)

    def get_instance_state(self, ctx, host, instance):
        """``{'exists': bool, 'busy': bool, 'finished': str or None}``
        of the guest on ``host`` (a short call, for the conductor's
        recovery; see ComputeManager.get_instance_state). ``finished`` is
        None from a host that does not send it.

        :raises nova.exception.ComputeHostError: the answer is not that
            shape (a broken or hostile host): recovery leaves the
            instance as it is rather than act on it.
        """
        answer = self._call(ctx, host, 'get_instance_state', instance)
        if not (isinstance(answer, dict) and
                all(isinstance(answer.get(key), bool)
                    for key in ('exists', 'busy')) and
                answer.get('finished') in (None,) + task_states.ALL):
            raise exception.ComputeHostError(
                host=host, reason='malformed instance state answer')
        return {'exists': answer['exists'], 'busy': answer['busy'],
                'finished': answer.get('finished')}

    # -- consoles -------------------------------------------------------------

    def get_serial_port_facts(self, ctx, host, instance):
        """``host``'s serial port facts now (``instance`` names the
        action they follow, for the logs)."""
        return self._call(ctx, host, 'get_serial_port_facts', instance)

    def get_console_output(self, ctx, host, instance, tail_length=None):
        """The newest bytes of the guest's console log; only its last
        ``tail_length`` lines (int >= 0; None: all), cut as
        ``nova.compute.console_output.tail`` does.

        A host of 2.1 cuts them itself, so only they cross RPC; under a
        2.0 cap the whole log crosses and is cut here: the same bytes.
        """
        console_output.check_tail_length(tail_length)
        if self.client.can_send_version('2.1'):
            text = self._call(ctx, host, 'get_console_output', instance,
                              version='2.1', tail_length=tail_length)
        else:
            text = self._call(ctx, host, 'get_console_output', instance)
        try:
            if not isinstance(text, str):
                raise ValueError('not a str')
            # Each character stands for one byte of the log.
            data = text.encode('latin-1')
        except ValueError:  # UnicodeEncodeError too
            raise exception.ComputeHostError(
                host=host, reason='malformed console output answer')
        # Cut again: a host's answer is not trusted to be cut already
        # (the cut is idempotent).
        return console_output.tail(data, tail_length)

    def get_serial_console(self, ctx, host, instance, console_type):
        """The guest's serial console (a ``ConsoleSerial``)."""
        console = self._call(ctx, host, 'get_serial_console', instance,
                             console_type=console_type)
        if not isinstance(console, ctype.ConsoleSerial):
            raise exception.ComputeHostError(
                host=host, reason='malformed serial console answer')
        return console

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
                ctx, 'end_console_follow', instance=instance,
                follow_id=follow_id)
        except Exception as e:
            LOG.info('End of the console follower of %s not sent to %s '
                     '(%s: %s); it expires there by itself',
                     instance.uuid, host, type(e).__name__, e)
            return False
        return True

    # -- live migration -------------------------------------------------------
    # Driven by the source (nova.conductor.live_migrate): the conductor
    # asks both hosts' checks and casts live_migration to the source; the
    # source calls the destination. ``migrate_data`` is the driver's
    # LibvirtLiveMigrateData. The calls are short (rpc_response_timeout)
    # but pre_live_migration (long_rpc_timeout, as in Nova: it prepares
    # the instance folder); libvirt's job runs on the source inside the
    # cast, which no one waits for.

    def _migration_call(self, ctx, host, method, instance, migrate_data=None,
                        long=False, **kwargs):
        if migrate_data is not None:
            kwargs['migrate_data'] = migrate_data
        return self._call(ctx, host, method, instance, long=long, **kwargs)

    def check_can_live_migrate_destination(self, ctx, dest, instance):
        """The destination's facts for the source: migrate data."""
        return self._migration_call(
            ctx, dest, 'check_can_live_migrate_destination', instance)

    def check_can_live_migrate_source(self, ctx, source, instance,
                                      migrate_data):
        """The source's check; migrate data with its port count."""
        return self._migration_call(
            ctx, source, 'check_can_live_migrate_source', instance,
            migrate_data)

    def cleanup_live_migration_destination_check(self, ctx, dest, instance,
                                                 migrate_data):
        """The destination removes its shared storage check file (2.2;
        not sent to a host capped below)."""
        if not self.client.can_send_version('2.2'):
            return
        self._call(ctx, dest, 'cleanup_live_migration_destination_check',
                   instance, version='2.2', migrate_data=migrate_data)

    def live_migration(self, ctx, source, instance, dest, migrate_data):
        """Cast: ``source`` moves the guest to ``dest`` and reports the
        outcome to the conductor (ComputeManager.live_migration).

        :raises nova.exception.ServiceUnavailable: the broker cannot be
            reached (nothing was sent).
        """
        self._cast(ctx, source, 'live_migration', instance, dest=dest,
                   migrate_data=migrate_data, requested_at=time.time())

    def pre_live_migration(self, ctx, dest, instance, migrate_data):
        """The destination makes room; migrate data with its ports."""
        return self._migration_call(ctx, dest, 'pre_live_migration',
                                    instance, migrate_data, long=True)

    def post_live_migration_at_destination(self, ctx, dest, instance,
                                           migrate_data):
        """The destination settles the guest that arrived (``migrate_data``
        None: after a restart, from what the guest listens on)."""
        self._migration_call(ctx, dest, 'post_live_migration_at_destination',
                             instance, migrate_data)

    def rollback_live_migration_at_destination(self, ctx, dest, instance,
                                               migrate_data):
        """The destination undoes pre_live_migration (``migrate_data``
        None: every port it holds for the guest)."""
        self._migration_call(
            ctx, dest, 'rollback_live_migration_at_destination', instance,
            migrate_data)

    def post_live_migration_at_source(self, ctx, source, instance,
                                      migrate_data):
        """The old host gives back what the guest that left it held and
        sends its console log on (a recovery: the source died after the
        switchover). ``migrate_data``: the destination's check answer."""
        self._migration_call(ctx, source, 'post_live_migration_at_source',
                             instance, migrate_data)

    def get_live_migration_state(self, ctx, host, instance):
        """Where ``host`` stands in a live migration of ``instance``.

        :returns: ``{'guest': one of nova.virt.driver's GUEST_* values,
            'driving': bool}``: ``driving`` is whether that host's compute
            service runs the migration of the guest as its source now.
        """
        answer = self._call(ctx, host, 'get_live_migration_state', instance)
        if not (isinstance(answer, dict) and
                isinstance(answer.get('guest'), str) and
                isinstance(answer.get('driving'), bool)):
            raise exception.ComputeHostError(
                host=host, reason='malformed live migration state')
        return answer

    # -- cold migration and resize (2.3; nova.conductor.migrate) -------------
    # Calls from the conductor, which runs the steps in order; the ones
    # that copy or start a guest wait long_rpc_timeout.

    def _resize_call(self, ctx, host, method, instance, **kwargs):
        return self._call(ctx, host, method, instance, long=True,
                          version=RESIZE_VERSION, **kwargs)

    def prep_resize(self, ctx, dest, instance, same_host):
        """The destination makes room for ``instance`` (its new flavor);
        returns its facts (a LibvirtLiveMigrateData)."""
        return self._resize_call(ctx, dest, 'prep_resize', instance,
                                 same_host=same_host)

    def resize_instance(self, ctx, source, instance, dest_data,
                        same_host):
        """The source stops the guest and copies its disk and log to the
        destination; returns None or a note on a log not copied."""
        return self._resize_call(ctx, source, 'resize_instance', instance,
                                 dest_data=dest_data, same_host=same_host)

    def finish_resize(self, ctx, dest, instance, same_host):
        """The destination starts the guest; returns its port facts."""
        return self._resize_call(ctx, dest, 'finish_resize', instance,
                                 same_host=same_host)

    def confirm_resize(self, ctx, source, instance, same_host):
        """The source drops what it kept; returns its port facts."""
        return self._resize_call(ctx, source, 'confirm_resize', instance,
                                 same_host=same_host)

    def revert_resize(self, ctx, dest, instance, source_data, same_host):
        """The destination removes the guest and sends its log back;
        returns ``{'note': str or None, 'facts': its port facts}``."""
        return self._resize_call(ctx, dest, 'revert_resize', instance,
                                 source_data=source_data,
                                 same_host=same_host)

    def finish_revert_resize(self, ctx, source, instance):
        """The source starts its kept guest again; returns its port
        facts."""
        return self._resize_call(ctx, source, 'finish_revert_resize',
                                 instance)

    # -- os-stop / os-start (2.5): casts from the conductor, as reboot ------

    # A cap below 2.5 is ComputeHostError naming the version (the
    # conductor records it as the action's fault).

    def stop_instance(self, ctx, host, instance):
        self._cast(ctx, host, 'stop_instance', instance,
                   version=POWER_VERSION)

    def start_instance(self, ctx, host, instance):
        self._cast(ctx, host, 'start_instance', instance,
                   version=POWER_VERSION)

    # -- admin (2.6): calls
    def get_diagnostics(self, ctx, host, instance):
        """The running guest's statistics: a dict of at most
        MAX_DIAGNOSTICS_KEYS str keys to ints, floats or strs.

        :raises nova.exception.InstanceInvalidState: it does not run.
        :raises nova.exception.ComputeHostError: another answer.
        """
        answer = self._call(ctx, host, 'get_diagnostics', instance,
                            version=ADMIN_VERSION)
        if not (isinstance(answer, dict) and
                len(answer) <= MAX_DIAGNOSTICS_KEYS and
                all(isinstance(key, str) and
                    len(key) <= MAX_DIAGNOSTICS_KEY_LENGTH and
                    isinstance(value, (int, float, str)) and
                    not isinstance(value, bool) and
                    (not isinstance(value, str) or
                     len(value) <= MAX_DIAGNOSTICS_KEY_LENGTH)
                    for key, value in answer.items())):
            raise exception.ComputeHostError(
                host=host, reason='malformed diagnostics answer')
        return answer

    def get_host_uptime(self, ctx, host):
        """The host's ``uptime`` line (a str, at most MAX_UPTIME_LENGTH
        characters, no control characters).

        :raises nova.exception.ComputeServiceUnavailable: no answer.
        :raises nova.exception.ComputeHostError: another answer.
        """
        answer = self._call(ctx, host, 'get_host_uptime', None,
                            version=ADMIN_VERSION)
        if not (isinstance(answer, str) and answer and
                len(answer) <= MAX_UPTIME_LENGTH and answer.isprintable()):
            raise exception.ComputeHostError(
                host=host, reason='malformed uptime answer')
        return answer


def _broker_error(e):
    """The transport's own errors: oslo.messaging's delivery failure once
    its retries are spent, or the driver's (kombu) when the broker
    refuses the connection."""
    return exception.ServiceUnavailable(
        reason='The message broker cannot be reached (%s); try again '
               'later' % type(e).__name__)


def _too_old(method, version):
    return ('it does not serve %s of compute RPC API %s (an older '
            'nova-compute): set [upgrade_levels] compute to the version '
            'of the oldest compute service until every host is upgraded'
            % (method, version))


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
