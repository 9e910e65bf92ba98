import datetime
import hashlib

from nova import exception
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
        response = self.request('PUT', '%s/%s' % (SERVERS, self.mine['uuid']),
                                body={})
        self.assertFault(response, 405, 'badMethod')
        self.assertEqual('GET, DELETE', response.headers['Allow'])
        response = self.request('DELETE', SERVERS)
        self.assertEqual('GET, POST', response.headers['Allow'])

    def test_unknown_resource_is_404(self):
        for path in ('/v2.1/os-hypervisors', SERVERS + '/x/y/z',
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
            'security_groups': [{'name': 'default'}],
        }, server)
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
            (_create_body(networks='some'), 'server.networks'),
            (_create_body(networks=[{'uuid': fakes.IMAGE_ID}]),
             'server.networks'),
            (_create_body(networks=None), 'server.networks'),
            (_create_body(min_count=2), 'server.min_count'),
            (_create_body(max_count='2'), 'server.max_count'),
            (_create_body(max_count=True), 'server.max_count'),
            (_create_body(metadata={'a': 'b'}), 'server.metadata'),
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
