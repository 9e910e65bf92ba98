"""oslo.policy: Nova's rules, their defaults, and a policy file over them.

The API requests go through build_app() over the in-memory compute API,
so they show the check each call site makes; the policy is the real one.
"""

import configparser
import importlib
import json
import os
import sys

import fixtures
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from nova.api.openstack.compute import server_actions
from nova import context
from nova import exception
from nova import policies
from nova import policy
from nova import test
from nova.tests.unit.api import base
from nova.tests.unit.api import fakes

CONSOLE_OUTPUT = 'os_compute_api:os-console-output'
MEMBER = ('member', 'reader')


def ctx(project='p1', roles=MEMBER, user='u1'):
    return context.RequestContext(user_id=user, project_id=project,
                                  roles=roles, is_admin=None)


class DefaultsTestCase(test.TestCase):
    """Upstream Nova's defaults, for each kind of caller."""

    def test_rule_names_and_defaults(self):
        defaults = {r.name: r.check_str for r in policies.list_rules()}
        self.assertEqual('role:admin', defaults['context_is_admin'])
        self.assertEqual('role:member and project_id:%(project_id)s',
                         defaults['project_member_api'])
        self.assertEqual('role:reader and project_id:%(project_id)s',
                         defaults['project_reader_api'])
        self.assertEqual('rule:project_member_api or rule:context_is_admin',
                         defaults['project_member_or_admin'])
        self.assertEqual('rule:project_reader_api or rule:context_is_admin',
                         defaults['project_reader_or_admin'])
        member_or_admin = ('servers:create', 'servers:delete',
                           'servers:reboot', 'servers:rebuild',
                           'os-console-output', 'os-remote-consoles',
                           'os-console-viewers')
        for name in member_or_admin:
            self.assertEqual('rule:project_member_or_admin',
                             defaults['os_compute_api:' + name], name)
        for name in ('servers:index', 'servers:detail', 'servers:show',
                     'os-flavor-extra-specs:index',
                     'os-flavor-extra-specs:show'):
            self.assertEqual('rule:project_reader_or_admin',
                             defaults['os_compute_api:' + name], name)
        for name in ('servers:index:get_all_tenants',
                     'servers:detail:get_all_tenants',
                     'servers:show:host_status',
                     'os-extended-server-attributes',
                     'os-migrate-server:migrate_live',
                     'os-hypervisors:list', 'os-hypervisors:list-detail',
                     'os-hypervisors:show', 'os-services:list',
                     'os-flavor-manage:create', 'os-image-manage:create'):
            self.assertEqual('rule:context_is_admin',
                             defaults['os_compute_api:' + name], name)

    def test_names_are_unique(self):
        names = [r.name for r in policies.list_rules()]
        self.assertEqual(len(names), len(set(names)))

    def test_member_of_the_project(self):
        member = ctx()
        self.assertFalse(member.is_admin)
        self.assertTrue(member.can(CONSOLE_OUTPUT))
        self.assertTrue(member.can(CONSOLE_OUTPUT,
                                   target={'project_id': 'p1'}))
        # Another project's resource: refused with Nova's message.
        e = self.assertRaises(exception.Forbidden, member.can,
                              CONSOLE_OUTPUT, target={'project_id': 'p2'})
        self.assertEqual(403, e.code)
        self.assertEqual("Policy doesn't allow %s to be performed."
                         % CONSOLE_OUTPUT, e.message)
        self.assertFalse(member.can(CONSOLE_OUTPUT, fatal=False,
                                    target={'project_id': 'p2'}))
        for rule in ('os_compute_api:os-services:list',
                     'os_compute_api:os-migrate-server:migrate_live',
                     'os_compute_api:servers:index:get_all_tenants'):
            self.assertFalse(member.can(rule, fatal=False), rule)

    def test_reader_reads_only(self):
        reader = ctx(roles=('reader',))
        self.assertTrue(reader.can('os_compute_api:servers:show'))
        self.assertTrue(reader.can('os_compute_api:servers:index'))
        for action in ('reboot', 'delete', 'create', 'rebuild'):
            self.assertFalse(reader.can('os_compute_api:servers:' + action,
                                        fatal=False), action)
        self.assertFalse(reader.can(CONSOLE_OUTPUT, fatal=False))

    def test_no_role_no_access(self):
        nobody = ctx(roles=())
        for rule in policies.list_rules():
            if rule.name.startswith('os_compute_api:'):
                self.assertFalse(nobody.can(rule.name, fatal=False),
                                 rule.name)

    def test_admin_may_everything_anywhere(self):
        admin = ctx(project='admin', roles=('admin',))
        self.assertTrue(admin.is_admin)
        for rule in policies.list_rules():
            if rule.name.startswith('os_compute_api:'):
                self.assertTrue(admin.can(rule.name,
                                          target={'project_id': 'other'}),
                                rule.name)
        self.assertTrue(context.get_admin_context().can(
            'os_compute_api:os-flavor-manage:create'))

    def test_is_admin_as_given_unless_none(self):
        # An explicit is_admin is kept (RPC contexts carry it); None
        # asks context_is_admin.
        self.assertFalse(context.RequestContext(
            'u', 'p', roles=('admin',)).is_admin)
        self.assertTrue(context.RequestContext(
            'u', 'p', roles=('admin',), is_admin=None).is_admin)

    def test_unknown_rule_is_a_bug_not_a_refusal(self):
        self.assertRaises(oslo_policy.PolicyNotRegistered, ctx().can,
                          'os_compute_api:no-such-rule')


