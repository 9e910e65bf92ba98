"""Server status and task states, as the API shows them."""

# Status.
BUILD = 'BUILD'
ACTIVE = 'ACTIVE'
ERROR = 'ERROR'
REBOOT = 'REBOOT'
HARD_REBOOT = 'HARD_REBOOT'
REBUILD = 'REBUILD'
MIGRATING = 'MIGRATING'

# Task states: the action in progress, None when there is none.
SPAWNING = 'spawning'
REBOOTING = 'rebooting'
REBOOTING_HARD = 'rebooting_hard'
REBUILDING = 'rebuilding'
DELETING = 'deleting'
LIVE_MIGRATING = 'migrating'
TASK_STATES = (SPAWNING, REBOOTING, REBOOTING_HARD, REBUILDING, DELETING,
               LIVE_MIGRATING)

# reboot_type -> (status, task_state) while it runs.
REBOOT_STATES = {'SOFT': (REBOOT, REBOOTING),
                 'HARD': (HARD_REBOOT, REBOOTING_HARD)}
