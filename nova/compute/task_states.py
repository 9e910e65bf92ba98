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

# The tasks this code base runs (SCHEDULING is not one: the host is
# chosen before the instance row exists).
ALL = (SPAWNING, REBOOTING, REBOOTING_HARD, REBUILDING, DELETING,
       MIGRATING)

# A reboot's task state, by its reboot_type.
REBOOT_TASK_STATES = {'SOFT': REBOOTING, 'HARD': REBOOTING_HARD}

# os-stop / os-start (compute RPC 2.5): Nova's values, with a hyphen.
POWERING_OFF = 'powering-off'
POWERING_ON = 'powering-on'
POWER_TASKS = (POWERING_OFF, POWERING_ON)
ALL = ALL + POWER_TASKS
