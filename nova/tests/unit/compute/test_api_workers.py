"""No API worker waits on long work: nova-api's own server (waitress)
answers other requests while actions outlast every RPC time-out.

The compute host is a FakeDriver whose spawn and reboot block on gates;
the API is nova.cmd.api's APIServer with few threads, serving build_app
over the compute API, with the conductor and the host on the in-process
transport.
"""

import http.client
import json
import threading
import time

from nova.api.openstack.compute import app
from nova.cmd import api as cmd_api
from nova.compute import api as compute_api
from nova.db import api as db
from nova.tests.unit.compute import base

# More long actions than the task pool the API process used to have
# (8 threads) and than the API server's own threads.
ACTIONS = 10
API_THREADS = 2
TIMEOUT = 1  # rpc_response_timeout and long_rpc_timeout, seconds


class APIServerTestCase(base.ComputeTestCase):
    """nova-api's server on the compute API, the conductor, the hosts."""

    LONG_TIMEOUT = TIMEOUT

    def setUp(self):
        super().setUp()
        self.nova_flags(rpc_response_timeout=TIMEOUT,
                        long_rpc_timeout=self.LONG_TIMEOUT)
        api = compute_api.API(conf=self.nova_conf)
        self.server = cmd_api.make_server(
            app.build_app(api, conf=self.nova_conf), '127.0.0.1', 0,
            threads=API_THREADS)
        thread = threading.Thread(target=self.server.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, base.WAIT)
        self.addCleanup(self.server.stop)
        self.addCleanup(self.wait_for_tasks)
        for driver in self.drivers.values():
            driver.calls.clear()  # init_host

    def request(self, method, path, body=None, token='alice:pa',
                version=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.server.port,
                                          timeout=base.WAIT)
        try:
            headers = {'X-Auth-Token': token}
            if version:
                headers['OpenStack-API-Version'] = 'compute ' + version
            if body is not None:
                headers['Content-Type'] = 'application/json'
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            conn.close()

    def _gate(self, method, driver=None):
        gate = (driver or self.driver).gates[method] = threading.Event()
        self.addCleanup(gate.set)
        return gate

    def _entered(self, method, count, driver=None):
        driver = driver or self.driver
        base.wait_for(self, lambda: driver.names().count(method) >=
                      count, '%d calls of %s' % (count, method))

    def _create(self, count):
        uuids = []
        for i in range(count):
            status, body = self.request('POST', '/v2.1/servers', {
                'server': {'name': 'vm%d' % i, 'imageRef': 'img-1',
                           'flavorRef': '1'}})
            self.assertEqual(202, status, body)
            uuids.append(body['server']['id'])
        return uuids

    def _answered_meanwhile(self):
        """Other requests are answered, each well within the time-out."""
        for path in ('/v2.1/servers', '/v2.1/flavors'):
            start = time.monotonic()
            status, _body = self.request('GET', path)
            self.assertEqual(200, status)
            self.assertLess(time.monotonic() - start, base.WAIT)


class APIWorkersTestCase(APIServerTestCase):
    def test_long_builds_leave_every_api_worker_free(self):
        gate = self._gate('spawn')
        uuids = self._create(ACTIONS)
        # Every build runs on the host at once: none waits in a queue
        # of the API process.
        self._entered('spawn', ACTIONS)
        self._answered_meanwhile()
        # Longer than every RPC time-out: casts wait for no answer.
        time.sleep(TIMEOUT * 2.5)
        self._answered_meanwhile()
        self.assertEqual({'BUILD'}, {self.request(
            'GET', '/v2.1/servers/%s' % uuid)[1]['server']['status']
            for uuid in uuids})
        gate.set()
        self.assertTrue(self.wait_for_tasks())
        self.assertEqual(
            [('active', None)] * ACTIONS,
            [(s['vm_state'], s['fault']) for s in
             (db.instance_get(uuid) for uuid in uuids)])

    def test_long_reboots_leave_every_api_worker_free(self):
        uuids = self._create(ACTIONS)
        self.assertTrue(self.wait_for_tasks())
        gate = self._gate('reboot')
        for uuid in uuids:
            status, _body = self.request(
                'POST', '/v2.1/servers/%s/action' % uuid,
                {'reboot': {'type': 'HARD'}})
            self.assertEqual(202, status)
        self._entered('reboot', ACTIONS)
        time.sleep(TIMEOUT * 2.5)
        self._answered_meanwhile()
        gate.set()
        self.assertTrue(self.wait_for_tasks())
        self.assertEqual(
            [('active', None)] * ACTIONS,
            [(s['vm_state'], s['fault']) for s in
             (db.instance_get(uuid) for uuid in uuids)])


class LiveMigrationWorkersTestCase(APIServerTestCase):
    """Live migrations that outlast rpc_response_timeout (the pre-checks'
    time-out) on the source's job: each request is answered 202 once
    its pre-checks passed, and every other request meanwhile."""

    HOSTS = ('host-a', 'host-b')
    LONG_TIMEOUT = 30  # the move's own steps: longer than the test

    def test_long_migrations_leave_every_api_worker_free(self):
        self.driver.report['serial_ports_free'] = 90
        self.drivers['host-b'].report['serial_ports_free'] = 10
        self.services['host-a'].report()
        self.services['host-b'].report()
        base.wait_for(self, lambda: db.service_get_by_host('host-b')[
            'report']['serial_ports_free'] == 10, 'the report of host-b')
        uuids = self._create(ACTIONS)
        self.assertTrue(self.wait_for_tasks())
        self.assertEqual({'host-a'},
                         {db.instance_get(u)['host'] for u in uuids})
        gate = self._gate('live_migration')
        for uuid in uuids:
            start = time.monotonic()
            status, body = self.request(
                'POST', '/v2.1/servers/%s/action' % uuid,
                {'os-migrateLive': {'host': 'host-b',
                                    'block_migration': 'auto'}},
                token='admin', version='2.25')
            self.assertEqual(202, status, body)
            self.assertLess(time.monotonic() - start, base.WAIT)
        self._entered('live_migration', ACTIONS)
        time.sleep(TIMEOUT * 2.5)
        self._answered_meanwhile()
        self.assertEqual({'MIGRATING'}, {self.request(
            'GET', '/v2.1/servers/%s' % uuid)[1]['server']['status']
            for uuid in uuids})
        gate.set()
        self.assertTrue(self.wait_for_tasks())
        self.assertEqual(
            [('active', None, 'host-b')] * ACTIONS,
            [(s['vm_state'], s['fault'], s['host']) for s in
             (db.instance_get(uuid) for uuid in uuids)])
