"""ComputeManager as the RPC endpoint of one host, reached through the
ComputeAPI client and the in-process transport (JSON both ways)."""

import inspect
import queue
import re
import threading
import time

import fixtures
import oslo_messaging
import testtools

from nova.compute import manager
from nova.compute import rpcapi
from nova.compute import service
from nova.console import type as ctype
from nova import exception
from nova.objects import instance as objects
from nova import rpc
from nova.objects import migrate_data
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver
from nova.virt import driver
from nova.virt.libvirt import driver as libvirt_driver

CTX = base.ALICE
HOST = 'fake-host'
PORT = fake_driver.FIRST_PORT
SERIAL_PORTS = fake_driver.SERIAL_PORTS


def _instance(uuid=ids.SRV1):
    return objects.Instance(
        uuid=uuid, host=HOST,
        flavor=objects.Flavor(name='m1.tiny', memory_mb=128, vcpus=2,
                              extra_specs={'hw:serial_port_count': '2'}),
        image_meta=objects.ImageMeta(
            id='img-1', name='tiny', kernel_path='/k', ramdisk_path='/r',
            properties={'os_command_line': 'console=ttyS0'}))


class DriverSignatureTestCase(testtools.TestCase):
    """The FakeDriver stands for the LibvirtDriver in what the manager
    asks of it."""

    def test_fake_driver_has_what_the_manager_calls(self):
        source = inspect.getsource(manager) + inspect.getsource(service)
        called = set(re.findall(r'self\.(?:manager\.)?driver\.(\w+)',
                                source))
        self.assertIn('get_host_report', called)
        self.assertIn('live_migration', called)
        self.assertGreater(len(called), 12)
        for name in sorted(called):
            real = getattr(libvirt_driver.LibvirtDriver, name)
            fake = getattr(fake_driver.FakeDriver, name)
            self.assertEqual(list(inspect.signature(real).parameters),
                             list(inspect.signature(fake).parameters), name)

    def test_host_name(self):
        self.assertEqual('h1', fake_driver.FakeDriver('h1').host_name)
        self.assertIsInstance(libvirt_driver.LibvirtDriver.host_name,
                              property)


class ManagerTestCase(base.RPCTestCase):
    def setUp(self):
        super().setUp()
        self.start_host(HOST)
        self.driver = self.drivers[HOST]
        self.rpc = rpcapi.ComputeAPI(self.nova_conf)
        self.instance = _instance()
        # The outcomes the host casts back to the conductor.
        self.outcomes = queue.Queue()
        tasks = self.conductor.task_manager
        real = tasks.instance_action_done

        def record(ctxt, **kwargs):
            self.outcomes.put(kwargs)
            return real(ctxt, **kwargs)
        tasks.instance_action_done = record

    def _next_outcome(self):
        """The next outcome a host cast to the conductor."""
        return self.outcomes.get(timeout=base.WAIT)

    def _do(self, call, *args):
        """Cast an action; its outcome, once the host sent it."""
        self.assertIsNone(call(CTX, HOST, *args))
        return self._next_outcome()

    def _build(self):
        self._do(self.rpc.build_and_run_instance, self.instance)
        self.driver.calls.clear()
        self.driver.instances.clear()


