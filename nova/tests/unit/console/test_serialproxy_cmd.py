"""The nova-serialproxy command as a real process on 127.0.0.1.

``nova.cmd.serialproxy.main`` runs in a child Python, given a small fake
token store and compute RPC client by a launcher script (as ``main``
takes them); everything else is real: the database the proxy reads the
instance from, option parsing from ``--config-file``, oslo.log to a file,
the listening socket, signals and exit status.
"""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import fixtures
import websocket

import nova
from nova import test
from nova.tests.unit.console import test_websocketproxy as helpers

# Generous: a loaded shared machine starts a Python process slowly.
TIMEOUT = 30
START_TIMEOUT = 30
# A separate proxy needs a broker to reach the compute hosts; this one's
# fake compute RPC client never uses it, so none needs to run (port 1).
BROKER = 'rabbit://guest:guest@127.0.0.1:1/'
REPO = os.path.dirname(os.path.dirname(os.path.abspath(nova.__file__)))

LAUNCHER = textwrap.dedent('''\
    import datetime
    import os
    import sys

    from nova.console.tokens import ConnectInfo
    from nova.db import api as db
    from nova import exception

    GUEST = ('127.0.0.1', int(os.environ['FAKE_GUEST_PORT']))
    UUID = os.environ['FAKE_UUID']
    HOST = 'compute-1'


    class TokenStore:
        """nova.console.tokens: one token, for the guest's port."""

        def validate(self, token):
            if token != os.environ['FAKE_TOKEN']:
                raise exception.InvalidToken()
            return ConnectInfo(
                UUID, 'serial', *GUEST,
                datetime.datetime.now(datetime.timezone.utc) +
                datetime.timedelta(seconds=600))


    class ComputeRPCAPI:
        """nova.compute.rpcapi.ComputeAPI: the instance's host
        confirms the guest's port, asked as the admin."""

        def validate_console_port(self, ctxt, host, instance, port_host,
                                  port, console_type):
            return (ctxt.is_admin and host == HOST and
                    console_type == 'serial' and
                    (instance.uuid, port_host, port) == (UUID, *GUEST))


    # The instance and its host as the API and the compute service
    # record them: the proxy reads them from the database.
    db.configure(os.environ['FAKE_DB'])
    db.instance_create({'uuid': UUID, 'name': 'vm', 'project_id': 'p',
                        'user_id': 'u', 'flavor_id': '1', 'image_id': 'i',
                        'vm_state': 'active', 'task_state': None,
                        'host': HOST})
    db.service_report(HOST, 'nova-compute', 'compute', {})

    from nova.cmd import common
    common.connect_rpc = lambda conf: True  # no broker runs (port 1)

    from nova.cmd import serialproxy
    sys.exit(serialproxy.main(['nova-serialproxy'] + sys.argv[1:],
                              compute_rpcapi=ComputeRPCAPI(),
                              token_store=TokenStore()))
''')


# nova-serialproxy as installed: its own token store and compute RPC
# client, on a database holding a token for an instance that is gone (so
# a connection runs the whole check and is refused without any broker).
# At exit it writes the modules the process loaded and which of the
# proxy's own modules hold an importlib function or module.
REAL_LAUNCHER = textwrap.dedent('''\
    import json
    import os
    import sys

    from nova.cmd import common
    from nova.console import tokens
    from nova.db import api as db

    db.configure(os.environ['FAKE_DB'])
    with open(os.environ['TOKEN_FILE'], 'w') as f:
        f.write(tokens.authorize(os.environ['FAKE_UUID'], 'serial',
                                 '127.0.0.1',
                                 int(os.environ['FAKE_GUEST_PORT']),
                                 ttl=600))
    common.connect_rpc = lambda conf: True  # no broker runs (port 1)

    from nova.cmd import serialproxy
    try:
        status = serialproxy.main(['nova-serialproxy'] + sys.argv[1:])
    finally:
        def lookup(value):
            name = (getattr(value, '__name__', '') if
                    type(value) is type(sys) else
                    getattr(value, '__module__', None) or '')
            return name == 'importlib' or name.startswith('importlib.')

        modules = dict(sys.modules)
        users = sorted(
            name for name, module in modules.items()
            if module is not None and (
                name.startswith('nova.console.') or
                name.startswith('nova.cmd.')) and
            any(lookup(value) for value in vars(module).values()))
        with open(os.environ['MODULES_FILE'], 'w') as f:
            json.dump({'modules': sorted(modules),
                       'importlib_users': users}, f)
    sys.exit(status)
''')


