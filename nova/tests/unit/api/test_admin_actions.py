"""The admin APIs tempest called that were not served (issue 13, part
"admin"), over the REST API, the real compute API and conductor and the
compute managers on fake drivers: os-resetState (400 "There is no such
action" on main), rebuild of a stopped server (409 on main), GET
/servers/{id}/diagnostics, /os-hypervisors/{id}/uptime (501 on main),
POST /os-server-external-events and GET /extensions[/{alias}] (404 on
main)."""

import json

from nova.api.openstack.compute import router
from nova.api.openstack.compute.schemas import servers as server_schemas
from nova.api.openstack.compute import server_actions
from nova.compute import power_state
from nova.compute import rpcapi as compute_rpcapi
from nova import context
from nova.db import api as db
from nova import exception
from nova import policies
from nova import test
from nova.tests.unit.api import test_admin_apis as base
from nova.tests.unit.compute import base as compute_base
from nova.tests.unit.compute import test_manager

DEMO_CTX = context.RequestContext(user_id='demo', project_id='demo')


class ServerTestCase(base.AdminAPITestCase):
    def setUp(self):
        super().setUp()
        server = self.api.create(DEMO_CTX, 'vm', 'img-1', '1')
        self.assertTrue(self.wait_for_tasks())
        self.uuid = server['uuid']
        self.host = db.instance_get(self.uuid)['host']
        self.driver = self.drivers[self.host]
        self.path = '/servers/%s/action' % self.uuid

    def act(self, body, status=202, token=base.ADMIN):
        response = self.request('POST', self.path, body, token=token)
        self.assertEqual(status, response.status_int, response.body)
        if status == 202:
            self.assertTrue(self.wait_for_tasks())
        return response

    def row(self):
        row = db.instance_get(self.uuid)
        return row['vm_state'], row['task_state'], row['power_state']

    def status(self):
        return self.ok('GET', '/servers/%s' % self.uuid)['server']['status']


class ResetStateTestCase(ServerTestCase):
    def test_reset_to_error_and_back(self):
        self.act({'os-resetState': {'state': 'error'}})
        self.assertEqual(('error', None), self.row()[:2])
        self.assertEqual('ERROR', self.status())
        self.act({'os-resetState': {'state': 'active'}})
        self.assertEqual(('active', None), self.row()[:2])
        self.assertEqual('ACTIVE', self.status())
        # The guest was not asked anything.
        self.assertEqual(['spawn'], [c for c in self.driver.names()
                                     if c != 'init_host'])

    def test_a_stuck_task_is_cleared(self):
        db.instance_update(self.uuid, {'task_state': 'rebooting_hard'})
        self.act({'os-resetState': {'state': 'active'}})
        self.assertEqual(('active', None), self.row()[:2])
        # An action is accepted again.
        self.act({'reboot': {'type': 'HARD'}}, token=base.DEMO)
        self.assertEqual(('active', None), self.row()[:2])

    def test_bad_bodies_are_400(self):
        for body in ({'os-resetState': {'state': 'stopped'}},
                     {'os-resetState': {'state': 'ACTIVE'}},
                     {'os-resetState': {}},
                     {'os-resetState': None},
                     {'os-resetState': {'state': 'error', 'x': 1}}):
            self.act(body, 400)
        self.assertEqual(('active', None), self.row()[:2])

    def test_admins_only_and_404(self):
        self.act({'os-resetState': {'state': 'error'}}, 403,
                 token=base.DEMO)
        self.assertEqual('active', self.row()[0])
        self.path = '/servers/%s/action' % compute_base.ids.SRV2
        self.act({'os-resetState': {'state': 'error'}}, 404)


