import datetime
import hashlib

from nova import exception
from nova.objects import instance as instance_obj
from nova.tests.unit.api import base
from nova.tests.unit.api import fakes

SERVERS = '/v2.1/servers'


def _create_body(**server):
    body = {'name': 'web-1', 'imageRef': fakes.IMAGE_ID, 'flavorRef': '1'}
    body.update(server)
    return {'server': body}


class ListAndShowTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.mine = self.compute.add_server(name='mine')
        self.theirs = self.compute.add_server(project_id='other',
                                              user_id='alice',
                                              name='theirs')

    def test_index_lists_own_project_basic_view(self):
        response = self.request('GET', SERVERS)
        self.assertStatus(200, response)
        uuid = self.mine['uuid']
        self.assertEqual({'servers': [{
            'id': uuid, 'name': 'mine',
            'links': [
                {'rel': 'self',
                 'href': 'http://localhost/v2.1/servers/%s' % uuid},
                {'rel': 'bookmark',
                 'href': 'http://localhost/servers/%s' % uuid}],
        }]}, self.json(response))

    def test_trailing_slash(self):
        response = self.request('GET', SERVERS + '/')
        self.assertEqual(1, len(self.json(response)['servers']))

    def test_admin_list_comes_from_the_compute_api(self):
        response = self.request('GET', SERVERS + '/detail',
                                token=base.ADMIN_TOKEN)
        names = sorted(s['name'] for s in self.json(response)['servers'])
        self.assertEqual(['mine', 'theirs'], names)

    def test_detail_view(self):
        response = self.request('GET', SERVERS + '/detail')
        [server] = self.json(response)['servers']
        uuid = self.mine['uuid']
        expected_host_id = hashlib.sha224(b'demo' + b'compute-1').hexdigest()
        self.assertEqual({
            'id': uuid,
            'name': 'mine',
            'status': 'ACTIVE',
            'tenant_id': 'demo',
            'user_id': 'demo',
            'metadata': {},
            'hostId': expected_host_id,
            'image': {'id': fakes.IMAGE_ID, 'links': [{
                'rel': 'bookmark',
                'href': 'http://localhost/images/%s' % fakes.IMAGE_ID}]},
            'flavor': {'id': '1', 'links': [{
                'rel': 'bookmark', 'href': 'http://localhost/flavors/1'}]},
            'created': '2024-05-01T12:00:00Z',
            'updated': '2024-05-01T12:05:30Z',
            'addresses': {},
            'accessIPv4': '',
            'accessIPv6': '',
            'links': [
                {'rel': 'self',
                 'href': 'http://localhost/v2.1/servers/%s' % uuid},
                {'rel': 'bookmark',
                 'href': 'http://localhost/servers/%s' % uuid}],
            'OS-DCF:diskConfig': 'MANUAL',
            'OS-EXT-STS:task_state': None,
            'OS-EXT-STS:vm_state': 'active',
            'OS-EXT-STS:power_state': 0,
            'OS-EXT-AZ:availability_zone': '',
            'OS-SRV-USG:launched_at': None,
            'OS-SRV-USG:terminated_at': None,
            'key_name': None,
            'config_drive': '',
            'os-extended-volumes:volumes_attached': [],
            'progress': 0,
        }, server)

    def test_show_is_the_detail_view(self):
        response = self.request('GET', '%s/%s' % (SERVERS, self.mine['uuid']))
        listed = self.json(self.request('GET', SERVERS + '/detail'))
        self.assertEqual(listed['servers'][0], self.json(response)['server'])

    def test_host_only_for_admin(self):
        path = '%s/%s' % (SERVERS, self.mine['uuid'])
        server = self.json(self.request('GET', path))['server']
        self.assertNotIn('OS-EXT-SRV-ATTR:host', server)
        server = self.json(self.request('GET', path,
                                        token=base.ADMIN_TOKEN))['server']
        self.assertEqual('compute-1', server['OS-EXT-SRV-ATTR:host'])

    def test_host_id_empty_without_host(self):
        server = self.compute.add_server(host=None, status='BUILD',
                                         task_state='scheduling')
        body = self.json(self.request(
            'GET', '%s/%s' % (SERVERS, server['uuid'])))['server']
        self.assertEqual('', body['hostId'])
        self.assertEqual('BUILD', body['status'])
        self.assertEqual('scheduling', body['OS-EXT-STS:task_state'])

    def test_host_id_differs_per_project(self):
        a = self.compute.add_server(project_id='p1')
        b = self.compute.add_server(project_id='p2')
        ids = [self.json(self.request(
            'GET', '%s/%s' % (SERVERS, s['uuid']),
            token=base.ADMIN_TOKEN))['server']['hostId'] for s in (a, b)]
        self.assertNotEqual(ids[0], ids[1])

    def test_fault_only_in_error(self):
        failed = self.compute.add_server(status='ERROR',
                                         fault='No valid host was found.')
        body = self.json(self.request(
            'GET', '%s/%s' % (SERVERS, failed['uuid'])))['server']
        self.assertEqual({'code': 500, 'message': 'No valid host was found.',
                          'created': '2024-05-01T12:05:30Z'}, body['fault'])
        self.compute.servers[self.mine['uuid']]['fault'] = 'old news'
        body = self.json(self.request(
            'GET', '%s/%s' % (SERVERS, self.mine['uuid'])))['server']
        self.assertNotIn('fault', body)

    def test_aware_datetimes_are_shown_in_utc(self):
        tz = datetime.timezone(datetime.timedelta(hours=2))
        self.compute.servers[self.mine['uuid']]['created_at'] = (
            datetime.datetime(2024, 5, 1, 14, 0, 0, tzinfo=tz))
        self.compute.servers[self.mine['uuid']]['updated_at'] = None
        body = self.json(self.request(
            'GET', '%s/%s' % (SERVERS, self.mine['uuid'])))['server']
        self.assertEqual('2024-05-01T12:00:00Z', body['created'])
        self.assertEqual('2024-05-01T12:00:00Z', body['updated'])

    def test_other_projects_server_is_404(self):
        path = '%s/%s' % (SERVERS, self.theirs['uuid'])
        self.assertFault(self.request('GET', path), 404, 'itemNotFound',
                         self.theirs['uuid'])
        self.assertStatus(200, self.request('GET', path, token='alice:other'))

    def test_unknown_server_is_404(self):
        self.assertFault(self.request('GET', SERVERS + '/nope'), 404,
                         'itemNotFound', 'nope')

    def test_filters(self):
        self.compute.add_server(name='mine-too', status='SHUTOFF')

        def names(response):
            return sorted(s['name'] for s in self.json(response)['servers'])

        self.assertEqual(['mine', 'mine-too'],
                         names(self.request('GET', SERVERS + '?name=mine')))
        self.assertEqual(['mine-too'],
                         names(self.request('GET', SERVERS + '?name=too')))
        self.assertEqual(['mine-too'], names(self.request(
            'GET', SERVERS + '/detail?status=shutoff')))
        self.assertEqual(['mine', 'mine-too'], names(self.request(
            'GET', SERVERS + '?limit=5&sort_key=name')))

    def test_query_string_not_utf8_is_400(self):
        self.assertFault(self.request('GET', SERVERS + '?name=%ff'), 400,
                         'badRequest', 'UTF-8')

    def test_path_not_utf8_is_400(self):
        self.assertFault(self.request('GET', SERVERS + '/%ff%fe'), 400,
                         'badRequest', 'UTF-8')

    def test_non_ascii_server_id_is_looked_up_decoded(self):
        self.assertFault(self.request('GET', SERVERS + '/%C3%A9t%C3%A9'),
                         404, 'itemNotFound')
        self.assertEqual(('get', 'été'), self.compute.calls[-1])

    def test_wrong_method_is_405(self):
        response = self.request('PATCH',
                                '%s/%s' % (SERVERS, self.mine['uuid']),
                                body={})
        self.assertFault(response, 405, 'badMethod')
        self.assertEqual('GET, PUT, DELETE', response.headers['Allow'])
        response = self.request('DELETE', SERVERS)
        self.assertEqual('GET, POST', response.headers['Allow'])

    def test_unknown_resource_is_404(self):
        for path in ('/v2.1/os-cells', SERVERS + '/x/y/z',
                     '/v2.1/servers/x/metadata'):
            self.assertFault(self.request('GET', path), 404, 'itemNotFound')


