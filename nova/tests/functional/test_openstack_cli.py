"""The clients operators type, unchanged, against the real services.

``openstack`` (python-openstackclient) and ``nova`` (python-novaclient)
run as commands, as an operator types them, against nova-all with
``auth_strategy = keystone``, the real Keystone (tools/setup-keystone.sh),
the real Glance (tools/setup-glance.sh) and the real hypervisor. The
clients find Keystone and Glance in their configuration and catalog; the
compute endpoint of this test's nova-all is given to them as an endpoint
override (its port is free-picked, the catalog names 8774).

Each flow: upload the tiny guest to Glance (kernel, ramdisk and a machine
image naming them), a flavor with ``hw:serial_port_count=2``, a server,
its console log, its serial console over the websocket (typed on), a hard
reboot and a rebuild (the console log keeps what was typed), delete.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from keystoneauth1 import session
import libvirt
import websocket
import yaml

from nova.tests.functional import base
from nova.tests.functional import services
from nova.tests.functional import test_keystone

VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
OPENSTACK = os.path.join(VENV_BIN, 'openstack')
NOVA = os.path.join(VENV_BIN, 'nova')
SETUP_GLANCE = os.path.join(base.REPO, 'tools', 'setup-glance.sh')
KEYSTONE_VENV_PYTHON = '/opt/nova-keystone/venv/bin/python'
KEYSTONE_CONF = '/etc/nova-keystone/keystone.conf'
BANNER = 'NOVA-GUEST-BANNER'
PROMPT = b'nova-guest# '
CLI_TIMEOUT = 300    # s, one command (--wait included)
SCOPE_FAULT = test_keystone.SCOPE_FAULT

# Run by Keystone's own python: the same token, expired a minute ago and
# signed with Keystone's fernet key (the only way to hold a real expired
# token without waiting an hour).
EXPIRE_TOKEN = r'''
import sys, datetime
import keystone.conf
from keystone.common import utils as ks_utils
from keystone.token import token_formatters as tf
CONF = keystone.conf.CONF
keystone.conf.configure(CONF)
CONF(args=[], project='keystone', default_config_files=[sys.argv[1]])
fmt = tf.TokenFormatter()
(user_id, methods, audit_ids, system, domain_id, project_id, trust_id,
 groups, idp, protocol, access, app_cred, thumbprint, _issued,
 _expires) = fmt.validate_token(sys.stdin.read().strip())
expired = ks_utils.isotime(
    datetime.datetime.utcnow() - datetime.timedelta(minutes=1),
    subsecond=True)
print(fmt.create_token(user_id, expired, audit_ids, tf.ProjectScopedPayload,
                       methods=methods, project_id=project_id))
'''


class _Glance:
    """Set up once per test process (glance part's script)."""

    ready = False

    @classmethod
    def ensure(cls):
        if not cls.ready:
            if not os.path.exists(SETUP_GLANCE):
                raise RuntimeError('%s is missing: the functional tests of '
                                   'the clients need the real Glance'
                                   % SETUP_GLANCE)
            base.run_tool(SETUP_GLANCE)
            cls.ready = True


class CliFailed(AssertionError):
    pass


class ClientsTestCase(base.FunctionalTestCase):
    """nova-all + Keystone + Glance, and the commands of both clients."""

    # The compute API's port: free-picked unless a subclass needs one.
    API_PORT = None
    # The port of the compute endpoint in Keystone's catalog
    # (tools/setup-keystone.sh): a client that finds the compute API only
    # there needs nova-all on it.
    CATALOG_PORT = 8774

    def setUp(self):
        super().setUp()
        self.clouds = test_keystone._Keystone.ensure()
        service = self.clouds['nova-service']['auth']
        authtoken = test_keystone.authtoken_conf(self.clouds)
        extra = {'api': {'auth_strategy': 'keystone'},
                 'keystone_authtoken': authtoken,
                 # Images from Glance (the glance part's [glance] group:
                 # nova's own service user finds it in the catalog).
                 'glance': {'enabled': True,
                            'auth_type': 'password',
                            'auth_url': service['auth_url'],
                            'username': service['username'],
                            'password': service['password'],
                            'user_domain_name': service['user_domain_name'],
                            'project_name': service['project_name'],
                            'project_domain_name':
                                service['project_domain_name'],
                            'region_name': 'RegionOne'}}
        if self.API_PORT:
            extra['DEFAULT'] = {'osapi_compute_listen_port': self.API_PORT}
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type, extra_conf=extra)
        if self.API_PORT:
            self.services.api_port = self.API_PORT
        self.addCleanup(self.services.cleanup)
        self.services.start()
        # The clients' configuration: clouds.yaml's clouds with this
        # nova-all as the compute endpoint (root only: passwords).
        self.confdir = tempfile.mkdtemp(prefix='nova-clients-')
        self.addCleanup(shutil.rmtree, self.confdir, ignore_errors=True)
        clouds = {}
        for name, cloud in self.clouds.items():
            cloud = dict(cloud)
            cloud['compute_endpoint_override'] = self.services.endpoint
            clouds[name] = cloud
        self.clouds_yaml = os.path.join(self.confdir, 'clouds.yaml')
        with open(self.clouds_yaml, 'w') as f:
            os.fchmod(f.fileno(), 0o600)
            yaml.safe_dump({'clouds': clouds}, f)
        self.tag = uuid.uuid4().hex[:8]

    # -- running the clients -------------------------------------------------
    def _run(self, argv, env, expect_ok=True):
        proc = subprocess.run(argv, capture_output=True, text=True,
                              env=env, timeout=CLI_TIMEOUT,
                              stdin=subprocess.DEVNULL, cwd=self.confdir)
        if expect_ok and proc.returncode != 0:
            raise CliFailed('%s exited %d:\n%s\n%s\nnova-all log:\n%s' % (
                ' '.join(argv[:8]), proc.returncode, proc.stdout[-2000:],
                proc.stderr[-3000:], self.services.log_tail(20)))
        return proc

    def _env(self, **more):
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
               'HOME': self.confdir, 'LANG': 'C.UTF-8',
               'OS_CLIENT_CONFIG_FILE': self.clouds_yaml}
        env.update(more)
        return env

    def osc(self, cloud, *args, expect_ok=True):
        """``openstack --os-cloud CLOUD ARGS``: its output, parsed when it
        is JSON (``-f json``)."""
        proc = self._run([OPENSTACK, '--os-cloud', cloud] + list(args),
                         self._env(), expect_ok)
        if not expect_ok:
            return proc
        if '-f' in args and args[args.index('-f') + 1] == 'json':
            return json.loads(proc.stdout)
        return proc.stdout

    def nova(self, cloud, *args, expect_ok=True):
        """``nova ARGS`` with the OS_* variables of clouds.yaml's CLOUD
        (novaclient reads no clouds.yaml)."""
        auth = self.clouds[cloud]['auth']
        env = self._env(
            OS_AUTH_URL=auth['auth_url'], OS_USERNAME=auth['username'],
            OS_PASSWORD=auth['password'],
            OS_PROJECT_NAME=auth['project_name'],
            OS_USER_DOMAIN_NAME=auth['user_domain_name'],
            OS_PROJECT_DOMAIN_NAME=auth['project_domain_name'],
            OS_REGION_NAME='RegionOne', OS_IDENTITY_API_VERSION='3',
            OS_COMPUTE_API_VERSION='2.25')
        override = ([] if self.API_PORT == self.CATALOG_PORT else
                    ['--os-endpoint-override', self.services.endpoint])
        return self._run([NOVA] + override + list(args), env, expect_ok)

    # -- shared steps --------------------------------------------------------
    def upload_guest(self):
        """The tiny guest in Glance as Nova boots a kernel image: an aki,
        an ari and a machine image naming both (its data: an empty disk,
        the guest runs from its initramfs). Returns the machine image id."""
        _Glance.ensure()
        empty = os.path.join(self.confdir, 'disk.img')
        with open(empty, 'wb') as f:
            f.truncate(1024 * 1024)
        ids = {}
        for kind, path, fmt in (('kernel', self.stack.kernel, 'aki'),
                                ('ramdisk', self.stack.initrd, 'ari')):
            ids[kind] = self.osc(
                'nova-admin', 'image', 'create', '--public',
                '--disk-format', fmt, '--container-format', fmt,
                '--file', path, 'cli-%s-%s' % (kind, self.tag),
                '-f', 'json')['id']
            self.addCleanup(self.osc, 'nova-admin', 'image', 'delete',
                            ids[kind], expect_ok=False)
        image = self.osc(
            'nova-admin', 'image', 'create', '--public',
            '--disk-format', 'ami', '--container-format', 'ami',
            '--property', 'kernel_id=%s' % ids['kernel'],
            '--property', 'ramdisk_id=%s' % ids['ramdisk'],
            '--property', 'os_command_line=%s' % self.stack.cmdline,
            '--file', empty, 'cli-guest-%s' % self.tag, '-f', 'json')
        self.addCleanup(self.osc, 'nova-admin', 'image', 'delete',
                        image['id'], expect_ok=False)
        self.assertEqual('active', image['status'])
        return image['id']

    def assertSerialPorts(self, server_id, count):
        """The guest libvirt runs has ``count`` tcp serial ports, the
        first logged by virtlogd."""
        conn = libvirt.open('qemu:///system')
        try:
            xml = conn.lookupByUUIDString(server_id).XMLDesc(0)
        finally:
            conn.close()
        serials = re.findall(r"<serial type='tcp'>.*?</serial>", xml,
                             re.S)
        self.assertEqual(count, len(serials), xml)
        self.assertIn('<log file=', serials[0])

    def type_on(self, url, command):
        """Type ``command`` on the serial console at ``url`` (the
        websocket of nova-serialproxy); what the guest answered."""
        ws = websocket.create_connection(url, timeout=30)
        try:
            received = b''
            ws.send_binary(b'\r')
            deadline = time.monotonic() + base.BOOT_TIMEOUT
            while PROMPT not in received:
                self.assertLess(time.monotonic(), deadline, received[-300:])
                received += ws.recv()
            ws.send_binary(command.encode() + b'\r')
            while received.count(PROMPT) < 2:
                self.assertLess(time.monotonic(), deadline, received[-300:])
                received += ws.recv()
        finally:
            ws.close()
        return received.decode('utf-8', 'replace')

    def wait_log(self, read, needle, count=1):
        """Poll ``read()`` (a client's console log) until ``needle`` is in
        it ``count`` times."""
        deadline = time.monotonic() + base.BOOT_TIMEOUT
        text = ''
        while time.monotonic() < deadline:
            text = read()
            if text.count(needle) >= count:
                return text
            time.sleep(1)
        self.fail('%r not %d time(s) in the console log; its end: %r'
                  % (needle, count, text[-500:]))


