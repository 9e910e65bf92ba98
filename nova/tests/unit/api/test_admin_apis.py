"""The admin APIs of issue 13 over the real compute API and database:
flavor create/delete and extra specs, os-hypervisors' sub-resources,
os-aggregates and availability zones, os-services' PUT forms.

Each fault the issue names has a test here that failed on main: POST
/flavors was 405, ``/os-aggregates`` 404 (``openstack hypervisor show``
stops on it), ``/os-hypervisors/statistics`` 404 and ``PUT
/os-services/disable`` 405.
"""

import json

import fixtures
import webob

from nova.api.openstack.compute import app
from nova.api.openstack.compute import microversion
from nova.compute import api as compute_api
from nova.compute import availability_zones as az
from nova.conductor import tasks as conductor_tasks
from nova.db import api as db
from nova.scheduler import manager as scheduler
from nova.tests.unit.compute import base

ADMIN = 'admin'
DEMO = 'demo:demo'

# Nova's keys (before 2.53), as tempest's response schemas require them
# with additionalProperties false.
HYPERVISOR_DETAIL_KEYS = {
    'id', 'hypervisor_hostname', 'state', 'status', 'vcpus', 'vcpus_used',
    'memory_mb', 'memory_mb_used', 'free_ram_mb', 'local_gb',
    'local_gb_used', 'free_disk_gb', 'disk_available_least',
    'current_workload', 'running_vms', 'hypervisor_type',
    'hypervisor_version', 'host_ip', 'cpu_info', 'service'}
STATISTICS_KEYS = {
    'count', 'vcpus', 'vcpus_used', 'memory_mb', 'memory_mb_used',
    'free_ram_mb', 'local_gb', 'local_gb_used', 'free_disk_gb',
    'disk_available_least', 'current_workload', 'running_vms'}
FLAVOR_KEYS = {
    'id', 'name', 'ram', 'vcpus', 'disk', 'links', 'swap', 'rxtx_factor',
    'OS-FLV-EXT-DATA:ephemeral', 'OS-FLV-DISABLED:disabled',
    'os-flavor-access:is_public'}
AGGREGATE_KEYS = {'id', 'name', 'availability_zone', 'created_at',
                  'updated_at', 'deleted', 'deleted_at', 'hosts',
                  'metadata'}


class AdminAPITestCase(base.ComputeTestCase):
    HOSTS = ('fake-host', 'fake-host-2')

    def setUp(self):
        super().setUp()
        self.api = compute_api.API(conf=self.nova_conf)
        self.addCleanup(self.api.shutdown)
        self.addCleanup(self.wait_for_tasks)
        self.app = app.build_app(self.api, conf=self.nova_conf)

    def request(self, method, path, body=None, token=ADMIN, version=None):
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers['X-Auth-Token'] = token
        if version is not None:
            req.headers['OpenStack-API-Version'] = 'compute %s' % version
        if body is not None:
            req.body = json.dumps(body).encode('utf-8')
            req.content_type = 'application/json'
        response = req.get_response(self.app)
        self.assertNotIn(b'Traceback', response.body)
        return response

    def ok(self, method, path, body=None, status=200, **kwargs):
        response = self.request(method, path, body, **kwargs)
        self.assertEqual(status, response.status_int, response.body)
        return json.loads(response.body) if response.body else None

    def fault(self, status, method, path, body=None, *fragments, **kwargs):
        response = self.request(method, path, body, **kwargs)
        self.assertEqual(status, response.status_int, response.body)
        [(_name, fault)] = json.loads(response.body).items()
        for fragment in fragments:
            self.assertIn(fragment, fault['message'])
        return fault['message']

    def service_id(self, host):
        return db.service_get_by_host(host)['id']


