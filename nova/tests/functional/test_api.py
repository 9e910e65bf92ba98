"""The compute API and nova-serialproxy with real clients on the real stack.

nova-all runs as its own process against qemu:///system; openstacksdk and
websocket-client talk to it as users would.
"""

import re
import time

import openstack
import websocket

from nova.console import tokens
from nova.db import api as db
from nova.tests.functional import base
from nova.tests.functional import services


class WebsocketConsole:
    """A user's serial console session over nova-serialproxy."""

    def __init__(self, url, origin=None):
        self.ws = websocket.create_connection(url, timeout=30,
                                              origin=origin)
        self.received = b''

    def run(self, command, timeout=60):
        marker = 'END-%d' % time.monotonic_ns()
        self.ws.send_binary(("%s; echo '%s''%s'\r" % (
            command, marker[:4], marker[4:])).encode())
        pattern = re.compile(re.escape(command.encode()) +
                             rb'[^\n]*\n(.*?)' + re.escape(marker.encode()),
                             re.S)
        start = len(self.received)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = pattern.search(self.received, start)
            if match:
                return match.group(1).replace(b'\r\n', b'\n')
            self.received += self.ws.recv()
        raise AssertionError('no answer to %r: %r' % (command,
                                                      self.received[-300:]))

    def wait_prompt(self, timeout=60):
        """Press enter once, and read until the shell's prompt."""
        self.ws.send_binary(b'\r')
        deadline = time.monotonic() + timeout
        while b'nova-guest# ' not in self.received:
            if time.monotonic() > deadline:
                raise AssertionError('no shell prompt: %r' %
                                     self.received[-300:])
            self.received += self.ws.recv()
        return self

    def close(self):
        self.ws.close()


