"""A split deployment on one host: nova-conductor, nova-api and
nova-compute as separate processes on RabbitMQ, booting real guests.

The services share a MariaDB database (tools/setup-mariadb.sh), as a
split deployment does. The server actions belong to nova-conductor:
nova-api only hands them over, so killing it loses nothing, and actions
accepted while the conductor is stopped wait on the broker until it is
back.
"""

import os
import signal
import subprocess
import time

from nova.tests.functional import base
from nova.tests.functional import mariadb_database
from nova.tests.functional import rabbitmq_vhost
from nova.tests.functional import services

RABBITMQ = os.path.join(base.REPO, 'tools', 'setup-rabbitmq.sh')
ADMIN = 'admin:admin'


class SplitServices(services.NovaServices):
    """nova-conductor, nova-compute and nova-api, one process each."""

    COMMANDS = ('conductor', 'compute', 'api')

    def __init__(self, *args, extra_conf=None, **kwargs):
        extra_conf = dict(extra_conf or {})
        # A split deployment's database, for every test of one (here and
        # test_wsgi_server's), unless the test chose another.
        extra_conf.setdefault(
            'database', {'connection': mariadb_database.create()})
        super().__init__(*args, extra_conf=extra_conf, **kwargs)
        self.processes = {}

    def start_one(self, name):
        self.processes[name] = subprocess.Popen(
            self._command(name, '--log-file', os.path.join(
                self.workdir, 'nova-%s.log' % name)),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def start(self, timeout=60):
        if not self.processes:
            self._register_image()
            # As the admin guide says: nova-all makes them, nova-api not.
            manage = subprocess.run(
                self._command('manage', 'flavor', 'defaults'),
                capture_output=True, text=True)
            if manage.returncode != 0:
                raise services.ServicesFailed(
                    'nova-manage flavor defaults failed: %s' % manage.stderr)
        for name in self.COMMANDS:
            if self.processes.get(name) is None or (
                    self.processes[name].poll() is not None):
                self.start_one(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise services.ServicesFailed(
                        'nova-%s exited with %d: %s\n%s' % (
                            name, process.returncode, process.stderr.read(),
                            self.log_tail(name)))
            status, body = self.request('GET', '/os-hypervisors/detail',
                                        token=ADMIN)
            if status == 200 and any(h['state'] == 'up' for h in
                                     body['hypervisors']):
                return self
            time.sleep(0.5)
        raise services.ServicesFailed(
            'the split services did not come up within %d s:\n%s' % (
                timeout, '\n'.join('nova-%s log:\n%s' % (
                    name, self.log_tail(name, 15))
                    for name in self.COMMANDS)))

    def request(self, *args, **kwargs):
        try:
            return super().request(*args, **kwargs)
        except OSError:
            return None, None  # nova-api not listening (yet)

    def stop_one(self, name, sig=signal.SIGTERM):
        services.stop_process(self.processes.get(name), sig)

    def stop(self):
        for name in reversed(self.COMMANDS):
            self.stop_one(name)

    def log_tail(self, name='conductor', lines=40):
        return services.file_tail(
            os.path.join(self.workdir, 'nova-%s.log' % name), lines)

    def cleanup(self):
        if all(p.poll() is None for p in self.processes.values()):
            self.delete_all_servers()
        self.stop()
        self._destroy_leftover_guests()


class SplitServicesTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        vhost = rabbitmq_vhost.create()
        url = rabbitmq_vhost.with_vhost(
            base.run_tool(RABBITMQ, '--print-transport-url',
                          '127.0.0.1').strip(), vhost)
        self.services = SplitServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type, extra_conf={'DEFAULT': {
                'transport_url': url, 'report_interval': 1,
                'service_down_time': 10}})
        self.addCleanup(self.services.cleanup)
        self.services.start()

    def create(self):
        status, body = self.services.request('POST', '/servers', {
            'server': {'name': 'split', 'imageRef': services.IMAGE_ID,
                       'flavorRef': '1'}})
        self.assertEqual(202, status, body)
        return body['server']['id']

    def server(self, uuid):
        status, body = self.services.request('GET', '/servers/' + uuid)
        return body['server'] if status == 200 else None

    def wait_status(self, uuid, wanted, timeout=120):
        deadline = time.monotonic() + timeout
        server = None
        while time.monotonic() < deadline:
            server = self.server(uuid)
            if server and server['status'] == wanted and not server[
                    'OS-EXT-STS:task_state']:
                return server
            if server and server['status'] == 'ERROR':
                self.fail('server went to ERROR: %s' % server.get('fault'))
            time.sleep(0.5)
        self.fail('server %s not %s within %d s: %s\n%s' % (
            uuid, wanted, timeout, server, self.services.log_tail()))

    def test_build_console_and_delete_through_the_conductor(self):
        uuid = self.create()
        self.wait_status(uuid, 'ACTIVE')
        status, body = self.services.request(
            'POST', '/servers/%s/action' % uuid,
            {'os-getConsoleOutput': {'length': 5}})
        self.assertEqual(200, status, body)
        status, _body = self.services.request('DELETE', '/servers/' + uuid)
        self.assertEqual(204, status)
        deadline = time.monotonic() + 60
        while self.server(uuid) and time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertIsNone(self.server(uuid))

    def test_killed_api_loses_no_accepted_action(self):
        uuid = self.create()
        self.services.stop_one('api', signal.SIGKILL)
        self.services.start()
        self.wait_status(uuid, 'ACTIVE')

    def test_actions_wait_for_a_stopped_conductor(self):
        self.services.stop_one('conductor')
        uuid = self.create()
        time.sleep(2)
        self.assertEqual('BUILD', self.server(uuid)['status'])
        self.services.start()
        self.wait_status(uuid, 'ACTIVE')
