"""The stable states of an instance (Nova's ``vm_state`` values).

An instance is in one of these states in the database; what it is doing
meanwhile is its task state (``nova.compute.task_states``). The REST API
shows neither directly: its ``status`` is derived from both
(``nova.api.openstack.common.status_from_state``).
"""

BUILDING = 'building'  # created, its first boot not finished yet
ACTIVE = 'active'  # its guest runs on its host
STOPPED = 'stopped'  # os-stop powered its guest off; os-start boots it
ERROR = 'error'  # the last action failed; its fault says why
RESIZED = 'resized'  # resized or cold migrated, to confirm or revert

# -- shelve (Nova's values): a shelved guest is stopped on its host, its
# disk also saved as an image; an offloaded one has no host at all, only
# that image (and its console log in the database, see
# nova.conductor.shelve).
SHELVED = 'shelved'
SHELVED_OFFLOADED = 'shelved_offloaded'
