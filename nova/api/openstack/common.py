"""What the REST API shows of an instance's state.

The database holds Nova's ``vm_state`` and ``task_state``; a server's
``status`` is derived from them here, with Nova's mapping, for the
server bodies, for the ``?status=`` filter and for the state named in
the messages of 409 answers.
"""

from nova.compute import task_states
from nova.compute import vm_states

UNKNOWN = 'UNKNOWN'

# vm_state -> {task_state: status}; 'default' is the status of any other
# task state (None included). A deleting instance shows its vm_state's
# default, the status it had before the delete.
_STATE_MAP = {
    vm_states.BUILDING: {
        'default': 'BUILD',
    },
    vm_states.ACTIVE: {
        'default': 'ACTIVE',
        task_states.REBOOTING: 'REBOOT',
        task_states.REBOOTING_HARD: 'HARD_REBOOT',
        task_states.REBUILDING: 'REBUILD',
        task_states.MIGRATING: 'MIGRATING',
        task_states.RESIZE_PREP: 'RESIZE',
        task_states.RESIZE_MIGRATING: 'RESIZE',
        task_states.RESIZE_MIGRATED: 'RESIZE',
        task_states.RESIZE_FINISH: 'RESIZE',
    },
    vm_states.RESIZED: {
        'default': 'VERIFY_RESIZE',
        task_states.RESIZE_REVERTING: 'REVERT_RESIZE',
    },
    vm_states.STOPPED: {
        'default': 'SHUTOFF',
        # A hard reboot starts a stopped server, as in Nova.
        task_states.REBOOTING_HARD: 'HARD_REBOOT',
    },
    vm_states.ERROR: {
        'default': 'ERROR',
        task_states.REBUILDING: 'REBUILD',
        # Nova shows ERROR here; a hard reboot of an instance in ERROR
        # has always shown HARD_REBOOT in this API, and still does.
        task_states.REBOOTING_HARD: 'HARD_REBOOT',
    },
    # -- shelve: Nova's statuses (a shelve in progress shows ACTIVE's
    # default, as Nova's ACTIVE map has no shelving entry).
    vm_states.SHELVED: {
        'default': 'SHELVED',
    },
    vm_states.SHELVED_OFFLOADED: {
        'default': 'SHELVED_OFFLOADED',
    },
}


def status_from_state(vm_state, task_state=None):
    """The API status (e.g. 'ACTIVE', 'REBOOT') of an instance in
    ``vm_state`` doing ``task_state``; 'UNKNOWN' for a vm_state the API
    does not know."""
    task_map = _STATE_MAP.get(vm_state)
    if task_map is None:
        return UNKNOWN
    return task_map.get(task_state, task_map['default'])


def status_of(instance):
    """The API status of an instance dict (``vm_state``, ``task_state``)."""
    return status_from_state(instance.get('vm_state'),
                             instance.get('task_state'))
