"""What an instance is doing now (Nova's ``task_state`` values).

None when it does nothing. At most one task runs on an instance; the
database changes it only from the task state the caller expects
(``nova.db.api.instance_update``), so two racing requests never both
win.
"""

SCHEDULING = 'scheduling'
SPAWNING = 'spawning'
REBOOTING = 'rebooting'
REBOOTING_HARD = 'rebooting_hard'
REBUILDING = 'rebuilding'
DELETING = 'deleting'
MIGRATING = 'migrating'
# -- shelve (Nova's values)
SHELVING = 'shelving'
SHELVING_IMAGE_PENDING_UPLOAD = 'shelving_image_pending_upload'
SHELVING_IMAGE_UPLOADING = 'shelving_image_uploading'
SHELVING_OFFLOADING = 'shelving_offloading'
UNSHELVING = 'unshelving'
# Cold migration and resize (Nova's names and values): the conductor
# prepares the destination (prep), the source stops the guest and copies
# its folder (migrating, migrated), the destination starts it (finish);
# a resized server is then confirmed or reverted.
RESIZE_PREP = 'resize_prep'
RESIZE_MIGRATING = 'resize_migrating'
RESIZE_MIGRATED = 'resize_migrated'
RESIZE_FINISH = 'resize_finish'
RESIZE_REVERTING = 'resize_reverting'
RESIZE_CONFIRMING = 'resize_confirming'
RESIZE_STATES = (RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED,
                 RESIZE_FINISH, RESIZE_REVERTING, RESIZE_CONFIRMING)

# The tasks this code base runs (SCHEDULING is not one: the host is
# chosen before the instance row exists).
ALL = (SPAWNING, REBOOTING, REBOOTING_HARD, REBUILDING, DELETING,
       MIGRATING) + RESIZE_STATES
# The shelve tasks (nova.conductor.shelve); also in ALL, so a delete may
# take over from them and the conductor's recovery sees them.
SHELVE_TASKS = (SHELVING, SHELVING_IMAGE_PENDING_UPLOAD,
                SHELVING_IMAGE_UPLOADING, SHELVING_OFFLOADING, UNSHELVING)
ALL = ALL + SHELVE_TASKS

# A reboot's task state, by its reboot_type.
REBOOT_TASK_STATES = {'SOFT': REBOOTING, 'HARD': REBOOTING_HARD}

# os-stop / os-start (compute RPC 2.5): Nova's values, with a hyphen.
POWERING_OFF = 'powering-off'
POWERING_ON = 'powering-on'
POWER_TASKS = (POWERING_OFF, POWERING_ON)
ALL = ALL + POWER_TASKS