class CreateTestCase(base.APITestCase):
    def create(self, body, **kwargs):
        return self.request('POST', SERVERS, body=body, **kwargs)

    def test_create(self):
        response = self.create(_create_body())
        self.assertStatus(202, response)
        server = self.json(response)['server']
        uuid = server['id']
        self.assertEqual({
            'id': uuid,
            'links': [
                {'rel': 'self',
                 'href': 'http://localhost/v2.1/servers/%s' % uuid},
                {'rel': 'bookmark',
                 'href': 'http://localhost/servers/%s' % uuid}],
            'OS-DCF:diskConfig': 'MANUAL',
            # [api] enable_instance_password (on by default): made here.
            'adminPass': server['adminPass'],
        }, server)
        self.assertRegex(server['adminPass'], '^[A-Za-z0-9]{12}$')
        self.assertEqual('http://localhost/v2.1/servers/%s' % uuid,
                         response.headers['Location'])
        self.assertEqual(('create', 'web-1', fakes.IMAGE_ID, '1'),
                         self.compute.calls[-1])
        shown = self.json(self.request('GET', '%s/%s' % (SERVERS, uuid)))
        self.assertEqual('BUILD', shown['server']['status'])

    def test_create_as_openstacksdk_sends_it(self):
        body = _create_body(flavorRef='m1.small', min_count=1, max_count=1,
                            networks='none')
        self.assertStatus(202, self.create(body))
        self.assertEqual('m1.small', self.compute.calls[-1][3])

    def test_accepted_variants(self):
        for extra in ({'networks': 'auto'}, {'networks': []},
                      {'flavorRef': 1}, {'min_count': '1'},
                      {'name': 'ünïcode ✓ name'},
                      {'imageRef': 'http://glance/v2/images/%s'
                                   % fakes.IMAGE_ID},
                      {'flavorRef': 'http://localhost/flavors/1'}):
            response = self.create(_create_body(**extra))
            self.assertStatus(202, response)
        self.assertEqual(('create', 'ünïcode ✓ name', fakes.IMAGE_ID, '1'),
                         self.compute.calls[-3])
        self.assertEqual(fakes.IMAGE_ID, self.compute.calls[-2][2])
        self.assertEqual('1', self.compute.calls[-1][3])

    def test_schema_errors_name_the_field(self):
        long_name = 'x' * 256
        cases = [
            ({}, 'server'),
            ({'server': 'web-1'}, 'server'),
            ([_create_body()], 'request body'),
            (_create_body(name=None), 'server.name'),
            (_create_body(name=''), 'server.name'),
            (_create_body(name=long_name), 'server.name'),
            (_create_body(name=' web'), 'server.name'),
            (_create_body(name='web '), 'server.name'),
            (_create_body(name='we\nb'), 'server.name'),
            (_create_body(name=5), 'server.name'),
            (_create_body(imageRef=''), 'server.imageRef'),
            (_create_body(imageRef=5), 'server.imageRef'),
            (_create_body(imageRef='a b'), 'server.imageRef'),
            (_create_body(imageRef='http://x/'), 'server.imageRef'),
            (_create_body(flavorRef=''), 'server.flavorRef'),
            (_create_body(flavorRef=True), 'server.flavorRef'),
            (_create_body(flavorRef=1.5), 'server.flavorRef'),
            (_create_body(flavorRef=None), 'server.flavorRef'),
            (_create_body(networks=None), 'server.networks'),
            (_create_body(min_count=2), 'server.min_count'),
            (_create_body(max_count='2'), 'server.max_count'),
            (_create_body(max_count=True), 'server.max_count'),
            (_create_body(metadata={'a': 1}), 'server.metadata.a'),
            (_create_body(metadata={'a/b': 'c'}), 'server.metadata.a/b'),
            (_create_body(metadata={'a': 'x' * 256}), 'server.metadata.a'),
            (_create_body(metadata=[]), 'server.metadata'),
            (_create_body(accessIPv4=4), 'server.accessIPv4'),
            (_create_body(accessIPv4='1.2.3.4.5'), 'server.accessIPv4'),
            (_create_body(accessIPv4='::1'), 'server.accessIPv4'),
            (_create_body(accessIPv6='1.2.3.4'), 'server.accessIPv6'),
            (_create_body(**{'OS-DCF:diskConfig': 'auto'}),
             'server.OS-DCF:diskConfig'),
            (_create_body(key_name=''), 'server.key_name'),
            (_create_body(user_data='not base64!'), 'server.user_data'),
            (_create_body(user_data='x' * 65536), 'server.user_data'),
            (_create_body(adminPass=5), 'server.adminPass'),
            (_create_body(config_drive='maybe'), 'server.config_drive'),
            (_create_body(availability_zone=''), 'server.availability_zone'),
            (_create_body(block_device_mapping_v2={}),
             'server.block_device_mapping_v2'),
            (_create_body(block_device_mapping_v2=[{'bogus': 1}]),
             'server.block_device_mapping_v2.0.bogus'),
            (dict(_create_body(), **{'os:scheduler_hints': []}),
             'os:scheduler_hints'),
            (dict(_create_body(), **{'os:scheduler_hints': {
                'same_host': 5}}), 'os:scheduler_hints.same_host'),
            (dict(_create_body(), **{'os:scheduler_hints': {
                'different_host': 'not-a-uuid'}}),
             'os:scheduler_hints.different_host'),
            (dict(_create_body(), extra=1), 'extra'),
        ]
        for server in ({'name': 'a', 'flavorRef': '1'},
                       {'name': 'a', 'imageRef': fakes.IMAGE_ID},
                       {'imageRef': fakes.IMAGE_ID, 'flavorRef': '1'}):
            missing = ({'name', 'imageRef', 'flavorRef'} - set(server)).pop()
            cases.append(({'server': server}, 'server.' + missing))
        for body, field in cases:
            response = self.create(body)
            self.assertFault(response, 400, 'badRequest',
                             'field/attribute %s:' % field)
        self.assertEqual([], self.compute.calls)

    def test_unknown_image_or_flavor_is_400(self):
        self.assertFault(self.create(_create_body(imageRef='nope')), 400,
                         'badRequest', 'imageRef', 'nope')
        self.assertFault(self.create(_create_body(flavorRef='42')), 400,
                         'badRequest', 'flavorRef', '42')
        self.assertEqual({}, self.compute.servers)


