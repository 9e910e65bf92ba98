import http.client
import io
import json
import signal
import socket
import threading
import time
from unittest import mock

import fixtures

from nova.api import http_server
from nova.api.openstack.compute import app
from nova.cmd import api as cmd_api
from nova import test
from nova.tests.unit.api import fakes


def _get(port, path, token='demo'):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request('GET', path, headers={'X-Auth-Token': token})
        response = conn.getresponse()
        return response, json.loads(response.read())
    finally:
        conn.close()


class ServeTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.application = app.build_app(fakes.FakeComputeAPI())

    def test_server_serves_the_api_until_stopped(self):
        server = cmd_api.make_server(self.application, '127.0.0.1', 0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            response, body = _get(server.port, '/v2.1/flavors')
            # A keep-alive connection left open does not hold stop() up.
            idle = socket.create_connection(('127.0.0.1', server.port))
            self.addCleanup(idle.close)
        finally:
            server.stop()
            thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertEqual(200, response.status)
        self.assertEqual(2, len(body['flavors']))
        self.assertEqual('nova-api', response.getheader('Server'))
        self.assertRaises(OSError, socket.create_connection,
                          ('127.0.0.1', server.port), 1)

    def test_sigterm_stops_serve(self):
        self.assertIs(threading.main_thread(), threading.current_thread())
        before = signal.getsignal(signal.SIGTERM)
        servers = []
        real_make_server = cmd_api.make_server

        def make_server(*args, **kwargs):
            servers.append(real_make_server(*args, **kwargs))
            return servers[-1]
        self.useFixture(fixtures.MockPatchObject(cmd_api, 'make_server',
                                                 make_server))
        seen = {}

        def client():
            while not servers:
                time.sleep(0.01)
            seen['response'], _body = _get(servers[0].port, '/v2.1/images')
            seen['handler'] = signal.getsignal(signal.SIGTERM)
            if seen['handler'] is before:
                servers[0].stop()  # never kill the test process
            else:
                signal.pthread_kill(threading.main_thread().ident,
                                    signal.SIGTERM)
        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        cmd_api.serve(self.application, '127.0.0.1', 0)
        thread.join(10)
        self.assertEqual(200, seen['response'].status)
        self.assertIs(cmd_api._exit_on_sigterm, seen['handler'])
        self.assertIs(before, signal.getsignal(signal.SIGTERM))
        self.assertRaises(OSError, socket.create_connection,
                          ('127.0.0.1', servers[0].port), 1)

    def test_port_in_use(self):
        server = cmd_api.make_server(self.application, '127.0.0.1', 0)
        self.addCleanup(server.stop)
        self.assertRaises(OSError, cmd_api.make_server, self.application,
                          '127.0.0.1', server.port)

    def test_stop_before_run_releases_the_port(self):
        server = cmd_api.make_server(self.application, '127.0.0.1', 0)
        server.stop()
        again = cmd_api.make_server(self.application, '127.0.0.1',
                                    server.port)
        again.stop()

    def test_stop_while_the_loop_closes_is_quiet(self):
        # The loop closing its connections (run() ending, or a first
        # stop) closes the trigger's pipe: pulling it then gives EBADF.
        server = cmd_api.make_server(self.application, '127.0.0.1', 0)
        server._running = True
        with mock.patch.object(http_server.trigger.trigger, 'pull_trigger',
                               side_effect=OSError(9, 'Bad file '
                                                      'descriptor')) as pull:
            server.stop()
        self.assertEqual(1, pull.call_count)
        server._running = False
        server.stop()


class MainTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.useFixture(fixtures.MockPatch('oslo_log.log.setup'))
        self.served = []
        self.useFixture(fixtures.MockPatchObject(
            cmd_api, 'serve', lambda *args: self.served.append(args)))
        self.compute = fakes.FakeComputeAPI()
        self.compute.shutdown = lambda: self.compute.calls.append(
            ('shutdown',))
        self.compute.start = lambda: self.compute.calls.append(('start',))
        # nova-api of a split deployment runs no conductor: it only sets
        # its reply queue up.
        self.start_conductor = self.useFixture(fixtures.MockPatchObject(
            cmd_api.common, 'start_conductor')).mock
        self.connect_rpc = self.useFixture(fixtures.MockPatchObject(
            cmd_api.common, 'connect_rpc')).mock
        self.conf_file = self.useFixture(fixtures.TempDir()).join('n.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[DEFAULT]\nosapi_compute_listen = 127.0.0.2\n'
                    'osapi_compute_listen_port = 18774\n'
                    'transport_url = rabbit://nova:pw@127.0.0.1:5672/\n')

    def main(self):
        return cmd_api.main(['nova-api', '--config-file', self.conf_file],
                            compute_api=self.compute)

    def test_serves_on_configured_address(self):
        self.assertEqual(0, self.main())
        [(application, host, port)] = self.served
        self.assertEqual(('127.0.0.2', 18774), (host, port))
        self.assertEqual([('shutdown',)], self.compute.calls)
        self.start_conductor.assert_not_called()
        self.connect_rpc.assert_called_once_with(cmd_api.CONF)

    def test_cannot_listen(self):
        def serve(*args):
            raise OSError(98, 'Address already in use')
        self.useFixture(fixtures.MockPatchObject(cmd_api, 'serve', serve))
        self.assertEqual(1, self.main())
        self.assertEqual([('shutdown',)], self.compute.calls)
        self.start_conductor.assert_not_called()

    def test_needs_a_broker(self):
        with open(self.conf_file, 'w') as f:
            f.write('[DEFAULT]\nosapi_compute_listen = 127.0.0.2\n')
        stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        self.assertEqual(1, self.main())
        self.assertIn('transport_url is fake://', stderr.getvalue())
        self.assertIn('nova-all', stderr.getvalue())
        self.assertEqual([], self.served)
        self.assertEqual([], self.compute.calls)

    def test_invalid_option_value(self):
        # Named on stderr at start, exit 1, nothing served, no broker
        # waited for: not a traceback, and not a 500 on every request.
        stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        with open(self.conf_file, 'a') as f:
            f.write('[oslo_middleware]\n'
                    'enable_proxy_headers_parsing = maybe\n')
        self.assertEqual(1, self.main())
        self.assertIn('nova-api: ', stderr.getvalue())
        self.assertIn('enable_proxy_headers_parsing', stderr.getvalue())
        self.assertIn('maybe', stderr.getvalue())
        self.assertNotIn('Traceback', stderr.getvalue())
        self.assertEqual([], self.served)
        self.connect_rpc.assert_not_called()

    def test_noauth2_off_loopback_is_refused(self):
        logs = self.useFixture(fixtures.FakeLogger(name='nova.cmd.api'))
        with open(self.conf_file, 'a') as f:
            f.write('[DEFAULT]\nosapi_compute_listen = 192.0.2.10\n')
        self.assertEqual(1, self.main())
        self.assertIn('nova-api cannot start: [api] auth_strategy = '
                      'noauth2', logs.output)
        self.assertIn('192.0.2.10', logs.output)
        self.assertIn('osapi_compute_listen', logs.output)
        self.assertNotIn('Traceback', logs.output)
        self.assertEqual([], self.served)
        self.connect_rpc.assert_not_called()

    def test_missing_config_file(self):
        stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        self.assertEqual(1, cmd_api.main(['nova-api', '--config-file',
                                          self.conf_file + '.missing']))
        self.assertIn('.missing', stderr.getvalue())
        self.assertEqual([], self.served)

    def test_imports_its_compute_api_by_name_nowhere(self):
        # The compute API is imported as any module is and can be
        # given: nothing looks a module up by a string.
        import inspect
        self.assertNotIn('importlib', inspect.getsource(cmd_api))


class WaitressConfinedTestCase(test.TestCase):
    def test_only_http_server_imports_waitress(self):
        # waitress's internals (subclassed for the connection guard) are
        # reached from nova.api.http_server alone; the commands use it.
        import ast
        import inspect

        from nova.cmd import all as cmd_all
        for module in (cmd_api, cmd_all, app):
            tree = ast.parse(inspect.getsource(module))
            imported = [
                alias.name if isinstance(node, ast.Import) else node.module
                for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names]
            self.assertFalse(
                [name for name in imported
                 if name and name.split('.')[0] == 'waitress'],
                module.__name__)
