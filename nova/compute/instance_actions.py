"""What was done to a server, as Nova records it (os-instance-actions).

The compute API starts an action for each request on a server
(:func:`action_start`, one line per request: create, reboot, rebuild,
delete, live-migration, lock, unlock), with the request's id and
caller. The conductor adds the host's part as an event
(:func:`event_start` when it casts, :func:`event_finish` when the
host's outcome comes): ``compute_build_and_run_instance``,
``compute_reboot_instance``, ``compute_rebuild_instance``,
``compute_terminate_instance``, ``compute_live_migration``; result
'Success' or 'Error', and an 'Error' event makes the action's message
'Error', as Nova's.

Recording never fails the request it records: a database error is
logged and the action goes on.
"""

from oslo_log import log as logging

from nova.db import api as db

LOG = logging.getLogger(__name__)

# Nova's action names (nova/compute/instance_actions.py).
CREATE = 'create'
DELETE = 'delete'
REBOOT = 'reboot'
REBUILD = 'rebuild'
LIVE_MIGRATION = 'live-migration'
LOCK = 'lock'
UNLOCK = 'unlock'
# -- shv
SHELVE = 'shelve'
SHELVE_OFFLOAD = 'shelveOffload'
UNSHELVE = 'unshelve'
# -- resize: Nova's names.
MIGRATE = 'migrate'
RESIZE = 'resize'
CONFIRM_RESIZE = 'confirmResize'
REVERT_RESIZE = 'revertResize'

# The event of the host's part of each action, Nova's names.
EVENTS = {
    CREATE: 'compute_build_and_run_instance',
    REBOOT: 'compute_reboot_instance',
    REBUILD: 'compute_rebuild_instance',
    DELETE: 'compute_terminate_instance',
    LIVE_MIGRATION: 'compute_live_migration',
    # -- shv
    SHELVE: 'compute_shelve_instance',
    SHELVE_OFFLOAD: 'compute_shelve_offload_instance',
    UNSHELVE: 'compute_unshelve_instance',
    MIGRATE: 'compute_resize_instance',
    RESIZE: 'compute_resize_instance',
    CONFIRM_RESIZE: 'compute_confirm_resize',
    REVERT_RESIZE: 'compute_revert_resize',
}

# os-stop / os-start, Nova's action and event names.
STOP = 'stop'
START = 'start'
EVENTS.update({STOP: 'compute_stop_instance',
               START: 'compute_start_instance'})

SUCCESS = 'Success'
ERROR = 'Error'


def action_start(ctx, instance_uuid, action):
    """Record that ``ctx``'s request started ``action`` on the instance;
    the action (a dict), or None when it could not be recorded."""
    try:
        return db.action_start({
            'action': action, 'instance_uuid': instance_uuid,
            'request_id': ctx.request_id, 'user_id': ctx.user_id,
            'project_id': ctx.project_id})
    except Exception as e:
        LOG.warning('Action %s of server %s not recorded: %s', action,
                    instance_uuid, e)
        return None


def event_start(instance_uuid, action, host):
    """The host's part of the newest ``action`` starts on ``host``."""
    try:
        return db.action_event_start(instance_uuid, action, EVENTS[action],
                                     host)
    except Exception as e:
        LOG.warning('Event of action %s of server %s not recorded: %s',
                    action, instance_uuid, e)
        return None


def event_finish(instance_uuid, action, host=None, fault=None):
    """The host's part of the newest ``action`` ended: 'Success', or
    'Error' with ``fault`` (the user's message, never a traceback)."""
    try:
        return db.action_event_finish(
            instance_uuid, action, EVENTS[action],
            SUCCESS if fault is None else ERROR, traceback=fault,
            host=host)
    except Exception as e:
        LOG.warning('End of action %s of server %s not recorded: %s',
                    action, instance_uuid, e)
        return None


def action_finish(instance_uuid, action, fault=None):
    """Alias of :func:`event_finish` for callers outside a host's part."""
    return event_finish(instance_uuid, action, fault=fault)