class FlavorManageTestCase(AdminAPITestCase):
    def create(self, **values):
        flavor = dict({'name': 'm1.serial', 'ram': 64, 'vcpus': 1,
                       'disk': 0}, **values)
        return self.ok('POST', '/flavors', {'flavor': flavor})['flavor']

    def test_create_was_405_and_is_novas(self):
        flavor = self.create(id='10', swap=512, rxtx_factor=2.0,
                             **{'OS-FLV-EXT-DATA:ephemeral': 1})
        self.assertEqual(FLAVOR_KEYS, set(flavor))
        self.assertEqual(
            ('10', 'm1.serial', 64, 1, 0, 512, 1, 2.0, False, True),
            (flavor['id'], flavor['name'], flavor['ram'], flavor['vcpus'],
             flavor['disk'], flavor['swap'],
             flavor['OS-FLV-EXT-DATA:ephemeral'], flavor['rxtx_factor'],
             flavor['OS-FLV-DISABLED:disabled'],
             flavor['os-flavor-access:is_public']))
        self.assertEqual({'flavor': flavor},
                         self.ok('GET', '/flavors/10'))

    def test_ids_as_nova_makes_them(self):
        for given in ('auto', None):
            flavor = self.create(name='f-%s' % given, id=given)
            self.assertEqual(36, len(flavor['id']))
        self.assertEqual('42', self.create(name='int', id=42)['id'])
        flavor = self.create(name='no-id', ram='128', vcpus='2', swap='')
        self.assertEqual((36, 128, 2, ''), (len(flavor['id']),
                                            flavor['ram'], flavor['vcpus'],
                                            flavor['swap']))

    def test_bad_bodies_are_400(self):
        for values, field in (
                ({'ram': 0}, 'ram'), ({'vcpus': -1}, 'vcpus'),
                ({'ram': '0'}, 'ram'), ({'disk': 'x'}, 'disk'),
                ({'name': ' x'}, 'name'), ({'id': 'a/b'}, 'id'),
                ({'rxtx_factor': 0}, 'rxtx_factor'),
                ({'extra': 1}, 'extra'),
                ({'ram': '9' * 40}, 'ram'),
                ({'os-flavor-access:is_public': 'maybe'}, 'is_public')):
            body = {'flavor': dict({'name': 'x', 'ram': 64, 'vcpus': 1,
                                    'disk': 0}, **values)}
            with self.subTest(values=values):
                self.fault(400, 'POST', '/flavors', body, field)
        self.fault(400, 'POST', '/flavors', {'name': 'x'}, 'flavor')
        self.assertEqual(['1'], [f['id'] for f in self.ok(
            'GET', '/flavors')['flavors']])

    def test_conflicts_and_policy(self):
        self.create(id='10')
        self.fault(409, 'POST', '/flavors', {'flavor': {
            'name': 'other', 'ram': 1, 'vcpus': 1, 'disk': 0, 'id': '10'}},
            'Flavor with ID 10 already exists')
        self.fault(409, 'POST', '/flavors', {'flavor': {
            'name': 'm1.serial', 'ram': 1, 'vcpus': 1, 'disk': 0}},
            'Flavor with name m1.serial already exists')
        for method, path, body in (
                ('POST', '/flavors', {'flavor': {
                    'name': 'y', 'ram': 1, 'vcpus': 1, 'disk': 0}}),
                ('DELETE', '/flavors/10', None),
                ('POST', '/flavors/10/os-extra_specs',
                 {'extra_specs': {'a': 'b'}}),
                ('PUT', '/flavors/10/os-extra_specs/a', {'a': 'b'}),
                ('DELETE', '/flavors/10/os-extra_specs/a', None)):
            self.fault(403, method, path, body, 'os_compute_api:',
                       token=DEMO)

    def test_extra_specs_set_update_unset(self):
        # openstack flavor create --property hw:serial_port_count=2, then
        # flavor set --property, flavor unset --property.
        self.create(id='10')
        path = '/flavors/10/os-extra_specs'
        self.assertEqual(
            {'extra_specs': {'hw:serial_port_count': '2', 'n': '3',
                             'b': 'True'}},
            self.ok('POST', path, {'extra_specs': {
                'hw:serial_port_count': '2', 'n': 3, 'b': True}}))
        self.assertEqual({'hw:serial_port_count': '4'}, self.ok(
            'PUT', path + '/hw:serial_port_count',
            {'hw:serial_port_count': '4'}))
        self.fault(400, 'PUT', path + '/n', {'m': '1'}, 'URI mismatch')
        self.fault(400, 'PUT', path + '/n', {'n': '1', 'm': '2'}, 'n')
        self.assertIsNone(self.ok('DELETE', path + '/n'))
        self.fault(404, 'DELETE', path + '/n', None, 'n')
        self.assertEqual(
            {'extra_specs': {'hw:serial_port_count': '4', 'b': 'True'}},
            self.ok('GET', path))
        # Refused now rather than at the next boot.
        for bad in ('0', 'two', '-1'):
            self.fault(400, 'POST', path, {'extra_specs': {
                'hw:serial_port_count': bad}}, 'hw:serial_port_count')
        self.fault(400, 'POST', path, {'extra_specs': {'a/b': 'x'}})
        self.fault(404, 'POST', '/flavors/nope/os-extra_specs',
                   {'extra_specs': {'a': 'b'}}, 'nope')

    def test_delete_then_reuse_name_and_id(self):
        self.create(id='10')
        self.ok('DELETE', '/flavors/10', status=202)
        self.fault(404, 'GET', '/flavors/10', None, 'Flavor 10')
        self.fault(404, 'DELETE', '/flavors/10', None, 'Flavor 10')
        self.assertNotIn('10', [f['id'] for f in self.ok(
            'GET', '/flavors/detail')['flavors']])
        # As in Nova, a flavor's name and id are free again.
        self.assertEqual('10', self.create(id='10', ram=256)['id'])

    def test_private_flavors(self):
        self.create(id='p', name='private',
                    **{'os-flavor-access:is_public': False})
        ids = [f['id'] for f in self.ok('GET', '/flavors')['flavors']]
        self.assertEqual(['1'], ids)
        ids = [f['id'] for f in self.ok(
            'GET', '/flavors?is_public=none')['flavors']]
        self.assertEqual(['1', 'p'], ids)
        ids = [f['id'] for f in self.ok(
            'GET', '/flavors?is_public=false')['flavors']]
        self.assertEqual(['p'], ids)
        self.assertEqual([], [f for f in self.ok(
            'GET', '/flavors?is_public=none', token=DEMO)['flavors']
            if f['id'] == 'p'])
        self.fault(404, 'GET', '/flavors/p', None, token=DEMO)
        self.fault(400, 'GET', '/flavors?is_public=maybe', None,
                   'is_public')


