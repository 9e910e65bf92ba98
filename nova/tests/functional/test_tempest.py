"""Stock tempest (tools/run-tempest.sh) against nova-all, Keystone, Glance.

Tempest finds the compute API in Keystone's catalog (it has no endpoint
override), so this test's nova-all listens where the catalog says:
127.0.0.1:8774 (tools/setup-keystone.sh's default). Its image is the tiny
guest uploaded to Glance with ``openstack image create``. Nothing of
tempest is patched; the counts are those tempest's own run reports.
"""

import os
import re
import socket
import subprocess

from nova.tests.functional import base
from nova.tests.functional import test_openstack_cli

RUN_TEMPEST = os.path.join(base.REPO, 'tools', 'run-tempest.sh')
CATALOG_PORT = 8774
SERVER_ACTIONS = 'tempest.api.compute.servers.test_server_actions.'
# The two console-output tests of the blueprint.
CONSOLE_OUTPUT_TESTS = (
    SERVER_ACTIONS + r'ServerActionsTestJSON\.test_get_console_output\[',
    SERVER_ACTIONS + r'ServerActionsTestOtherB\.'
    r'test_get_console_output_with_unlimited_size\[')
# Skipped by tempest unless [service_available] neutron = true.
NEGATIVE_CONSOLE_OUTPUT_TEST = (
    r'tempest\.api\.compute\.servers\.test_servers_negative\.'
    r'ServersNegativeTestJSON\.'
    r'test_get_console_output_of_non_existent_server\[')
COUNTS = re.compile(r'^(\d+) passed, (\d+) failed, (\d+) skipped$', re.M)


class TempestTestCase(test_openstack_cli.ClientsTestCase):
    # Where the catalog sends tempest.
    API_PORT = CATALOG_PORT

    def setUp(self):
        with socket.socket() as sock:
            # (as the API server binds: a closed connection's TIME_WAIT
            # does not take the port)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(('127.0.0.1', CATALOG_PORT))
            except OSError as e:
                self.fail('127.0.0.1:%d (the catalog\'s compute endpoint) '
                          'is taken: %s' % (CATALOG_PORT, e))
        super().setUp()
        # The tiny guest uploaded to Glance, as tempest's image_ref.
        self.image_id = self.upload_guest()

    def run_tempest(self, *args):
        proc = subprocess.run(
            [RUN_TEMPEST, '--image', self.image_id, '--image-alt',
             self.image_id, '--flavor', '1', '--flavor-alt', '2'] +
            list(args), capture_output=True, text=True, timeout=1800,
            stdin=subprocess.DEVNULL)
        counts = COUNTS.findall(proc.stdout)
        self.assertTrue(counts, 'no counts from run-tempest.sh (exit %d):\n'
                        '%s\n%s' % (proc.returncode, proc.stdout[-4000:],
                                    proc.stderr[-2000:]))
        return proc, tuple(int(n) for n in counts[-1])

    def test_console_output_tests_pass_stock(self):
        proc, counts = self.run_tempest(*CONSOLE_OUTPUT_TESTS)
        self.assertEqual((2, 0, 0), counts, proc.stdout[-6000:])
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])

    def test_negative_console_output_test_runs_with_neutron_claimed(self):
        # Tempest asks only for the flag: with pre-provisioned accounts it
        # makes no network and calls no network API for this test.
        proc, counts = self.run_tempest('--neutron-claimed',
                                        NEGATIVE_CONSOLE_OUTPUT_TEST)
        self.assertEqual((1, 0, 0), counts, proc.stdout[-6000:])
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])
        # ... and without the flag, tempest skips it.
        proc, counts = self.run_tempest(NEGATIVE_CONSOLE_OUTPUT_TEST)
        self.assertEqual((0, 0, 1), counts, proc.stdout[-6000:])

    def test_stop_start_server_passes_stock(self):
        # Issue 13: os-stop/os-start were 400 "no such action".
        proc, counts = self.run_tempest(
            SERVER_ACTIONS + r'ServerActionsTestJSON\.'
            r'test_stop_start_server\[')
        self.assertEqual((1, 0, 0), counts, proc.stdout[-6000:])
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])
