"""The API's side of the compute RPC API: errors a host's absence gives."""

import time
from unittest import mock

from kombu import exceptions as kombu_exceptions
import oslo_messaging

from nova.compute import manager
from nova.compute import rpcapi
from nova import context
from nova import exception
from nova.objects import instance as objects
from nova import rpc
from nova.objects import migrate_data
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import base

CTX = context.get_admin_context()


class TimeoutTestCase(base.RPCTestCase):
    def setUp(self):
        super().setUp()
        self.nova_flags(rpc_response_timeout=1, long_rpc_timeout=2)
        self.api = rpcapi.ComputeAPI(self.nova_conf)
        self.instance = objects.Instance(uuid=ids.SRV1)

    def _unavailable(self, call, *args):
        e = self.assertRaises(exception.InstanceHostUnavailable, call, CTX,
                              *args)
        self.assertEqual(409, e.code)
        self.assertIn(ids.SRV1, e.message)
        self.assertIn('nowhere', e.message)
        return e.message

    def test_short_calls(self):
        self.assertIn('did not answer within 1 s', self._unavailable(
            self.api.get_console_output, 'nowhere', self.instance))
        self.assertIn('did not answer within 1 s', self._unavailable(
            self.api.get_instance_state, 'nowhere', self.instance))

    def test_actions_are_casts_that_wait_for_nothing(self):
        # The host reports the outcome to the conductor: nothing comes
        # back to the sender, so nothing waits a time-out.
        for cast, args in ((self.api.build_and_run_instance, ()),
                           (self.api.reboot_instance, ('HARD',)),
                           (self.api.rebuild_instance, ()),
                           (self.api.terminate_instance, ())):
            with mock.patch.object(self.api.client, 'prepare') as prepare:
                self.assertIsNone(cast(CTX, 'h', self.instance, *args))
            prepare.assert_called_once_with(server='h', version='2.0',
                                            retry=rpcapi.CALL_RETRIES)
            prepare.return_value.call.assert_not_called()
            self.assertEqual(1, prepare.return_value.cast.call_count)

    def test_live_migration_pre_checks_are_short(self):
        data = migrate_data.LibvirtLiveMigrateData()
        self.assertIn('within 1 s', self._unavailable(
            self.api.check_can_live_migrate_destination, 'nowhere',
            self.instance))
        self.assertIn('within 1 s', self._unavailable(
            self.api.check_can_live_migrate_source, 'nowhere',
            self.instance, data))
        self.assertIn('within 2 s', self._unavailable(
            self.api.pre_live_migration, 'nowhere', self.instance, data))
        for call in (self.api.post_live_migration_at_destination,
                     self.api.rollback_live_migration_at_destination,
                     self.api.post_live_migration_at_source):
            self.assertIn('within 1 s', self._unavailable(
                call, 'nowhere', self.instance, data))
        self.assertIn('within 1 s', self._unavailable(
            self.api.get_live_migration_state, 'nowhere', self.instance))

    def test_destination_check_cleanup_is_2_2_and_skipped_below(self):
        data = migrate_data.LibvirtLiveMigrateData()
        self.assertIn('within 1 s', self._unavailable(
            self.api.cleanup_live_migration_destination_check, 'nowhere',
            self.instance, data))
        self.nova_flags(compute='2.1', group='upgrade_levels')
        capped = rpcapi.ComputeAPI(self.nova_conf)
        with mock.patch.object(capped, '_call') as call:
            self.assertIsNone(
                capped.cleanup_live_migration_destination_check(
                    CTX, 'nowhere', self.instance, data))
        call.assert_not_called()

    def test_live_migration_is_a_cast(self):
        # Nobody waits for the job: sent, not answered.
        start = time.monotonic()
        self.assertIsNone(self.api.live_migration(
            CTX, 'nowhere', self.instance, 'dest',
            migrate_data.LibvirtLiveMigrateData()))
        self.assertLess(time.monotonic() - start, 1)

    def test_time_out_on_an_oslo_messaging_transport(self):
        # What a broker does: the call waits rpc_response_timeout for an
        # answer that never comes. oslo.messaging's own in-process driver
        # behaves so, and checks prepare()'s arguments as every driver.
        transport = oslo_messaging.get_rpc_transport(
            self.nova_conf, url='fake:')
        self.addCleanup(transport.cleanup)
        self.api.client = oslo_messaging.get_rpc_client(
            transport, oslo_messaging.Target(topic=rpcapi.TOPIC,
                                             version='2.0'),
            serializer=rpc.RequestContextSerializer())
        start = time.monotonic()
        self.assertIn('did not answer within 1 s', self._unavailable(
            self.api.get_console_output, 'nowhere', self.instance))
        self.assertGreaterEqual(time.monotonic() - start, 0.9)

    def test_broker_unreachable_is_503(self):
        with mock.patch.object(self.api.client, 'prepare') as prepare:
            prepare.return_value.cast.side_effect = (
                oslo_messaging.MessageDeliveryFailure('gone'))
            e = self.assertRaises(exception.ServiceUnavailable,
                                  self.api.reboot_instance, CTX, 'h',
                                  self.instance, 'SOFT')
        self.assertEqual(503, e.code)
        self.assertIn('The message broker cannot be reached', e.message)
        self.assertNotIn('gone', e.message)
        prepare.assert_called_once_with(server='h', version='2.0',
                                        retry=rpcapi.CALL_RETRIES)
        with mock.patch.object(self.api.client, 'prepare') as prepare:
            prepare.return_value.call.side_effect = (
                oslo_messaging.MessageDeliveryFailure('gone'))
            e = self.assertRaises(exception.ServiceUnavailable,
                                  self.api.get_console_output, CTX, 'h',
                                  self.instance)
        self.assertEqual(503, e.code)
        # oslo.messaging's can_send_version() prepares a client of its
        # own (version only); the message is prepared and sent once.
        self.assertIn(mock.call(server='h', version='2.1', timeout=1,
                                retry=rpcapi.CALL_RETRIES),
                      prepare.call_args_list)
        prepare.return_value.call.assert_called_once()

    def test_broker_refusing_connections_is_503(self):
        # kombu's error, not an oslo.messaging one, on a new connection.
        with mock.patch.object(self.api.client, 'prepare') as prepare:
            prepare.return_value.call.side_effect = (
                kombu_exceptions.OperationalError('refused'))
            e = self.assertRaises(exception.ServiceUnavailable,
                                  self.api.get_console_output, CTX, 'h',
                                  self.instance)
        self.assertIn('The message broker cannot be reached', e.message)

    def test_remote_error_is_a_host_error(self):
        with mock.patch.object(self.api.client, 'prepare') as prepare:
            prepare.return_value.call.side_effect = (
                oslo_messaging.RemoteError('KeyError', 'no such key'))
            e = self.assertRaises(exception.ComputeHostError,
                                  self.api.get_instance_state, CTX, 'h',
                                  self.instance)
        self.assertEqual('The compute service on h failed: no such key',
                         e.message)

    def test_other_errors_pass(self):
        with mock.patch.object(self.api.client, 'prepare') as prepare:
            prepare.return_value.call.side_effect = (
                exception.InstanceNotFound(instance_id=ids.SRV1))
            self.assertRaises(exception.InstanceNotFound,
                              self.api.get_serial_console, CTX, 'h',
                              self.instance, 'serial')


