"""os-getSerialConsole (2.1-2.5) and POST remote-consoles (2.6, 2.8)."""

from nova import exception
from nova.tests.unit.api import base

COMPUTE_ERRORS = (
    (exception.ConsoleTypeUnavailable(console_type='serial'), 400,
     'badRequest'),
    (exception.SocketPortRangeExhaustedException(port_range='1:2',
                                                 host='h'),
     400, 'badRequest'),
    (exception.ImageSerialPortNumberInvalid(property='hw_serial_port_count',
                                            value='x'),
     400, 'badRequest'),
    (exception.ImageSerialPortNumberExceedFlavorValue(image_value=3,
                                                      flavor_value=2),
     400, 'badRequest'),
    (exception.InstanceNotReady(instance_id='i', state='building'), 409,
     'conflictingRequest'),
    (exception.InstanceNotFound(instance_id='i'), 404, 'itemNotFound'),
)


class GetSerialConsoleActionTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()

    def get_console(self, body=None, version=None, server_id=None):
        body = {'type': 'serial'} if body is None else body
        return self.action(server_id or self.server['uuid'],
                           {'os-getSerialConsole': body}, version=version)

    def test_get_serial_console(self):
        for version in (None, '2.1', '2.5'):
            response = self.get_console(version=version)
            self.assertStatus(200, response)
            console = self.json(response)['console']
            self.assertEqual({'type', 'url'}, set(console))
            self.assertEqual('serial', console['type'])
            self.assertTrue(console['url'].startswith(
                'ws://127.0.0.1:6083/?token='))
        self.assertEqual(
            ('get_serial_console', self.server['uuid'], 'serial'),
            self.compute.calls[-1])

    def test_replaced_by_remote_consoles_in_26(self):
        for version in ('2.6', 'latest'):
            self.assertFault(self.get_console(version=version), 404,
                             'itemNotFound', 'remote-consoles')
        self.assertEqual([], self.compute.calls)

    def test_schema_errors(self):
        for body, field in (({'type': 'novnc'}, 'type'), ({}, 'type'),
                            ({'type': 'serial', 'port': 1}, 'port')):
            self.assertFault(self.get_console(body), 400, 'badRequest',
                             'field/attribute os-getSerialConsole.%s:'
                             % field)
        self.assertFault(
            self.action(self.server['uuid'], {'os-getSerialConsole': None}),
            400, 'badRequest')
        self.assertEqual([], self.compute.calls)

    def test_compute_errors(self):
        for exc, status, name in COMPUTE_ERRORS:
            self.compute.fail['get_serial_console'] = exc
            self.assertFault(self.get_console(), status, name, exc.message)
        self.compute.fail['get_serial_console'] = NotImplementedError()
        self.assertFault(self.get_console(), 501, 'notImplemented')

    def test_other_projects_server_is_404(self):
        other = self.compute.add_server(project_id='other')
        self.assertFault(self.get_console(server_id=other['uuid']), 404,
                         'itemNotFound')


class RemoteConsolesTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()
        self.path = '/v2.1/servers/%s/remote-consoles' % self.server['uuid']

    def create(self, protocol='serial', console_type='serial',
               version='2.6', body=None, path=None):
        if body is None:
            body = {'remote_console': {'protocol': protocol,
                                       'type': console_type}}
        return self.request('POST', path or self.path, body=body,
                            version=version)

    def test_serial(self):
        for version in ('2.6', 'latest'):
            response = self.create(version=version)
            self.assertStatus(200, response)
            console = self.json(response)['remote_console']
            self.assertEqual({'protocol', 'type', 'url'}, set(console))
            self.assertEqual(('serial', 'serial'),
                             (console['protocol'], console['type']))
            self.assertTrue(console['url'].startswith('ws://'))
        self.assertEqual(
            ('get_serial_console', self.server['uuid'], 'serial'),
            self.compute.calls[-1])

    def test_needs_26(self):
        for version in (None, '2.1', '2.5'):
            self.assertFault(self.create(version=version), 404,
                             'itemNotFound')
        self.assertEqual([], self.compute.calls)

    def test_other_protocols_are_unavailable(self):
        for version in ('2.6', '2.8', '2.25'):
            for protocol, console_type in (
                    ('vnc', 'novnc'), ('vnc', 'xvpvnc'),
                    ('spice', 'spice-html5'), ('rdp', 'rdp-html5'),
                    ('serial', 'novnc'), ('vnc', 'serial')):
                self.assertFault(
                    self.create(protocol, console_type, version=version),
                    400, 'badRequest', 'Unavailable console type')
        self.assertEqual([], self.compute.calls)

    def test_mks_is_known_from_28(self):
        # Before 2.8 Nova's schema does not know mks or webmks.
        for version in ('2.6', '2.7'):
            self.assertFault(self.create('mks', 'novnc', version=version),
                             400, 'badRequest', 'field/attribute '
                             'remote_console.protocol:', "'mks' is not one")
            self.assertFault(self.create('serial', 'webmks',
                                         version=version),
                             400, 'badRequest', 'field/attribute '
                             'remote_console.type:', "'webmks' is not one")
        # From 2.8 on it is valid, but this cloud has no MKS console.
        for version in ('2.8', '2.25', 'latest'):
            self.assertFault(self.create('mks', 'webmks', version=version),
                             400, 'badRequest',
                             'Unavailable console type mks.')
            self.assertFault(self.create('serial', 'webmks',
                                         version=version),
                             400, 'badRequest', 'Unavailable console type',
                             'webmks')
        self.assertEqual([], self.compute.calls)

    def test_schema_errors(self):
        for body, field in (
                ({}, 'remote_console'),
                ({'remote_console': None}, 'remote_console'),
                ({'remote_console': {'protocol': 'telnet', 'type': 'serial'}},
                 'remote_console.protocol'),
                ({'remote_console': {'protocol': 'serial', 'type': 'tty'}},
                 'remote_console.type'),
                ({'remote_console': {'protocol': 'serial'}},
                 'remote_console.type'),
                ({'remote_console': {'type': 'serial'}},
                 'remote_console.protocol'),
                ({'remote_console': {'protocol': 'serial', 'type': 'serial',
                                     'x': 1}}, 'remote_console.x'),
                ({'remote_console': {'protocol': 'serial', 'type': 'serial'},
                  'x': 1}, 'x')):
            self.assertFault(self.create(body=body), 400, 'badRequest',
                             'field/attribute %s:' % field)

    def test_compute_errors(self):
        for exc, status, name in COMPUTE_ERRORS:
            self.compute.fail['get_serial_console'] = exc
            self.assertFault(self.create(), status, name, exc.message)
        self.compute.fail['get_serial_console'] = NotImplementedError()
        self.assertFault(self.create(), 501, 'notImplemented')

    def test_unknown_and_other_projects_server_is_404(self):
        other = self.compute.add_server(project_id='other')
        for server_id in ('nope', other['uuid']):
            path = '/v2.1/servers/%s/remote-consoles' % server_id
            self.assertFault(self.create(path=path), 404, 'itemNotFound')

    def test_not_ready_is_409(self):
        self.compute.servers[self.server['uuid']]['status'] = 'BUILD'
        self.assertFault(self.create(), 409, 'conflictingRequest')

    def test_only_post(self):
        response = self.request('GET', self.path, version='2.6')
        self.assertFault(response, 405, 'badMethod')
        self.assertEqual('POST', response.headers['Allow'])
