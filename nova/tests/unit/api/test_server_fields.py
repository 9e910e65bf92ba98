"""POST /servers, rebuild and PUT /servers/{id} with what Nova and its
clients send (openstackclient's block_device_mapping_v2, adminPass,
metadata, access IPs, diskConfig, hints, key_name, zone, user_data), and
the server bodies checked against tempest 47's response schemas."""

import copy

import jsonschema

from nova.tests.unit.api import base
from nova.tests.unit.api import fakes
from nova.tests.unit.api import tempest_schemas

SERVERS = '/v2.1/servers'
OTHER_UUID = '0b1c7f5e-54a4-4bd8-9a0f-1f1d1f2b2c3d'
# openstackclient's server create: the image again, as the boot disk.
OSC_BDM = [{'uuid': fakes.IMAGE_ID, 'boot_index': 0,
            'source_type': 'image', 'destination_type': 'local',
            'delete_on_termination': True}]


def _body(**server):
    body = {'name': 'web-1', 'imageRef': fakes.IMAGE_ID, 'flavorRef': '1'}
    body.update(server)
    return {'server': body}


class CreateFieldsTestCase(base.APITestCase):
    def create(self, body, **kwargs):
        return self.request('POST', SERVERS, body=body, **kwargs)

    def created(self, body, **kwargs):
        response = self.create(body, **kwargs)
        self.assertStatus(202, response)
        return self.json(response)['server']

    def test_openstackclient_block_device_mapping_v2(self):
        # Today's main: 400 "Additional properties are not allowed".
        for body in (_body(block_device_mapping_v2=OSC_BDM),
                     _body(block_device_mapping_v2=[dict(
                         OSC_BDM[0], boot_index='0')]),
                     _body(imageRef='', block_device_mapping_v2=OSC_BDM)):
            self.created(body)
            self.assertEqual(('create', 'web-1', fakes.IMAGE_ID, '1'),
                             self.compute.calls[-1])
        # Without imageRef the mapping names the image, as in Nova.
        body = _body(block_device_mapping_v2=OSC_BDM)
        del body['server']['imageRef']
        self.created(body)
        self.assertEqual(fakes.IMAGE_ID, self.compute.calls[-1][2])

    def test_openstackclient_body_as_cli_findings_recorded_it(self):
        # openstack server create --flavor 1 --image <id> --wait cli-1, at
        # 2.25: today's main answers 400 "Additional properties".
        body = {'server': {
            'imageRef': fakes.IMAGE_ID, 'max_count': 1, 'flavorRef': '1',
            'block_device_mapping_v2': OSC_BDM, 'min_count': 1,
            'name': 'cli-1', 'networks': []}}
        server = self.created(body, version='2.25')
        self.assertIn('adminPass', server)
        self.assertEqual(('create', 'cli-1', fakes.IMAGE_ID, '1'),
                         self.compute.calls[-1])

    def test_block_device_mappings_we_cannot_do_are_400_naming_them(self):
        volume = {'uuid': OTHER_UUID, 'boot_index': 0,
                  'source_type': 'volume', 'destination_type': 'volume'}
        cases = [
            ([volume], 'source_type'),
            ([dict(OSC_BDM[0], destination_type='volume')],
             'destination_type'),
            ([dict(OSC_BDM[0], boot_index=1)], 'boot_index'),
            ([dict(OSC_BDM[0], volume_size=10)], 'volume_size'),
            (OSC_BDM + [{'source_type': 'blank', 'destination_type':
                         'local', 'boot_index': -1, 'guest_format':
                         'swap'}], '2 devices'),
            ([], '0 devices'),
            ([dict(OSC_BDM[0], uuid=fakes.OTHER_IMAGE_ID)], 'not imageRef'),
        ]
        for mapping, fragment in cases:
            self.assertFault(
                self.create(_body(block_device_mapping_v2=mapping)), 400,
                'badRequest', 'block_device_mapping_v2', fragment)
        self.assertEqual([], self.compute.calls)

    def test_admin_pass_returned_as_nova(self):
        # Today's main: 400 (adminPass "Additional properties").
        server = self.created(_body(adminPass='s3cret-Pass'))
        self.assertEqual('s3cret-Pass', server['adminPass'])
        # Never handed to the compute API (nor stored).
        self.assertNotIn('s3cret-Pass', repr(self.compute.calls))
        generated = {self.created(_body())['adminPass'] for _ in range(5)}
        self.assertEqual(5, len(generated))
        self.flags(enable_instance_password=False, group='api')
        self.assertNotIn('adminPass', self.created(_body(adminPass='x')))

    def test_every_field_reaches_the_compute_api_and_the_body(self):
        self.compute.keypair_create(None, 'demo', 'k1')
        body = _body(metadata={'role': 'web', 'empty': ''},
                     accessIPv4='192.0.2.1', accessIPv6='2001:DB8::1',
                     key_name='k1', availability_zone='nova',
                     user_data='aGVsbG8=', config_drive=False,
                     networks='none', min_count=1, max_count=1,
                     **{'OS-DCF:diskConfig': 'AUTO'})
        body['os:scheduler_hints'] = {'different_host': OTHER_UUID,
                                      'build_near_host_ip': '10.0.0.1'}
        server = self.created(body)
        self.assertEqual('AUTO', server['OS-DCF:diskConfig'])
        self.assertEqual(
            ('create', 'web-1', fakes.IMAGE_ID, '1', {
                'metadata': {'role': 'web', 'empty': ''},
                'access_ip_v4': '192.0.2.1',
                'access_ip_v6': '2001:db8::1', 'disk_config': 'AUTO',
                'key_name': 'k1', 'availability_zone': 'nova',
                'user_data': 'aGVsbG8=',
                # Hints the scheduler does not read are dropped.
                'scheduler_hints': {'different_host': [OTHER_UUID]}}),
            self.compute.calls[-1])
        shown = self.json(self.request(
            'GET', '%s/%s' % (SERVERS, server['id'])))['server']
        self.assertEqual(
            ({'role': 'web', 'empty': ''}, '192.0.2.1', '2001:db8::1',
             'AUTO', 'k1', 'nova'),
            (shown['metadata'], shown['accessIPv4'], shown['accessIPv6'],
             shown['OS-DCF:diskConfig'], shown['key_name'],
             shown['OS-EXT-AZ:availability_zone']))

    def test_legacy_hint_name_and_same_host(self):
        body = _body()
        body['OS-SCH-HNT:scheduler_hints'] = {'same_host': [OTHER_UUID]}
        self.created(body)
        self.assertEqual({'scheduler_hints': {'same_host': [OTHER_UUID]}},
                         self.compute.calls[-1][-1])

    def test_what_this_cloud_cannot_do_is_named(self):
        for extra, fragments in (
                ({'personality': [{'path': '/etc/x', 'contents': ''}]},
                 ('server.personality', 'file injection')),
                ({'security_groups': [{'name': 'default'}]},
                 ('server.security_groups', 'no network')),
                ({'block_device_mapping': [{'volume_id': OTHER_UUID}]},
                 ('block_device_mapping (v1)',)),
                ({'networks': [{'uuid': OTHER_UUID}]},
                 ('server.networks', 'no network service')),
                ({'networks': 'some'}, ('server.networks',)),
                ({'config_drive': True}, ('config_drive',)),
                ({'config_drive': 'yes'}, ('config_drive',))):
            self.assertFault(self.create(_body(**extra)), 400,
                             'badRequest', *fragments)
        self.assertEqual([], self.compute.calls)

    def test_unknown_key_name_is_400(self):
        self.assertFault(self.create(_body(key_name='nope')), 400,
                         'badRequest', 'Invalid key_name provided')

    def test_forced_host_is_for_admins(self):
        self.assertFault(
            self.create(_body(availability_zone='nova:compute-1')), 403,
            'forbidden', 'create:forced_host')
        self.created(_body(availability_zone='nova:compute-1'),
                     token=base.ADMIN_TOKEN)


class UpdateTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server(name='old')
        self.path = '%s/%s' % (SERVERS, self.server['uuid'])

    def test_put_changes_name_and_access_ips(self):
        # Today's main: 405.
        response = self.request('PUT', self.path, body={'server': {
            'name': 'new', 'accessIPv4': '192.0.2.5',
            'accessIPv6': '::1'}})
        self.assertStatus(200, response)
        server = self.json(response)['server']
        self.assertEqual(('new', '192.0.2.5', '::1'), (
            server['name'], server['accessIPv4'], server['accessIPv6']))
        self.assertEqual(
            ('update', self.server['uuid'], {
                'name': 'new', 'access_ip_v4': '192.0.2.5',
                'access_ip_v6': '::1'}), self.compute.calls[-1])
        # Nova's short body: no extension fields.
        self.assertNotIn('OS-EXT-STS:vm_state', server)

    def test_description_from_219(self):
        body = {'server': {'description': 'd'}}
        self.assertFault(self.request('PUT', self.path, body=body), 400,
                         'badRequest', 'server.description')
        response = self.request('PUT', self.path, body=body,
                                version='2.19')
        self.assertEqual('d', self.json(response)['server']['description'])

    def test_bad_bodies_and_other_projects(self):
        for body, field in (({'server': {'name': ''}}, 'server.name'),
                            ({'server': {'imageRef': 'x'}},
                             'server.imageRef'),
                            ({'server': {'accessIPv4': 'x'}},
                             'server.accessIPv4'),
                            ({}, 'server')):
            self.assertFault(self.request('PUT', self.path, body=body),
                             400, 'badRequest', field)
        other = self.compute.add_server(project_id='other')
        self.assertFault(self.request(
            'PUT', '%s/%s' % (SERVERS, other['uuid']),
            body={'server': {'name': 'x'}}), 404, 'itemNotFound')
        self.assertEqual('old', self.compute.servers[
            self.server['uuid']]['name'])