class DeleteTestCase(base.APITestCase):
    def test_delete(self):
        server = self.compute.add_server()
        path = '%s/%s' % (SERVERS, server['uuid'])
        response = self.request('DELETE', path)
        self.assertStatus(204, response)
        self.assertEqual(b'', response.body)
        self.assertFault(self.request('GET', path), 404, 'itemNotFound')

    def test_delete_other_projects_server_is_404(self):
        server = self.compute.add_server(project_id='other')
        path = '%s/%s' % (SERVERS, server['uuid'])
        self.assertFault(self.request('DELETE', path), 404, 'itemNotFound')
        self.assertIn(server['uuid'], self.compute.servers)

    def test_delete_in_a_state_that_forbids_it_is_409(self):
        server = self.compute.add_server()
        self.compute.fail['delete'] = exception.InstanceInvalidState(
            action='delete', instance_uuid=server['uuid'], state='migrating')
        self.assertFault(self.request('DELETE', '%s/%s' % (
            SERVERS, server['uuid'])), 409, 'conflictingRequest')


ADMIN_FIELDS = ('OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:hypervisor_hostname',
                'OS-EXT-SRV-ATTR:instance_name')


class ServerFieldsByVersionTestCase(base.APITestCase):
    """locked (2.9), host_status (2.16, admins), description (2.19) and
    the admin attributes (every version)."""

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server(description='web front')
        self.path = '%s/%s' % (SERVERS, self.server['uuid'])

    def show(self, version=None, token=base.DEMO_TOKEN):
        response = self.request('GET', self.path, version=version,
                                token=token)
        self.assertStatus(200, response)
        return self.json(response)['server']

    def listed(self, version=None, token=base.DEMO_TOKEN):
        response = self.request('GET', SERVERS + '/detail', version=version,
                                token=token)
        self.assertStatus(200, response)
        [server] = self.json(response)['servers']
        return server

    def both(self, version=None, token=base.DEMO_TOKEN):
        """Show and detail give the same body; return it."""
        shown = self.show(version, token)
        self.assertEqual(shown, self.listed(version, token))
        return shown

    def test_locked_from_29(self):
        for version in (None, '2.1', '2.8'):
            self.assertNotIn('locked', self.both(version))
        for version in ('2.9', '2.25'):
            self.assertIs(False, self.both(version)['locked'])
            self.assertIs(False, self.both(version,
                                           base.ADMIN_TOKEN)['locked'])

    def test_description_from_219(self):
        for version in (None, '2.18'):
            self.assertNotIn('description', self.both(version))
        for version in ('2.19', '2.25'):
            self.assertEqual('web front', self.both(version)['description'])
        self.compute.servers[self.server['uuid']]['description'] = None
        self.assertIsNone(self.both('2.19')['description'])

    def test_admin_attributes_at_every_version(self):
        for version in (None, '2.1', '2.16', '2.25'):
            server = self.both(version, base.ADMIN_TOKEN)
            self.assertEqual('compute-1', server['OS-EXT-SRV-ATTR:host'])
            self.assertEqual('compute-1.example.org',
                             server['OS-EXT-SRV-ATTR:hypervisor_hostname'])
            self.assertEqual('instance-%s' % self.server['uuid'],
                             server['OS-EXT-SRV-ATTR:instance_name'])

    def test_instance_name_is_the_libvirt_domain_name(self):
        server = self.show(token=base.ADMIN_TOKEN)
        self.assertEqual(
            instance_obj.Instance(uuid=self.server['uuid']).name,
            server['OS-EXT-SRV-ATTR:instance_name'])

    def test_admin_attributes_of_a_server_without_host(self):
        building = self.compute.add_server(host=None, status='BUILD',
                                           task_state='scheduling')
        server = self.json(self.request(
            'GET', '%s/%s' % (SERVERS, building['uuid']), version='2.16',
            token=base.ADMIN_TOKEN))['server']
        self.assertIsNone(server['OS-EXT-SRV-ATTR:host'])
        self.assertIsNone(server['OS-EXT-SRV-ATTR:hypervisor_hostname'])
        self.assertEqual('instance-%s' % building['uuid'],
                         server['OS-EXT-SRV-ATTR:instance_name'])
        self.assertEqual('', server['host_status'])

    def test_host_status_from_216_for_admins(self):
        for version in (None, '2.15'):
            self.assertNotIn('host_status',
                             self.both(version, base.ADMIN_TOKEN))
        self.assertEqual('UP', self.both('2.16',
                                         base.ADMIN_TOKEN)['host_status'])
        self.compute.hosts['compute-1']['up'] = False
        self.assertEqual('DOWN', self.both('2.25',
                                           base.ADMIN_TOKEN)['host_status'])
        self.compute.servers[self.server['uuid']]['host'] = 'gone'
        self.assertEqual('UNKNOWN', self.both(
            '2.25', base.ADMIN_TOKEN)['host_status'])

    def test_non_admins_never_see_admin_fields(self):
        for version in (None, '2.1', '2.16', '2.19', '2.25'):
            server = self.both(version)
            for field in ADMIN_FIELDS + ('host_status',):
                self.assertNotIn(field, server)

    def test_full_body_at_225(self):
        server = self.show('2.25', base.ADMIN_TOKEN)
        uuid = self.server['uuid']
        self.assertEqual({
            'id', 'name', 'status', 'tenant_id', 'user_id', 'metadata',
            'hostId', 'image', 'flavor', 'created', 'updated', 'addresses',
            'accessIPv4', 'accessIPv6', 'links', 'OS-DCF:diskConfig',
            'OS-EXT-STS:task_state', 'locked', 'description',
            'host_status', 'OS-EXT-SRV-ATTR:host',
            'OS-EXT-SRV-ATTR:hypervisor_hostname',
            'OS-EXT-SRV-ATTR:instance_name', 'OS-EXT-STS:vm_state',
            'OS-EXT-STS:power_state', 'OS-EXT-AZ:availability_zone',
            'OS-SRV-USG:launched_at', 'OS-SRV-USG:terminated_at',
            'key_name', 'config_drive',
            'os-extended-volumes:volumes_attached', 'progress',
            # 2.3's extended attributes, for admins.
            'OS-EXT-SRV-ATTR:reservation_id',
            'OS-EXT-SRV-ATTR:launch_index', 'OS-EXT-SRV-ATTR:hostname',
            'OS-EXT-SRV-ATTR:kernel_id', 'OS-EXT-SRV-ATTR:ramdisk_id',
            'OS-EXT-SRV-ATTR:root_device_name',
            'OS-EXT-SRV-ATTR:user_data'}, set(server))
        self.assertEqual(uuid, server['id'])

    def test_list_is_unchanged_by_version(self):
        for version in (None, '2.25'):
            for token in (base.DEMO_TOKEN, base.ADMIN_TOKEN):
                response = self.request('GET', SERVERS, version=version,
                                        token=token)
                [server] = self.json(response)['servers']
                self.assertEqual({'id', 'name', 'links'}, set(server))


