"""The API status of an instance, from its vm_state and task_state."""

from nova.api.openstack import common
from nova.compute import task_states
from nova.compute import vm_states
from nova import test


class StatusFromStateTestCase(test.TestCase):
    def test_nova_mapping(self):
        for vm_state, task, status in [
                (vm_states.BUILDING, task_states.SPAWNING, 'BUILD'),
                (vm_states.BUILDING, None, 'BUILD'),
                (vm_states.ACTIVE, None, 'ACTIVE'),
                (vm_states.ACTIVE, task_states.REBOOTING, 'REBOOT'),
                (vm_states.ACTIVE, task_states.REBOOTING_HARD,
                 'HARD_REBOOT'),
                (vm_states.ACTIVE, task_states.REBUILDING, 'REBUILD'),
                (vm_states.ACTIVE, task_states.MIGRATING, 'MIGRATING'),
                (vm_states.ERROR, None, 'ERROR'),
                (vm_states.ERROR, task_states.REBUILDING, 'REBUILD'),
                (vm_states.STOPPED, None, 'SHUTOFF')]:
            self.assertEqual(status,
                             common.status_from_state(vm_state, task),
                             (vm_state, task))

    def test_hard_reboot_of_an_error_shows_hard_reboot(self):
        # As this API always showed it (Nova would show ERROR).
        self.assertEqual('HARD_REBOOT', common.status_from_state(
            vm_states.ERROR, task_states.REBOOTING_HARD))

    def test_deleting_shows_the_vm_state(self):
        for vm_state, status in [(vm_states.BUILDING, 'BUILD'),
                                 (vm_states.ACTIVE, 'ACTIVE'),
                                 (vm_states.ERROR, 'ERROR')]:
            self.assertEqual(status, common.status_from_state(
                vm_state, task_states.DELETING))

    def test_unknown_vm_state(self):
        self.assertEqual('UNKNOWN', common.status_from_state('paused'))
        self.assertEqual('UNKNOWN', common.status_of({}))

    def test_status_of_an_instance_dict(self):
        self.assertEqual('REBOOT', common.status_of(
            {'vm_state': 'active', 'task_state': 'rebooting', 'x': 1}))
