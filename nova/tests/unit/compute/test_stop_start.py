"""os-stop and os-start through the REST API, the compute API, the
conductor and the compute manager, on a fake driver (issue 13: tempest
found them missing, 404 "There is no such action")."""

from nova.compute import power_state
from nova.compute import rpcapi as compute_rpcapi
from nova.conductor import rpcapi as conductor_rpcapi
from nova.console import tokens
from nova import context
from nova.db import api as db
from nova import exception
from nova import policies
from nova import test
from nova.tests.unit.api import test_admin_apis as base
from nova.tests.unit.compute import base as compute_base
from nova.tests.unit.compute import test_manager

DEMO_CTX = context.RequestContext(user_id='demo', project_id='demo')


class StopStartTestCase(base.AdminAPITestCase):
    def setUp(self):
        super().setUp()
        server = self.api.create(DEMO_CTX, 'vm', 'img-1', '1')
        self.assertTrue(self.wait_for_tasks())
        self.uuid = server['uuid']
        # The server's host's driver (the scheduler picks one of two).
        self.driver = self.drivers[db.instance_get(self.uuid)['host']]
        self.path = '/servers/%s/action' % self.uuid

    def act(self, name, status=202, token=base.DEMO):
        response = self.request('POST', self.path, {name: None},
                                token=token)
        self.assertEqual(status, response.status_int, response.body)
        if status == 202:
            self.assertEqual(b'', response.body)
            self.assertTrue(self.wait_for_tasks())
        return response

    def status(self):
        return self.ok('GET', '/servers/%s' % self.uuid)['server']['status']

    def events(self, action):
        [found] = [a for a in db.action_list(self.uuid)
                   if a['action'] == action][:1]
        return [(e['event'], e['result'])
                for e in db.action_events(found['id'])]

    def test_stop_then_start(self):
        self.act('os-stop')
        row = db.instance_get(self.uuid)
        self.assertEqual(('stopped', None, power_state.SHUTDOWN),
                         (row['vm_state'], row['task_state'],
                          row['power_state']))
        self.assertEqual('SHUTOFF', self.status())
        self.assertIn(('power_off', self.uuid), self.driver.calls)
        self.assertEqual([('compute_stop_instance', 'Success')],
                         self.events('stop'))
        self.act('os-start')
        row = db.instance_get(self.uuid)
        self.assertEqual(('active', None, power_state.RUNNING),
                         (row['vm_state'], row['task_state'],
                          row['power_state']))
        self.assertEqual('ACTIVE', self.status())
        self.assertIn(('power_on', self.uuid), self.driver.calls)
        self.assertEqual([('compute_start_instance', 'Success')],
                         self.events('start'))

    def test_wrong_states_are_409_with_novas_text(self):
        response = self.act('os-start', 409)
        self.assertIn(("Cannot 'start' instance %s while it is in vm_state "
                       "active" % self.uuid).encode(), response.body)
        self.act('os-stop')
        response = self.act('os-stop', 409)
        self.assertIn(("Cannot 'stop' instance %s while it is in vm_state "
                       "stopped" % self.uuid).encode(), response.body)
        db.instance_update(self.uuid, {'task_state': 'powering-on'})
        response = self.act('os-start', 409)
        self.assertIn(b"while it is in task_state powering-on",
                      response.body)
        db.instance_update(self.uuid, {'vm_state': 'building',
                                       'task_state': None})
        self.act('os-stop', 409)

    def test_error_state_stops(self):
        db.instance_update(self.uuid, {'vm_state': 'error'})
        self.act('os-stop')
        self.assertEqual('SHUTOFF', self.status())

    def test_locked_is_409_but_for_admins(self):
        self.ok('POST', self.path, {'lock': None}, status=202,
                token=base.DEMO)
        response = self.act('os-stop', 409)
        self.assertIn(b'is locked', response.body)
        self.act('os-stop', token=base.ADMIN)
        self.act('os-start', 409)
        self.act('os-start', token=base.ADMIN)

    def test_unknown_or_other_projects_server_is_404(self):
        self.path = '/servers/%s/action' % compute_base.ids.SRV2
        self.act('os-stop', 404)
        self.act('os-start', 404)
        other = self.api.create(compute_base.ALICE, 'vm', 'img-1', '1')
        self.assertTrue(self.wait_for_tasks())
        self.path = '/servers/%s/action' % other['uuid']
        self.act('os-stop', 404)

    def test_stopped_server_console(self):
        self.act('os-stop')
        output = self.ok('POST', self.path,
                         {'os-getConsoleOutput': {}})['output']
        self.assertEqual('console of %s' % self.uuid, output)
        self.fault(409, 'POST', self.path,
                   {'os-getSerialConsole': {'type': 'serial'}},
                   'is not ready', token=base.DEMO)

    def test_stop_and_start_revoke_console_urls(self):
        for action in ('os-stop', 'os-start'):
            if action == 'os-start':
                # The token store, as the stopped server has no console.
                token_of = tokens.authorize(self.uuid, 'serial', 'h', 1)
            else:
                url = self.ok('POST', self.path, {'os-getSerialConsole': {
                    'type': 'serial'}}, token=base.DEMO)['console']['url']
                token_of = url.split('token=')[1]
            tokens.validate(token_of)
            self.act(action)
            self.assertRaises(exception.InvalidToken, tokens.validate,
                              token_of)

    def test_reboot_of_a_stopped_server(self):
        self.act('os-stop')
        self.fault(409, 'POST', self.path, {'reboot': {'type': 'SOFT'}},
                   token=base.DEMO)
        self.ok('POST', self.path, {'reboot': {'type': 'HARD'}},
                status=202, token=base.DEMO)
        self.assertTrue(self.wait_for_tasks())
        self.assertEqual('ACTIVE', self.status())
        row = db.instance_get(self.uuid)
        self.assertEqual(power_state.RUNNING, row['power_state'])

    def test_host_failure_is_error_with_fault(self):
        self.driver.fail['power_off'] = RuntimeError('boom')
        self.act('os-stop')
        row = db.instance_get(self.uuid)
        self.assertEqual(('error', None), (row['vm_state'],
                                           row['task_state']))
        self.assertIn('boom', row['fault'])
        self.assertEqual([('compute_stop_instance', 'Error')],
                         self.events('stop'))

    def test_lost_stop_and_start_are_sent_again(self):
        # As a cast lost with a restarted host: the row is in the task,
        # the host runs nothing; recovery sends the action again.
        db.instance_update(self.uuid, {'task_state': 'powering-off'})
        self.conductor_endpoint().recover(compute_base.ADMIN)
        self.assertTrue(self.wait_for_tasks())
        self.assertEqual(('stopped', None, None),
                         compute_base.ComputeTestCase._state(self,
                                                             self.uuid))
        db.instance_update(self.uuid, {'task_state': 'powering-on'})
        self.conductor_endpoint().recover(compute_base.ADMIN)
        self.assertTrue(self.wait_for_tasks())
        self.assertEqual('ACTIVE', self.status())