class RemotableTestCase(ManagerTestCase):
    def test_instance_arrives_as_sent(self):
        outcome = self._do(self.rpc.build_and_run_instance, self.instance)
        self.assertEqual([('spawn', ids.SRV1, 'img-1')],
                         self.driver.calls[1:])
        arrived = self.driver.instances[-1]
        self.assertIsNot(self.instance, arrived)
        self.assertEqual(self.instance, arrived)
        self.assertIsInstance(arrived.flavor, objects.Flavor)
        self.assertIsInstance(arrived.image_meta, objects.ImageMeta)
        # The outcome names the action and carries the host's port facts
        # as they were once it was done.
        facts = outcome.pop('serial_port_facts')
        self.assertEqual(
            {'host': HOST, 'instance_uuid': ids.SRV1, 'action': 'build',
             'task_state': 'spawning', 'fault': None, 'error': None},
            outcome)
        self.assertEqual((SERIAL_PORTS - 1, [ids.SRV1]),
                         (facts['serial_ports_free'],
                          facts['serial_port_holders']))

    def test_instance_without_image_arrives(self):
        instance = objects.Instance(uuid=ids.SRV2, image_meta=None)
        self._do(self.rpc.terminate_instance, instance)
        self.assertIsNone(self.driver.instances[-1].image_meta)
        self.assertEqual(('destroy', ids.SRV2), self.driver.calls[-1])

    def test_nova_errors_cross_as_themselves(self):
        self._build()
        error = exception.SerialPortNumberLimitExceeded(
            wanted=5, allowed=4, detail='5 tcp port(s)')
        self.driver.fail['get_console_output'] = error
        raised = self.assertRaises(exception.SerialPortNumberLimitExceeded,
                                   self.rpc.get_console_output, CTX,
                                   HOST, self.instance)
        self.assertEqual(error.message, raised.message)
        self.assertEqual(400, raised.code)
        self.assertEqual({'wanted': 5, 'allowed': 4,
                          'detail': '5 tcp port(s)'}, raised.kwargs)

    def test_nova_errors_of_actions_reach_the_conductor(self):
        error = exception.SerialPortNumberLimitExceeded(
            wanted=5, allowed=4, detail='5 tcp port(s)')
        self.driver.fail['spawn'] = error
        outcome = self._do(self.rpc.build_and_run_instance, self.instance)
        self.assertEqual((error.message, 'SerialPortNumberLimitExceeded'),
                         (outcome['fault'], outcome['error']))
        # Failed or not, the host's port facts come with it.
        self.assertEqual((SERIAL_PORTS, []),
                         (outcome['serial_port_facts']['serial_ports_free'],
                          outcome['serial_port_facts'][
                              'serial_port_holders']))

    def test_nova_errors_keep_their_code(self):
        self._build()
        for error, code in (
                (exception.InstanceNotFound(instance_id=ids.SRV1), 404),
                (exception.InstanceBootFailed(instance_uuid=ids.SRV1,
                                              reason='no QEMU'), 500),
                (exception.HypervisorUnavailable(uri='qemu:///system',
                                                 reason='gone'), 500)):
            self.driver.fail['get_console_output'] = error
            raised = self.assertRaises(type(error),
                                       self.rpc.get_console_output, CTX,
                                       HOST, self.instance)
            self.assertEqual((error.message, code),
                             (raised.message, raised.code))
            self.driver.fail['reboot'] = error
            outcome = self._do(self.rpc.reboot_instance, self.instance,
                               'HARD')
            self.assertEqual((error.message, type(error).__name__,
                              'rebooting_hard'),
                             (outcome['fault'], outcome['error'],
                              outcome['task_state']))

    def test_other_errors_become_compute_host_errors(self):
        self.driver.fail['spawn'] = RuntimeError('disk on fire')
        outcome = self._do(self.rpc.build_and_run_instance, self.instance)
        self.assertEqual(('The compute service on fake-host failed: disk '
                          'on fire', 'ComputeHostError'),
                         (outcome['fault'], outcome['error']))
        self.assertNotIn('Traceback', outcome['fault'])
        self.assertNotIn('raise', outcome['fault'])
        # The traceback stays in the host's log.
        self.assertIn('build_and_run_instance failed on host fake-host',
                      self.logs.output)
        self.assertIn('Traceback', self.logs.output)

    def test_other_errors_of_calls_become_compute_host_errors(self):
        self._build()
        self.driver.fail['get_console_output'] = RuntimeError('on fire')
        raised = self.assertRaises(exception.ComputeHostError,
                                   self.rpc.get_console_output, CTX,
                                   HOST, self.instance)
        self.assertEqual('The compute service on fake-host failed: on '
                         'fire', raised.message)
        self.assertEqual(500, raised.code)
        # What a user sees of it (the API answers with exception.
        # fault_message): on a broker, and now in process, str() of a
        # remote error carries the host's traceback for this process's
        # log only.
        self.assertNotIn('Traceback', exception.fault_message(raised))

    def test_error_without_message_is_named_by_its_class(self):
        self.driver.fail['destroy'] = KeyError()
        outcome = self._do(self.rpc.terminate_instance, self.instance)
        self.assertEqual('The compute service on fake-host failed: KeyError',
                         outcome['fault'])

    def test_long_messages_are_cut(self):
        self.driver.fail['destroy'] = ValueError('x' * 5000)
        outcome = self._do(self.rpc.terminate_instance, self.instance)
        self.assertEqual(exception.ComputeHostError(
            host=HOST, reason='x' * exception.MAX_FAULT_LENGTH).message,
            outcome['fault'])

    def test_instance_state_for_the_conductors_recovery(self):
        self.assertEqual({'exists': False, 'busy': False,
                          'finished': None},
                         self.rpc.get_instance_state(CTX, HOST,
                                                     self.instance))
        gate = self.driver.gates['spawn'] = threading.Event()
        self.addCleanup(gate.set)
        self.rpc.build_and_run_instance(CTX, HOST, self.instance)
        self.assertTrue(self.driver.entered_event('spawn').wait(base.WAIT))
        self.assertEqual({'exists': False, 'busy': True,
                          'finished': None},
                         self.rpc.get_instance_state(CTX, HOST,
                                                     self.instance))
        gate.set()
        self._next_outcome()
        # Busy until its outcome was sent.
        base.wait_for(self, lambda: not self.rpc.get_instance_state(
            CTX, HOST, self.instance)['busy'], 'the end of the build')
        # Its outcome was sent: the conductor waits for it to arrive.
        self.assertEqual({'exists': True, 'busy': False,
                          'finished': 'spawning'},
                         self.rpc.get_instance_state(CTX, HOST,
                                                     self.instance))

    def test_host_defaults_to_the_drivers(self):
        self.assertEqual('fake-host', manager.ComputeManager(
            fake_driver.FakeDriver()).host)
        self.assertEqual('h2', manager.ComputeManager(
            fake_driver.FakeDriver(), host='h2').host)

    def test_init_host_at_start(self):
        self.assertEqual(('init_host', HOST), self.driver.calls[0])

    def test_start_up_is_not_an_rpc_method(self):
        # Every public method of the manager can be called over RPC;
        # re-registering ports is the service's own business.
        client = rpc.get_client(self.nova_conf, rpcapi.TOPIC, '2.0')
        e = self.assertRaises(oslo_messaging.RemoteError,
                              client.prepare(server=HOST).call, CTX,
                              'init_host')
        self.assertEqual('NoSuchMethod', e.exc_type)
        self.assertEqual(1, self.driver.calls.count(('init_host', HOST)))