class RebuildStoppedTestCase(ServerTestCase):
    def test_stopped_server_is_rebuilt_and_stays_shutoff(self):
        self.act({'os-stop': None}, token=base.DEMO)
        self.assertEqual('SHUTOFF', self.status())
        body = self.act({'rebuild': {'imageRef': 'img-2'}},
                        token=base.DEMO)
        self.assertEqual('SHUTOFF', json.loads(body.body)['server']['status'])
        self.assertEqual(('stopped', None, power_state.SHUTDOWN),
                         self.row())
        self.assertEqual('SHUTOFF', self.status())
        self.assertIn(('rebuild', self.uuid, 'img-2', 'stopped'),
                      self.driver.calls)
        self.assertFalse(self.driver.running[self.uuid])
        self.act({'os-start': None}, token=base.DEMO)
        self.assertEqual('ACTIVE', self.status())

    def test_active_server_is_rebuilt_running(self):
        self.act({'rebuild': {'imageRef': 'img-2'}}, token=base.DEMO)
        self.assertEqual(('active', None, power_state.RUNNING), self.row())
        self.assertIn(('rebuild', self.uuid, 'img-2'), self.driver.calls)

    def test_other_states_still_409(self):
        db.instance_update(self.uuid, {'vm_state': 'building'})
        self.act({'rebuild': {'imageRef': 'img-2'}}, 409, token=base.DEMO)
        db.instance_update(self.uuid, {'vm_state': 'stopped',
                                       'task_state': 'powering-on'})
        self.act({'rebuild': {'imageRef': 'img-2'}}, 409, token=base.DEMO)


class DiagnosticsTestCase(ServerTestCase):
    def diagnostics(self, status=200, token=base.ADMIN, server=None):
        response = self.request(
            'GET', '/servers/%s/diagnostics' % (server or self.uuid),
            token=token)
        self.assertEqual(status, response.status_int, response.body)
        return response

    def test_admin_gets_the_drivers_statistics(self):
        body = json.loads(self.diagnostics().body)
        self.assertEqual({'cpu0_time': 1000, 'memory': 65536,
                          'vda_read': 512}, body)
        self.assertIn(('get_diagnostics', self.uuid), self.driver.calls)

    def test_not_running_is_409(self):
        self.act({'os-stop': None}, token=base.DEMO)
        response = self.diagnostics(409)
        self.assertIn(b'get_diagnostics', response.body)

    def test_no_host_is_409(self):
        db.instance_update(self.uuid, {'host': None})
        self.diagnostics(409)

    def test_host_down_is_409(self):
        db.service_update(self.service_id(self.host),
                          {'forced_down': True})
        self.diagnostics(409)

    def test_admins_only_and_404(self):
        self.diagnostics(403, token=base.DEMO)
        self.diagnostics(404, server=compute_base.ids.SRV2)


class UptimeTestCase(base.AdminAPITestCase):
    def test_uptime_is_asked_of_the_host(self):
        [one, _two] = self.ok('GET', '/os-hypervisors')['hypervisors']
        body = self.ok('GET', '/os-hypervisors/%d/uptime' % one['id'])
        self.assertEqual(
            {'id', 'hypervisor_hostname', 'state', 'status', 'uptime'},
            set(body['hypervisor']))
        self.assertIn(' up 1 day,', body['hypervisor']['uptime'])
        host = [s['host'] for s in db.service_list()
                if s['id'] == one['id']][0]
        self.assertIn(('get_host_uptime',), self.drivers[host].calls)
        self.fault(404, 'GET', '/os-hypervisors/999/uptime')
        self.fault(403, 'GET', '/os-hypervisors/%d/uptime' % one['id'],
                   token=base.DEMO)

    def test_service_down_is_400(self):
        [one, _two] = self.ok('GET', '/os-hypervisors')['hypervisors']
        db.service_update(one['id'], {'forced_down': True})
        self.fault(400, 'GET', '/os-hypervisors/%d/uptime' % one['id'],
                   None, 'is unavailable')


class ExternalEventsTestCase(ServerTestCase):
    def events(self, events, status, token=base.ADMIN):
        response = self.request('POST', '/os-server-external-events',
                                {'events': events}, token=token)
        self.assertEqual(status, response.status_int, response.body)
        return response

    def test_known_server_is_200(self):
        body = json.loads(self.events(
            [{'name': 'network-changed', 'server_uuid': self.uuid}],
            200).body)
        self.assertEqual({'events': [{
            'name': 'network-changed', 'server_uuid': self.uuid,
            'status': 'completed', 'code': 200}]}, body)

    def test_mixed_is_207_with_codes(self):
        other = self.api.create(DEMO_CTX, 'vm2', 'img-1', '1')
        self.assertTrue(self.wait_for_tasks())
        db.instance_update(other['uuid'], {'host': None})
        body = json.loads(self.events([
            {'name': 'network-vif-plugged', 'server_uuid': self.uuid,
             'status': 'failed', 'tag': 'port-1'},
            {'name': 'network-changed',
             'server_uuid': compute_base.ids.SRV2},
            {'name': 'network-vif-deleted', 'server_uuid': other['uuid']},
        ], 207).body)
        self.assertEqual(
            [(200, 'failed', 'port-1'), (404, 'failed', None),
             (422, 'failed', None)],
            [(e['code'], e['status'], e.get('tag'))
             for e in body['events']])

    def test_none_found_is_404(self):
        self.events([{'name': 'network-changed',
                      'server_uuid': compute_base.ids.SRV2}], 404)

    def test_bad_bodies_and_policy(self):
        for events in ([], [{'name': 'bogus', 'server_uuid': self.uuid}],
                       [{'name': 'network-changed'}],
                       [{'name': 'network-changed', 'server_uuid': 'x'}],
                       [{'name': 'network-changed', 'server_uuid': self.uuid,
                         'status': 'done'}],
                       [{'name': 'network-changed', 'server_uuid': self.uuid,
                         'tag': 't' * 256}]):
            self.events(events, 400)
        self.events([{'name': 'network-changed', 'server_uuid': self.uuid}],
                    403, token=base.DEMO)


