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


class APIWorkersTestCase(base.ComputeTestCase):
    def setUp(self):
        super().setUp()
        self.nova_flags(rpc_response_timeout=TIMEOUT,
                        long_rpc_timeout=TIMEOUT)
        api = compute_api.API(conf=self.nova_conf)
        self.server = cmd_api.make_server(
            app.build_app(api, conf=self.nova_conf), '127.0.0.1', 0,
            threads=API_THREADS)
        thread = threading.Thread(target=self.server.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, base.WAIT)
        self.addCleanup(self.server.stop)
        self.addCleanup(self.wait_for_tasks)
        self.driver.calls.clear()  # init_host

    def request(self, method, path, body=None, token='alice:pa'):
        conn = http.client.HTTPConnection('127.0.0.1', self.server.port,
                                          timeout=base.WAIT)
        try:
            headers = {'X-Auth-Token': token}
            if body is not None:
                headers['Content-Type'] = 'application/json'
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            conn.close()

    def _gate(self, method):
        gate = self.driver.gates[method] = threading.Event()
        self.addCleanup(gate.set)
        return gate

    def _entered(self, method, count):
        base.wait_for(self, lambda: self.driver.names().count(method) >=
                      count, '%d calls of %s' % (count, method))

    def _answered_meanwhile(self):
        """Other requests are answered, each well within the time-out."""
        for path in ('/v2.1/servers', '/v2.1/flavors'):
            start = time.monotonic()
            status, _body = self.request('GET', path)
            self.assertEqual(200, status)
            self.assertLess(time.monotonic() - start, base.WAIT)

    def test_long_builds_leave_every_api_worker_free(self):
        gate = self._gate('spawn')
        uuids = []
        for i in range(ACTIONS):
            status, body = self.request('POST', '/v2.1/servers', {
                'server': {'name': 'vm%d' % i, 'imageRef': 'img-1',
                           'flavorRef': '1'}})
            self.assertEqual(202, status, body)
            uuids.append(body['server']['id'])
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
            [('ACTIVE', None)] * ACTIONS,
            [(s['status'], s['fault']) for s in
             (db.server_get(uuid) for uuid in uuids)])

    def test_long_reboots_leave_every_api_worker_free(self):
        uuids = []
        for i in range(ACTIONS):
            status, body = self.request('POST', '/v2.1/servers', {
                'server': {'name': 'vm%d' % i, 'imageRef': 'img-1',
                           'flavorRef': '1'}})
            uuids.append(body['server']['id'])
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
            [('ACTIVE', None)] * ACTIONS,
            [(s['status'], s['fault']) for s in
             (db.server_get(uuid) for uuid in uuids)])
