"""POST /servers/{id}/console-viewers, and the upstream console calls
that must keep refusing a read-only console."""

from nova.api.openstack.compute.schemas import console_viewers as schema
from nova.api.openstack.compute import validation
from nova import exception
from nova import test
from nova.tests.unit.api import base
from nova.tests.unit.api import fakes
from nova.tests.unit.api import test_serial_console

VERSIONS = (None, '2.1', '2.5', '2.6', '2.8', '2.25', 'latest')
# The errors remote-consoles gives, and the host and broker ones.
COMPUTE_ERRORS = test_serial_console.COMPUTE_ERRORS + (
    (exception.InstanceHostUnavailable(instance_uuid='i', host='h',
                                       reason='is down'),
     409, 'conflictingRequest'),
    (exception.ServiceUnavailable(reason='The message broker cannot be '
                                  'reached'), 503, 'serviceUnavailable'),
)


class ConsoleViewersTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()
        self.path = self.path_of(self.server['uuid'])

    @staticmethod
    def path_of(server_id):
        return '/v2.1/servers/%s/console-viewers' % server_id

    def create(self, body=None, version=None, path=None,
               token=base.DEMO_TOKEN):
        body = {'console_viewer': {}} if body is None else body
        return self.request('POST', path or self.path, body=body,
                            version=version, token=token)

    def test_viewer_at_every_microversion(self):
        for version in VERSIONS:
            response = self.create(version=version)
            self.assertStatus(200, response)
            viewer = self.json(response)['console_viewer']
            self.assertEqual({'protocol', 'type', 'url', 'web_url'},
                             set(viewer))
            self.assertEqual(('serial', 'serial-readonly'),
                             (viewer['protocol'], viewer['type']))
            token = viewer['url'].split('token=')[1]
            self.assertEqual(fakes.CONSOLE_URL % token, viewer['url'])
            self.assertEqual(fakes.CONSOLE_PAGE_URL % token,
                             viewer['web_url'])
            self.assertEqual(('get_console_viewer', self.server['uuid']),
                             self.compute.calls[-1])
        self.assertEqual(len(VERSIONS), len(self.compute.actions()))

    def test_caller_context_reaches_the_compute_api(self):
        self.assertStatus(200, self.create())
        ctx = self.compute.contexts[-1]
        self.assertEqual(('demo', 'demo', False),
                         (ctx.user_id, ctx.project_id, ctx.is_admin))

    def test_bad_bodies_name_what_is_wrong(self):
        for body, field in (
                ({}, 'console_viewer'),
                ({'console_viewer': None}, 'console_viewer'),
                ({'console_viewer': []}, 'console_viewer'),
                ({'console_viewer': 'serial'}, 'console_viewer'),
                ({'console_viewer': {'type': 'serial'}},
                 'console_viewer.type'),
                ({'console_viewer': {'history': 10}},
                 'console_viewer.history'),
                ({'console_viewer': {}, 'remote_console': {}},
                 'remote_console'),
                ([], 'request body'),
                ('viewer', 'request body')):
            self.assertFault(self.create(body=body), 400, 'badRequest',
                             'field/attribute %s:' % field)
        for raw in (b'', b'{', b'{"console_viewer": {}', b'\xff'):
            self.assertFault(self.request('POST', self.path, raw=raw), 400,
                             'badRequest')
        self.assertEqual([], self.compute.calls)

    def test_compute_errors(self):
        for exc, status, name in COMPUTE_ERRORS:
            self.compute.fail['get_console_viewer'] = exc
            self.assertFault(self.create(), status, name, exc.message)
        self.compute.fail['get_console_viewer'] = NotImplementedError()
        self.assertFault(self.create(), 501, 'notImplemented')

    def test_unknown_and_other_projects_server_is_404(self):
        other = self.compute.add_server(project_id='other')
        for server_id in ('nope', other['uuid'], 'x' * 300):
            self.assertFault(self.create(path=self.path_of(server_id)),
                             404, 'itemNotFound')
        # The other project sees its own server, and not ours.
        self.assertStatus(200, self.create(path=self.path_of(other['uuid']),
                                           token=base.OTHER_TOKEN))
        self.assertFault(self.create(token=base.OTHER_TOKEN), 404,
                         'itemNotFound')

    def test_admin_gets_a_viewer_of_any_project(self):
        other = self.compute.add_server(project_id='other')
        response = self.create(path=self.path_of(other['uuid']),
                               token=base.ADMIN_TOKEN)
        self.assertStatus(200, response)

    def test_needs_authentication(self):
        self.assertFault(self.create(token=None), 401, 'unauthorized')
        self.assertEqual([], self.compute.calls)

    def test_not_ready_is_409(self):
        for status in ('BUILD', 'ERROR', 'REBOOT'):
            self.compute.servers[self.server['uuid']]['status'] = status
            self.assertFault(self.create(), 409, 'conflictingRequest',
                             'not ready')

    def test_only_post(self):
        for method in ('GET', 'PUT', 'DELETE'):
            response = self.request(method, self.path)
            self.assertFault(response, 405, 'badMethod')
            self.assertEqual('POST', response.headers['Allow'])
        self.assertFault(self.request(
            'GET', self.path + '/1'), 404, 'itemNotFound')


class SchemaTestCase(test.TestCase):
    def test_only_an_empty_object(self):
        validation.validate({'console_viewer': {}}, schema.create)
        for body in ({}, {'console_viewer': {'a': 1}},
                     {'console_viewer': {}, 'a': 1}, None,
                     {'console_viewer': 1}):
            e = self.assertRaises(exception.ValidationError,
                                  validation.validate, body, schema.create)
            self.assertEqual(400, e.code)


class UpstreamCallsRefuseReadOnlyTestCase(base.APITestCase):
    """remote-consoles and os-getSerialConsole answer a read-only type as
    they always did: the schema's 400, before the compute API."""

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()

    def test_remote_consoles(self):
        path = '/v2.1/servers/%s/remote-consoles' % self.server['uuid']
        for version in ('2.6', '2.8', 'latest'):
            response = self.request('POST', path, body={'remote_console': {
                'protocol': 'serial', 'type': 'serial-readonly'}},
                version=version)
            self.assertFault(response, 400, 'badRequest',
                             'field/attribute remote_console.type:',
                             "'serial-readonly' is not one of")
            response = self.request('POST', path, body={'remote_console': {
                'protocol': 'serial-readonly', 'type': 'serial'}},
                version=version)
            self.assertFault(response, 400, 'badRequest',
                             'field/attribute remote_console.protocol:')
        self.assertEqual([], self.compute.calls)

    def test_get_serial_console_action(self):
        for version in (None, '2.1', '2.5'):
            response = self.action(
                self.server['uuid'],
                {'os-getSerialConsole': {'type': 'serial-readonly'}},
                version=version)
            self.assertFault(response, 400, 'badRequest',
                             'field/attribute os-getSerialConsole.type:',
                             "'serial-readonly' is not one of")
        self.assertEqual([], self.compute.calls)
