"""A soft reboot starts the domain again (after the guest shut down) the
way every other start does: through LibvirtDriver._start, with the
instance-file checks first."""

import os

import fixtures
import libvirt

from nova import exception
from nova.tests.unit.virt.libvirt import test_driver


class SoftRebootFilesTestCase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        instances = os.path.join(self.root, 'instances')
        os.makedirs(instances, mode=0o755)
        self.flags(instances_path=instances)
        self.flags(wait_soft_reboot_seconds=2, group='libvirt')
        self.inst = self._instance()
        self._spawn(self.inst)
        self.starts = []
        real_create = libvirt.virDomain.create

        def create(dom):
            self.starts.append(dom.UUIDString())
            return real_create(dom)
        self.useFixture(fixtures.MonkeyPatch('libvirt.virDomain.create',
                                             create))

    def test_soft_reboot_refuses_a_planted_log_link(self):
        log = self.driver.console_log_path(self.inst)
        target = os.path.join(self.root, 'host-file')
        open(target, 'w').close()
        if os.path.lexists(log):
            os.unlink(log)
        os.symlink(target, log)
        # test:///default: the guest obeys shutdown() at once, so the
        # soft path restarts it itself.
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              self.driver.reboot, None, self.inst,
                              reboot_type='SOFT')
        self.assertEqual(log, e.kwargs['path'])
        self.assertEqual([], self.starts)

    def test_soft_reboot_refuses_a_linked_folder(self):
        folder = self.driver.instance_dir(self.inst)
        os.rename(folder, folder + '.moved')
        os.symlink(folder + '.moved', folder)
        self.assertRaises(exception.InstanceFileUnsafe, self.driver.reboot,
                          None, self.inst, reboot_type='SOFT')
        self.assertEqual([], self.starts)

    def test_clean_soft_reboot_starts_through_the_checks(self):
        self.driver.reboot(None, self.inst, reboot_type='SOFT')
        self.assertEqual([self.inst.uuid], self.starts)
        self.assertTrue(self.driver.is_running(self.inst))
