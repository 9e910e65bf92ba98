"""What every nova-* command does first: options, broker, conductor."""

import io

import fixtures

from nova.cmd import common
from nova.conductor import rpcapi as conductor_rpcapi
from nova import context
from nova.db import api as db
from nova.objects import compute_node
from nova import rpc
from nova import test
from nova.tests.unit.compute import base
from nova.tests.unit.db import base as db_base


class ParseArgsTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.stderr = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        self.useFixture(fixtures.MockPatch('oslo_log.log.setup'))
        self.tmp = self.useFixture(fixtures.TempDir())

    def test_config_file_is_read(self):
        path = self.tmp.join('nova.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nhost = from-file\n')
        self.assertTrue(common.parse_args(
            ['nova-x', '--config-file', path], 'nova-x'))
        self.assertEqual('from-file', common.CONF.host)

    def test_a_bad_value_stops_the_command_at_start_naming_it(self):
        for text, named in (
                ('[DEFAULT]\nreport_interval = abc\n', 'report_interval'),
                ('[conductor]\nstuck_task_timeout = -5\n',
                 'stuck_task_timeout')):
            path = self.tmp.join('bad.conf')
            with open(path, 'w') as f:
                f.write(text)
            self.stderr.seek(0)
            self.stderr.truncate()
            self.assertFalse(common.parse_args(
                ['nova-x', '--config-file', path], 'nova-x'))
            self.assertIn('nova-x: ', self.stderr.getvalue())
            self.assertIn(named, self.stderr.getvalue())
            self.assertIn('bad.conf', self.stderr.getvalue())
            self.assertNotIn('Traceback', self.stderr.getvalue())
            common.CONF.reset()
            common.CONF.clear()

    def test_missing_config_file(self):
        missing = self.tmp.join('missing.conf')
        self.assertFalse(common.parse_args(
            ['nova-x', '--config-file', missing], 'nova-x'))
        self.assertIn('nova-x: ', self.stderr.getvalue())
        self.assertIn('missing.conf', self.stderr.getvalue())


class RequireBrokerTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.stderr = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        rpc.register_opts(common.CONF)

    def test_in_process_transport_is_refused(self):
        self.assertFalse(common.require_broker('nova-x'))
        self.assertIn('nova-x: [DEFAULT] transport_url is fake://, which '
                      'only reaches services in the same process',
                      self.stderr.getvalue())
        self.assertIn('nova-all', self.stderr.getvalue())

    def test_broker_is_accepted(self):
        self.flags(transport_url='rabbit://u:p@broker:5672/')
        self.assertTrue(common.require_broker('nova-x'))
        self.assertEqual('', self.stderr.getvalue())


class ConductorTestCase(db_base.DBTestCase):
    def test_start_conductor_serves_reports_until_stopped(self):
        conf = base.new_conf(self)
        server = common.start_conductor(conf)
        api = conductor_rpcapi.ConductorAPI(conf)
        api.report_state(context.get_admin_context(), 'h1',
                         compute_node.ComputeNode(host='h1', vcpus=1))
        base.wait_for(self, lambda: db.service_get_by_host('h1'),
                      'the report')
        common.stop_rpc_server(server)
        # A cast nobody serves is lost, as on a broker with no consumer.
        api.report_state(context.get_admin_context(), 'h2',
                         compute_node.ComputeNode(host='h2'))
        rpc.cleanup(conf)  # runs the casts left
        self.assertIsNone(db.service_get_by_host('h2'))

    def test_stuck_tasks_are_checked_until_stopped(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.cmd.common.STUCK_CHECK_SECONDS', 0.01))
        conf = base.new_conf(self)
        checks = []
        self.useFixture(fixtures.MonkeyPatch(
            'nova.conductor.manager.ComputeTaskManager.check_stuck_tasks',
            lambda manager, ctx: checks.append(ctx.is_admin)))
        server = common.start_conductor(conf)
        base.wait_for(self, lambda: len(checks) >= 2, 'two checks')
        common.stop_rpc_server(server)
        server._checker.join(base.WAIT)
        self.assertFalse(server._checker.is_alive())
        self.assertTrue(all(checks))

    def test_no_check_with_a_zero_timeout(self):
        conf = base.new_conf(self)
        conf.set_override('stuck_task_timeout', 0, group='conductor')
        server = common.start_conductor(conf)
        server._checker.join(base.WAIT)
        self.assertFalse(server._checker.is_alive())
        common.stop_rpc_server(server)

    def test_stop_of_no_server(self):
        self.assertIsNone(common.stop_rpc_server(None))

    def test_ping_is_a_round_trip_to_a_conductor(self):
        conf = base.new_conf(self)
        api = conductor_rpcapi.ConductorAPI(conf)
        ctx = context.get_admin_context()
        self.assertFalse(api.ping(ctx, 1))  # no conductor yet
        server = common.start_conductor(conf)
        self.assertIs(True, api.ping(ctx, 1))
        common.stop_rpc_server(server)
        self.assertFalse(api.ping(ctx, 1))


class ConnectRPCTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.pings = []

    def _ping(self, answer):
        def ping(api, ctx, timeout):
            self.pings.append(timeout)
            return answer
        self.useFixture(fixtures.MockPatchObject(
            conductor_rpcapi.ConductorAPI, 'ping', ping))

    def test_in_process_needs_no_round_trip(self):
        self._ping(False)
        self.assertTrue(common.connect_rpc(base.new_conf(self)))
        self.assertEqual([], self.pings)

    def test_broker_round_trip_at_start(self):
        conf = base.new_conf(self)
        conf.set_override('transport_url', 'rabbit://n:p@127.0.0.1:1/')
        conf.set_override('rpc_response_timeout', 7)
        self._ping(True)
        self.assertTrue(common.connect_rpc(conf))
        self.assertEqual([common.PING_TRY_SECONDS], self.pings)
        self.assertNotIn('No conductor', self.logs.output)

    def test_conductor_that_comes_up_later_is_found_at_once(self):
        # The first pings went before nova-conductor's queue existed: the
        # broker dropped them. The process must not wait out the whole
        # rpc_response_timeout on one of them.
        conf = base.new_conf(self)
        conf.set_override('transport_url', 'rabbit://n:p@127.0.0.1:1/')
        conf.set_override('rpc_response_timeout', 60)
        answers = iter([False, False, True])

        def ping(api, ctx, timeout):
            self.pings.append(timeout)
            return next(answers)
        self.useFixture(fixtures.MockPatchObject(
            conductor_rpcapi.ConductorAPI, 'ping', ping))
        self.assertTrue(common.connect_rpc(conf))
        self.assertEqual([common.PING_TRY_SECONDS] * 3, self.pings)
        self.assertLess(sum(self.pings), 60)

    def test_no_conductor_is_a_warning_not_a_failure(self):
        conf = base.new_conf(self)
        conf.set_override('transport_url', 'rabbit://n:p@127.0.0.1:1/')
        self._ping(False)
        self.assertFalse(common.connect_rpc(conf))
        self.assertIn('No conductor answered within', self.logs.output)
        # Tried for rpc_response_timeout in all, in short tries.
        self.assertEqual(conf.rpc_response_timeout, sum(self.pings))
