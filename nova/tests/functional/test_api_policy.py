"""The policy file of a real nova-all: ``[oslo_policy] policy_file``.

nova-all runs with a policy file of the test's own; the test rewrites it
while the service runs (oslo.policy reads a changed file again) and
calls the API with roles of its choosing (noauth2's ``X-Roles``).
"""

import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request

from nova.tests.functional import test_api

CONSOLE_OUTPUT = 'os_compute_api:os-console-output'
LIST_DETAIL = 'os_compute_api:os-hypervisors:list-detail'
FORBIDDEN = "Policy doesn't allow %s to be performed."


class _PolicyFileBase(test_api.APITestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix='nova-policy-')
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        self.policy_file = os.path.join(folder, 'policy.yaml')
        self.write_policy({})
        self.EXTRA_CONF = {'oslo_policy': {'policy_file': self.policy_file}}
        super().setUp()

    def write_policy(self, rules):
        # Through a new file renamed over the old: the service never
        # reads half a file. The mtime moves on so that oslo.policy,
        # which compares it, sees the change even within one second.
        mtime = (os.stat(self.policy_file).st_mtime + 10
                 if os.path.exists(self.policy_file) else None)
        tmp = self.policy_file + '.new'
        with open(tmp, 'w') as f:
            json.dump(rules, f)  # JSON is YAML
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        os.rename(tmp, self.policy_file)

    def call(self, method, path, body=None, roles=None, token='demo:demo'):
        """(status, parsed body) of an API call with ``X-Roles: roles``."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.services.endpoint + path,
                                     data=data, method=method)
        req.add_header('Content-Type', 'application/json')
        req.add_header('X-Auth-Token', token)
        if roles is not None:
            req.add_header('X-Roles', roles)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or 'null')
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or 'null')


class PolicyFileTestCase(_PolicyFileBase):
    def auditor_output(self, server):
        return self.call('POST', '/servers/%s/action' % server.id,
                         {'os-getConsoleOutput': {'length': 50}},
                         roles='console-auditor')

    def test_custom_role_granted_console_output(self):
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        # The defaults: the custom role may not.
        status, body = self.auditor_output(server)
        self.assertEqual(403, status, body)
        self.assertEqual(FORBIDDEN % CONSOLE_OUTPUT,
                         body['forbidden']['message'])
        # Granted by the file, in its own project only.
        self.write_policy({CONSOLE_OUTPUT: 'role:console-auditor and '
                                           'project_id:%(project_id)s'})
        status, body = self.auditor_output(server)
        self.assertEqual(200, status, body)
        self.assertIn('NOVA-GUEST-BANNER', body['output'])
        status, body = self.call(
            'POST', '/servers/%s/action' % server.id,
            {'os-getConsoleOutput': {}}, roles='console-auditor',
            token='auditor:other')
        self.assertEqual(404, status, body)
        # Nothing else came with it: no reboot for the auditor.
        status, body = self.call(
            'POST', '/servers/%s/action' % server.id,
            {'reboot': {'type': 'SOFT'}}, roles='console-auditor')
        self.assertEqual(403, status, body)
        # Back to the defaults: refused again, without a restart.
        self.write_policy({})
        status, body = self.auditor_output(server)
        self.assertEqual(403, status, body)
        # The ordinary member keeps it throughout.
        self.assertIn('NOVA-GUEST-BANNER', self.console_output(server))

    def test_operator_role_granted_hypervisor_details(self):
        status, body = self.call('GET', '/os-hypervisors/detail',
                                 roles='operator')
        self.assertEqual(403, status, body)
        self.assertEqual(FORBIDDEN % LIST_DETAIL,
                         body['forbidden']['message'])
        self.write_policy({LIST_DETAIL: 'role:operator'})
        # The one rule is enough: the compute API behind it (which also
        # lists the services) checks nothing again.
        status, body = self.call('GET', '/os-hypervisors/detail',
                                 roles='operator')
        self.assertEqual(200, status, body)
        self.assertEqual(1, len(body['hypervisors']))
        # Its service id comes from the service list the compute API
        # read for it.
        self.assertIsInstance(body['hypervisors'][0]['service']['id'], int)
        status, body = self.call('GET', '/os-services', roles='operator')
        self.assertEqual(403, status, body)

    def test_owner_only_rules_compare_with_the_servers_owner(self):
        # Nova's "only the user who made it": another user of the same
        # project is refused, the one who made the server is not.
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        owner_only = 'user_id:%(user_id)s'
        self.write_policy({CONSOLE_OUTPUT: owner_only,
                           'os_compute_api:servers:reboot': owner_only,
                           'os_compute_api:servers:delete': owner_only})
        action = '/servers/%s/action' % server.id
        for method, path, body, rule in (
                ('POST', action, {'os-getConsoleOutput': {}},
                 CONSOLE_OUTPUT),
                ('POST', action, {'reboot': {'type': 'SOFT'}},
                 'os_compute_api:servers:reboot'),
                ('DELETE', '/servers/%s' % server.id, None,
                 'os_compute_api:servers:delete')):
            status, reply = self.call(method, path, body,
                                      token='colleague:demo')
            # (A console output granted by mistake is long: cut.)
            self.assertEqual(403, status, str(reply)[:300])
            self.assertEqual(FORBIDDEN % rule, reply['forbidden']['message'])
        status, reply = self.call('GET', '/servers/%s' % server.id)
        self.assertEqual('ACTIVE', reply['server']['status'], reply)
        self.assertIn('NOVA-GUEST-BANNER', self.console_output(server))


class UnusablePolicyFileTestCase(_PolicyFileBase):
    def test_policy_file_not_a_mapping_is_no_500(self):
        # Valid YAML, but a list rather than {rule: check string}, while
        # nova-all runs: as a file that cannot be parsed, the check that
        # finds it (the request context's context_is_admin) is refused
        # and logged, the rules read before stay in force; never a 500.
        self.assertEqual(200, self.call('GET', '/servers')[0])
        mtime = os.stat(self.policy_file).st_mtime + 10
        tmp = self.policy_file + '.new'
        with open(tmp, 'w') as f:
            f.write('- %s\n' % CONSOLE_OUTPUT)
        os.utime(tmp, (mtime, mtime))
        os.rename(tmp, self.policy_file)
        for token in ('demo:demo', 'admin', 'demo:demo'):
            status, body = self.call('GET', '/servers', token=token)
            self.assertEqual(200, status, body)
        self.write_policy({'os_compute_api:servers:index': '!'})
        status, body = self.call('GET', '/servers')
        self.assertEqual(403, status, body)