class DeletedFlavorTestCase(AdminAPITestCase):
    """A server keeps the flavor it was created with."""

    def _active(self):
        server = self.api.create(base.ALICE, 'vm', 'img-1', '1')
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.assertEqual('active', db.instance_get(server['uuid'])[
            'vm_state'])
        return server['uuid']

    def test_reboot_rebuild_and_claims_after_delete_and_spec_change(self):
        uuid = self._active()
        self.ok('POST', '/flavors/1/os-extra_specs',
                {'extra_specs': {'hw:serial_port_count': '7'}})
        self.ok('DELETE', '/flavors/1', status=202)
        # A new flavor takes the id and the name.
        self.ok('POST', '/flavors', {'flavor': {
            'name': 'm1.tiny', 'id': '1', 'ram': 4096, 'vcpus': 8,
            'disk': 0}})
        server = db.instance_get(uuid)
        instance = conductor_tasks.instance_for(server, boot=True)
        self.assertEqual(('m1.tiny', 128, 2, {'hw:serial_port_count': '2'}),
                         (instance.flavor.name, instance.flavor.memory_mb,
                          instance.flavor.vcpus,
                          instance.flavor.extra_specs))
        self.assertEqual(2, scheduler._ports_of(server))
        self.api.reboot(base.ALICE, uuid, 'HARD')
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.api.rebuild(base.ALICE, uuid, 'img-1')
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.assertEqual(('active', None, None), self._state(uuid))

    def test_seam_flavor_get_reads_a_deleted_flavor_in_use(self):
        from nova.compute import flavors
        uuid = self._active()
        self.ok('DELETE', '/flavors/1', status=202)
        flavor = flavors.flavor_get(base.ALICE, '1')
        self.assertEqual(('m1.tiny', True), (flavor['name'],
                                             flavor['deleted']))
        self.assertRaises(Exception, self.api.create, base.ALICE, 'vm2',
                          'img-1', '1')
        self.api.delete(base.ALICE, uuid)
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.assertIsNone(db.flavor_get_deleted('1'))


