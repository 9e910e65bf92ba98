"""What code written against Nova's libvirt driver relies on: the
console output limit's name (on libvirt's test:///default)."""

from unittest import mock

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
