"""os-stop and os-start on the real stack (issue 13: tempest's compute
run found them missing): nova-all against qemu:///system, one host, a
user's REST calls. A stopped guest's console log stays readable; the
started guest appends to it, so the history is there once, followed by
the new boot's banner."""

import time

from nova.tests.functional import test_api

BANNER = 'NOVA-GUEST-BANNER'


class StopStartTestCase(test_api.APITestCase):
    def action(self, server, body, version='2.1'):
        return self.services.request('POST', '/servers/%s/action'
                                     % server.id, body, version=version)

    def wait_status(self, server, status, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.conn.compute.get_server(server.id)
            if server.status == 'ERROR':
                self.fail('server went to ERROR: %s' % server.fault)
            if server.status == status and not server.task_state:
                return server
            time.sleep(0.5)
        self.fail('server %s not %s within %d s: %s/%s' % (
            server.id, status, timeout, server.status, server.task_state))

    def test_stop_start_keeps_the_console_log(self):
        server = self.boot()
        self.wait_output(server, BANNER)
        # The shell prints 'mark-42' once; the command line it echoes
        # does not contain it.
        self.shell(self.remote_console_url(server)).run(
            'echo mark-$((6*7))')
        before = self.wait_output(server, 'mark-42')

        status, body = self.action(server, {'os-stop': None})
        self.assertEqual(202, status, body)
        server = self.wait_status(server, 'SHUTOFF')
        self.assertEqual(4, server.power_state)  # SHUTDOWN
        stopped = self.console_output(server)
        self.assertTrue(stopped.startswith(before[:200]))
        self.assertEqual(1, stopped.count('mark-42'))
        self.assertEqual(1, stopped.count(BANNER))
        # No console to connect to: Nova's InstanceNotReady, 409.
        status, body = self.action(
            server, {'os-getSerialConsole': {'type': 'serial'}})
        self.assertEqual(409, status, body)
        # Stopped twice, started while stopped only.
        status, body = self.action(server, {'os-stop': None})
        self.assertEqual(409, status, body)
        self.assertIn("Cannot 'stop' instance %s while it is in vm_state "
                      "stopped" % server.id, str(body))

        status, body = self.action(server, {'os-start': None})
        self.assertEqual(202, status, body)
        server = self.wait_active(server)
        output = self.wait_output(server, BANNER, count=2)
        # The history once, then the new boot's banner after it.
        self.assertEqual(1, output.count('mark-42'))
        self.assertEqual(2, output.count(BANNER))
        self.assertLess(output.index('mark-42'), output.rindex(BANNER))
        self.assertTrue(output.startswith(stopped[:200]))
        # The started guest's console works again.
        console = self.shell(self.remote_console_url(server))
        self.assertEqual(b'again\n', console.run('echo again'))
        status, body = self.action(server, {'os-start': None})
        self.assertEqual(409, status, body)