class RebuildFieldsTestCase(base.APITestCase):
    def test_rebuild_takes_what_nova_takes(self):
        # Today's main: 400 "Additional properties" for each of these.
        server = self.compute.add_server()
        response = self.action(server['uuid'], {'rebuild': {
            'imageRef': fakes.IMAGE_ID, 'name': 'again',
            'metadata': {'k': 'v'}, 'adminPass': 'pw',
            'accessIPv4': '192.0.2.9', 'preserve_ephemeral': False,
            'OS-DCF:diskConfig': 'MANUAL'}})
        self.assertStatus(202, response)
        body = self.json(response)['server']
        self.assertEqual(('again', {'k': 'v'}, 'pw', '192.0.2.9'), (
            body['name'], body['metadata'], body['adminPass'],
            body['accessIPv4']))
        self.assertEqual(
            ('rebuild', server['uuid'], fakes.IMAGE_ID, {
                'name': 'again', 'metadata': {'k': 'v'},
                'access_ip_v4': '192.0.2.9', 'disk_config': 'MANUAL'}),
            self.compute.calls[-1])

    def test_personality_is_named(self):
        server = self.compute.add_server()
        self.assertFault(self.action(server['uuid'], {'rebuild': {
            'imageRef': fakes.IMAGE_ID, 'personality': []}}), 400,
            'badRequest', 'rebuild.personality', 'file injection')


class TempestSchemasTestCase(base.APITestCase):
    """Every server body validated as tempest 47 validates it (its
    schemas forbid additional properties)."""

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server(name='vm')
        self.compute.servers[self.server['uuid']].update(
            launched_at=fakes.CREATED_AT, power_state=1,
            availability_zone='nova', metadata={'a': 'b'})
        self.path = '%s/%s' % (SERVERS, self.server['uuid'])

    def check(self, schema, response):
        self.assertIn(response.status_int, schema['status_code'])
        jsonschema.Draft4Validator(
            schema['response_body'],
            format_checker=jsonschema.FormatChecker()).validate(
                self.json(response))

    def test_every_served_version(self):
        for version, token in ((None, base.DEMO_TOKEN),
                               ('2.1', base.ADMIN_TOKEN),
                               ('2.3', base.ADMIN_TOKEN),
                               ('2.9', base.DEMO_TOKEN),
                               ('2.16', base.ADMIN_TOKEN),
                               ('2.19', base.DEMO_TOKEN),
                               ('2.25', base.ADMIN_TOKEN)):
            schemas = tempest_schemas.servers(version or '2.1')
            kwargs = dict(version=version, token=token)
            with self.subTest(version=version, token=token):
                self.check(schemas.get_server,
                           self.request('GET', self.path, **kwargs))
                self.check(schemas.list_servers_detail, self.request(
                    'GET', SERVERS + '/detail', **kwargs))
                self.check(schemas.list_servers,
                           self.request('GET', SERVERS, **kwargs))
                self.check(schemas.update_server, self.request(
                    'PUT', self.path, body={'server': {'name': 'vm'}},
                    **kwargs))
                self.compute.servers[self.server['uuid']].update(
                    status='ACTIVE', task_state=None)
                self.check(schemas.rebuild_server_with_admin_pass,
                           self.action(self.server['uuid'], {'rebuild': {
                               'imageRef': fakes.IMAGE_ID}}, **kwargs))
                self.compute.servers[self.server['uuid']].update(
                    status='ACTIVE', task_state=None)
                self.check(tempest_schemas.CREATE_WITH_ADMIN_PASS,
                           self.request('POST', SERVERS, body=_body(),
                                        **kwargs))

    def test_the_schemas_do_refuse_extra_keys(self):
        # The copy of tempest's schemas is strict, so the test above
        # means something.
        schemas = tempest_schemas.servers('2.1')
        body = self.json(self.request('GET', self.path))
        body['server']['security_groups_x'] = []
        self.assertRaises(jsonschema.ValidationError, jsonschema.validate,
                          body, schemas.get_server['response_body'])
        body = copy.deepcopy(self.json(self.request('GET', self.path)))
        body['server']['OS-EXT-STS:power_state'] = 2
        self.assertRaises(jsonschema.ValidationError, jsonschema.validate,
                          body, schemas.get_server['response_body'])