class CreateWithDescriptionTestCase(base.APITestCase):
    def create(self, body, version='2.19'):
        return self.request('POST', SERVERS, body=body, version=version)

    def test_description_needs_219(self):
        for version in (None, '2.1', '2.18'):
            self.assertFault(
                self.create(_create_body(description='x'), version=version),
                400, 'badRequest',
                'field/attribute server.description:')
        self.assertEqual([], self.compute.calls)

    def test_description_is_passed_when_given(self):
        for description in ('web front', '', None, ' spaced  out ',
                            'ünïcode ✓', 'x' * 255):
            response = self.create(_create_body(description=description))
            self.assertStatus(202, response)
            self.assertEqual(
                ('create', 'web-1', fakes.IMAGE_ID, '1',
                 {'description': description}),
                self.compute.calls[-1])
            uuid = self.json(response)['server']['id']
            shown = self.json(self.request('GET', '%s/%s' % (SERVERS, uuid),
                                           version='2.19'))['server']
            self.assertEqual(description, shown['description'])

    def test_without_description_the_call_is_unchanged(self):
        for version in (None, '2.18', '2.19', '2.25'):
            self.assertStatus(202, self.create(_create_body(),
                                               version=version))
            self.assertEqual(('create', 'web-1', fakes.IMAGE_ID, '1'),
                             self.compute.calls[-1])

    def test_bad_descriptions(self):
        for description in ('x' * 256, 'two\nlines', 'tab\there', '\x00',
                            'nel\x85', 'ls\u2028', 5, True, ['x'], {}):
            self.assertFault(
                self.create(_create_body(description=description)),
                400, 'badRequest', 'field/attribute server.description:')
        self.assertEqual([], self.compute.calls)

    def test_created_body_has_no_description(self):
        # The 202 body of a create is the same at every version.
        response = self.create(_create_body(description='d'),
                               version='2.25')
        self.assertEqual({'id', 'links', 'OS-DCF:diskConfig', 'adminPass'},
                         set(self.json(response)['server']))
