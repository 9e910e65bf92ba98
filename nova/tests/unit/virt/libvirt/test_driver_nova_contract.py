"""What code written against Nova's libvirt driver relies on: the
console output limit's name, and a soft reboot that falls back to a hard
one (on libvirt's test:///default)."""

import logging
from unittest import mock

import fixtures
import libvirt

from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import console_log
from nova.virt.libvirt import driver as libvirt_driver


class MaxConsoleBytesTestCase(test_driver.DriverTestBase):
    def test_importable_from_the_driver_with_novas_value(self):
        from nova.virt.libvirt.driver import MAX_CONSOLE_BYTES
        self.assertEqual(100 * 1024, MAX_CONSOLE_BYTES)
        # One number: the reader's default is the driver's constant.
        self.assertIs(console_log.MAX_CONSOLE_BYTES, MAX_CONSOLE_BYTES)

    def test_console_output_is_cut_to_it(self):
        inst = self._instance()
        self._spawn(inst)
        limit = libvirt_driver.MAX_CONSOLE_BYTES
        with open(self.driver.console_log_path(inst), 'wb') as f:
            f.write(b'a' * 10 + b'b' * limit)
        output = self.driver.get_console_output(None, inst)
        self.assertEqual(b'b' * limit, output)
        # The driver reads its own name, not a number of its own.
        with mock.patch.object(libvirt_driver, 'MAX_CONSOLE_BYTES', 7):
            self.assertEqual(b'b' * 7,
                             self.driver.get_console_output(None, inst))


class SoftRebootTestCase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.flags(wait_soft_reboot_seconds=1, group='libvirt')
        self.inst = self._instance()
        self._spawn(self.inst)
        self.dom = self.driver.host.get_domain(self.inst)
        self.first_id = self.dom.ID()

    def _ignore_acpi(self):
        # A guest without ACPI support: the request is delivered (libvirt
        # returns success) and nothing happens.
        for name in ('shutdown', 'reboot'):
            self.useFixture(fixtures.MockPatchObject(
                libvirt.virDomain, name, return_value=0))

    def test_option_has_novas_name_and_default(self):
        conf = self.conf.conf
        conf.clear_override('wait_soft_reboot_seconds', group='libvirt')
        self.assertEqual(120, conf.libvirt.wait_soft_reboot_seconds)

    def test_guest_ignoring_acpi_is_rebooted_hard_after_the_wait(self):
        self._ignore_acpi()
        with mock.patch.object(self.driver, '_hard_reboot',
                               wraps=self.driver._hard_reboot) as hard:
            self.driver.reboot(None, self.inst, reboot_type='SOFT')
        hard.assert_called_once_with(self.inst, None)  # the context
        self.assertTrue(self.driver.is_running(self.inst))
        dom = self.driver.host.get_domain(self.inst)
        self.assertNotEqual(self.first_id, dom.ID())
        self.assertIn('did not shut down within 1 s of a soft reboot '
                      'request; rebooting hard', self.logs.output)

    def test_guest_that_shuts_down_is_started_again_not_hard(self):
        with mock.patch.object(self.driver, '_hard_reboot') as hard:
            self.driver.reboot(None, self.inst, reboot_type='SOFT')
        hard.assert_not_called()
        dom = self.driver.host.get_domain(self.inst)
        self.assertTrue(dom.isActive())
        self.assertNotEqual(self.first_id, dom.ID())
        self.assertIn('shut down for a soft reboot', self.logs.output)

    def test_guest_that_reboots_by_itself_is_left_alone(self):
        def restart(flags=0):
            # The guest handles the request with a reboot of its own.
            dom = self.driver.host.get_domain(self.inst)
            dom.destroy()
            dom.create()
            return 0
        with mock.patch.object(libvirt.virDomain, 'shutdown',
                               side_effect=restart), \
                mock.patch.object(self.driver, '_hard_reboot') as hard:
            self.driver.reboot(None, self.inst, reboot_type='SOFT')
        hard.assert_not_called()
        self.assertIn('rebooted by itself', self.logs.output)

    def test_zero_wait_means_hard_at_once(self):
        self._ignore_acpi()
        self.flags(wait_soft_reboot_seconds=0, group='libvirt')
        with mock.patch.object(self.driver, '_hard_reboot') as hard:
            self.driver.reboot(None, self.inst, reboot_type='SOFT')
        hard.assert_called_once_with(self.inst, None)  # the context

    def test_stopped_guest_is_rebooted_hard(self):
        self.driver.power_off(self.inst)
        self.driver.reboot(None, self.inst, reboot_type='SOFT')
        self.assertTrue(self.driver.is_running(self.inst))
