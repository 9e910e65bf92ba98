"""The conductor topic: compute services' reports reach the database."""

import logging
import socket
import time

import fixtures

from nova.conductor import manager
from nova.conductor import rpcapi
from nova import context
from nova.db import api as db
from nova import exception
from nova.objects import compute_node
from nova import rpc
from nova.tests.unit.compute import base
from nova.tests.unit.db import base as db_base

CTX = context.get_admin_context()


def _node(**values):
    return compute_node.ComputeNode(host='h1', **values)


def closed_port():
    """A port of 127.0.0.1 that nothing listens on (a broker that is
    down: connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class ConductorManagerTestCase(db_base.DBTestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.manager = manager.ConductorManager()

    def test_reports_are_recorded(self):
        self.manager.report_state(CTX, 'h1', 'nova-compute', 'compute',
                                  _node(vcpus=4), True)
        self.manager.report_state(CTX, 'h1', 'nova-compute', 'compute',
                                  _node(vcpus=8), True)
        service = db.service_get_by_host('h1')
        self.assertEqual((2, {'vcpus': 8}, False), (
            service['report_count'], service['report'], service['stopped']))
        self.assertEqual(1, self.logs.output.count(
            'Compute service nova-compute on host h1 registered'))

    def test_stop_is_recorded_and_keeps_the_last_report(self):
        self.manager.report_state(CTX, 'h1', 'nova-compute', 'compute',
                                  _node(vcpus=4), True)
        self.manager.report_state(CTX, 'h1', 'nova-compute', 'compute',
                                  None, False)
        service = db.service_get_by_host('h1')
        self.assertEqual((True, {'vcpus': 4}), (service['stopped'],
                                                service['report']))
        self.assertIn('Compute service on host h1 stopped',
                      self.logs.output)


class ConductorRPCTestCase(base.RPCTestCase):
    def test_report_state_is_a_cast_to_the_conductor(self):
        api = rpcapi.ConductorAPI(self.nova_conf)
        self.assertIs(True, api.report_state(CTX, 'h1', _node(vcpus=2)))
        self.assertIsNone(api.last_error)
        service = base.wait_for(self, lambda: db.service_get_by_host('h1'),
                                'the report')
        self.assertEqual(('nova-compute', 'compute', {'vcpus': 2}, False),
                         (service['binary'], service['topic'],
                          service['report'], service['stopped']))
        self.assertIs(True, api.report_state(CTX, 'h1', None, up=False))
        base.wait_for(self, lambda: db.service_get_by_host('h1')['stopped'],
                      'the stop report')

    def test_no_conductor_is_not_an_error_of_the_sender(self):
        conf = base.new_conf(self)
        self.assertIs(True, rpcapi.ConductorAPI(conf).report_state(
            CTX, 'h1', _node()))


class VersionsTestCase(base.RPCTestCase):
    def test_a_report_that_is_no_compute_node_is_refused(self):
        for bad in ({'vcpus': 2}, 'x', [1]):
            e = self.assertRaises(
                exception.Invalid, manager.ConductorManager().report_state,
                CTX, 'h1', 'nova-compute', 'compute', bad, True)
            self.assertIn('ComputeNode', e.message)
        self.assertIsNone(db.service_get_by_host('h1'))

    def test_cap_of_the_conductor_api(self):
        self.nova_flags(group='upgrade_levels', conductor='1.9')
        api = rpcapi.ConductorAPI(self.nova_conf)
        self.assertIs(False, api.report_state(CTX, 'h1', _node()))
        self.assertIn('RPCVersionCapError', api.last_error)
        self.nova_flags(group='upgrade_levels', conductor='2.0')
        self.assertIs(True, rpcapi.ConductorAPI(self.nova_conf).report_state(
            CTX, 'h1', _node()))


class BrokerDownTestCase(db_base.DBTestCase):
    def test_report_to_a_broker_that_is_down_is_false(self):
        conf = base.new_conf(self)
        conf.set_override('transport_url', 'rabbit://guest:guest@'
                          '127.0.0.1:%d/' % closed_port())
        self.assertFalse(rpc.in_process(conf))
        api = rpcapi.ConductorAPI(conf)
        for _ in range(2):
            self.assertIs(False, api.report_state(CTX, 'h1', _node()))
        # kombu's, through oslo.messaging: not a MessagingException.
        self.assertTrue(api.last_error.startswith('OperationalError: '),
                        api.last_error)
        self.assertIsNone(db.service_get_by_host('h1'))


class HostUpTestCase(db_base.DBTestCase):
    """A compute service that (re)registers gets its instances
    recovered: at its first report, after a stop, after counting as
    down; not at every heartbeat."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.conf = base.new_conf(self, service_down_time=1)
        self.recovered = []
        self.manager = manager.ConductorManager(
            on_host_up=self.recovered.append, conf=self.conf)

    def _report(self, up=True):
        self.manager.report_state(CTX, 'h1', 'nova-compute', 'compute',
                                  _node(vcpus=2) if up else None, up)

    def test_first_report_stop_and_silence(self):
        self._report()
        self._report()
        self.assertEqual(['h1'], self.recovered)
        self._report(up=False)
        self._report()
        self.assertEqual(['h1', 'h1'], self.recovered)
        self._report()
        self.assertEqual(2, len(self.recovered))
        # Killed, silent for longer than service_down_time, back.
        time.sleep(1.5)
        self._report()
        self.assertEqual(3, len(self.recovered))
