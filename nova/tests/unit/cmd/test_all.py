"""nova-all: the whole cloud of one host in one process.

``main`` runs for real on libvirt's test driver (test:///default) and the
in-process transport; only the API's HTTP server is replaced by a
function that sends the application a few requests.
"""

import io
import json
import os
import time
from unittest import mock

import fixtures
import libvirt
import webob

from nova.cmd import all as cmd_all
from nova.conductor import manager as conductor_manager
from nova.db import api as db
from nova import exception
from nova import rpc
from nova import test
from nova.tests.unit.db import base as db_base

HOST = 'all-in-one'


class WaitRegisteredTestCase(db_base.DBTestCase):
    def setUp(self):
        super().setUp()
        rpc.register_opts(cmd_all.CONF)
        self.useFixture(fixtures.MockPatchObject(cmd_all,
                                                 'REGISTER_TIMEOUT', 0.1))

    def test_message_names_the_broker_without_credentials(self):
        self.flags(transport_url='rabbit://nova:s3cret@broker:5672/')
        e = self.assertRaises(exception.ServiceUnavailable,
                              cmd_all._wait_registered, HOST)
        self.assertIn('is the message broker (rabbit://broker:5672/) up?',
                      e.message)
        self.assertNotIn('s3cret', e.message)
        self.assertNotIn('nova:', e.message)

    def test_several_brokers(self):
        self.flags(transport_url='rabbit://a:x@b1:5672,a:x@b2/')
        self.assertEqual('rabbit://b1:5672,b2/',
                         cmd_all._broker(cmd_all.CONF))

    def test_a_row_of_an_earlier_run_does_not_count(self):
        db.service_report(HOST, 'nova-compute', 'compute', {})
        db.service_report(HOST, 'nova-compute', 'compute', None, up=False)
        before = cmd_all._report_count(HOST)
        self.assertRaises(exception.ServiceUnavailable,
                          cmd_all._wait_registered, HOST, before)
        db.service_report(HOST, 'nova-compute', 'compute', {})
        self.assertIsNone(cmd_all._wait_registered(HOST, before))


class MainTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.useFixture(fixtures.MockPatch('oslo_log.log.setup'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', io.StringIO()))
        tmp = self.useFixture(fixtures.TempDir()).path
        ports = test.free_port_block(4)
        self.conf_file = os.path.join(tmp, 'nova.conf')
        with open(self.conf_file, 'w') as f:
            f.write('\n'.join([
                '[DEFAULT]', 'host = %s' % HOST,
                'instances_path = %s' % os.path.join(tmp, 'instances'),
                'osapi_compute_listen = 127.0.0.1',
                '[database]',
                'connection = sqlite:///%s' % os.path.join(tmp, 'n.db'),
                '[libvirt]', 'virt_type = qemu',
                'connection_uri = test:///default',
                '[serial_console]', 'enabled = True',
                'port_range = %d:%d' % (ports, ports + 3),
                'proxyclient_address = 127.0.0.1',
                'serialproxy_host = 127.0.0.1', 'serialproxy_port = 0',
                '']))
        self.addCleanup(db.dispose)
        self.addCleanup(rpc.cleanup, cmd_all.CONF)
        # The test driver answers getFreeMemory in KiB, not bytes.
        self.useFixture(fixtures.MockPatchObject(
            libvirt.virConnect, 'getFreeMemory',
            return_value=2 * 1024 ** 3))
        self.responses = {}
        self.useFixture(fixtures.MockPatchObject(
            cmd_all.api_cmd, 'serve', self._serve))

    def _get(self, application, path):
        req = webob.Request.blank('/v2.1' + path, headers={
            'X-Auth-Token': 'admin', 'OpenStack-API-Version': 'compute 2.25'})
        response = req.get_response(application)
        return response.status_int, json.loads(response.body)

    def _serve(self, application, host, port):
        self.responses['listen'] = (host, port)
        for path in ('/os-services', '/os-hypervisors/detail', '/flavors'):
            self.responses[path] = self._get(application, path)
        self.responses['service'] = db.service_get_by_host(HOST)

    def main(self):
        return cmd_all.main(['nova-all', '--config-file', self.conf_file])

    def test_noauth2_off_loopback_is_refused_at_start(self):
        with open(self.conf_file, 'a') as f:
            f.write('[DEFAULT]\nosapi_compute_listen = 0.0.0.0\n')
        self.assertEqual(1, self.main())
        self.assertIn('nova-all cannot start: [api] auth_strategy = noauth2',
                      self.logs.output)
        self.assertIn('listens on 0.0.0.0 ([DEFAULT] osapi_compute_listen)',
                      self.logs.output)
        self.assertNotIn('Traceback', self.logs.output)
        self.assertNotIn('listen', self.responses)

    def test_serves_with_this_hosts_compute_service(self):
        self.assertEqual(0, self.main())
        self.assertEqual(('127.0.0.1', 8774), self.responses['listen'])
        status, body = self.responses['/os-services']
        self.assertEqual(200, status)
        [service] = body['services']
        self.assertEqual((HOST, 'nova-compute', 'up', 'enabled'), (
            service['host'], service['binary'], service['state'],
            service['status']))
        status, body = self.responses['/os-hypervisors/detail']
        self.assertEqual(200, status)
        [hypervisor] = body['hypervisors']
        self.assertEqual(('up', 'enabled', HOST), (
            hypervisor['state'], hypervisor['status'],
            hypervisor['service']['host']))
        status, body = self.responses['/flavors']
        self.assertEqual(['1', '2'], sorted(f['id'] for f in
                                            body['flavors']))
        # Its stop was recorded before the conductor stopped.
        self.assertTrue(db.service_get_by_host(HOST)['stopped'])
        self.assertNotIn('Traceback', self.logs.output)

    def test_waits_for_this_starts_report(self):
        db.configure('sqlite:///' + os.path.join(
            os.path.dirname(self.conf_file), 'n.db'))
        db.service_report(HOST, 'nova-compute', 'compute', {'old': True})
        db.service_report(HOST, 'nova-compute', 'compute', None, up=False)
        real = conductor_manager.ConductorManager.report_state

        def slow(manager, ctxt, host, binary, topic, report, up):
            time.sleep(0.2)
            return real(manager, ctxt, host, binary, topic, report, up)

        with mock.patch.object(conductor_manager.ConductorManager,
                               'report_state', slow):
            self.assertEqual(0, self.main())
        service = self.responses['service']
        self.assertFalse(service['stopped'])
        self.assertNotIn('old', service['report'])
