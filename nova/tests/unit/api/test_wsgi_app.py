"""nova.api.openstack.wsgi_app: the application any WSGI server loads."""

import io
import os

import fixtures
import webob

from nova.api.openstack import wsgi_app
from nova.cmd import common
from nova import test
from nova.tests.unit.api import fakes


class ConfigFilesTestCase(test.TestCase):
    def test_default_is_etc_nova_nova_conf(self):
        self.assertEqual(['/etc/nova/nova.conf'], wsgi_app.config_files({}))

    def test_folder_and_files_from_the_environment(self):
        self.assertEqual(
            ['/srv/nova/nova.conf', '/srv/nova/api.conf', '/abs/x.conf'],
            wsgi_app.config_files({
                'OS_NOVA_CONFIG_DIR': '/srv/nova',
                'OS_NOVA_CONFIG_FILES': 'nova.conf; api.conf;;/abs/x.conf'}))

    def test_empty_values_mean_the_defaults(self):
        self.assertEqual(['/etc/nova/nova.conf'], wsgi_app.config_files(
            {'OS_NOVA_CONFIG_DIR': ' ', 'OS_NOVA_CONFIG_FILES': ';'}))


class InitApplicationTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.useFixture(fixtures.MockPatch('oslo_log.log.setup'))
        self.connect_rpc = self.useFixture(fixtures.MockPatchObject(
            common, 'connect_rpc')).mock
        self.compute = fakes.FakeComputeAPI()
        self.compute.shutdown = lambda: None
        self.useFixture(fixtures.MockPatch(
            'nova.compute.api.API', return_value=self.compute))
        self.atexit = self.useFixture(fixtures.MockPatch(
            'atexit.register')).mock
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        self.folder = self.useFixture(fixtures.TempDir()).path

    def write(self, name, text):
        with open(os.path.join(self.folder, name), 'w') as f:
            f.write(text)

    def environ(self, files):
        return {'OS_NOVA_CONFIG_DIR': self.folder,
                'OS_NOVA_CONFIG_FILES': files}

    def test_application_serves_the_api(self):
        self.write('nova.conf', '[DEFAULT]\ntransport_url = '
                                'rabbit://nova:pw@127.0.0.1:5672/\n')
        # A later file wins.
        self.write('api.conf', '[oslo_middleware]\n'
                               'enable_proxy_headers_parsing = true\n')
        application = wsgi_app.init_application(
            environ=self.environ('nova.conf;api.conf'))
        self.connect_rpc.assert_called_once()
        self.atexit.assert_called_once_with(self.compute.shutdown)
        req = webob.Request.blank('/v2.1/flavors',
                                  headers={'X-Auth-Token': 'demo',
                                           'X-Forwarded-Proto': 'https',
                                           'X-Forwarded-Host': 'c.example'})
        response = req.get_response(application)
        self.assertEqual(200, response.status_int, response.body)
        self.assertIn('https://c.example/v2.1/flavors/1', response.text)
        self.assertIn('x-compute-request-id', response.headers)

    def test_no_broker_is_refused(self):
        self.write('nova.conf', '[DEFAULT]\n')
        error = self.assertRaises(
            RuntimeError, wsgi_app.init_application,
            environ=self.environ('nova.conf'))
        self.assertIn('transport_url', str(error))
        self.assertIn('transport_url is fake://', self.stderr.getvalue())
        self.connect_rpc.assert_not_called()

    def test_missing_file_is_named(self):
        error = self.assertRaises(
            RuntimeError, wsgi_app.init_application,
            environ=self.environ('missing.conf'))
        self.assertIn(os.path.join(self.folder, 'missing.conf'), str(error))
        self.assertIn('missing.conf', self.stderr.getvalue())

    def assert_invalid_value_named_before_the_broker(self, section, text):
        # Options the application reads are checked when it is built:
        # said as RuntimeError (the module's contract) before the broker
        # is waited for, not after.
        self.write('nova.conf', '[DEFAULT]\ntransport_url = '
                                'rabbit://nova:pw@127.0.0.1:5672/\n'
                                '[%s]\n%s\n' % (section, text))
        error = self.assertRaises(
            RuntimeError, wsgi_app.init_application,
            environ=self.environ('nova.conf'))
        name, _sep, value = text.partition(' = ')
        self.assertIn(name, str(error))
        self.assertIn(value, str(error))
        self.connect_rpc.assert_not_called()

    def test_invalid_auth_strategy_is_named(self):
        self.assert_invalid_value_named_before_the_broker(
            'api', 'auth_strategy = bogus')

    def test_invalid_body_size_limit_is_named(self):
        self.assert_invalid_value_named_before_the_broker(
            'oslo_middleware', 'max_request_body_size = abc')

    def test_invalid_proxy_headers_switch_is_named(self):
        self.assert_invalid_value_named_before_the_broker(
            'oslo_middleware', 'enable_proxy_headers_parsing = maybe')