class PolicyFileTestCase(test.TestCase):
    """``[oslo_policy] policy_file`` overrides the defaults."""

    def write_policy(self, rules):
        path = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'policy.yaml')
        with open(path, 'w') as f:
            json.dump(rules, f)  # JSON is YAML
        return path

    def test_custom_role_granted_console_output(self):
        auditor = ctx(roles=('console-auditor',))
        self.assertFalse(auditor.can(CONSOLE_OUTPUT, fatal=False))
        self.policy.set_policy_file(self.write_policy({
            CONSOLE_OUTPUT: 'role:console-auditor and '
                            'project_id:%(project_id)s'}))
        self.assertTrue(auditor.can(CONSOLE_OUTPUT))
        # Only in its project, only that rule; the rest keep defaults.
        self.assertFalse(auditor.can(CONSOLE_OUTPUT, fatal=False,
                                     target={'project_id': 'p2'}))
        self.assertFalse(auditor.can('os_compute_api:servers:reboot',
                                     fatal=False))
        self.assertTrue(ctx().can('os_compute_api:servers:reboot'))

    def test_base_rule_override_changes_every_api_using_it(self):
        self.policy.set_policy_file(self.write_policy({
            'context_is_admin': 'role:cloud-admin'}))
        operator = ctx(roles=('cloud-admin',))
        self.assertTrue(operator.is_admin)
        self.assertTrue(operator.can('os_compute_api:os-services:list'))
        self.assertFalse(ctx(roles=('admin',)).can(
            'os_compute_api:os-services:list', fatal=False))

    def test_file_changes_apply_without_restart(self):
        path = self.write_policy({CONSOLE_OUTPUT: '!'})
        self.policy.set_policy_file(path)
        self.assertFalse(ctx().can(CONSOLE_OUTPUT, fatal=False))
        with open(path, 'w') as f:
            json.dump({CONSOLE_OUTPUT: '@'}, f)
        # oslo.policy reloads on a changed mtime; make sure it differs.
        stat = os.stat(path)
        os.utime(path, (stat.st_atime, stat.st_mtime + 10))
        self.assertTrue(ctx(roles=()).can(CONSOLE_OUTPUT))

    def test_rules_are_read_once_per_check(self):
        # Issue 14: nova read them before each check, and oslo.policy's
        # check read them again (each read looks the file up).
        reads = []
        real = oslo_policy.Enforcer.load_rules

        def counting(enforcer, force_reload=False):
            reads.append(force_reload)
            return real(enforcer, force_reload)

        self.useFixture(fixtures.MonkeyPatch(
            'oslo_policy.policy.Enforcer.load_rules', counting))
        self.policy.set_policy_file(self.write_policy({
            CONSOLE_OUTPUT: '@'}))
        user = ctx()
        del reads[:]
        self.assertTrue(user.can(CONSOLE_OUTPUT))
        self.assertEqual(1, len(reads))

    def test_file_is_looked_for_where_oslo_config_finds_it(self):
        # The folders are worked out once; each check still tests them,
        # so a file that appears beside the config file later is read,
        # as oslo.policy reads it (by name, not by path).
        folder = self.useFixture(fixtures.TempDir()).path
        config = os.path.join(folder, 'nova.conf')
        with open(config, 'w') as f:
            f.write('[DEFAULT]\n')
        conf = cfg.ConfigOpts()
        conf(['--config-file', config], project='nova',
             default_config_files=[], default_config_dirs=[])
        policy.reset()
        self.addCleanup(policy.reset)
        enforcer = policy.init(conf=conf)
        self.assertTrue(ctx().can(CONSOLE_OUTPUT))
        self.assertIsNone(enforcer.policy_path)
        path = os.path.join(folder, 'policy.yaml')
        with open(path, 'w') as f:
            json.dump({CONSOLE_OUTPUT: '!'}, f)
        self.assertEqual(conf.find_file('policy.yaml'),
                         enforcer._get_policy_path('policy.yaml'))
        self.assertFalse(ctx().can(CONSOLE_OUTPUT, fatal=False))
        self.assertEqual(path, enforcer.policy_path)

    def test_unparsable_file_refuses_and_says_why(self):
        logs = self.useFixture(fixtures.FakeLogger(name='nova.policy'))
        path = self.write_policy({})
        with open(path, 'w') as f:
            f.write('{"%s": "@" ::: [' % CONSOLE_OUTPUT)
        self.policy.set_policy_file(path)
        # No rules could be read: every check is refused (403, never a
        # 500 on every request), the admin's too, and the log says why.
        e = self.assertRaises(exception.Forbidden, ctx().can,
                              CONSOLE_OUTPUT)
        self.assertIn(CONSOLE_OUTPUT, e.message)
        admin = ctx(roles=('admin',))
        self.assertFalse(admin.is_admin)
        self.assertFalse(admin.can('os_compute_api:os-services:list',
                                   fatal=False))
        self.assertIn('the policy file %s cannot be parsed' % path,
                      logs.output)
        # Fixed: in force.
        with open(path, 'w') as f:
            json.dump({CONSOLE_OUTPUT: '@'}, f)
        stat = os.stat(path)
        os.utime(path, (stat.st_atime, stat.st_mtime + 10))
        self.assertTrue(ctx(roles=()).can(CONSOLE_OUTPUT))
        # Broken again while running: the check that finds it is
        # refused and logged; the rules read before stay in force.
        nobody = ctx(roles=())
        logged = logs.output.count('cannot be parsed')
        with open(path, 'w') as f:
            f.write('{"%s": "!" ::: [' % CONSOLE_OUTPUT)
        os.utime(path, (stat.st_atime, stat.st_mtime + 20))
        self.assertFalse(nobody.can(CONSOLE_OUTPUT, fatal=False))
        self.assertEqual(logged + 1, logs.output.count('cannot be parsed'))
        self.assertTrue(nobody.can(CONSOLE_OUTPUT))

    def test_file_not_a_mapping_of_check_strings_refuses(self):
        # Valid YAML that is not {rule: check string}: oslo.policy raises
        # AttributeError or TypeError, not the ValueError of bad syntax.
        # Refused and logged as unparsable too, never an exception.
        logs = self.useFixture(fixtures.FakeLogger(name='nova.policy'))
        path = self.write_policy({})
        for text in ('- %s\n' % CONSOLE_OUTPUT, 'just a string\n',
                     '{"%s": 5}' % CONSOLE_OUTPUT,
                     '{"%s": ["@", 5]}' % CONSOLE_OUTPUT):
            with open(path, 'w') as f:
                f.write(text)
            self.policy.set_policy_file(path)
            e = self.assertRaises(exception.Forbidden, ctx().can,
                                  CONSOLE_OUTPUT)
            self.assertIn(CONSOLE_OUTPUT, e.message)
            self.assertFalse(ctx().can(CONSOLE_OUTPUT, fatal=False), text)
            self.assertFalse(ctx(roles=('admin',)).is_admin, text)
            self.assertIn('the policy file %s cannot be parsed' % path,
                          logs.output)


