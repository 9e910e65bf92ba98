"""nova.rpc: transports per configuration, contexts, errors on the wire."""

import datetime
import inspect
import json
import sys
import time

import fixtures
import oslo_messaging
from oslo_messaging._drivers import common as driver_common
from oslo_messaging.rpc import dispatcher
import testtools

import nova.conf
from nova.console import type as ctype
from nova import context
from nova import exception
from nova.objects import instance
from nova import rpc
from nova import rpc_local
from nova.tests.unit.compute import base
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit import rpc_scenario


class Echo:
    """An endpoint that shows what reached it."""

    target = oslo_messaging.Target(version='2.0')

    def echo(self, ctxt, **kwargs):
        ser = rpc.RequestContextSerializer()
        return {'context': ser.serialize_context(ctxt),
                'kwargs': kwargs}

    def fail(self, ctxt, error):
        raise {'nova': exception.ComputeHostNotFound(host='h1'),
               'other': RuntimeError('secret detail')}[error]


class RequestContextSerializerTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.serializer = rpc.RequestContextSerializer()

    def _round_trip(self, ctxt):
        wire = json.loads(json.dumps(
            self.serializer.serialize_context(ctxt)))
        return self.serializer.deserialize_context(wire)

    def test_round_trip(self):
        ctxt = context.RequestContext(user_id='alice', project_id='pa',
                                      roles=('member', 'reader'))
        back = self._round_trip(ctxt)
        self.assertEqual(ctxt, back)
        self.assertIsInstance(back.roles, tuple)
        self.assertFalse(back.is_admin)
        admin = context.get_admin_context()
        self.assertEqual(admin, self._round_trip(admin))

    def test_no_context_is_the_admins(self):
        for empty in (None, {}):
            ctxt = self._round_trip(empty)
            self.assertTrue(ctxt.is_admin)
            self.assertEqual('admin', ctxt.user_id)

    def test_unknown_fields_are_ignored(self):
        ctxt = self.serializer.deserialize_context(
            {'user_id': 'u', 'project_id': 'p', 'roles': None,
             'from_a_newer_sender': 1})
        self.assertEqual(('u', 'p', ()), (ctxt.user_id, ctxt.project_id,
                                          ctxt.roles))

    def test_dicts_pass(self):
        self.assertEqual({'user_id': 'u'},
                         self.serializer.serialize_context({'user_id': 'u'}))


class TransportTestCase(testtools.TestCase):
    def test_in_process_is_the_default(self):
        conf = base.new_conf(self)
        self.assertEqual('fake://', conf.transport_url)
        self.assertTrue(rpc.in_process(conf))
        self.assertEqual('nova', conf.control_exchange)

    def test_a_broker_is_not_in_process(self):
        conf = base.new_conf(self)
        conf.set_override('transport_url', 'rabbit://u:p@broker:5672/')
        self.assertFalse(rpc.in_process(conf))
        self.assertEqual('rabbit', rpc.transport_url(conf).transport)

    def test_one_transport_per_configuration(self):
        conf, other = base.new_conf(self), base.new_conf(self)
        transport = rpc.get_transport(conf)
        self.assertIs(transport, rpc.get_transport(conf))
        self.assertIsNot(transport, rpc.get_transport(other))
        rpc.cleanup(conf)
        self.assertIsNot(transport, rpc.get_transport(conf))
        rpc.cleanup(conf)
        rpc.cleanup(conf)  # harmless

    def test_options_of_a_separate_configuration(self):
        # oslo.messaging registers these groups on cfg.CONF only, and a
        # call or cast on a broker reads them from its own configuration.
        conf = nova.conf.new_conf()
        rpc.register_opts(conf)
        conf([], project='nova', default_config_files=[])
        self.assertFalse(conf.oslo_messaging_tracing.tracing_enabled)
        self.assertFalse(conf.oslo_messaging_metrics.metrics_enabled)


class InProcessTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.conf = base.new_conf(self)
        self.server = rpc.get_server(self.conf, 'echo', 'h1', [Echo()])
        self.server.start()
        self.addCleanup(self.server.wait)
        self.addCleanup(self.server.stop)
        self.client = rpc.get_client(self.conf, 'echo', '2.0')

    def test_call_goes_through_json(self):
        ctxt = context.RequestContext(user_id='u', project_id='p',
                                      roles=('member',))
        when = datetime.datetime(2026, 1, 2, 3, 4, 5)
        result = self.client.prepare(server='h1').call(
            ctxt, 'echo', when=when, items=(1, 2), data={'k': [None]})
        self.assertEqual({'when': '2026-01-02T03:04:05.000000',
                          'items': [1, 2], 'data': {'k': [None]}},
                         result['kwargs'])
        self.assertEqual(('u', 'p', ['member']), (
            result['context']['user_id'], result['context']['project_id'],
            result['context']['roles']))

    def test_nova_errors_cross(self):
        e = self.assertRaises(exception.ComputeHostNotFound,
                              self.client.prepare(server='h1').call,
                              None, 'fail', error='nova')
        self.assertEqual(('Compute host h1 could not be found.', 404),
                         (e.message, e.code))

    def test_other_errors_do_not_pass_for_nova_errors(self):
        # As a broker delivers them (BrokerSerializationTestCase): a
        # builtin by its class, with the remote traceback for the log.
        e = self.assertRaises(RuntimeError, self.client.prepare(
            server='h1').call, None, 'fail', error='other')
        self.assertNotIsInstance(e, exception.NovaException)
        self.assertIn('Traceback', str(e))

    def test_calls_do_not_wait_for_a_poll(self):
        # oslo.messaging's own fake driver polls every 50 ms: 100 calls
        # took 5 s. Woken on send they take milliseconds each, even on
        # a busy machine.
        start = time.monotonic()
        for _ in range(100):
            self.client.prepare(server='h1').call(None, 'echo')
        self.assertLess(time.monotonic() - start, 2.5)

    def test_a_send_wakes_only_the_listeners_of_its_topic(self):
        # Issue 14: every message woke every listener of the process
        # (the compute service's for an outcome cast to the conductor),
        # each taking the locks to find nothing for it.
        looked = {}
        take = rpc_local._Listener._take

        def counting_take(listener):
            topic = listener._targets[0].topic
            looked[topic] = looked.get(topic, 0) + 1
            return take(listener)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.rpc_local._Listener._take', counting_take))
        other = rpc.get_server(self.conf, 'other', 'h1', [Echo()])
        other.start()
        self.addCleanup(other.wait)
        self.addCleanup(other.stop)
        self.assertEqual({}, rpc.get_client(self.conf, 'other', '2.0')
                         .prepare(server='h1').call(None, 'echo')['kwargs'])
        time.sleep(0.2)
        before = dict(looked)
        for _ in range(20):
            self.client.prepare(server='h1').call(None, 'echo')
        time.sleep(0.2)
        self.assertGreaterEqual(looked['echo'] - before.get('echo', 0), 20)
        self.assertLessEqual(looked['other'] - before['other'], 1)

    def test_transports_do_not_share_queues(self):
        # The fake driver's queues are one set per process; a
        # configuration's own transport sees only its own servers.
        other = base.new_conf(self)
        client = rpc.get_client(other, 'echo', '2.0')
        self.assertRaises(oslo_messaging.MessagingTimeout,
                          client.prepare(server='h1', timeout=1).call,
                          None, 'echo')
        rpc.cleanup(other)
        self.assertEqual({}, self.client.prepare(server='h1').call(
            None, 'echo')['kwargs'])

    def test_unknown_server_times_out(self):
        # As on a broker: nobody consumes the message, the caller waits
        # for its timeout.
        self.assertRaises(oslo_messaging.MessagingTimeout,
                          self.client.prepare(server='h2', timeout=1).call,
                          None, 'echo')


def _nova_exceptions():
    return [cls for _name, cls in inspect.getmembers(exception,
                                                     inspect.isclass)
            if issubclass(cls, exception.NovaException)]


def _sample(cls):
    """An instance of ``cls`` with every keyword its message names."""
    class Keys(dict):
        def __missing__(self, key):
            self[key] = 3 if key in ('wanted', 'allowed', 'image_value',
                                     'flavor_value', 'flavor_size',
                                     'image_size', 'image_min_disk'
                                     ) else 'v-' + key
            return self[key]
    kwargs = Keys()
    cls.msg_fmt % kwargs
    return cls(**kwargs)


class BrokerSerializationTestCase(testtools.TestCase):
    """What oslo.messaging does to an error on a real broker: it sends the
    class, the arguments and the message (with the remote traceback), and
    rebuilds it from the allowed modules (``rpc.ALLOWED_EXMODS``)."""

    def _cross(self, error):
        try:
            raise error
        except Exception:
            wire = driver_common.serialize_remote_exception(sys.exc_info())
        return driver_common.deserialize_remote_exception(
            wire, rpc.ALLOWED_EXMODS)

    def test_every_nova_error_keeps_class_message_and_code(self):
        classes = _nova_exceptions()
        self.assertGreater(len(classes), 20)
        for cls in classes:
            error = _sample(cls)
            back = self._cross(error)
            self.assertIsInstance(back, cls, cls.__name__)
            self.assertEqual((error.message, error.code),
                             (back.message, back.code), cls.__name__)
            self.assertNotIn('Traceback', back.message)

    def test_compute_host_error_message_has_no_traceback(self):
        back = self._cross(exception.ComputeHostError(host='h1',
                                                      reason='boom'))
        self.assertEqual('The compute service on h1 failed: boom',
                         back.message)
        self.assertEqual(exception.fault_message(back), back.message)

    def test_builtin_errors_carry_the_remote_traceback(self):
        # Why the compute manager sends ComputeHostError instead.
        back = self._cross(RuntimeError('secret detail'))
        self.assertIsInstance(back, RuntimeError)
        self.assertIn('Traceback', str(back))


class Consoles:
    """An endpoint of compute RPC API 2.0 (an older host)."""

    target = oslo_messaging.Target(version='2.0')

    def console(self, ctxt, instance):
        return ctype.ConsoleSerial(host=instance.host, port=10000)