class ActionsTestCase(ManagerTestCase):
    def test_actions_reach_the_driver(self):
        self._build()
        self._do(self.rpc.reboot_instance, self.instance, 'SOFT')
        self._do(self.rpc.reboot_instance, self.instance, 'HARD')
        image2 = objects.ImageMeta(id='img-2', disk_path='/d',
                                   disk_format='qcow2')
        self.instance.image_meta = image2
        self._do(self.rpc.rebuild_instance, self.instance)
        self._do(self.rpc.terminate_instance, self.instance)
        self.assertEqual([('reboot', ids.SRV1, 'SOFT'),
                          ('reboot', ids.SRV1, 'HARD'),
                          ('rebuild', ids.SRV1, 'img-2'),
                          ('destroy', ids.SRV1)], self.driver.calls)
        self.assertEqual(image2, self.driver.instances[2].image_meta)
        self.assertEqual({}, self.driver.ports)

    def test_one_action_per_guest_at_a_time(self):
        self._build()
        gate = self.driver.gates['reboot'] = threading.Event()
        self.addCleanup(gate.set)
        # Casts: each returns at once.
        self.rpc.reboot_instance(CTX, HOST, self.instance, 'HARD')
        self.assertTrue(
            self.driver.entered_event('reboot').wait(base.WAIT))
        self.rpc.terminate_instance(CTX, HOST, self.instance)
        # The delete waits for the reboot; another guest does not.
        time.sleep(0.2)
        self.assertNotIn('destroy', self.driver.names())
        outcome = self._do(self.rpc.terminate_instance, _instance(ids.SRV2))
        self.assertEqual(ids.SRV2, outcome['instance_uuid'])
        self.assertEqual(('destroy', ids.SRV2), self.driver.calls[-1])
        gate.set()
        outcomes = [self._next_outcome(), self._next_outcome()]
        self.assertEqual([('reboot', None), ('delete', None)],
                         [(o['action'], o['fault']) for o in outcomes])
        self.assertEqual(['reboot', 'destroy', 'destroy'],
                         self.driver.names())
        self.assertEqual(ids.SRV1, self.driver.calls[-1][1])


