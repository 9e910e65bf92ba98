"""What nova-serialproxy asks about an instance's serial console.

The proxy holds a token that names an instance and the host:port of its
serial console. Before it connects, and while it follows the console log,
it asks here: the instance is read from the database (``nova.db.api``), as
Nova's proxy reads its Instance, and the instance's compute host is asked
over RPC (``nova.compute.rpcapi.ComputeAPI``, injected). Nothing else of
the compute API comes with it: no task pool, no flavor or image catalog.

Every method looks the instance up as the admin: the proxy checked the
client's token, which is the client's whole authorization.
"""

from oslo_log import log as logging

from nova.compute import console_followers
from nova.compute import vm_states
from nova.console import type as ctype
from nova import context as nova_context
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova import servicegroup

LOG = logging.getLogger(__name__)

MAX_HOST_LENGTH = 255
MAX_FOLLOW_ID_LENGTH = 64


def _check_string(value, field, max_length):
    if (not isinstance(value, str) or not value.strip() or
            len(value) > max_length):
        raise exception.ValidationError(
            field=field, detail='must be a non-blank string of at most %d '
                                'characters' % max_length)
    return value


def _instance(instance_uuid):
    """The instance's row, or None (also for a uuid that is no string)."""
    if not isinstance(instance_uuid, str):
        return None
    return db.instance_get(instance_uuid)


def _ready(instance):
    # A resized server (VERIFY_RESIZE) runs on its new host (as the
    # compute API's consoles; resize).
    return (instance['vm_state'] in (vm_states.ACTIVE, vm_states.RESIZED)
            and not instance['task_state'])


def _state(instance):
    if instance['task_state']:
        return '%s (%s)' % (instance['vm_state'], instance['task_state'])
    return instance['vm_state']


def _bare_instance(instance):
    """Enough of the instance for the console calls: the host finds the
    guest by its uuid, so its flavor and image are not read."""
    return objects.Instance(uuid=instance['uuid'], host=instance['host'])


class API:
    """The console calls of nova-serialproxy.

    :param compute_rpcapi: a ``nova.compute.rpcapi.ComputeAPI`` (or an
        object with its ``validate_console_port``,
        ``follow_console_log`` and ``end_console_follow``).
    :param conf: the configuration (``service_down_time`` says whether
        a host is up).
    """

    def __init__(self, compute_rpcapi, conf):
        self.compute_rpcapi = compute_rpcapi
        self.conf = conf

    def _check_host(self, instance):
        """The instance's host must be up to be asked anything (see
        servicegroup.check_instance_host)."""
        return servicegroup.check_instance_host(instance, self.conf)

    def validate_console_port(self, ctx, instance_uuid, host, port,
                              console_type):
        """Is ``host:port`` still that instance's serial console?

        ``console_type``: 'serial' or 'serial-readonly' (the same port);
        any other is no. Fails closed: an instance that is gone or not
        ready, a host down or silent, or any error from the host, is no.

        :returns: bool.
        """
        if console_type not in ctype.SERIAL_TYPES:
            return False
        admin = nova_context.get_admin_context()
        try:
            instance = _instance(instance_uuid)
            if instance is None:
                raise exception.InstanceNotFound(instance_id=instance_uuid)
            if not _ready(instance):
                return False
            self._check_host(instance)
            return bool(self.compute_rpcapi.validate_console_port(
                admin, instance['host'], _bare_instance(instance),
                host, port, console_type))
        except exception.NovaException as e:
            LOG.info('Console port of instance %s not confirmed: %s',
                     instance_uuid, e.message)
            return False

    def follow_console_log(self, ctx, instance_uuid, host=None,
                           follow_id=None, history_bytes=None, wait=0):
        """Follow the instance's console log.

        The first call (``follow_id`` None) opens a follower on the
        instance's host and answers with the newest ``history_bytes`` of
        the log; each next call passes the ``host`` and ``follow_id`` of
        the answer before and gets the bytes written since, waiting up to
        ``wait`` seconds for some (see ComputeManager.follow_console_log).

        :param instance_uuid: str.
        :param host: str or None: the host of the previous answer. When
            the instance is no longer there (live migrated, or deleted)
            the answer is ``ended`` with no data, and that host's
            follower is ended (a cast): ask for a new console.
        :param follow_id: str or None.
        :param history_bytes: int 0..102400 (None: 102400).
        :param wait: seconds, a number >= 0 (the host cuts it).
        :returns: ``{'host': str, 'follow_id': str|None, 'data': bytes,
            'gap': bool, 'ended': bool, 'retry_after': float}``:
            ``retry_after`` is the seconds (>= 0) to pause before the next
            call; > 0 when the host answered empty without waiting (all
            its waiting slots taken). A caller that ignores it only polls
            faster.
        :raises nova.exception.InstanceNotFound: no such instance (and no
            ``host``/``follow_id`` of a follow to end).
        :raises nova.exception.InstanceNotReady: opening a follower of an
            instance not active, or with a task. A follow already
            open goes on through reboots: they are what users watch.
        :raises nova.exception.InstanceHostUnavailable: its host is down
            or did not answer in time.
        :raises nova.exception.ConsoleFollowNotFound,
            nova.exception.TooManyConsoleFollowers,
            nova.exception.ConsoleLogFollowUnavailable,
            nova.exception.Invalid: from the host, or bad arguments.
        """
        history_bytes = console_followers.check_history_bytes(
            history_bytes)
        wait = console_followers.check_wait(wait)
        if host is not None:
            _check_string(host, 'host', MAX_HOST_LENGTH)
        if follow_id is not None:
            _check_string(follow_id, 'follow_id', MAX_FOLLOW_ID_LENGTH)
        admin = nova_context.get_admin_context()
        instance = _instance(instance_uuid)
        if (follow_id is not None and host is not None and
                (instance is None or instance['host'] != host)):
            # Gone from that host: nothing more will come from there.
            self.compute_rpcapi.end_console_follow(
                admin, host, objects.Instance(uuid=instance_uuid,
                                              host=host), follow_id)
            return {'host': host, 'follow_id': follow_id, 'data': b'',
                    'gap': False, 'ended': True, 'retry_after': 0.0}
        if instance is None:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        if host is not None and instance['host'] != host:
            # A new follow asked of a host it has left.
            return {'host': host, 'follow_id': None, 'data': b'',
                    'gap': False, 'ended': True, 'retry_after': 0.0}
        if follow_id is None and not _ready(instance):
            raise exception.InstanceNotReady(instance_id=instance['uuid'],
                                             state=_state(instance))
        self._check_host(instance)
        answer = self.compute_rpcapi.follow_console_log(
            admin, instance['host'], _bare_instance(instance), follow_id,
            history_bytes, wait)
        return {'host': instance['host'],
                'follow_id': answer['follow_id'], 'data': answer['data'],
                'gap': bool(answer['gap']), 'ended': bool(answer['ended']),
                'retry_after': answer.get('retry_after', 0.0)}

    def end_console_follow(self, ctx, instance_uuid, host, follow_id):
        """Close the follower ``follow_id`` on ``host`` now (a cast).

        Never raises for a host that is down or an unknown id: the
        follower expires there by itself.

        :raises nova.exception.Invalid: an argument is not a string.
        """
        if not (isinstance(instance_uuid, str) and isinstance(host, str) and
                isinstance(follow_id, str)):
            raise exception.Invalid(
                reason='end_console_follow needs the instance uuid, host '
                       'and follow id as strings')
        admin = nova_context.get_admin_context()
        self.compute_rpcapi.end_console_follow(
            admin, host, objects.Instance(uuid=instance_uuid, host=host),
            follow_id)
