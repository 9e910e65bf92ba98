from nova import exception
from nova.tests.unit.api import base
from nova.tests.unit.api import fakes


class ActionDispatchTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()

    def test_body_must_have_exactly_one_key(self):
        for body in ({}, {'reboot': {'type': 'SOFT'}, 'rebuild': {}}, [],
                     'reboot', None):
            self.assertFault(self.action(self.server['uuid'], body), 400,
                             'badRequest')
        self.assertEqual([], self.compute.calls)

    def test_unknown_action_is_400_naming_it(self):
        for name in ('os-start', 'os-getVNCConsole', 'REBOOT'):
            self.assertFault(self.action(self.server['uuid'], {name: {}}),
                             400, 'badRequest',
                             'There is no such action: %s' % name)

    def test_action_only_by_post(self):
        response = self.request('GET', '/v2.1/servers/%s/action'
                                % self.server['uuid'])
        self.assertFault(response, 405, 'badMethod')
        self.assertEqual('POST', response.headers['Allow'])


class RebootTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()

    def test_reboot(self):
        for given, sent in (('SOFT', 'SOFT'), ('soft', 'SOFT'),
                            ('Hard', 'HARD'), ('HARD', 'HARD')):
            self.compute.servers[self.server['uuid']]['status'] = 'ACTIVE'
            response = self.action(self.server['uuid'],
                                   {'reboot': {'type': given}})
            self.assertStatus(202, response)
            self.assertEqual(b'', response.body)
            self.assertEqual(('reboot', self.server['uuid'], sent),
                             self.compute.calls[-1])

    def test_schema_errors(self):
        for body, field in (
                ({'reboot': {'type': 'WARM'}}, 'reboot.type'),
                ({'reboot': {'type': 'sOfT'}}, 'reboot.type'),
                ({'reboot': {'type': 1}}, 'reboot.type'),
                ({'reboot': {}}, 'reboot.type'),
                ({'reboot': None}, 'reboot'),
                ({'reboot': {'type': 'SOFT', 'force': True}},
                 'reboot.force')):
            self.assertFault(self.action(self.server['uuid'], body), 400,
                             'badRequest', 'field/attribute %s:' % field)
        self.assertEqual([], self.compute.calls)

    def test_wrong_state_is_409(self):
        server = self.compute.add_server(status='BUILD')
        self.assertFault(
            self.action(server['uuid'], {'reboot': {'type': 'HARD'}}),
            409, 'conflictingRequest', 'BUILD')

    def test_unknown_or_other_projects_server_is_404(self):
        other = self.compute.add_server(project_id='other')
        for server_id in ('nope', other['uuid']):
            self.assertFault(
                self.action(server_id, {'reboot': {'type': 'HARD'}}),
                404, 'itemNotFound', server_id)
        self.assertEqual('ACTIVE', self.compute.servers[other['uuid']][
            'status'])


class RebuildTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()

    def test_rebuild_returns_the_server(self):
        response = self.action(self.server['uuid'], {
            'rebuild': {'imageRef': fakes.OTHER_IMAGE_ID}})
        self.assertStatus(202, response)
        server = self.json(response)['server']
        self.assertEqual(self.server['uuid'], server['id'])
        self.assertEqual('REBUILD', server['status'])
        self.assertEqual(fakes.OTHER_IMAGE_ID, server['image']['id'])
        self.assertEqual(server['links'][0]['href'],
                         response.headers['Location'])
        self.assertEqual(
            ('rebuild', self.server['uuid'], fakes.OTHER_IMAGE_ID),
            self.compute.calls[-1])

    def test_rebuild_with_image_href(self):
        response = self.action(self.server['uuid'], {'rebuild': {
            'imageRef': 'http://localhost/images/%s' % fakes.IMAGE_ID}})
        self.assertStatus(202, response)
        self.assertEqual(fakes.IMAGE_ID, self.compute.calls[-1][2])

    def test_schema_errors(self):
        for body, field in (
                ({'rebuild': {}}, 'rebuild.imageRef'),
                ({'rebuild': {'imageRef': ''}}, 'rebuild.imageRef'),
                ({'rebuild': {'imageRef': None}}, 'rebuild.imageRef'),
                ({'rebuild': {'imageRef': fakes.IMAGE_ID, 'name': 'n'}},
                 'rebuild.name'),
                ({'rebuild': []}, 'rebuild')):
            self.assertFault(self.action(self.server['uuid'], body), 400,
                             'badRequest', 'field/attribute %s:' % field)
        self.assertEqual([], self.compute.calls)

    def test_unknown_image_is_400(self):
        self.assertFault(
            self.action(self.server['uuid'], {'rebuild': {'imageRef': 'x'}}),
            400, 'badRequest', 'Cannot find image for rebuild', 'x')

    def test_wrong_state_is_409(self):
        server = self.compute.add_server(status='BUILD')
        self.assertFault(
            self.action(server['uuid'],
                        {'rebuild': {'imageRef': fakes.IMAGE_ID}}),
            409, 'conflictingRequest')

    def test_not_found_is_404(self):
        self.compute.fail['rebuild'] = exception.InstanceNotFound(
            instance_id='gone')
        self.assertFault(
            self.action(self.server['uuid'],
                        {'rebuild': {'imageRef': fakes.IMAGE_ID}}),
            404, 'itemNotFound', 'gone')