class HypervisorsTestCase(AdminAPITestCase):
    def test_statistics_was_404(self):
        stats = self.ok('GET', '/os-hypervisors/statistics')[
            'hypervisor_statistics']
        self.assertEqual(STATISTICS_KEYS, set(stats))
        self.assertEqual(2, stats['count'])
        # A disabled host is not counted, as in Nova.
        self.ok('PUT', '/os-services/disable',
                {'host': 'fake-host-2', 'binary': 'nova-compute'})
        stats = self.ok('GET', '/os-hypervisors/statistics')[
            'hypervisor_statistics']
        self.assertEqual(1, stats['count'])
        self.fault(403, 'GET', '/os-hypervisors/statistics', None,
                   token=DEMO)

    def test_bodies_have_novas_keys_only(self):
        for version in ('2.1', '2.25'):
            [one, two] = self.ok('GET', '/os-hypervisors/detail',
                                 version=version)['hypervisors']
            self.assertEqual(HYPERVISOR_DETAIL_KEYS, set(one))
            self.assertIsInstance(one['cpu_info'], str)
        shown = self.ok('GET', '/os-hypervisors/%d' % one['id'])[
            'hypervisor']
        self.assertEqual(HYPERVISOR_DETAIL_KEYS, set(shown))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.openstack.compute.microversion.MAX_VERSION',
            microversion.APIVersion(2, 28)))
        shown = self.ok('GET', '/os-hypervisors/%d' % one['id'],
                        version='2.28')['hypervisor']
        self.assertIsInstance(shown['cpu_info'], dict)

    def test_serial_console_facts_extension(self):
        [one, two] = self.ok('GET', '/os-hypervisors')['hypervisors']
        facts = self.ok('GET', '/os-hypervisors/%d/serial-console-facts'
                        % one['id'])['serial_console_facts']
        self.assertEqual(
            {'id', 'hypervisor_hostname', 'virtlogd', 'console_log',
             'libvirt_version', 'qemu_version', 'serial_ports'}, set(facts))
        self.assertEqual(one['id'], facts['id'])
        listed = self.ok('GET', '/os-hypervisors/serial-console-facts')[
            'serial_console_facts']
        self.assertEqual(facts, listed[0])
        self.fault(403, 'GET', '/os-hypervisors/serial-console-facts',
                   None, token=DEMO)
        self.fault(404, 'GET', '/os-hypervisors/x/serial-console-facts')

    def test_search_and_servers(self):
        names = [h['hypervisor_hostname'] for h in self.ok(
            'GET', '/os-hypervisors')['hypervisors']]
        found = self.ok('GET', '/os-hypervisors/%s/search' % names[0][:4])
        self.assertEqual(sorted(names), sorted(
            h['hypervisor_hostname'] for h in found['hypervisors']))
        self.fault(404, 'GET', '/os-hypervisors/nomatch/search', None,
                   'nomatch')
        server = self.api.create(base.ALICE, 'vm', 'img-1', '1')
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        host = db.instance_get(server['uuid'])['host']
        found = self.ok('GET', '/os-hypervisors/%s/servers' % names[0][:4])
        with_servers = [h for h in found['hypervisors'] if 'servers' in h]
        self.assertEqual(1, len(with_servers))
        [entry] = with_servers[0]['servers']
        self.assertEqual(server['uuid'], entry['uuid'])
        self.assertEqual('instance-', entry['name'][:9])
        self.assertTrue(host)
        self.fault(404, 'GET', '/os-hypervisors/nomatch/servers')

    def test_uptime(self):
        [one, _two] = self.ok('GET', '/os-hypervisors')['hypervisors']
        # Asked of the host (compute RPC 2.6; was 501 before):
        # test_admin_actions.UptimeTestCase.
        self.assertIn(' up ', self.ok(
            'GET', '/os-hypervisors/%d/uptime' % one['id'])[
                'hypervisor']['uptime'])
        self.fault(404, 'GET', '/os-hypervisors/999/uptime')


