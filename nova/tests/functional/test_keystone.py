"""nova-all with ``[api] auth_strategy = keystone`` against a real Keystone.

tools/setup-keystone.sh sets Keystone up (PyPI, gunicorn, fernet, SQLite)
and keeps the passwords in a root-only clouds.yaml; keystoneauth1 gets
real tokens of every scope from it, and the compute API is called over
HTTP as any client would.
"""

import os
import subprocess
import time
import uuid

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1.identity import v3
from keystoneauth1 import session
import yaml

from nova import test
from nova.tests.functional import base
from nova.tests.functional import services

SETUP_KEYSTONE = os.path.join(base.REPO, 'tools', 'setup-keystone.sh')
CLOUDS_YAML = '/etc/nova-keystone/clouds.yaml'
PID_FILE = '/run/nova-keystone/keystone.pid'
SCOPE_FAULT = 'The compute API needs a project-scoped token'


class _Keystone:
    """Set up once per test process."""

    clouds = None

    @classmethod
    def ensure(cls):
        if cls.clouds is None:
            base.run_tool(SETUP_KEYSTONE)
            with open(CLOUDS_YAML) as f:
                cls.clouds = yaml.safe_load(f)['clouds']
        return cls.clouds


def _auth(cloud, **scope):
    """A keystoneauth1 password plugin for ``cloud`` of clouds.yaml, with
    ``scope`` (e.g. unscoped=True) instead of the cloud's own."""
    auth = dict(cloud['auth'])
    if scope:
        for key in ('project_name', 'project_domain_name', 'domain_name',
                    'system_scope'):
            auth.pop(key, None)
        auth.update(scope)
    return v3.Password(**auth)


def authtoken_conf(clouds):
    """nova's [keystone_authtoken]: user nova of clouds.yaml."""
    service = clouds['nova-service']['auth']
    return {
        'auth_type': 'password',
        'auth_url': service['auth_url'],
        'www_authenticate_uri': service['auth_url'],
        'username': service['username'],
        'password': service['password'],
        'user_domain_name': service['user_domain_name'],
        'project_name': service['project_name'],
        'project_domain_name': service['project_domain_name'],
        'region_name': 'RegionOne',
    }