class NewerConsoles(Consoles):
    """The same endpoint at 2.1 (a current host)."""

    target = oslo_messaging.Target(version='2.1')


class VersionedRPCMixin:
    """What a broker does with objects and versions; run on nova's
    in-process transport and on oslo.messaging's own driver, which
    dispatches as on RabbitMQ (``OsloFakeDriverTestCase``)."""

    def serve(self, server, endpoint):
        raise NotImplementedError

    def client(self, version_cap=None):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.conf = base.new_conf(self)
        self.instance = instance.Instance(uuid=ids.SRV1, host='h-old')

    def test_objects_cross_as_objects(self):
        self.serve('old', Consoles())
        answer = self.client().prepare(server='old').call(
            None, 'console', instance=self.instance)
        self.assertEqual(ctype.ConsoleSerial('h-old', 10000), answer)

    def assertUnsupported(self, version, call, *args, **kwargs):
        # As RabbitMQ delivers it: the dispatcher's error by its name
        # (its module is not one of rpc.ALLOWED_EXMODS).
        e = self.assertRaises(oslo_messaging.RemoteError, call, *args,
                              **kwargs)
        self.assertEqual('UnsupportedVersion', e.exc_type)
        self.assertIn('version %s' % version, e.value)

    def test_a_newer_minor_version_is_refused(self):
        self.serve('old', Consoles())
        self.assertUnsupported(
            '2.1', self.client().prepare(server='old', version='2.1').call,
            None, 'console', instance=self.instance)

    def test_older_minors_of_the_same_major_are_served(self):
        self.serve('new', NewerConsoles())
        for version in ('2.0', '2.1'):
            self.assertEqual(10000, self.client().prepare(
                server='new', version=version).call(
                    None, 'console', instance=self.instance).port)
        for version in ('1.9', '3.0', '2.2'):
            self.assertUnsupported(
                version,
                self.client().prepare(server='new', version=version).call,
                None, 'console', instance=self.instance)

    def test_cap(self):
        self.serve('new', NewerConsoles())
        client = self.client(version_cap='2.0')
        self.assertTrue(client.can_send_version('2.0'))
        self.assertFalse(client.can_send_version('2.1'))
        self.assertTrue(self.client().can_send_version('2.1'))
        self.assertRaises(oslo_messaging.RPCVersionCapError,
                          client.prepare(server='new', version='2.1').call,
                          None, 'console', instance=self.instance)

    def test_a_bad_object_is_refused_before_the_endpoint(self):
        self.serve('old', Consoles())
        wire = rpc.RequestContextSerializer().serialize_entity(
            None, self.instance)
        wire['nova_object.data']['uuid'] = '../victim'
        self.assertRaises(exception.InvalidUUID,
                          self.client().prepare(server='old').call, None,
                          'console', instance=wire)


class InProcessVersionsTestCase(VersionedRPCMixin, testtools.TestCase):
    def serve(self, server, endpoint):
        rpc_server = rpc.get_server(self.conf, 'versions', server,
                                    [endpoint])
        rpc_server.start()
        self.addCleanup(rpc_server.stop)

    def client(self, version_cap=None):
        return rpc.get_client(self.conf, 'versions', '2.0',
                              version_cap=version_cap)


class OsloFakeDriverTestCase(VersionedRPCMixin, testtools.TestCase):
    """The same on oslo.messaging's own fake driver, which
    nova.rpc_local.LocalDriver specializes: the same dispatcher, but
    errors handed over as they are."""

    def setUp(self):
        super().setUp()
        self.transport = oslo_messaging.get_rpc_transport(
            self.conf, url='fake:', allowed_remote_exmods=rpc.ALLOWED_EXMODS)
        self.addCleanup(self.transport.cleanup)

    def assertUnsupported(self, version, call, *args, **kwargs):
        # The fake driver hands the caller the server's exception as it
        # is; RabbitMQ's (above) sends it by name.
        e = self.assertRaises(dispatcher.UnsupportedVersion, call, *args,
                              **kwargs)
        self.assertEqual(version, e.version)

    def serve(self, server, endpoint):
        rpc_server = oslo_messaging.get_rpc_server(
            self.transport,
            oslo_messaging.Target(topic='versions', server=server),
            [endpoint], executor='threading',
            serializer=rpc.RequestContextSerializer())
        rpc_server.start()
        self.addCleanup(rpc_server.wait)
        self.addCleanup(rpc_server.stop)

    def client(self, version_cap=None):
        return oslo_messaging.get_rpc_client(
            self.transport,
            oslo_messaging.Target(topic='versions', version='2.0'),
            version_cap=version_cap, timeout=10,
            serializer=rpc.RequestContextSerializer())


class InProcessScenarioTestCase(testtools.TestCase):
    """nova-all's transport against the contract that RabbitMQ meets too
    (rpc_scenario; the functional test_rpc_transports runs it on both)."""

    def test_same_as_on_a_broker(self):
        conf = base.new_conf(self)
        self.assertEqual(rpc_scenario.EXPECTED, rpc_scenario.observe(conf))