class APIPolicyTestCase(base.APITestCase):
    """Each API call site asks its rule, and a policy file changes the
    answer the HTTP caller gets."""

    def write_policy(self, rules):
        path = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'policy.yaml')
        with open(path, 'w') as f:
            json.dump(rules, f)
        self.policy.set_policy_file(path)

    def console_output(self, roles):
        server = self.compute.add_server(project_id='demo')
        self.compute.console_output[server['uuid']] = b'hello\n'
        return self.action(server['uuid'], {'os-getConsoleOutput': {}},
                           headers={'X-Roles': roles})

    def test_custom_role_console_output(self):
        self.assertFault(self.console_output('console-auditor'), 403,
                         'forbidden', "Policy doesn't allow %s to be "
                         "performed." % CONSOLE_OUTPUT)
        self.write_policy({CONSOLE_OUTPUT: 'role:console-auditor and '
                                           'project_id:%(project_id)s'})
        response = self.console_output('console-auditor')
        self.assertStatus(200, response)
        self.assertEqual({'output': 'hello\n'}, self.json(response))
        # The member lost it: the file replaced the rule.
        self.assertStatus(403, self.console_output('member'))

    def test_policy_file_not_a_mapping_is_403_not_500(self):
        path = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'policy.yaml')
        with open(path, 'w') as f:
            f.write('- %s\n' % CONSOLE_OUTPUT)
        self.policy.set_policy_file(path)
        self.assertFault(self.request('GET', '/v2.1/servers'), 403,
                         'forbidden', 'os_compute_api:servers:index')
        self.assertFault(self.request('GET', '/v2.1/os-services',
                                      token=base.ADMIN_TOKEN),
                         403, 'forbidden', 'os_compute_api:os-services:list')

    def test_every_call_site_asks_its_rule(self):
        server = self.compute.add_server(project_id='demo')
        uuid = server['uuid']
        calls = {
            'servers:index': ('GET', '/v2.1/servers', None),
            'servers:detail': ('GET', '/v2.1/servers/detail', None),
            'servers:show': ('GET', '/v2.1/servers/' + uuid, None),
            'servers:create': ('POST', '/v2.1/servers', {'server': {
                'name': 'x', 'imageRef': 'img', 'flavorRef': '1'}}),
            'servers:delete': ('DELETE', '/v2.1/servers/' + uuid, None),
            'servers:reboot': ('POST', '/v2.1/servers/%s/action' % uuid,
                               {'reboot': {'type': 'SOFT'}}),
            'servers:rebuild': ('POST', '/v2.1/servers/%s/action' % uuid,
                                {'rebuild': {'imageRef': 'img'}}),
            'os-console-output': ('POST', '/v2.1/servers/%s/action' % uuid,
                                  {'os-getConsoleOutput': {}}),
            'os-remote-consoles': (
                'POST', '/v2.1/servers/%s/remote-consoles' % uuid,
                {'remote_console': {'protocol': 'serial',
                                    'type': 'serial'}}),
            'os-console-viewers': (
                'POST', '/v2.1/servers/%s/console-viewers' % uuid,
                {'console_viewer': {}}),
            'os-flavor-extra-specs:index': (
                'GET', '/v2.1/flavors/1/os-extra_specs', None),
            'os-flavor-extra-specs:show': (
                'GET', '/v2.1/flavors/1/os-extra_specs/k', None),
        }
        self.write_policy({'os_compute_api:' + name: '!'
                           for name in calls})
        for name, (method, path, body) in calls.items():
            rule = 'os_compute_api:' + name
            self.assertFault(self.request(method, path, body=body,
                                          version='2.6'),
                             403, 'forbidden', rule)
        # os-getSerialConsole (2.1 to 2.5) is os-remote-consoles, as Nova.
        self.assertFault(self.action(uuid, {'os-getSerialConsole': {
            'type': 'serial'}}, version='2.5'), 403, 'forbidden',
            'os_compute_api:os-remote-consoles')
        self.assertIn(uuid, self.compute.servers)

    def server_calls(self, uuid):
        """{rule: (method, path, body, version)} of every call on one
        server."""
        action = '/v2.1/servers/%s/action' % uuid
        return {
            'servers:show': ('GET', '/v2.1/servers/' + uuid, None, None),
            'servers:delete': ('DELETE', '/v2.1/servers/' + uuid, None,
                               None),
            'servers:reboot': ('POST', action, {'reboot': {'type': 'SOFT'}},
                               None),
            'servers:rebuild': ('POST', action,
                                {'rebuild': {'imageRef': fakes.IMAGE_ID}},
                                None),
            'os-console-output': ('POST', action,
                                  {'os-getConsoleOutput': {}}, None),
            'os-remote-consoles': ('POST', action, {'os-getSerialConsole': {
                'type': 'serial'}}, '2.5'),
            'os-remote-consoles@2.6': (
                'POST', '/v2.1/servers/%s/remote-consoles' % uuid,
                {'remote_console': {'protocol': 'serial',
                                    'type': 'serial'}}, '2.6'),
            'os-console-viewers': (
                'POST', '/v2.1/servers/%s/console-viewers' % uuid,
                {'console_viewer': {}}, None),
            'os-migrate-server:migrate_live': (
                'POST', action, {'os-migrateLive': {
                    'host': None, 'block_migration': 'auto'}}, '2.25'),
        }

    def test_owner_rules_compare_with_the_servers_owner(self):
        # Nova's documented "only the user who made it" policy: the
        # target of a call on a server is its owner, not the caller.
        server = self.compute.add_server(project_id='demo', user_id='demo')
        uuid = server['uuid']
        self.compute.console_output[uuid] = b'hello\n'
        calls = self.server_calls(uuid)
        self.write_policy({'os_compute_api:' + name.split('@')[0]:
                           'user_id:%(user_id)s' for name in calls})
        for name, (method, path, body, version) in calls.items():
            self.assertFault(
                self.request(method, path, body=body, version=version,
                             token='bob:demo'),
                403, 'forbidden', 'os_compute_api:' + name.split('@')[0])
        self.assertEqual('ACTIVE', self.compute.servers[uuid]['status'])
        self.assertEqual([], self.compute.actions())
        # The owner passes the same rules (the delete last).
        for name, (method, path, body, version) in sorted(
                calls.items(), key=lambda item: item[0] == 'servers:delete'):
            response = self.request(method, path, body=body,
                                    version=version, token='demo:demo')
            self.assertIn(response.status_int, (200, 202, 204),
                          (name, response.body))
            if uuid in self.compute.servers:
                self.compute.servers[uuid].update(status='ACTIVE',
                                                  task_state=None)
        self.assertNotIn(uuid, self.compute.servers)

    def test_project_rules_compare_with_the_servers_project(self):
        # A rule without the admin: an admin of another project is
        # refused on this project's server, as in Nova.
        uuid = self.compute.add_server(project_id='demo')['uuid']
        calls = self.server_calls(uuid)
        self.write_policy({'os_compute_api:' + name.split('@')[0]:
                           'project_id:%(project_id)s' for name in calls})
        for name, (method, path, body, version) in calls.items():
            self.assertFault(
                self.request(method, path, body=body, version=version,
                             token=base.ADMIN_TOKEN),
                403, 'forbidden', 'os_compute_api:' + name.split('@')[0])
        self.assertEqual([], self.compute.actions())
        self.assertIn(uuid, self.compute.servers)

    def test_all_tenants_asks_each_lists_rule(self):
        for rule, path in (('index', '/v2.1/servers?all_tenants=1'),
                           ('detail', '/v2.1/servers/detail?all_tenants=1')):
            self.assertFault(self.request('GET', path), 403, 'forbidden',
                             'os_compute_api:servers:%s:get_all_tenants'
                             % rule)
        self.write_policy({
            'os_compute_api:servers:detail:get_all_tenants': '@'})
        self.assertStatus(200, self.request(
            'GET', '/v2.1/servers/detail?all_tenants=1'))
        self.assertStatus(403, self.request(
            'GET', '/v2.1/servers?all_tenants=1'))

    def test_admin_apis_follow_the_file(self):
        uuid = self.compute.add_server(project_id='demo')['uuid']
        calls = {
            'os-services:list': ('GET', '/v2.1/os-services', None),
            'os-hypervisors:list': ('GET', '/v2.1/os-hypervisors', None),
            'os-hypervisors:list-detail': (
                'GET', '/v2.1/os-hypervisors/detail', None),
            'os-hypervisors:show': ('GET', '/v2.1/os-hypervisors/1', None),
            'os-migrate-server:migrate_live': (
                'POST', '/v2.1/servers/%s/action' % uuid,
                {'os-migrateLive': {'host': None,
                                    'block_migration': 'auto'}}),
        }
        for name, (method, path, body) in calls.items():
            self.assertFault(self.request(method, path, body=body,
                                          version='2.25'),
                             403, 'forbidden', 'os_compute_api:' + name)
        # Granted one by one to an operator role: each is then enough
        # alone (no second, hand-written admin check behind it).
        self.write_policy({'os_compute_api:' + name: 'role:operator'
                           for name in calls})
        for name, (method, path, body) in calls.items():
            response = self.request(method, path, body=body, version='2.25',
                                    headers={'X-Roles': 'operator'})
            self.assertIn(response.status_int, (200, 202),
                          (name, response.body))
        self.assertEqual(server_actions.MIGRATE_LIVE_POLICY,
                         'os_compute_api:os-migrate-server:migrate_live')

    def test_host_status_and_extended_attributes_follow_their_rules(self):
        server = self.compute.add_server(project_id='demo')
        path = '/v2.1/servers/' + server['uuid']
        body = self.json(self.request('GET', path, version='2.16'))
        self.assertNotIn('host_status', body['server'])
        self.assertNotIn('OS-EXT-SRV-ATTR:host', body['server'])
        admin = self.json(self.request('GET', path, version='2.16',
                                       token=base.ADMIN_TOKEN))
        self.assertIn('OS-EXT-SRV-ATTR:host', admin['server'])
        self.assertIn('host_status', admin['server'])
        self.write_policy({
            'os_compute_api:servers:show:host_status':
                'rule:project_reader_api'})
        body = self.json(self.request('GET', path, version='2.16'))
        self.assertIn('host_status', body['server'])
        self.assertNotIn('OS-EXT-SRV-ATTR:host', body['server'])
        # The file replaced the rule: the admin (no reader role) lost it.
        admin = self.json(self.request('GET', path, version='2.16',
                                       token=base.ADMIN_TOKEN))
        self.assertIn('OS-EXT-SRV-ATTR:host', admin['server'])
        self.assertNotIn('host_status', admin['server'])