class AggregatesTestCase(AdminAPITestCase):
    def create(self, name='agg', zone=None):
        body = {'aggregate': {'name': name}}
        if zone is not None:
            body['aggregate']['availability_zone'] = zone
        return self.ok('POST', '/os-aggregates', body)['aggregate']

    def action(self, agg_id, name, value, status=200):
        return self.ok('POST', '/os-aggregates/%d/action' % agg_id,
                       {name: value}, status=status)

    def test_list_was_404(self):
        # openstack hypervisor show lists the aggregates.
        self.assertEqual({'aggregates': []},
                         self.ok('GET', '/os-aggregates'))
        self.fault(403, 'GET', '/os-aggregates', None,
                   'os_compute_api:os-aggregates:index', token=DEMO)

    def test_create_show_update_delete(self):
        created = self.create(zone='az1')
        self.assertEqual(AGGREGATE_KEYS - {'hosts', 'metadata'},
                         set(created))
        self.assertEqual(('agg', 'az1', False), (
            created['name'], created['availability_zone'],
            created['deleted']))
        path = '/os-aggregates/%d' % created['id']
        shown = self.ok('GET', path)['aggregate']
        self.assertEqual(AGGREGATE_KEYS, set(shown))
        self.assertEqual(([], {'availability_zone': 'az1'}),
                         (shown['hosts'], shown['metadata']))
        updated = self.ok('PUT', path, {'aggregate': {'name': 'agg2'}})[
            'aggregate']
        self.assertEqual(('agg2', 'az1'), (updated['name'],
                                           updated['availability_zone']))
        self.fault(400, 'PUT', path, {'aggregate': {}})
        self.create('other')
        self.fault(409, 'PUT', path, {'aggregate': {'name': 'other'}},
                   'other')
        self.fault(409, 'POST', '/os-aggregates',
                   {'aggregate': {'name': 'other'}}, 'already exists')
        self.fault(400, 'POST', '/os-aggregates',
                   {'aggregate': {'name': 'x', 'zone': 'a'}})
        self.fault(400, 'POST', '/os-aggregates', {'aggregate': {
            'name': 'x', 'availability_zone': 'internal'}}, 'internal')
        self.ok('DELETE', path)
        self.fault(404, 'GET', path, None, 'Aggregate')
        self.fault(404, 'GET', '/os-aggregates/abc', None, 'abc')

    def test_hosts_metadata_and_zones(self):
        agg = self.create(zone='az1')
        agg_id = agg['id']
        result = self.action(agg_id, 'add_host', {'host': 'fake-host'})
        self.assertEqual(['fake-host'], result['aggregate']['hosts'])
        self.assertEqual('az1', az.get_host_availability_zone(
            None, 'fake-host', self.nova_conf))
        self.assertEqual('nova', az.get_host_availability_zone(
            None, 'fake-host-2', self.nova_conf))
        self.assertEqual((['az1', 'nova'], []),
                         az.get_availability_zones(None, self.nova_conf))
        zones = {s['host']: s['zone'] for s in self.ok(
            'GET', '/os-services')['services']}
        self.assertEqual({'fake-host': 'az1', 'fake-host-2': 'nova'}, zones)
        # Errors as Nova's.
        self.fault(409, 'POST', '/os-aggregates/%d/action' % agg_id,
                   {'add_host': {'host': 'fake-host'}}, 'fake-host')
        self.fault(404, 'POST', '/os-aggregates/%d/action' % agg_id,
                   {'add_host': {'host': 'nohost'}}, 'nohost')
        self.fault(404, 'POST', '/os-aggregates/%d/action' % agg_id,
                   {'remove_host': {'host': 'fake-host-2'}}, 'fake-host-2')
        self.fault(404, 'POST', '/os-aggregates/999/action',
                   {'add_host': {'host': 'fake-host'}}, '999')
        self.fault(400, 'DELETE', '/os-aggregates/%d' % agg_id, None,
                   'not empty')
        self.fault(400, 'POST', '/os-aggregates/%d/action' % agg_id,
                   {'nope': {}}, 'nope')
        # One zone per host.
        other = self.create('other', zone='az2')
        self.fault(409, 'POST', '/os-aggregates/%d/action' % other['id'],
                   {'add_host': {'host': 'fake-host'}}, 'az1')
        plain = self.create('plain')
        self.action(plain['id'], 'add_host', {'host': 'fake-host'})
        self.fault(400, 'POST', '/os-aggregates/%d/action' % plain['id'],
                   {'set_metadata': {'metadata': {
                       'availability_zone': 'az3'}}}, 'az1')
        # set_metadata: null deletes a key.
        result = self.action(agg_id, 'set_metadata', {'metadata': {
            'ssd': 'true', 'availability_zone': None}})
        self.assertEqual({'ssd': 'true'}, result['aggregate']['metadata'])
        self.assertIsNone(result['aggregate']['availability_zone'])
        self.assertEqual('nova', az.get_host_availability_zone(
            None, 'fake-host', self.nova_conf))
        self.action(agg_id, 'remove_host', {'host': 'fake-host'})
        self.ok('DELETE', '/os-aggregates/%d' % agg_id)