class OpenStackClientTestCase(ClientsTestCase):
    def test_operator_flow(self):
        image_id = self.upload_guest()

        # Admin: a flavor with two serial ports.
        flavor_name = 'cli.serial2-%s' % self.tag
        flavor = self.osc('nova-admin', 'flavor', 'create', '--ram', '128',
                          '--vcpus', '1', '--disk', '0', '--property',
                          'hw:serial_port_count=2', flavor_name,
                          '-f', 'json')
        self.addCleanup(self.osc, 'nova-admin', 'flavor', 'delete',
                        flavor['id'], expect_ok=False)
        shown = self.osc('nova-admin', 'flavor', 'show', flavor_name,
                         '-f', 'json')
        self.assertEqual({'hw:serial_port_count': '2'}, shown['properties'])

        # A project member: the server.
        server = self.osc('nova-demo', 'server', 'create', '--flavor',
                          flavor_name, '--image', image_id, '--wait',
                          'cli-%s' % self.tag, '-f', 'json')
        server_id = server['id']
        self.addCleanup(self.osc, 'nova-demo', 'server', 'delete', '--wait',
                        server_id, expect_ok=False)
        self.assertEqual('ACTIVE', server['status'])
        self.assertSerialPorts(server_id, 2)

        def log(lines=None):
            args = ['console', 'log', 'show', server_id]
            if lines:
                args[3:3] = ['--lines', str(lines)]
            return self.osc('nova-demo', *args)

        self.wait_log(log, BANNER)
        # --lines: the newest lines only.
        tail = log(lines=3)
        self.assertLessEqual(len(tail.rstrip('\n').split('\n')), 3, tail)

        # The serial console: a URL of nova-serialproxy, typed on.
        url = self.osc('nova-demo', 'console', 'url', 'show', '--serial',
                       server_id, '-f', 'json')
        self.assertEqual('serial', url['type'])
        self.assertTrue(url['url'].startswith('ws://'), url)
        mark = 'cli-mark-%s' % self.tag
        answer = self.type_on(url['url'], 'echo %s-$((6*7))' % mark)
        self.assertIn('%s-42' % mark, answer)
        self.wait_log(log, '%s-42' % mark)

        # Another project sees none of it.
        for args in (('server', 'show', server_id),
                     ('console', 'log', 'show', server_id),
                     ('console', 'url', 'show', '--serial', server_id)):
            proc = self.osc('nova-alt', *args, expect_ok=False)
            self.assertNotEqual(0, proc.returncode, proc.stdout)
            self.assertNotIn(mark, proc.stdout + proc.stderr)
        listed = self.osc('nova-alt', 'server', 'list', '-f', 'json')
        self.assertNotIn(server_id, [s['ID'] for s in listed])

        # Hard reboot and rebuild: the log keeps the first boot and what
        # was typed (virtlogd, append="on").
        self.osc('nova-demo', 'server', 'reboot', '--hard', '--wait',
                 server_id)
        text = self.wait_log(log, BANNER, count=2)
        self.assertIn('%s-42' % mark, text)
        self.osc('nova-demo', 'server', 'rebuild', '--wait', server_id)
        text = self.wait_log(log, BANNER, count=3)
        self.assertIn('%s-42' % mark, text)
        rebuilt = self.osc('nova-demo', 'server', 'show', server_id,
                           '-f', 'json')
        self.assertEqual('ACTIVE', rebuilt['status'])
        self.assertSerialPorts(server_id, 2)

        self.osc('nova-demo', 'server', 'delete', '--wait', server_id)
        proc = self.osc('nova-demo', 'server', 'show', server_id,
                        expect_ok=False)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('No Server found', proc.stderr)

    def test_tokens_without_a_project_get_403_with_a_fault(self):
        # Domain- and system-scoped: as the clients get them from
        # clouds.yaml; the compute API's fault is what they print.
        for cloud, reason in (('nova-admin-domain', 'a domain-scoped token'),
                              ('nova-admin-system',
                               'a system-scoped token')):
            proc = self.osc(cloud, 'server', 'list', expect_ok=False)
            self.assertEqual(1, proc.returncode, proc.stdout)
            self.assertIn('403', proc.stderr)
            self.assertIn(SCOPE_FAULT, proc.stderr)
            self.assertIn(reason, proc.stderr)
        # Unscoped (no client asks for one from a cloud with a project):
        # a real one straight from Keystone, and the body checked.
        token = test_keystone._auth(self.clouds['nova-demo'],
                                    unscoped=True)
        unscoped = session.Session(auth=token).get_token()
        status, fault = self.services.request('GET', '/servers',
                                              token=unscoped)
        self.assertEqual(403, status, fault)
        self.assertEqual(['forbidden'], list(fault))
        self.assertEqual(403, fault['forbidden']['code'])
        self.assertIn('an unscoped token', fault['forbidden']['message'])

    def test_expired_token_gets_401(self):
        valid = session.Session(auth=test_keystone._auth(
            self.clouds['nova-demo'])).get_token()
        proc = subprocess.run(
            [KEYSTONE_VENV_PYTHON, '-c', EXPIRE_TOKEN, KEYSTONE_CONF],
            input=valid, capture_output=True, text=True, timeout=60)
        self.assertEqual(0, proc.returncode, proc.stderr)
        expired = proc.stdout.strip().split('\n')[-1]
        self.assertNotEqual(valid, expired)
        # Keystone itself no longer validates it.
        admin = session.Session(auth=test_keystone._auth(
            self.clouds['nova-admin']))
        answer = admin.get('/auth/tokens', raise_exc=False,
                           headers={'X-Subject-Token': expired},
                           endpoint_filter={'service_type': 'identity',
                                            'interface': 'public'})
        self.assertEqual(404, answer.status_code, answer.text)
        status, _body = self.services.request('GET', '/servers',
                                              token=expired)
        self.assertEqual(401, status)
        self.assertEqual(401, _body['error']['code'])
        # The same user's valid token still works: only expiry refused.
        status, body = self.services.request('GET', '/servers', token=valid)
        self.assertEqual(200, status, body)