class EnforcerTestCase(test.TestCase):
    def test_enforcer_for_the_oslopolicy_tools(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.argv', ['oslopolicy-checker', '--namespace', 'nova']))
        conf_file = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'nova.conf')
        with open(conf_file, 'w') as f:
            f.write('[oslo_policy]\npolicy_file = /x/policy.yaml\n')
        parsed = []
        self.useFixture(fixtures.MonkeyPatch(
            'nova.policy.CONF', _Recorder(parsed)))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.policy.init', lambda: 'enforcer'))
        sys.argv[1:] = ['--config-file', conf_file, '--namespace', 'nova',
                        '--config-dir=/etc/nova', '--output-file', 'o']
        self.assertEqual('enforcer', policy.get_enforcer())
        self.assertEqual([['--config-file', conf_file,
                           '--config-dir=/etc/nova']], parsed)


class _Recorder:
    def __init__(self, calls):
        self.calls = calls

    def __call__(self, args, project):
        self.calls.append(args)


class EntryPointsTestCase(test.TestCase):
    """setup.cfg's oslo.policy entry points name what exists."""

    def test_entry_points_resolve(self):
        setup_cfg = os.path.join(os.path.dirname(__file__), '..', '..',
                                 '..', 'setup.cfg')
        parser = configparser.ConfigParser()
        parser.read(setup_cfg)
        targets = {}
        for group in ('oslo.policy.policies', 'oslo.policy.enforcer'):
            name, _sep, target = parser.get(
                'entry_points', group).strip().partition('=')
            self.assertEqual('nova', name.strip(), group)
            module, _sep, attr = target.strip().partition(':')
            targets[group] = getattr(importlib.import_module(module), attr)
        self.assertIs(policies.list_rules,
                      targets['oslo.policy.policies'])
        self.assertIs(policy.get_enforcer, targets['oslo.policy.enforcer'])