class HostileAnswerTestCase(base.RPCTestCase):
    """A host's answer that is not the documented shape is the host's
    error (ComputeHostError, 502 at the API), never a traceback."""

    def setUp(self):
        super().setUp()
        self.api = rpcapi.ComputeAPI(self.nova_conf)
        self.instance = objects.Instance(uuid=ids.SRV1)

    def _answer(self, answer, method, *args):
        with mock.patch.object(self.api.client, 'prepare') as prepare:
            prepare.return_value.call.return_value = answer
            return self.assertRaises(exception.ComputeHostError, method,
                                     CTX, 'h', self.instance, *args)

    def test_console_output_beyond_latin_1(self):
        # Each character stands for one byte of the log: one above 255
        # is no byte.
        e = self._answer('boot \u0101 ok', self.api.get_console_output)
        self.assertIn('malformed console output answer', e.message)

    def test_instance_state_not_its_shape(self):
        for answer in (None, 'busy', [], {}, {'exists': True},
                       {'exists': 'yes', 'busy': False},
                       {'exists': True, 'busy': 1},
                       {'exists': True, 'busy': False, 'finished': 'x'},
                       {'exists': True, 'busy': False, 'finished': 1}):
            e = self._answer(answer, self.api.get_instance_state)
            self.assertIn('malformed instance state answer', e.message)

    def test_instance_state_of_its_shape(self):
        with mock.patch.object(self.api.client, 'prepare') as prepare:
            prepare.return_value.call.return_value = {
                'exists': True, 'busy': False}
            self.assertEqual({'exists': True, 'busy': False,
                              'finished': None},
                             self.api.get_instance_state(CTX, 'h',
                                                         self.instance))
            prepare.return_value.call.return_value = {
                'exists': True, 'busy': False, 'finished': 'rebooting'}
            self.assertEqual('rebooting', self.api.get_instance_state(
                CTX, 'h', self.instance)['finished'])


class _HostileManager(manager.ComputeManager):
    """Answers get_serial_console with what a hostile host can put on
    the wire: an object primitive that does not deserialize."""

    answer = None

    def get_serial_console(self, ctxt, instance, console_type):
        return type(self).answer


def _console_primitive(**data):
    return {'nova_object.name': 'ConsoleSerial',
            'nova_object.namespace': 'nova',
            'nova_object.version': '1.0',
            'nova_object.data': data}


class MalformedObjectAnswerTestCase(base.RPCTestCase):
    """An object in a host's answer that does not deserialize is the
    host's error, not the broker's (503 'cannot be reached')."""

    def setUp(self):
        super().setUp()
        self.start_host('evil', manager_class=_HostileManager)
        self.api = rpcapi.ComputeAPI(self.nova_conf)
        self.instance = objects.Instance(uuid=ids.SRV1)

    def _check(self, answer):
        _HostileManager.answer = answer
        e = self.assertRaises(exception.ComputeHostError,
                              self.api.get_serial_console, CTX, 'evil',
                              self.instance, 'serial')
        self.assertIn('evil', e.message)
        return e

    def test_field_of_the_wrong_type(self):
        self._check(_console_primitive(host='h', port='not a port'))

    def test_unknown_object(self):
        answer = _console_primitive(host='h', port=1)
        answer['nova_object.name'] = 'NoSuchObject'
        self._check(answer)

    def test_newer_major_version(self):
        answer = _console_primitive(host='h', port=1)
        answer['nova_object.version'] = '9.0'
        self._check(answer)
