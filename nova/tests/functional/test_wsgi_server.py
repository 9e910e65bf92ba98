"""The compute API as a deployer hosts it, and its request ids in the logs.

A split deployment on one host over RabbitMQ (nova-conductor,
nova-compute, nova-serialproxy as processes, as test_split_services): the
API once under gunicorn (``nova.wsgi.osapi_compute:application``, two
worker processes, configuration from OS_NOVA_CONFIG_DIR /
OS_NOVA_CONFIG_FILES) running the API functional tests' key requests, and
once as nova-api. Each request's id is found in the API's access log and
the compute host's log lines for it.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from nova.tests.functional import base
from nova.tests.functional import rabbitmq_vhost
from nova.tests.functional import services
from nova.tests.functional import test_api
from nova.tests.functional import test_split_services

USER = 'demo:demo'


class ServicesWithProxy(test_split_services.SplitServices):
    """nova-api, nova-conductor, nova-compute and nova-serialproxy."""

    COMMANDS = ('conductor', 'compute', 'serialproxy', 'api')


class GunicornServices(ServicesWithProxy):
    """The same, with the API under gunicorn instead of nova-api."""

    WORKERS = 2

    def start_one(self, name):
        if name != 'api':
            return super().start_one(name)
        # A second file, as a deployer's api-only settings: its log file.
        with open(os.path.join(self.workdir, 'api.conf'), 'w') as f:
            f.write('[DEFAULT]\nlog_file = %s\n'
                    % os.path.join(self.workdir, 'nova-api.log'))
        env = dict(os.environ, OS_NOVA_CONFIG_DIR=self.workdir,
                   OS_NOVA_CONFIG_FILES='nova.conf;api.conf',
                   PYTHONPATH=base.REPO)
        self.processes[name] = subprocess.Popen(
            [sys.executable, '-m', 'gunicorn',
             '--bind', '127.0.0.1:%d' % self.api_port,
             '--workers', str(self.WORKERS), '--threads', '4',
             '--timeout', '120', '--graceful-timeout', '20',
             'nova.wsgi.osapi_compute:application'],
            cwd=self.workdir, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)


class _TestCase(base.FunctionalTestCase):
    SERVICES = None

    def setUp(self):
        super().setUp()
        vhost = rabbitmq_vhost.create()
        url = rabbitmq_vhost.with_vhost(
            base.run_tool(test_split_services.RABBITMQ,
                          '--print-transport-url', '127.0.0.1').strip(),
            vhost)
        self.services = self.SERVICES(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type, extra_conf={'DEFAULT': {
                'transport_url': url, 'report_interval': 1,
                'service_down_time': 10}})
        self.addCleanup(self.services.cleanup)
        self.services.start(timeout=90)

    def call(self, method, path, body=None, version=None, token=USER):
        """(status, parsed body or None, response headers)."""
        req = urllib.request.Request(
            self.services.endpoint + path, method=method,
            data=None if body is None else json.dumps(body).encode())
        req.add_header('Content-Type', 'application/json')
        req.add_header('X-Auth-Token', token)
        if version:
            req.add_header('OpenStack-API-Version', 'compute %s' % version)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw, status, headers = resp.read(), resp.status, resp.headers
        except urllib.error.HTTPError as e:
            raw, status, headers = e.read(), e.code, e.headers
        return status, (json.loads(raw) if raw else None), headers

    def poll(self, what, check, timeout=120):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = what()
            if check(last):
                return last
            time.sleep(0.5)
        self.fail('gave up waiting: %s\n%s' % (
            last, self.services.log_tail('compute')))

    def log(self, name):
        with open(os.path.join(self.services.workdir,
                               'nova-%s.log' % name)) as f:
            return f.read().splitlines()

    def assertLogged(self, request_id, method, path, status):
        """One access line in the API's log, with the caller; returns
        the compute host's lines of the request."""
        access = [line for line in self.log('api') if request_id in line
                  and 'request_log' in line]
        self.assertEqual(1, len(access), '\n'.join(self.log('api')[-30:]))
        self.assertIn('"%s /v2.1%s" status: %d' % (method, path, status),
                      access[0])
        self.assertIn('%s demo demo ' % request_id, access[0])
        return [line for line in self.log('compute') if request_id in line]

    def create_and_wait(self):
        status, body, headers = self.call('POST', '/servers', {
            'server': {'name': 'wsgi', 'imageRef': services.IMAGE_ID,
                       'flavorRef': '1'}})
        self.assertEqual(202, status, body)
        uuid = body['server']['id']
        self.addCleanup(self.call, 'DELETE', '/servers/' + uuid)
        self.poll(lambda: self.call('GET', '/servers/' + uuid)[1],
                  lambda b: b and b['server']['status'] == 'ACTIVE' and
                  not b['server']['OS-EXT-STS:task_state'])
        return uuid, headers['x-openstack-request-id']


class GunicornTestCase(_TestCase):
    SERVICES = GunicornServices

    def test_key_requests_under_gunicorn(self):
        uuid, create_id = self.create_and_wait()
        status, body, headers = self.call('GET', '/servers/' + uuid)
        self.assertEqual(200, status)
        self.assertTrue(headers['Server'].startswith('gunicorn'),
                        headers['Server'])
        self.assertEqual(headers['x-openstack-request-id'],
                         headers['x-compute-request-id'])

        output = self.poll(
            lambda: self.call('POST', '/servers/%s/action' % uuid,
                              {'os-getConsoleOutput': {'length': 50}}),
            lambda r: r[0] == 200 and 'NOVA-GUEST-BANNER' in r[1]['output'])
        console_output_id = output[2]['x-openstack-request-id']

        status, body, headers = self.call(
            'POST', '/servers/%s/remote-consoles' % uuid,
            {'remote_console': {'protocol': 'serial', 'type': 'serial'}},
            version='2.6')
        self.assertEqual(200, status, body)
        console = test_api.WebsocketConsole(body['remote_console']['url'])
        self.addCleanup(console.close)
        self.assertEqual(b'hello-42\n',
                         console.wait_prompt().run('echo hello-$((6*7))'))
        console.close()

        status, body, headers = self.call('DELETE', '/servers/' + uuid)
        self.assertEqual(204, status, body)
        delete_id = headers['x-openstack-request-id']
        self.poll(lambda: self.call('GET', '/servers/' + uuid)[0],
                  lambda s: s == 404)

        # The create's id in the API's access line and on the compute
        # host, where the guest was spawned for it.
        compute_lines = self.assertLogged(create_id, 'POST', '/servers', 202)
        self.assertTrue([line for line in compute_lines if 'Spawned' in line],
                        '\n'.join(self.log('compute')[-40:]))
        self.assertLogged(console_output_id, 'POST',
                          '/servers/%s/action' % uuid, 200)
        self.assertLogged(delete_id, 'DELETE', '/servers/' + uuid, 204)


class NovaAPITestCase(_TestCase):
    SERVICES = test_split_services.SplitServices

    def test_request_id_in_api_and_compute_logs(self):
        uuid, create_id = self.create_and_wait()
        compute_lines = self.assertLogged(create_id, 'POST', '/servers', 202)
        self.assertTrue([line for line in compute_lines if 'Spawned' in line],
                        '\n'.join(self.log('compute')[-40:]))
        self.assertTrue(all('demo demo' in line for line in compute_lines),
                        compute_lines)