class KeystoneCalls:
    """Calls of a test case with ``self.clouds`` and ``self.services``."""

    def token(self, cloud, **scope):
        auth = _auth(self.clouds[cloud], **scope)
        return session.Session(auth=auth).get_token()

    def request(self, token, method, path, body=None):
        return self.services.request(method, path, body, token=token,
                                     version='2.6')

    def assertScopeRefused(self, token, reason):
        for method, path, body in (('GET', '/servers', None),
                                   ('POST', '/servers', {'server': {}})):
            status, fault = self.request(token, method, path, body)
            self.assertEqual(403, status, fault)
            self.assertEqual(['forbidden'], list(fault))
            self.assertEqual(403, fault['forbidden']['code'])
            self.assertIn(SCOPE_FAULT, fault['forbidden']['message'])
            self.assertIn(reason, fault['forbidden']['message'])

    def wait_active(self, token, server_id, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.request(token, 'GET',
                                        '/servers/%s' % server_id)
            self.assertEqual(200, status, body)
            if body['server']['status'] == 'ERROR':
                self.fail('server went to ERROR: %s' % body['server'])
            if body['server']['status'] == 'ACTIVE':
                return body['server']
            time.sleep(0.5)
        self.fail('server %s not ACTIVE within %d s' % (server_id, timeout))

    def wait_output(self, token, server_id, needle, timeout=120):
        deadline = time.monotonic() + timeout
        output = ''
        while time.monotonic() < deadline:
            status, body = self.request(
                token, 'POST', '/servers/%s/action' % server_id,
                {'os-getConsoleOutput': {}})
            self.assertEqual(200, status, body)
            output = body['output']
            if needle in output:
                return output
            time.sleep(0.5)
        self.fail('%r not in the console output: %r' % (needle,
                                                        output[-300:]))

    def delete(self, token, server_id, timeout=120):
        self.request(token, 'DELETE', '/servers/%s' % server_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.request(token, 'GET',
                            '/servers/%s' % server_id)[0] == 404:
                return
            time.sleep(0.5)


class KeystoneTestCase(KeystoneCalls, base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        self.clouds = _Keystone.ensure()
        authtoken = authtoken_conf(self.clouds)
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type,
            extra_conf={'api': {'auth_strategy': 'keystone'},
                        'keystone_authtoken': authtoken})
        self.addCleanup(self.services.cleanup)
        self.services.start()

    def test_project_token_and_isolation(self):
        demo = self.token('nova-demo')
        status, body = self.request(demo, 'POST', '/servers', {'server': {
            'name': 'ks', 'imageRef': services.IMAGE_ID, 'flavorRef': '1',
            'networks': 'none'}})
        self.assertEqual(202, status, body)
        server_id = body['server']['id']
        self.addCleanup(self.delete, demo, server_id)
        server = self.wait_active(demo, server_id)
        self.assertEqual(self.clouds['nova-demo']['auth']['username'],
                         self._user_name(demo, server['user_id']))
        self.wait_output(demo, server_id, 'NOVA-GUEST-BANNER')
        status, body = self.request(
            demo, 'POST', '/servers/%s/remote-consoles' % server_id,
            {'remote_console': {'protocol': 'serial', 'type': 'serial'}})
        self.assertEqual(200, status, body)
        self.assertTrue(body['remote_console']['url'].startswith('ws://'))

        # Another project's member sees nothing of it.
        alt = self.token('nova-alt')
        for method, path, body in (
                ('GET', '/servers/%s' % server_id, None),
                ('POST', '/servers/%s/action' % server_id,
                 {'os-getConsoleOutput': {'length': 5}}),
                ('POST', '/servers/%s/remote-consoles' % server_id,
                 {'remote_console': {'protocol': 'serial',
                                     'type': 'serial'}})):
            status, fault = self.request(alt, method, path, body)
            self.assertEqual(404, status, fault)
        status, body = self.request(alt, 'GET', '/servers')
        self.assertEqual(200, status, body)
        self.assertNotIn(server_id, str(body))

        # A role no policy names, on the server's own project: refused by
        # the policy, with a fault.
        status, fault = self.request(self.token('nova-custom'), 'GET',
                                     '/servers/%s' % server_id)
        self.assertEqual(403, status, fault)
        self.assertEqual(['forbidden'], list(fault))

    def _user_name(self, token, user_id):
        # The server's user_id is the Keystone id of the token's user.
        admin = session.Session(auth=_auth(self.clouds['nova-admin']))
        return admin.get('/users/%s' % user_id,
                         endpoint_filter={'service_type': 'identity',
                                          'interface': 'public'}
                         ).json()['user']['name']

    def test_tokens_without_a_project_get_403(self):
        self.assertScopeRefused(self.token('nova-demo', unscoped=True),
                                'an unscoped token')
        self.assertScopeRefused(self.token('nova-admin-domain'),
                                'a domain-scoped token')
        self.assertScopeRefused(self.token('nova-admin-system'),
                                'a system-scoped token')

    def test_invalid_and_revoked_tokens_get_401(self):
        for token in ('not-a-token', 'gAAAAA' + uuid.uuid4().hex * 3):
            status, _body = self.request(token, 'GET', '/servers')
            self.assertEqual(401, status)
        # A real token, revoked before its first use (auth_token caches
        # the tokens it validated): as refused as an expired one.
        admin = session.Session(auth=_auth(self.clouds['nova-admin']))
        revoked = self.token('nova-demo')
        admin.delete('/auth/tokens', headers={'X-Subject-Token': revoked},
                     endpoint_filter={'service_type': 'identity',
                                      'interface': 'public'})
        self.assertRaises(ks_exc.NotFound, admin.head, '/auth/tokens',
                          headers={'X-Subject-Token': revoked},
                          endpoint_filter={'service_type': 'identity',
                                           'interface': 'public'})
        status, _body = self.request(revoked, 'GET', '/servers')
        self.assertEqual(401, status)


class SetupKeystoneTestCase(test.TestCase):
    """tools/setup-keystone.sh itself: idempotent, loopback only."""

    def test_second_run_changes_nothing(self):
        _Keystone.ensure()
        proc = subprocess.run([SETUP_KEYSTONE], capture_output=True,
                              text=True)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertEqual('', proc.stdout)
        # Only the closing line: nothing written, made or restarted.
        lines = proc.stderr.splitlines()
        self.assertEqual(1, len(lines), proc.stderr)
        self.assertIn('keystone ready', lines[0])

    def test_serves_on_loopback_only_and_hides_the_passwords(self):
        _Keystone.ensure()
        with open(PID_FILE) as f:
            master = f.read().strip()
        workers = subprocess.run(['pgrep', '-P', master], capture_output=True,
                                 text=True).stdout.split()
        pids = {master, *workers}
        self.assertGreater(len(pids), 1)   # master and its workers
        sockets = set()
        for line in subprocess.run(['ss', '-ltnpH'], capture_output=True,
                                   text=True).stdout.splitlines():
            if any('pid=%s,' % pid in line for pid in pids):
                sockets.add(line.split()[3])
        self.assertEqual({'127.0.0.1:5000'}, sockets)
        info = os.stat(CLOUDS_YAML)
        self.assertEqual((0, 0o600), (info.st_uid, info.st_mode & 0o777))