class TestSerialProxyCommand(test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.guest = self.useFixture(helpers.GuestSerialPort())
        self.token = str(uuid.uuid4())
        self.instance_uuid = str(uuid.uuid4())
        self.log_file = os.path.join(self.tmp, 'serialproxy.log')
        self.out_file = os.path.join(self.tmp, 'serialproxy.out')
        self.db_url = 'sqlite:///%s' % os.path.join(self.tmp, 'nova.sqlite')
        self.token_file = os.path.join(self.tmp, 'token')
        self.modules_file = os.path.join(self.tmp, 'modules.json')

    def start(self, port=0, transport_url=BROKER, preexec_fn=None,
              script=LAUNCHER):
        launcher = os.path.join(self.tmp, 'launcher.py')
        with open(launcher, 'w') as f:
            f.write(script)
        config = os.path.join(self.tmp, 'nova.conf')
        with open(config, 'w') as f:
            f.write('[DEFAULT]\nlog_file = %s\ndebug = True\n'
                    'transport_url = %s\n'
                    '[database]\nconnection = %s\n'
                    '[serial_console]\nserialproxy_host = 127.0.0.1\n'
                    'serialproxy_port = %d\n'
                    % (self.log_file, transport_url, self.db_url, port))
        env = dict(os.environ, PYTHONPATH=REPO, FAKE_DB=self.db_url,
                   FAKE_GUEST_PORT=str(self.guest.port),
                   FAKE_TOKEN=self.token, FAKE_UUID=self.instance_uuid,
                   TOKEN_FILE=self.token_file,
                   MODULES_FILE=self.modules_file)
        with open(self.out_file, 'wb') as out:
            proc = subprocess.Popen(
                [sys.executable, launcher, '--config-file', config],
                cwd=self.tmp, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
        self.addCleanup(self.reap, proc)
        return proc

    def reap(self, proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)

    def read(self, path):
        try:
            with open(path, errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def output(self):
        return ('--- log ---\n%s\n--- stdout/stderr ---\n%s'
                % (self.read(self.log_file), self.read(self.out_file)))

    def wait_listening(self, proc):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r'listening on 127\.0\.0\.1:(\d+)',
                              self.read(self.log_file))
            if match:
                return int(match.group(1))
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        self.fail('nova-serialproxy did not start:\n' + self.output())

    def wait_exit(self, proc):
        try:
            return proc.wait(helpers.websocketproxy.STOP_GRACE + TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail('nova-serialproxy did not exit:\n' + self.output())

    def connect(self, port, token):
        ws = websocket.create_connection(
            'ws://127.0.0.1:%d/?token=%s' % (port, token), timeout=TIMEOUT)
        self.addCleanup(ws.close, timeout=1)
        return ws

    def test_serves_refuses_and_stops_on_sigterm(self):
        proc = self.start()
        port = self.wait_listening(proc)

        refused = self.connect(port, str(uuid.uuid4()))
        self.assertEqual((1008, helpers.websocketproxy.REFUSED_TOKEN),
                         helpers.close_frame(refused))

        ws = self.connect(port, self.token)
        ws.send_binary(b'uname -a\r')
        self.assertEqual(b'uname -a\r', helpers.recv_exactly(ws, 9))

        proc.send_signal(signal.SIGTERM)
        self.assertEqual((1001, helpers.websocketproxy.SHUTTING_DOWN),
                         helpers.close_frame(ws))
        self.assertEqual(0, self.wait_exit(proc), self.output())
        output = self.output()
        self.assertIn('nova-serialproxy stopping (signal SIGTERM)', output)
        self.assertIn('connected to serial port 127.0.0.1:%d of instance %s'
                      % (self.guest.port, self.instance_uuid), output)
        self.assertIn('refused: invalid token', output)
        self.assertNotIn(self.token, output)
        self.assertNotIn('Traceback', output)
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          ('127.0.0.1', port), TIMEOUT)

    def test_open_files_limit_is_raised_at_start(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        low = min(256, hard)

        def lower():
            resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))

        proc = self.start(preexec_fn=lower)
        self.wait_listening(proc)
        with open('/proc/%d/limits' % proc.pid) as f:
            line = [x for x in f if x.startswith('Max open files')][0]
        self.assertEqual([str(hard), str(hard)], line.split()[3:5])
        self.assertIn('open files limit %d' % hard, self.output())

    def test_sigint_stops_an_idle_proxy(self):
        proc = self.start()
        self.wait_listening(proc)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(0, self.wait_exit(proc), self.output())
        self.assertIn('stopping (signal SIGINT)', self.output())
        self.assertNotIn('Traceback', self.output())

    def test_port_in_use(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            proc = self.start(port)
            self.assertEqual(1, self.wait_exit(proc), self.output())
        self.assertIn('cannot listen on 127.0.0.1:%d' % port, self.output())

    def test_refuses_the_in_process_transport(self):
        proc = self.start(transport_url='fake://')
        self.assertEqual(1, self.wait_exit(proc), self.output())
        self.assertIn('nova-serialproxy: [DEFAULT] transport_url is '
                      'fake://, which only reaches services in the same '
                      'process', self.output())
        self.assertNotIn('listening', self.output())

    def test_builds_no_compute_api_and_looks_nothing_up(self):
        # The proxy is given what it talks to: it neither imports the
        # compute API (a task pool, the catalog) nor looks modules up by
        # name, at start or while checking a connection's token.
        proc = self.start(script=REAL_LAUNCHER)
        port = self.wait_listening(proc)
        with open(self.token_file) as f:
            token = f.read()
        refused = self.connect(port, token)
        self.assertEqual((1008, helpers.websocketproxy.REFUSED_TOKEN),
                         helpers.close_frame(refused))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, self.wait_exit(proc), self.output())
        output = self.output()
        # The token was valid: the instance check ran, and said no.
        self.assertIn('names 127.0.0.1:%d, no longer a serial port of '
                      'instance %s' % (self.guest.port, self.instance_uuid),
                      output)
        self.assertNotIn('Traceback', output)
        with open(self.modules_file) as f:
            loaded = json.load(f)
        self.assertEqual([], [name for name in (
            'nova.compute.api', 'nova.conductor.tasks',
            'nova.scheduler.manager') if name in loaded['modules']])
        self.assertIn('nova.cmd.serialproxy', loaded['modules'])
        self.assertIn('nova.console.websocketproxy', loaded['modules'])
        self.assertEqual([], loaded['importlib_users'])
