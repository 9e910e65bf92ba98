"""nova-compute as the unprivileged user ``nova`` on the real stack.

nova-all (and so nova-compute) runs with uid/gid ``nova``
(nova.tests.functional.unprivileged); virtlogd writes the console log
root's and 0600, so console output reads it through the privsep daemon.
Before nova.privsep, console output failed here ("Permission denied").
"""

import os
import re
import stat

from nova.tests.functional import base
from nova.tests.functional import test_api
from nova.tests.functional import unprivileged


class _Unprivileged(test_api.APITestCase):
    SERVICES = unprivileged.NovaServices

    def assertRunsAsNova(self):
        uid = self.services.user.pw_uid
        self.assertNotEqual(0, uid)
        self.assertEqual([uid] * 4, self.services.uid_of_nova_all())

    def log_files(self, server):
        folder = os.path.join(self.services.workdir, 'instances', server.id)
        return folder, sorted(n for n in os.listdir(folder)
                              if n.startswith('console.log'))

    def assertRootOnly(self, path):
        """As virtlogd makes it: nova itself cannot read it."""
        st = os.lstat(path)
        self.assertEqual((0, 0o600), (st.st_uid, stat.S_IMODE(st.st_mode)))
        proc = unprivileged.run_as_nova(['cat', path])
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('Permission denied', proc.stderr)


class ConsolesTestCase(_Unprivileged):
    """The real-hypervisor console tests of test_api, nova-all as nova."""

    def test_console_output_and_serial_console_together(self):
        self.assertRunsAsNova()
        test_api.ServerLifecycleTestCase.\
            test_console_output_and_serial_console_together(self)
        server = next(self.conn.compute.servers())
        folder, names = self.log_files(server)
        self.assertEqual(['console.log'], names)
        self.assertRootOnly(os.path.join(folder, 'console.log'))
        st = os.lstat(folder)
        self.assertEqual((self.services.user.pw_uid, 0o700),
                         (st.st_uid, stat.S_IMODE(st.st_mode)))

    def test_hard_reboot_rebuild_delete(self):
        self.assertRunsAsNova()
        test_api.ServerLifecycleTestCase.test_hard_reboot_rebuild_delete(
            self)


class RotatedLogTestCase(_Unprivileged):
    """Console output across virtlogd's rotated, root-only files."""

    MAX_SIZE = 32 * 1024
    MAX_BACKUPS = 3

    def setUp(self):
        super().setUp()
        # virtlogd applies it at once, to logs already open too.
        base.set_virtlogd(self.MAX_SIZE, self.MAX_BACKUPS)
        self.addCleanup(base.set_virtlogd, base.VIRTLOGD_DEFAULT_MAX_SIZE,
                        base.VIRTLOGD_DEFAULT_MAX_BACKUPS)

    def test_output_across_rotated_files(self):
        self.assertRunsAsNova()
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        console = self.shell(self.remote_console_url(server))
        lines = 2000  # 64 bytes a line: about 4 max_size worth
        console.run('chatty %d' % lines, timeout=300)
        output = self.wait_output(server, 'SEQ %06d' % lines, timeout=300)

        folder, names = self.log_files(server)
        self.assertIn('console.log.0', names)
        for name in names:
            self.assertRootOnly(os.path.join(folder, name))
        numbers = [int(n) for n in re.findall(r'SEQ (\d{6}) ', output)]
        # More than the newest file holds: the backups were read too.
        self.assertGreater(len(numbers) * 64, self.MAX_SIZE)
        # In order, nothing missing, ending with the newest line.
        self.assertEqual(list(range(numbers[0], numbers[0] + len(numbers))),
                         numbers)
        self.assertEqual(lines, numbers[-1])