class NovaClientTestCase(ClientsTestCase):
    # novaclient's only way to name another compute endpoint,
    # --os-endpoint-override, sends its Glance calls there too.
    API_PORT = ClientsTestCase.CATALOG_PORT

    def test_operator_flow(self):
        image_id = self.upload_guest()
        flavor_name = 'nc.serial2-%s' % self.tag
        self.nova('nova-admin', 'flavor-create', flavor_name, 'auto', '128',
                  '0', '1')
        self.addCleanup(self.nova, 'nova-admin', 'flavor-delete',
                        flavor_name, expect_ok=False)
        self.nova('nova-admin', 'flavor-key', flavor_name, 'set',
                  'hw:serial_port_count=2')
        specs = self.nova('nova-admin', 'flavor-show', flavor_name).stdout
        self.assertIn('hw:serial_port_count', specs)

        out = self.nova('nova-demo', 'boot', '--image', image_id, '--flavor',
                        flavor_name, '--poll',
                        'nc-%s' % self.tag).stdout
        server_id = re.search(r'\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|',
                              out).group(1)
        self.addCleanup(self.nova, 'nova-demo', 'delete', server_id,
                        expect_ok=False)
        self.assertSerialPorts(server_id, 2)

        def log(length=None):
            args = ['console-log', server_id]
            if length:
                args[1:1] = ['--length', str(length)]
            return self.nova('nova-demo', *args).stdout

        self.wait_log(log, BANNER)
        tail = log(length=3)
        self.assertLessEqual(len(tail.rstrip('\n').split('\n')), 3, tail)

        out = self.nova('nova-demo', 'get-serial-console', server_id).stdout
        url = re.search(r'(ws://\S+)', out).group(1)
        mark = 'nc-mark-%s' % self.tag
        self.assertIn('%s-42' % mark,
                      self.type_on(url, 'echo %s-$((6*7))' % mark))
        self.wait_log(log, '%s-42' % mark)

        # Another project: 404 for the server and its consoles (novaclient
        # looks the server up first and says so).
        gone = 'No server with a name or ID of %r exists' % server_id
        for args in (('show', server_id), ('console-log', server_id),
                     ('get-serial-console', server_id)):
            proc = self.nova('nova-alt', *args, expect_ok=False)
            self.assertNotEqual(0, proc.returncode, proc.stdout)
            self.assertIn(gone, proc.stderr)
            self.assertNotIn(mark, proc.stdout)

        self.nova('nova-demo', 'reboot', '--hard', '--poll', server_id)
        self.assertIn('%s-42' % mark, self.wait_log(log, BANNER, count=2))
        self.nova('nova-demo', 'rebuild', '--poll', server_id, image_id)
        self.assertIn('%s-42' % mark, self.wait_log(log, BANNER, count=3))
        self.assertSerialPorts(server_id, 2)

        self.nova('nova-demo', 'delete', server_id)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            proc = self.nova('nova-demo', 'show', server_id, expect_ok=False)
            if proc.returncode != 0:
                break
            time.sleep(1)
        self.assertIn(gone, proc.stderr)