class ConsoleTestCase(ManagerTestCase):
    def setUp(self):
        super().setUp()
        self._build()

    def test_console_output(self):
        self.assertEqual(b'console of ' + ids.SRV1.encode(),
                         self.rpc.get_console_output(CTX, HOST,
                                                     self.instance))

    def test_console_output_of_any_bytes(self):
        data = bytes(range(256)) + b'\xff\xfe\x80 not UTF-8 \xc3'
        self.assertEqual(data, self._output(data))
        self.assertEqual(b'', self._output(b''))

    def _output(self, data):
        self.driver.get_console_output = lambda ctxt, instance: data
        return self.rpc.get_console_output(CTX, HOST, self.instance)

    def test_console_output_of_a_missing_guest(self):
        self.driver.ports.clear()
        self.assertRaises(exception.InstanceNotFound,
                          self.rpc.get_console_output, CTX, HOST,
                          self.instance)

    def test_serial_console(self):
        console = self.rpc.get_serial_console(CTX, HOST, self.instance,
                                              'serial')
        self.assertEqual(ctype.ConsoleSerial(host=fake_driver.HOST,
                                             port=PORT), console)

    def test_other_console_types_are_unavailable(self):
        e = self.assertRaises(exception.ConsoleTypeUnavailable,
                              self.rpc.get_serial_console, CTX, HOST,
                              self.instance, 'novnc')
        self.assertEqual(400, e.code)
        self.assertNotIn('get_serial_console', self.driver.names())

    def test_validate_console_port(self):
        def check(host, port, console_type='serial'):
            return self.rpc.validate_console_port(
                CTX, HOST, self.instance, host, port, console_type)

        self.assertIs(True, check(fake_driver.HOST, PORT))
        self.assertIs(True, check(fake_driver.HOST, str(PORT)))
        self.assertIs(False, check(fake_driver.HOST, PORT + 1))
        self.assertIs(False, check('10.0.0.1', PORT))
        self.assertIs(False, check(fake_driver.HOST, PORT, 'spice'))
        self.assertIs(False, check(fake_driver.HOST, 'x'))
        self.driver.ports.clear()  # the guest is gone
        self.assertIs(False, check(fake_driver.HOST, PORT))
        self.assertIn('Console port of server %s not confirmed' % ids.SRV1,
                      self.logs.output)