class APITestCase(base.FunctionalTestCase):
    TOKEN_TTL = 600
    # {group: {option: value}} of nova-all's configuration, or None.
    EXTRA_CONF = None
    # How nova-all runs (test_unprivileged: as user nova).
    SERVICES = services.NovaServices

    def setUp(self):
        super().setUp()
        self.services = self.SERVICES(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type, token_ttl=self.TOKEN_TTL,
            extra_conf=self.EXTRA_CONF)
        self.addCleanup(self.services.cleanup)
        self.services.start()
        self.conn = self.connect(services.USER_TOKEN)
        # Direct access to the services' token store, as an attacker with
        # a token of their own would not have: for crafted tokens only.
        self.flags(connection='sqlite:///%s/nova.sqlite' %
                   self.services.workdir, group='database')
        db.dispose()
        self.addCleanup(db.dispose)

    def connect(self, token, version='2.6'):
        return openstack.connection.Connection(
            auth_type='admin_token',
            auth={'endpoint': self.services.endpoint, 'token': token},
            compute_api_version=version)

    def boot(self, flavor='1'):
        server = self.conn.compute.create_server(
            name='func', image_id=services.IMAGE_ID, flavor_id=flavor,
            networks='none')
        self.addCleanup(self._delete, server)
        return self.wait_active(server)

    def wait_active(self, server, timeout=120):
        """Poll until ACTIVE with no task (the sdk's wait trusts the
        status it already holds, which is stale right after an action)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.conn.compute.get_server(server.id)
            if server.status == 'ERROR':
                self.fail('server went to ERROR: %s' % server.fault)
            if server.status == 'ACTIVE' and not server.task_state:
                return server
            time.sleep(0.5)
        self.fail('server %s not ACTIVE within %d s: %s/%s' % (
            server.id, timeout, server.status, server.task_state))

    def _delete(self, server):
        self.conn.compute.delete_server(server, ignore_missing=True)
        self.conn.compute.wait_for_delete(server, wait=120)

    def console_output(self, server, length=None):
        return self.conn.compute.get_server_console_output(
            server, length=length)['output']

    def wait_output(self, server, needle, count=1, timeout=120):
        deadline = time.monotonic() + timeout
        output = ''
        while time.monotonic() < deadline:
            output = self.console_output(server)
            if output.count(needle) >= count:
                return output
            time.sleep(0.5)
        self.fail('%r not %d time(s) in console output: %r' % (
            needle, count, output[-500:]))

    def settled_output(self, server, timeout=60):
        """The console output once two reads a second apart agree."""
        deadline = time.monotonic() + timeout
        output = self.console_output(server)
        while time.monotonic() < deadline:
            time.sleep(1)
            again = self.console_output(server)
            if again == output:
                return output
            output = again
        self.fail('console output still changing after %d s: %r' % (
            timeout, output[-500:]))

    def remote_console_url(self, server):
        console = self.conn.compute.create_console(server,
                                                   console_type='serial')
        return console['url']

    def serial_console_url(self, server):
        status, body = self.services.request(
            'POST', '/servers/%s/action' % server.id,
            {'os-getSerialConsole': {'type': 'serial'}}, version='2.1')
        self.assertEqual(200, status, body)
        return body['console']['url']

    def shell(self, url, origin=None):
        console = WebsocketConsole(url, origin=origin)
        self.addCleanup(console.close)
        return console.wait_prompt()


class ServerLifecycleTestCase(APITestCase):
    def test_console_output_and_serial_console_together(self):
        server = self.boot(flavor='2')  # m1.serial2: two serial ports
        self.wait_output(server, 'NOVA-GUEST-BANNER')

        # Several lengths, counted as lines, once the guest is quiet (its
        # shell prompt and late kernel lines follow the banner).
        full = self.settled_output(server)
        self.assertEqual(full, self.console_output(server, length=-1))
        self.assertEqual('', self.console_output(server, length=0))
        last3 = self.console_output(server, length=3)
        self.assertEqual(3, len(last3.splitlines()))
        self.assertTrue(full.endswith(last3))

        # Remote console (2.6) and os-getSerialConsole (2.1) both work.
        console = self.shell(self.remote_console_url(server))
        self.assertEqual(b'hello-42\n', console.run('echo hello-$((6*7))'))
        console.close()
        console = self.shell(self.serial_console_url(server))
        self.assertEqual(b'second-url\n', console.run('echo second-url'))
        # Console output keeps working while the websocket is open.
        output = self.wait_output(server, 'second-url')
        self.assertIn('hello-42', output)

    def test_hard_reboot_rebuild_delete(self):
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        old_url = self.remote_console_url(server)
        self.shell(old_url).run('echo before-reboot')

        self.conn.compute.reboot_server(server, 'HARD')
        server = self.wait_active(server)
        output = self.wait_output(server, 'NOVA-GUEST-BANNER', count=2)
        self.assertIn('before-reboot', output)  # history kept
        self.assertRefused(old_url)
        new_url = self.remote_console_url(server)
        self.assertEqual(b'after\n', self.shell(new_url).run('echo after'))

        self.conn.compute.rebuild_server(server, image=services.IMAGE_ID)
        server = self.wait_active(server)
        output = self.wait_output(server, 'NOVA-GUEST-BANNER', count=3)
        self.assertIn('before-reboot', output)
        self.assertRefused(new_url)

        url = self.remote_console_url(server)
        port = tokens.validate(url.split('token=')[1]).port
        self.conn.compute.delete_server(server)
        self.conn.compute.wait_for_delete(server, wait=120)
        self.assertRefused(url)
        self.assertPortFree(port)


class SecurityTestCase(APITestCase):
    def test_another_projects_server_is_not_found(self):
        server = self.boot()
        status, body = self.services.request(
            'GET', '/servers/%s' % server.id, token='intruder:other')
        self.assertEqual(404, status)
        status, body = self.services.request(
            'POST', '/servers/%s/action' % server.id,
            {'os-getConsoleOutput': {'length': 10}}, token='intruder:other')
        self.assertEqual(404, status)
        self.assertNotIn(server.id, str(self.services.request(
            'GET', '/servers', token='intruder:other')[1]))

    def test_bad_origin_and_token_for_another_instances_port(self):
        first, second = self.boot(), self.boot()
        self.wait_output(first, 'NOVA-GUEST-BANNER')
        url = self.remote_console_url(first)
        self.assertRefused(url, origin='http://evil.example')
        # A token naming first's instance but second's port.
        second_port = tokens.validate(
            self.remote_console_url(second).split('token=')[1]).port
        crafted = tokens.authorize(first.id, 'serial', '127.0.0.1',
                                   second_port)
        self.assertRefused(url.split('token=')[0] + 'token=' + crafted)
        # The genuine URL, with the proxy's own origin, still works.
        origin = 'http://127.0.0.1:%d' % self.services.proxy_port
        self.assertEqual(b'ok\n', self.shell(url, origin=origin).run(
            'echo ok'))

    def test_unknown_and_malformed_tokens(self):
        base_url = 'ws://127.0.0.1:%d/' % self.services.proxy_port
        for token in ('', 'x', 'A' * 43, '../../etc/passwd', '%00'):
            self.assertRefused(base_url + '?token=' + token)


class ExpiryTestCase(APITestCase):
    TOKEN_TTL = 3

    def test_expired_token_is_refused(self):
        server = self.boot()
        url = self.remote_console_url(server)
        time.sleep(self.TOKEN_TTL + 1)
        self.assertRefused(url)
        self.shell(self.remote_console_url(server))  # a new one works


class RestartTestCase(APITestCase):
    def test_restart_of_the_services_loses_nothing(self):
        server = self.boot(flavor='2')
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        self.shell(self.remote_console_url(server)).run('echo before')
        port = tokens.validate(
            self.remote_console_url(server).split('token=')[1]).port
        self.services.stop()
        self.services.start()
        server = self.wait_active(server)
        self.assertIn('before', self.console_output(server))
        # The restarted compute re-registered the guest's ports: a new
        # server gets other ones.
        other = self.boot()
        other_port = tokens.validate(
            self.remote_console_url(other).split('token=')[1]).port
        self.assertNotEqual(port, other_port)
        self.assertEqual(b'after\n', self.shell(
            self.remote_console_url(server)).run('echo after'))
        self.assertEqual(2, len(list(self.conn.compute.servers())))
