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
        for name in ('pause', 'os-getVNCConsole', 'REBOOT'):
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
            self.compute.servers[self.server['uuid']].update(
                status='ACTIVE', task_state=None)
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
                ({'rebuild': {'imageRef': fakes.IMAGE_ID, 'name': ' n'}},
                 'rebuild.name'),
                ({'rebuild': {'imageRef': fakes.IMAGE_ID, 'flavorRef': '1'}},
                 'rebuild.flavorRef'),
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


class RebuildByVersionTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server(description='old')

    def rebuild(self, version, token=base.DEMO_TOKEN, **fields):
        body = {'rebuild': dict(imageRef=fakes.OTHER_IMAGE_ID, **fields)}
        return self.action(self.server['uuid'], body, version=version,
                           token=token)

    def test_description_needs_219(self):
        for version in (None, '2.18'):
            self.assertFault(self.rebuild(version, description='new'), 400,
                             'badRequest',
                             'field/attribute rebuild.description:')
        self.assertEqual([], self.compute.calls)

    def test_description_is_passed_when_given(self):
        for description in ('new', None, ''):
            self.compute.servers[self.server['uuid']].update(
                status='ACTIVE', task_state=None)
            response = self.rebuild('2.19', description=description)
            self.assertStatus(202, response)
            self.assertEqual(
                ('rebuild', self.server['uuid'], fakes.OTHER_IMAGE_ID,
                 {'description': description}), self.compute.calls[-1])
            self.assertEqual(description,
                             self.json(response)['server']['description'])

    def test_without_description_the_call_is_unchanged(self):
        for version in (None, '2.19', '2.25'):
            self.compute.servers[self.server['uuid']].update(
                status='ACTIVE', task_state=None)
            response = self.rebuild(version)
            self.assertStatus(202, response)
            self.assertEqual(
                ('rebuild', self.server['uuid'], fakes.OTHER_IMAGE_ID),
                self.compute.calls[-1])
        # The server keeps its description.
        self.assertEqual('old', self.json(response)['server']['description'])

    def test_bad_description(self):
        for description in ('x' * 256, 'a\nb', 1):
            self.assertFault(self.rebuild('2.19', description=description),
                             400, 'badRequest',
                             'field/attribute rebuild.description:')
        self.assertEqual([], self.compute.calls)

    def test_response_fields_by_version(self):
        server = self.json(self.rebuild('2.8'))['server']
        self.assertNotIn('locked', server)
        self.assertNotIn('description', server)
        self.compute.servers[self.server['uuid']].update(
                status='ACTIVE', task_state=None)
        server = self.json(self.rebuild('2.25'))['server']
        self.assertIs(False, server['locked'])
        self.assertEqual('old', server['description'])

    def test_response_has_no_admin_fields(self):
        # As Nova before 2.75: a rebuild's body is not GET's.
        response = self.rebuild('2.25', token=base.ADMIN_TOKEN)
        self.assertStatus(202, response)
        server = self.json(response)['server']
        for field in ('OS-EXT-SRV-ATTR:host',
                      'OS-EXT-SRV-ATTR:hypervisor_hostname',
                      'OS-EXT-SRV-ATTR:instance_name', 'host_status'):
            self.assertNotIn(field, server)
        self.assertEqual('REBUILD', server['status'])