class LiveMigrationTestCase(ManagerTestCase):
    """The source drives: a cast to it, calls to the destination, and
    the outcome reported to the conductor with a cast (recorded here)."""

    def setUp(self):
        super().setUp()
        self._build()
        self.start_host('dest')
        self.dest = self.drivers['dest']
        self.reports = []
        self.reported = threading.Event()
        conductor = self.conductor_endpoint()

        def report(ctxt, instance, source, dest, outcome, fault=None):
            self.reports.append((instance.uuid, source, dest, outcome,
                                 fault))
            self.reported.set()
        self.useFixture(fixtures.MockPatchObject(
            conductor, 'report_live_migration', side_effect=report))

    def _checked(self):
        data = self.rpc.check_can_live_migrate_destination(
            CTX, 'dest', self.instance)
        self.assertIsInstance(data, migrate_data.LibvirtLiveMigrateData)
        self.assertEqual(('fake+tcp://dest/system', fake_driver.HOST),
                         (data.connect_uri, data.serial_listen_addr))
        data.block_migration = False
        data = self.rpc.check_can_live_migrate_source(CTX, HOST,
                                                      self.instance, data)
        self.assertEqual((1, False), (data.serial_port_count,
                                      data.block_migration))
        return data

    def _migrate(self, data=None, requested_at=None):
        data = data or self._checked()
        self.driver.calls.clear()
        self.dest.calls.clear()
        if requested_at is None:
            self.rpc.live_migration(CTX, HOST, self.instance, 'dest', data)
        else:
            self.mgr.live_migration(CTX, instance=self.instance,
                                    dest='dest', migrate_data=data,
                                    requested_at=requested_at)
        self.assertTrue(self.reported.wait(base.WAIT))
        return self.reports[-1]

    @property
    def mgr(self):
        return self.services[HOST].manager

    def test_success(self):
        port = None

        def moved():
            nonlocal port
            port = self.dest.incoming[ids.SRV1]
        self.driver.hooks['live_migration'] = moved
        self.assertEqual((ids.SRV1, HOST, 'dest', 'done', None),
                         self._migrate())
        self.assertEqual(['live_migration', 'post_live_migration'],
                         self.driver.names())
        self.assertEqual(('live_migration', ids.SRV1,
                          'fake+tcp://dest/system'), self.driver.calls[0])
        self.assertEqual(['pre_live_migration',
                          'post_live_migration_at_destination'],
                         self.dest.names())
        self.assertEqual({ids.SRV1: port}, self.dest.ports)
        self.assertEqual({}, self.driver.ports)
        self.assertFalse(self.mgr.get_live_migration_state(
            CTX, instance=self.instance)['driving'])

    def test_certain_failure_rolls_the_destination_back(self):
        self.driver.fail['live_migration'] = exception.MigrationError(
            reason='link down')
        outcome = self._migrate()
        self.assertEqual((ids.SRV1, HOST, 'dest', 'failed'), outcome[:4])
        self.assertIn('link down', outcome[4])
        self.assertEqual(['pre_live_migration',
                          'rollback_live_migration_at_destination'],
                         self.dest.names())
        self.assertEqual({}, self.dest.incoming)
        self.assertIn(ids.SRV1, self.driver.ports)

    def test_no_rollback_while_the_job_may_complete(self):
        # libvirt said the call failed but a job still runs on the guest:
        # the source waits for its end, and decides then.
        self.nova_flags(long_rpc_timeout=20)
        self.driver.fail['live_migration'] = exception.MigrationError(
            reason='connection to libvirtd lost')
        self.driver.states[ids.SRV1] = driver.GUEST_MIGRATING
        looked = threading.Event()
        real = self.driver.live_migration_guest_state

        def state(instance):
            looked.set()
            return real(instance)
        self.useFixture(fixtures.MockPatchObject(
            self.driver, 'live_migration_guest_state', side_effect=state))
        self.rpc.live_migration(CTX, HOST, self.instance, 'dest',
                                self._checked())
        self.assertTrue(looked.wait(base.WAIT))
        self.assertFalse(self.reported.wait(0.5))
        self.assertNotIn('rollback_live_migration_at_destination',
                         self.dest.names())
        self.assertTrue(self.mgr.get_live_migration_state(
            CTX, instance=self.instance)['driving'])
        # The job ends and the guest moved after all: no rollback ever,
        # the conductor is told it must ask the hosts.
        del self.driver.states[ids.SRV1]
        del self.driver.ports[ids.SRV1]
        self.assertTrue(self.reported.wait(base.WAIT))
        self.assertEqual('unknown', self.reports[-1][3])
        self.assertNotIn('rollback_live_migration_at_destination',
                         self.dest.names())

    def test_failed_pre_live_migration(self):
        self.dest.fail['pre_live_migration'] = (
            exception.SocketPortRangeExhaustedException(host='dest'))
        outcome = self._migrate()
        self.assertEqual('failed', outcome[3])
        self.assertEqual(['pre_live_migration',
                          'rollback_live_migration_at_destination'],
                         self.dest.names())
        self.assertNotIn('live_migration', self.driver.names())

    def test_unexpected_error_is_named_by_its_host(self):
        self.driver.fail['live_migration'] = RuntimeError('boom')
        outcome = self._migrate()
        self.assertEqual(('failed', exception.ComputeHostError(
            host=HOST, reason='boom').message), outcome[3:])

    def test_destination_silent_after_the_move(self):
        # The guest runs there: a destination that cannot settle it now
        # does so from its guests when it starts again.
        self.dest.fail['post_live_migration_at_destination'] = OSError(
            'gone')
        self.assertEqual('done', self._migrate()[3])
        self.assertEqual({}, self.driver.ports)

    def test_request_from_before_a_restart_is_refused(self):
        outcome = self._migrate(requested_at=self.mgr._started_at - 1)
        self.assertEqual('failed', outcome[3])
        self.assertIn('restarted', outcome[4])
        self.assertNotIn('live_migration', self.driver.names())
        self.assertNotIn('pre_live_migration', self.dest.names())

    def test_post_at_source_refused_while_the_guest_is_here(self):
        data = self._checked()
        e = self.assertRaises(exception.MigrationError,
                              self.rpc.post_live_migration_at_source, CTX,
                              HOST, self.instance, data)
        self.assertIn('running', e.message)
        self.assertIn(ids.SRV1, self.driver.ports)

    def test_pre_check_errors_cross(self):
        self.driver.fail['check_can_live_migrate_source'] = (
            exception.MigrationPreCheckError(reason='local disk'))
        data = migrate_data.LibvirtLiveMigrateData()
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self.rpc.check_can_live_migrate_source,
                              CTX, HOST, self.instance, data)
        self.assertEqual('Migration pre-check error: local disk', e.message)