class ExtensionsTestCase(base.AdminAPITestCase):
    KEYS = {'alias', 'name', 'description', 'links', 'namespace', 'updated'}

    def test_list_and_show(self):
        from nova.api.openstack.compute import extensions
        found = self.ok('GET', '/extensions', token=base.DEMO)['extensions']
        self.assertEqual(len(extensions.EXTENSIONS), len(found))
        for entry in found:
            self.assertEqual(self.KEYS, set(entry))
        aliases = [e['alias'] for e in found]
        self.assertIn('os-admin-actions', aliases)
        self.assertIn('os-server-diagnostics', aliases)
        self.assertIn('os-quota-sets', aliases)
        self.assertIn('os-flavor-access', aliases)
        one = self.ok('GET', '/extensions/os-shelve', token=base.DEMO)
        self.assertEqual('Shelve', one['extension']['name'])
        # Not served here, so not listed (Nova lists os-hosts, os-consoles).
        for alias in ('os-hosts', 'os-consoles', 'x' * 99):
            self.fault(404, 'GET', '/extensions/' + alias)

    def test_every_entry_is_served(self):
        from nova.api.openstack.compute import extensions
        routes = {(method, path) for method, path, _c, _a in router.ROUTES}
        actions = server_actions.ServerActionsController.wsgi_actions
        # Fields of the server, or beside it (os:scheduler_hints).
        fields = (set(server_schemas.create['properties']) |
                  set(server_schemas.create['properties']['server'][
                      'properties']))
        for alias, _name, _desc, evidence in extensions.EXTENSIONS:
            kind, rest = evidence[0], evidence[1:]
            if kind == 'route':
                self.assertIn(rest, routes, alias)
            elif kind == 'action':
                self.assertIn(rest[0], actions, alias)
            else:
                self.assertEqual('create', kind, alias)
                self.assertIn(rest[0], fields, alias)


class PolicyTestCase(test.TestCase):
    def test_novas_names_and_defaults(self):
        rules = {r.name: r.check_str for r in policies.list_rules()}
        for name in ('os_compute_api:os-admin-actions:reset_state',
                     'os_compute_api:os-server-diagnostics',
                     'os_compute_api:os-server-external-events:create'):
            self.assertEqual('rule:context_is_admin', rules[name])
        # Nova's is '@' (anyone); here a reader of a project, as this
        # project's rules leave no API open to a token without a role.
        self.assertEqual('rule:project_reader_or_admin',
                         rules['os_compute_api:extensions'])


class RPCTestCase(compute_base.RPCTestCase):
    """Compute RPC 2.6: a cap below refuses, a hostile answer is no 500."""

    def test_cap_below_2_6(self):
        self.nova_flags(group='upgrade_levels', compute='2.5')
        api = compute_rpcapi.ComputeAPI(self.nova_conf)
        instance = test_manager._instance()
        for call in (lambda: api.get_diagnostics(
                         compute_base.ALICE, 'fake-host', instance),
                     lambda: api.get_host_uptime(compute_base.ALICE,
                                                 'fake-host')):
            e = self.assertRaises(exception.ComputeHostError, call)
            self.assertIn('compute RPC API 2.6', e.message)
        instance.vm_state = 'stopped'
        e = self.assertRaises(exception.ComputeHostError,
                              api.rebuild_instance, compute_base.ALICE,
                              'fake-host', instance)
        self.assertIn('rebuild_instance of compute RPC API 2.6', e.message)