class PolicyTestCase(test.TestCase):
    """Nova's names and defaults: the project's members, or admins."""

    def ctx(self, roles, project='p1'):
        return context.RequestContext(user_id='u1', project_id=project,
                                      roles=roles, is_admin=None)

    def test_defaults(self):
        target = {'project_id': 'p1', 'user_id': 'u1'}
        for rule in ('os_compute_api:servers:stop',
                     'os_compute_api:servers:start'):
            self.assertTrue(self.ctx(('member', 'reader')).can(
                rule, target=target))
            self.assertFalse(self.ctx(('reader',)).can(
                rule, target=target, fatal=False))
            self.assertFalse(self.ctx(('member',), project='p2').can(
                rule, target=target, fatal=False))
            self.assertTrue(self.ctx(('admin',), project='p2').can(
                rule, target=target))
        names = {r.name for r in policies.list_rules()}
        self.assertLessEqual({'os_compute_api:servers:stop',
                              'os_compute_api:servers:start'}, names)


class RPCCapTestCase(compute_base.RPCTestCase):
    """Methods of RPC API 2.5: a sender capped below says so, never
    sends a message the other side would drop."""

    def test_compute_cap_below_2_5(self):
        self.nova_flags(group='upgrade_levels', compute='2.4')
        api = compute_rpcapi.ComputeAPI(self.nova_conf)
        for method in (api.stop_instance, api.start_instance):
            e = self.assertRaises(exception.ComputeHostError, method,
                                  compute_base.ALICE, 'fake-host',
                                  test_manager._instance())
            self.assertIn('compute RPC API 2.5', e.message)

    def test_conductor_cap_below_2_5(self):
        self.nova_flags(group='upgrade_levels', conductor='2.4')
        api = conductor_rpcapi.ComputeTaskAPI(self.nova_conf)
        for method in (api.stop_instance, api.start_instance):
            e = self.assertRaises(exception.ServiceUnavailable, method,
                                  compute_base.ALICE, 'some-uuid')
            self.assertIn('conductor RPC API 2.5', e.message)
