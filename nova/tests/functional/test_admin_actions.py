"""The admin APIs of issue 13's part "admin" that reach the driver, on the
real stack (nova-all against qemu:///system, one host): a running
guest's diagnostics from libvirt (409 once stopped), the compute host's
``uptime`` line, and the rebuild of a stopped server, which stays
SHUTOFF, its guest not started, its console log kept."""

from nova.tests.functional import services
from nova.tests.functional import test_api
from nova.tests.functional import test_stop_start

ADMIN = 'admin:admin'
BANNER = test_stop_start.BANNER


class AdminAPIsTestCase(test_api.APITestCase):
    action = test_stop_start.StopStartTestCase.action
    wait_status = test_stop_start.StopStartTestCase.wait_status

    def test_diagnostics_of_a_running_guest(self):
        server = self.boot()
        self.wait_output(server, BANNER)
        status, body = self.services.request(
            'GET', '/servers/%s/diagnostics' % server.id, token=ADMIN)
        self.assertEqual(200, status, body)
        # libvirt's counters, named as Nova's libvirt driver names them.
        self.assertGreater(body['cpu0_time'], 0)
        self.assertGreater(body['memory'], 0)
        self.assertTrue(all(isinstance(v, (int, float))
                            for v in body.values()), body)
        status, body = self.services.request(
            'GET', '/servers/%s/diagnostics' % server.id)
        self.assertEqual(403, status, body)

        status, body = self.action(server, {'os-stop': None})
        self.assertEqual(202, status, body)
        self.wait_status(server, 'SHUTOFF')
        status, body = self.services.request(
            'GET', '/servers/%s/diagnostics' % server.id, token=ADMIN)
        self.assertEqual(409, status, body)

    def test_hypervisor_uptime_is_the_hosts(self):
        status, body = self.services.request('GET', '/os-hypervisors',
                                             token=ADMIN)
        self.assertEqual(200, status, body)
        hypervisor = body['hypervisors'][0]
        status, body = self.services.request(
            'GET', '/os-hypervisors/%s/uptime' % hypervisor['id'],
            token=ADMIN)
        self.assertEqual(200, status, body)
        # procps' line in the C locale.
        self.assertRegex(body['hypervisor']['uptime'],
                         r'^\d\d:\d\d:\d\d up .*, +load average: '
                         r'[0-9.]+, [0-9.]+, [0-9.]+$')

    def test_rebuild_of_a_stopped_server(self):
        server = self.boot()
        self.wait_output(server, BANNER)
        self.shell(self.remote_console_url(server)).run(
            'echo mark-$((6*7))')
        self.wait_output(server, 'mark-42')
        status, body = self.action(server, {'os-stop': None})
        self.assertEqual(202, status, body)
        server = self.wait_status(server, 'SHUTOFF')
        stopped = self.console_output(server)

        status, body = self.action(
            server, {'rebuild': {'imageRef': services.IMAGE_ID}})
        self.assertEqual(202, status, body)
        server = self.wait_status(server, 'SHUTOFF')
        self.assertEqual(4, server.power_state)  # SHUTDOWN
        # Not started: the log is the stopped guest's, byte for byte.
        self.assertEqual(stopped, self.console_output(server))
        status, body = self.action(
            server, {'os-getSerialConsole': {'type': 'serial'}})
        self.assertEqual(409, status, body)

        status, body = self.action(server, {'os-start': None})
        self.assertEqual(202, status, body)
        server = self.wait_active(server)
        output = self.wait_output(server, BANNER, count=2)
        self.assertEqual(1, output.count('mark-42'))
        self.assertTrue(output.startswith(stopped[:200]))
        self.assertEqual(b'again\n', self.shell(
            self.remote_console_url(server)).run('echo again'))