class ServicesTestCase(AdminAPITestCase):
    def put(self, action, body, **kwargs):
        return self.ok('PUT', '/os-services/' + action, body, **kwargs)

    def test_disable_was_405_and_the_scheduler_skips_the_host(self):
        body = {'host': 'fake-host', 'binary': 'nova-compute'}
        self.assertEqual({'service': dict(body, status='disabled')},
                         self.put('disable', body))
        for _ in range(3):
            server = self.api.create(base.ALICE, 'vm', 'img-1', '1')
            self.assertEqual('fake-host-2', server['host'])
        self.assertEqual(
            {'service': dict(body, status='disabled',
                             disabled_reason='kernel upgrade')},
            self.put('disable-log-reason',
                     dict(body, disabled_reason='kernel upgrade')))
        [shown] = self.ok('GET', '/os-services?host=fake-host')['services']
        self.assertEqual(('disabled', 'kernel upgrade'),
                         (shown['status'], shown['disabled_reason']))
        self.assertEqual({'service': dict(body, status='enabled')},
                         self.put('enable', body))
        [shown] = self.ok('GET', '/os-services?host=fake-host')['services']
        self.assertEqual(('enabled', None),
                         (shown['status'], shown['disabled_reason']))
        self.assertTrue(self.wait_for_tasks(base.WAIT))

    def test_errors(self):
        body = {'host': 'fake-host', 'binary': 'nova-compute'}
        self.fault(404, 'PUT', '/os-services/disable',
                   {'host': 'nohost', 'binary': 'nova-compute'}, 'nohost')
        self.fault(404, 'PUT', '/os-services/reboot', body, 'reboot')
        self.fault(400, 'PUT', '/os-services/disable-log-reason', body,
                   'disabled_reason')
        self.fault(400, 'PUT', '/os-services/disable-log-reason',
                   dict(body, disabled_reason='x' * 256))
        self.fault(400, 'PUT', '/os-services/disable', {'host': 'x'},
                   'binary')
        self.fault(403, 'PUT', '/os-services/disable', body,
                   'os_compute_api:os-services:update', token=DEMO)

    def test_force_down_from_211(self):
        body = {'host': 'fake-host-2', 'binary': 'nova-compute'}
        self.fault(404, 'PUT', '/os-services/force-down',
                   dict(body, forced_down=True), version='2.10')
        self.assertEqual(
            {'service': dict(body, forced_down=True)},
            self.put('force-down', dict(body, forced_down=True),
                     version='2.11'))
        [shown] = self.ok('GET', '/os-services?host=fake-host-2',
                          version='2.11')['services']
        self.assertEqual(('down', True), (shown['state'],
                                          shown['forced_down']))
        self.fault(400, 'PUT', '/os-services/force-down', body,
                   'forced_down', version='2.11')
        self.put('force-down', dict(body, forced_down='false'),
                 version='2.11')

    def test_delete(self):
        self.api.create(base.ALICE, 'vm', 'img-1', '1')
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        busy = [h for h in self.HOSTS if db.instance_get_all(host=h)][0]
        self.fault(409, 'DELETE', '/os-services/%d' % self.service_id(busy),
                   None, 'hosting instances')
        self.fault(404, 'DELETE', '/os-services/999', None, '999')
        self.fault(404, 'DELETE', '/os-services/abc', None, 'abc')


class FlavorListTestCase(AdminAPITestCase):
    """minRam, minDisk, limit and marker, as Nova (tempest's
    FlavorsV2TestJSON filters and pages)."""

    def setUp(self):
        super().setUp()
        for fid, ram, disk in (('2', 256, 1), ('3', 1024, 10)):
            db.flavor_create({'id': fid, 'name': 'f%s' % fid, 'ram': ram,
                              'vcpus': 1, 'disk': disk, 'extra_specs': {}})

    def ids(self, query, path='/flavors'):
        body = self.ok('GET', path + query)
        return [f['id'] for f in body['flavors']], body.get('flavors_links')

    def test_filters_and_pages(self):
        self.assertEqual((['1', '2', '3'], None), self.ids(''))
        self.assertEqual((['2', '3'], None), self.ids('?minRam=200'))
        self.assertEqual((['3'], None), self.ids('?minDisk=5',
                                                 '/flavors/detail'))
        ids, links = self.ids('?limit=1')
        self.assertEqual(['1'], ids)
        self.assertEqual('next', links[0]['rel'])
        self.assertIn('marker=1', links[0]['href'])
        self.assertIn('/v2.1/flavors?', links[0]['href'])
        self.assertEqual((['2', '3'], None), self.ids('?marker=1'))
        # The marker need not pass the filters.
        self.assertEqual((['3'], None), self.ids('?marker=1&minDisk=5'))
        ids, links = self.ids('?marker=1&limit=1&minRam=256')
        self.assertEqual(['2'], ids)
        self.assertIn('marker=2', links[0]['href'])
        self.assertIn('minRam=256', links[0]['href'])
        for query in ('?minRam=x', '?minDisk=-1', '?limit=a',
                      '?marker=nope', '?limit=' + '9' * 30):
            with self.subTest(query=query):
                self.fault(400, 'GET', '/flavors' + query)
