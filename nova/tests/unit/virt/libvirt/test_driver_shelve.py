"""LibvirtDriver's '# Snapshot and shelve' section on libvirt's test
driver: the order of the steps and what each failure leaves."""

import os
from unittest import mock

from nova import exception
from nova.objects import shelve as shelve_obj
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import snapshot


class ShelveDriverTestCase(test_driver.DriverTestBase):
    def test_a_guest_without_a_disk_saves_nothing(self):
        inst = self._instance()
        self._spawn(inst)
        with mock.patch.object(snapshot, 'save_disk') as save:
            self.assertFalse(self.driver.snapshot_for_shelve(
                None, inst, 'img-x'))
        save.assert_not_called()
        self.assertFalse(self.driver.is_running(inst))  # stopped
        self.assertTrue(self.driver.instance_exists(inst))

    def test_offload_reads_the_log_then_destroys_everything(self):
        inst = self._instance()
        self._spawn(inst)
        folder = self.driver.instance_dir(inst)
        with open(os.path.join(folder, 'console.log'), 'wb') as f:
            f.write(b'boot\n')
        log = self.driver.read_console_log_for_shelve(inst)
        self.assertEqual(b'boot\n', log.history())
        self.assertEqual(self.virtlogd, log.virtlogd)
        self.driver.shelve_offload(None, inst)
        self.assertFalse(self.driver.instance_exists(inst))
        self.assertFalse(os.path.exists(folder))
        self.assertIsNone(self.driver.read_console_log_for_shelve(inst))

    def test_unshelve_writes_the_log_back_before_the_guest_starts(self):
        inst = self._instance()
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log', b'history\n')])
        seen = []

        def spawn(context, instance, image_meta):
            seen.append(sorted(os.listdir(self.driver.instance_dir(inst))))
        with mock.patch.object(self.driver, 'spawn', side_effect=spawn):
            self.driver.unshelve(None, inst, inst.image_meta, None, log)
        self.assertEqual([['console.log.0']], seen)

    def test_unshelve_on_a_host_without_virtlogd_keeps_the_names(self):
        self.virtlogd = False
        inst = self._instance()
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log', b'history\n')], virtlogd=False)
        with mock.patch.object(self.driver, 'spawn'):
            self.driver.unshelve(None, inst, inst.image_meta, None, log)
        with open(os.path.join(self.driver.instance_dir(inst),
                               'console.log'), 'rb') as f:
            self.assertEqual(b'history\n', f.read())

    def test_a_bad_log_never_stops_the_unshelve(self):
        inst = self._instance()
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log', b'history\n')])
        log.sizes = [3]  # not what its data holds
        with mock.patch.object(self.driver, 'spawn') as spawn:
            lost = self.driver.unshelve(None, inst, inst.image_meta, None,
                                        log)
        spawn.assert_called_once()
        self.assertIn('not written back', lost)
        self.assertEqual([], os.listdir(self.driver.instance_dir(inst)))

    def test_a_failed_unshelve_leaves_nothing_here(self):
        inst = self._instance()
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log', b'history\n')])
        with mock.patch.object(self.driver, 'spawn', side_effect=(
                exception.InstanceBootFailed(instance_uuid=inst.uuid,
                                             reason='no room'))):
            self.assertRaises(exception.InstanceBootFailed,
                              self.driver.unshelve, None, inst,
                              inst.image_meta, None, log)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))

    def test_unshelve_of_a_guest_defined_here_is_refused(self):
        inst = self._instance()
        self._spawn(inst)
        self.assertRaises(exception.UnshelveFailed, self.driver.unshelve,
                          None, inst, inst.image_meta, None, None)
        self.assertTrue(self.driver.is_running(inst))
