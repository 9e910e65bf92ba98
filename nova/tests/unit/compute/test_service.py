"""ComputeService: the RPC server of one host and its heartbeat."""

from unittest import mock

from nova.compute import manager
from nova.compute import rpcapi
from nova.compute import service as compute_service
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova import servicegroup
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver
from nova.tests.unit.conductor import test_manager as conductor_tests

HOST = 'fake-host'


class ServiceTestCase(base.RPCTestCase):
    def test_start_serves_and_registers(self):
        self.start_host(HOST)
        driver = self.drivers[HOST]
        self.assertEqual([('init_host', HOST)], driver.calls)
        service = db.service_get_by_host(HOST)
        # Each measurement has the next sequence number: the rest is equal.
        seq = 'serial_ports_seq'
        report = driver.get_host_report()
        self.assertGreater(report.pop(seq), service['report'].pop(seq))
        self.assertEqual(report, service['report'])
        self.assertEqual(('nova-compute', 'compute', False, False), (
            service['binary'], service['topic'], service['stopped'],
            service['disabled']))
        self.assertTrue(servicegroup.is_up(service, self.nova_conf))
        self.assertIn('Compute service of host fake-host started',
                      self.logs.output)
        self.assertNotIn('again', self.logs.output)
        instance = objects.Instance(uuid=ids.SRV1)
        rpcapi.ComputeAPI(self.nova_conf).terminate_instance(
            base.ADMIN, HOST, instance)
        base.wait_for(self, lambda: ('destroy', ids.SRV1) in driver.calls,
                      'the delete cast to reach the host')
        self.assertEqual(('destroy', ids.SRV1), driver.calls[-1])

    def test_heartbeats_carry_the_current_report(self):
        self.start_host(HOST)
        first = db.service_get_by_host(HOST)
        self.drivers[HOST].report['running_vms'] = 3
        service = base.wait_for(self, lambda: self._count_above(
            first['report_count']), 'a heartbeat')
        self.assertEqual(3, service['report']['running_vms'])
        self.assertGreater(service['updated_at'], first['updated_at'])

    @staticmethod
    def _count_above(count):
        service = db.service_get_by_host(HOST)
        if (service['report_count'] > count and
                service['report'].get('running_vms') == 3):
            return service
        return None

    def test_stop_marks_the_service_stopped(self):
        self.start_host(HOST)
        service = self.stop_host(HOST)
        self.assertFalse(servicegroup.is_up(service, self.nova_conf))
        self.assertEqual('was stopped', servicegroup.down_reason(
            service, self.nova_conf))
        # The last report stays for the operator to see.
        self.assertEqual(fake_driver.MEMORY_MB, service['report'][
            'memory_mb'])
        self.assertIn('Compute service of host fake-host stopped',
                      self.logs.output)
        # Nothing serves the host any more: a call waits for its
        # time-out, as on a broker (the queue stays, unconsumed).
        self.nova_conf.set_override('rpc_response_timeout', 1)
        e = self.assertRaises(exception.InstanceHostUnavailable,
                              rpcapi.ComputeAPI(self.nova_conf)
                              .get_console_output, base.ADMIN, HOST,
                              objects.Instance(uuid=ids.SRV1))
        self.assertIn('fake-host', e.message)
        self.assertIn('did not answer within 1 s', e.message)
        # Its reporting thread is gone.
        self.assertFalse(self.services[HOST]._reporter.is_alive())

    def test_stop_closes_every_console_follower(self):
        self.start_host(HOST)
        followers = self.services[HOST].manager.console_followers
        log = fake_driver.FakeConsoleLog()
        for uuid in (ids.SRV1, ids.SRV2):
            followers.start(uuid,
                            lambda: fake_driver.FakeFollower(log, 0))
        opened = list(log.followers)
        self.stop_host(HOST)
        self.assertEqual(0, len(followers))
        self.assertTrue(all(f.closed for f in opened))

    def test_restart_is_up_again(self):
        self.start_host(HOST)
        self.stop_host(HOST)
        self.start_host(HOST, self.drivers[HOST])
        service = db.service_get_by_host(HOST)
        self.assertTrue(servicegroup.is_up(service, self.nova_conf))
        self.assertEqual(1, len(db.service_list()))

    def test_stop_before_start_reports_nothing(self):
        service = compute_service.ComputeService(
            self.nova_conf, manager.ComputeManager(fake_driver.FakeDriver()))
        service.stop()
        self.assertEqual([], db.service_list())

    def test_unreadable_host_state_is_reported_without_content(self):
        self.start_host(HOST)
        count = db.service_get_by_host(HOST)['report_count']
        driver = self.drivers[HOST]
        with mock.patch.object(driver, 'get_host_report',
                               side_effect=OSError('libvirt is gone')):
            self.assertIs(True, self.services[HOST].report())
            service = base.wait_for(
                self, lambda: self._after(count), 'the report')
        # Still alive; the last known content is kept.
        self.assertFalse(service['stopped'])
        self.assertEqual(fake_driver.MEMORY_MB,
                         service['report']['memory_mb'])
        self.assertIn("Cannot read this host's state for the report: "
                      "libvirt is gone", self.logs.output)

    @staticmethod
    def _after(count):
        service = db.service_get_by_host(HOST)
        return service if service['report_count'] > count else None


class BrokerDownTestCase(base.RPCTestCase):
    def setUp(self):
        super().setUp()
        conf = base.new_conf(self)
        conf.set_override('transport_url', 'rabbit://guest:guest@'
                          '127.0.0.1:%d/' % conductor_tests.closed_port())
        self.service = compute_service.ComputeService(
            conf, manager.ComputeManager(fake_driver.FakeDriver()))

    def test_report_is_false_and_logged_once(self):
        for _ in range(3):
            self.assertIs(False, self.service.report())
        self.assertEqual(1, self.logs.output.count(
            'Cannot report to the API: the message broker is not '
            'reachable (OperationalError: '))
        self.assertIn('Connection refused); retrying every 1 s',
                      self.logs.output)
        with mock.patch.object(self.service._conductor, 'report_state',
                               return_value=True):
            self.assertIs(True, self.service.report())
            self.assertIs(True, self.service.report())
        self.assertEqual(1, self.logs.output.count(
            'Reporting to the API again'))
        self.assertIs(False, self.service.report())
        self.assertEqual(2, self.logs.output.count(
            'Cannot report to the API'))
