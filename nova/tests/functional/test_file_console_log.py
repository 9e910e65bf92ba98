"""A host without virtlogd and without the serial console: QEMU writes
the guest's console.log itself (``<serial type="file">``), on real
libvirt/QEMU.

QEMU opens that file at every start of the domain. Unless the device
says ``<source append="on"/>`` it truncates it: the history a resize,
an unshelve or a migration carried to this host, and the boots before a
hard reboot, would be gone.
"""

import os

from nova.tests.functional import base


class FileLogHistoryTestCase(base.FunctionalTestCase):
    serial_enabled = False

    def setUp(self):
        super().setUp()
        self.force_old_host()
        self.assertEqual('file', self.driver.console_log_mode())

    def test_a_log_that_arrived_before_the_start_is_kept(self):
        inst = self.make_instance()
        # What a resize, unshelve or migration leaves for the guest.
        path = self.driver.console_log_path(inst)
        os.makedirs(os.path.dirname(path), mode=0o700)
        history = b'HISTORY FROM THE OTHER HOST\n' * 100
        with open(path, 'wb') as f:
            f.write(history)
        os.chmod(path, 0o600)
        self.boot(inst)
        output = self.wait_for_output(inst, base.BANNER)
        self.assertTrue(output.startswith(history), output[:200])
        live = self.driver._parse_domain(self.driver.host.get_domain(inst))
        self.assertEqual([('file', True), ('pty', None)], [
            (d.type, d.source_append) for d in live.char_devices
            if d.root_name == 'serial'])

    def test_a_hard_reboot_keeps_the_boots_before(self):
        inst = self.boot()
        first = self.wait_for_output(inst, base.BANNER)
        self.driver.reboot(None, inst, reboot_type='HARD')
        output = self.wait_for_output(inst, base.BANNER, count=2)
        self.assertTrue(output.startswith(
            first[:first.index(b'NOVA-GUEST-BANNER')]), output[:200])
