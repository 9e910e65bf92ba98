"""tools/setup-rabbitmq.sh against the real RabbitMQ broker of this machine.

Where the broker, epmd and every Erlang VM listen (never a wildcard address),
that the transport URL the script prints logs in over AMQP and a wrong
password does not, that user "guest" is gone (guest/guest on loopback
would let any local user drive the compute hosts), that ``--vhost`` makes
a virtual host of its own that ``--delete-vhost`` removes, that a second
run changes nothing, and that the broker comes back with the same URL
after ``--restart``.

Like every functional test these run as root and never skip: the first one
of a run installs and starts the broker when needed (about 30 s from
scratch), the others find it up (a setup run then takes about 0.5 s).
127.0.0.2 is the extra listen address: in 127.0.0.0/8, so it needs no test
network, and the script keeps addresses other tests asked for (the two-host
rig's) rather than dropping them.
"""

import ipaddress
import os
import re
import stat
import subprocess
import time
import urllib.parse
import uuid

import amqp.exceptions
import fixtures
import kombu
from oslo_config import cfg
import oslo_messaging

from nova import test
from nova.tests.functional import base
from nova.tests.functional import rabbitmq_vhost

SETUP_RABBITMQ = os.path.join(base.REPO, 'tools', 'setup-rabbitmq.sh')
PASSWORD_FILE = '/var/lib/nova/rabbitmq-password'
CONF_FILES = ('/etc/rabbitmq/rabbitmq.conf', '/etc/rabbitmq/rabbitmq-env.conf',
              '/etc/rabbitmq/enabled_plugins')
EXTRA_ADDR = '127.0.0.2'
AMQP_PORT = 5672
DIST_PORT = 25672
EPMD_PORT = 4369
ERLANG_PROCESSES = ('beam.smp', 'epmd')


def setup_broker(*args):
    """Run the script's setup with the extra address; the printed URL."""
    return base.run_tool(SETUP_RABBITMQ, '--listen', EXTRA_ADDR, *args,
                         '--print-transport-url', EXTRA_ADDR)


def rabbitmqctl(*args):
    # From / with a clean environment, as the script runs it.
    return subprocess.run(
        ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
         'LANG=C.UTF-8', 'LC_ALL=C.UTF-8', 'rabbitmqctl', '-q'] + list(args),
        cwd='/', capture_output=True, text=True, check=True).stdout


def rabbitmq_users():
    return sorted(line.split()[0] for line in rabbitmqctl(
        'list_users', '--no-table-headers').splitlines() if line.strip())


def vhosts():
    return base.run_tool(SETUP_RABBITMQ, '--list-vhosts').split()


def status():
    proc = subprocess.run([SETUP_RABBITMQ, '--status'], capture_output=True,
                          text=True)
    return proc.returncode, proc.stdout


def broker_pid():
    rc, out = status()
    match = re.search(r'^broker: running, pid (\d+)', out, re.M)
    if rc != 0 or not match:
        raise AssertionError('broker not running and answering (exit %d):\n%s'
                             % (rc, out))
    return int(match.group(1))


def configured_addresses():
    """The AMQP addresses the script was asked for, from its status."""
    _, out = status()
    match = re.search(r'^configured AMQP listeners: (.*)$', out, re.M)
    if not match:
        raise AssertionError('no configured listeners in:\n%s' % out)
    addrs = set()
    for hostport in match.group(1).split():
        host, _, _ = hostport.rpartition(':')
        addrs.add(ipaddress.ip_address(host.strip('[]')))
    return addrs


def listening_sockets():
    """(address, port, process name, pid) of each listening TCP socket."""
    out = subprocess.run(['ss', '-ltnpH'], capture_output=True, text=True,
                         check=True).stdout
    sockets = []
    for line in out.splitlines():
        fields = line.split()
        host, _, port = fields[3].rpartition(':')
        host = host.strip('[]').split('%')[0]
        addr = ipaddress.ip_address('0.0.0.0' if host == '*' else host)
        for name, pid in re.findall(r'\("([^"]*)",pid=(\d+)', line):
            sockets.append((addr, int(port), name, int(pid)))
    return sockets


def interface_addresses():
    out = subprocess.run(['ip', '-o', 'addr', 'show'], capture_output=True,
                         text=True, check=True).stdout
    return {ipaddress.ip_interface(line.split()[3]).ip
            for line in out.splitlines()}


def kombu_url(transport_url):
    # oslo.messaging's "rabbit://" is kombu's (py-amqp's) "amqp://".
    scheme, sep, rest = transport_url.partition('://')
    assert scheme == 'rabbit' and sep, transport_url
    return 'amqp://' + rest


class RabbitMQSetupTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            raise RuntimeError('functional tests need root: setup-rabbitmq.sh '
                               'installs and starts the broker')
        # The first setup of a run may install the package and boot the
        # broker for the first time.
        self.useFixture(fixtures.Timeout(300, gentle=True))
        self.url = setup_broker().strip()

    def assertListensSafely(self):
        """Every Erlang listener on loopback or an address asked for."""
        wanted = configured_addresses()
        self.assertIn(ipaddress.ip_address('127.0.0.1'), wanted)
        self.assertIn(ipaddress.ip_address(EXTRA_ADDR), wanted)
        local = interface_addresses()
        for addr in wanted:
            self.assertFalse(addr.is_unspecified, wanted)
            self.assertTrue(addr.is_loopback or addr in local,
                            '%s is no address of this machine' % addr)

        pid = broker_pid()
        erlang = [s for s in listening_sockets() if s[2] in ERLANG_PROCESSES]
        for addr, port, name, owner in erlang:
            where = '%s:%d (%s pid %d)' % (addr, port, name, owner)
            self.assertFalse(addr.is_unspecified, 'wildcard: ' + where)
            if not addr.is_loopback:
                # Only the broker's AMQP listener may leave loopback.
                self.assertEqual((pid, AMQP_PORT), (owner, port), where)
                self.assertIn(addr, wanted, where)

        broker = {(addr, port) for addr, port, _, owner in erlang
                  if owner == pid}
        self.assertEqual(
            {(addr, AMQP_PORT) for addr in wanted} |
            {(ipaddress.ip_address('127.0.0.1'), DIST_PORT)},
            broker, 'AMQP on the addresses asked for, Erlang distribution '
            'on 127.0.0.1, nothing else (no management, no TLS)')
        epmd = {addr for addr, port, name, _ in erlang if name == 'epmd'}
        self.assertTrue(epmd, 'epmd does not listen')
        self.assertTrue(all(a.is_loopback for a in epmd), epmd)
        self.assertEqual({EPMD_PORT},
                         {port for _, port, name, _ in erlang
                          if name == 'epmd'})

    def assertAmqpWorks(self, url):
        """Log in with ``url``, send and take back a message."""
        name = 'nova-test-rabbitmq-setup-%s' % uuid.uuid4().hex
        body = {'probe': name}
        with kombu.Connection(kombu_url(url), connect_timeout=10) as conn:
            conn.connect()
            queue = conn.SimpleQueue(
                name, queue_opts={'auto_delete': True, 'exclusive': True})
            try:
                queue.put(body)
                message = queue.get(timeout=10)
                message.ack()
                self.assertEqual(body, message.payload)
            finally:
                queue.close()

    def test_listens_on_loopback_and_asked_addresses_only(self):
        self.assertListensSafely()

    def test_transport_url_logs_in_and_wrong_password_does_not(self):
        match = re.match(r'^rabbit://nova:([^@/]+)@127\.0\.0\.2:5672/$',
                         self.url)
        self.assertIsNotNone(match, self.url)
        st = os.stat(PASSWORD_FILE)
        self.assertEqual(0o600, stat.S_IMODE(st.st_mode))
        self.assertEqual(0, st.st_uid)
        with open(PASSWORD_FILE) as f:
            password = f.readline().rstrip('\n')
        self.assertGreaterEqual(len(password), 16)
        self.assertEqual(urllib.parse.quote(password, safe=''),
                         match.group(1))

        # oslo.messaging reads it as one rabbit host, user nova.
        parsed = oslo_messaging.TransportURL.parse(cfg.ConfigOpts(), self.url)
        self.assertEqual('rabbit', parsed.transport)
        self.assertEqual([(EXTRA_ADDR, AMQP_PORT, 'nova', password)],
                         [(h.hostname, h.port, h.username, h.password)
                          for h in parsed.hosts])

        self.assertAmqpWorks(self.url)
        # ...also on 127.0.0.1, as host A's services use it.
        self.assertAmqpWorks(self.url.replace('@127.0.0.2:', '@127.0.0.1:'))

        wrong = self.url.replace('nova:%s@' % match.group(1),
                                 'nova:%s@' % ('x' + match.group(1)))
        with kombu.Connection(kombu_url(wrong), connect_timeout=10) as conn:
            self.assertRaises(amqp.exceptions.AccessRefused, conn.connect)

    def test_guest_account_is_gone(self):
        # Any local user could log in as guest/guest on loopback and send
        # the compute hosts' RPC calls (read consoles, reboot guests).
        guest = 'amqp://guest:guest@127.0.0.1:%d//' % AMQP_PORT
        with kombu.Connection(guest, connect_timeout=10) as conn:
            self.assertRaises(amqp.exceptions.AccessRefused, conn.connect)
        self.assertEqual(['nova'], rabbitmq_users())
        # Whatever brought it back (a broker whose database was wiped
        # makes it again at its first boot), the next run removes it.
        rabbitmqctl('add_user', 'guest', 'guest')
        rabbitmqctl('set_permissions', 'guest', '.*', '.*', '.*')
        self.assertIn('guest', rabbitmq_users())
        setup_broker()
        with kombu.Connection(guest, connect_timeout=10) as conn:
            self.assertRaises(amqp.exceptions.AccessRefused, conn.connect)
        self.assertEqual(['nova'], rabbitmq_users())

    def test_vhost_of_its_own(self):
        name = 'nova-test-setup-%s' % uuid.uuid4().hex[:12]
        self.addCleanup(subprocess.run, [SETUP_RABBITMQ, '--delete-vhost',
                                         name], capture_output=True)
        url = setup_broker('--vhost', name).strip()
        self.assertEqual(self.url + name, url)
        self.assertEqual(name, oslo_messaging.TransportURL.parse(
            cfg.ConfigOpts(), url).virtual_host)
        self.assertIn(name, vhosts())
        self.assertAmqpWorks(url)
        # A second run finds it made.
        self.assertEqual(url, setup_broker('--vhost', name).strip())

        # What is sent in one vhost is not seen in the other.
        queue_name = 'nova-test-vhost-%s' % uuid.uuid4().hex
        with kombu.Connection(kombu_url(url), connect_timeout=10) as conn:
            ours = conn.SimpleQueue(queue_name,
                                    queue_opts={'auto_delete': True})
            ours.put({'in': name})
            with kombu.Connection(kombu_url(self.url),
                                  connect_timeout=10) as other_conn:
                other = other_conn.SimpleQueue(
                    queue_name, queue_opts={'auto_delete': True,
                                            'exclusive': True})
                try:
                    self.assertRaises(other.Empty, other.get, timeout=1)
                finally:
                    other.close()
            message = ours.get(timeout=10)
            message.ack()
            self.assertEqual({'in': name}, message.payload)
            ours.close()

        base.run_tool(SETUP_RABBITMQ, '--delete-vhost', name)
        self.assertNotIn(name, vhosts())
        with kombu.Connection(kombu_url(url), connect_timeout=10) as conn:
            self.assertRaises(amqp.exceptions.NotAllowed, conn.connect)
        # Deleting one that is gone is no error.
        base.run_tool(SETUP_RABBITMQ, '--delete-vhost', name)

    def test_test_cloud_vhost(self):
        # What the two-host rig does (multihost.Rig), on the real broker.
        dead = rabbitmq_vhost.new_name(pid=2 ** 22 + 1)  # > pid_max
        setup_broker('--vhost', dead)
        self.addCleanup(subprocess.run, [SETUP_RABBITMQ, '--delete-vhost',
                                         dead], capture_output=True)
        at_exit = []
        self.useFixture(fixtures.MockPatchObject(
            rabbitmq_vhost.atexit, 'register',
            side_effect=lambda *a: at_exit.append(a)))
        name = rabbitmq_vhost.create('--listen', EXTRA_ADDR)
        self.addCleanup(subprocess.run, [SETUP_RABBITMQ, '--delete-vhost',
                                         name], capture_output=True)
        self.assertEqual(os.getpid(), rabbitmq_vhost.owner(name))
        self.assertIn(name, vhosts())
        self.assertNotIn(dead, vhosts())
        self.assertAmqpWorks(rabbitmq_vhost.with_vhost(self.url, name))
        # (atexit.register is global: other modules' entries too.)
        [(func, arg)] = [a for a in at_exit
                         if a[0] is rabbitmq_vhost._delete_quietly]
        func(arg)
        self.assertNotIn(name, vhosts())

    def test_bad_vhost_names_are_refused(self):
        for argv in (('--vhost', '/'), ('--vhost', 'a/b'), ('--vhost', ''),
                     ('--vhost', '-x'), ('--vhost', 'x' * 65),
                     ('--delete-vhost', '/'), ('--status', '--vhost', 'x')):
            with self.subTest(argv=argv):
                proc = subprocess.run([SETUP_RABBITMQ] + list(argv),
                                      capture_output=True, text=True)
                self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertIn('/', vhosts())

    def test_second_run_changes_nothing(self):
        pid = broker_pid()
        before = {f: os.stat(f).st_mtime_ns
                  for f in CONF_FILES + (PASSWORD_FILE,)}
        start = time.monotonic()
        url = setup_broker().strip()
        elapsed = time.monotonic() - start
        self.assertEqual(self.url, url)
        self.assertEqual(pid, broker_pid())
        self.assertEqual(before, {f: os.stat(f).st_mtime_ns for f in before})
        # About 0.5 s here; generous for a loaded machine.
        self.assertLess(elapsed, 5, 'a setup run with nothing to do took '
                        '%.1f s' % elapsed)

    def test_restart_brings_the_same_url_back(self):
        pid = broker_pid()
        self.assertAmqpWorks(self.url)
        base.run_tool(SETUP_RABBITMQ, '--restart')
        new_pid = broker_pid()
        self.assertNotEqual(pid, new_pid)
        self.assertEqual(self.url, setup_broker().strip())
        self.assertEqual(new_pid, broker_pid())
        self.assertAmqpWorks(self.url)
        self.assertListensSafely()
