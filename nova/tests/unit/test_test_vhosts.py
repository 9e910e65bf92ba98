"""Each test cloud's RabbitMQ vhost: names, URLs, clean up (no broker).

The functional tests' two-host rig (nova/tests/functional/multihost.py)
must put its services in a vhost of its own, unique per test process, so
that two runs on one machine do not take each other's RPC calls (both
name their hosts host-a and host-b). tools/setup-rabbitmq.sh itself is
tested against the real broker in test_rabbitmq_setup.
"""

import os
import re
from unittest import mock

import fixtures
from oslo_config import cfg
import oslo_messaging

from nova import test
from nova.tests.functional import multihost
from nova.tests.functional import rabbitmq_vhost

# What tools/setup-rabbitmq.sh --vhost accepts.
SCRIPT_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,63}')


def parse(url):
    return oslo_messaging.TransportURL.parse(cfg.ConfigOpts(), url)


class NameTestCase(test.TestCase):
    def test_unique_per_process_and_call(self):
        names = {rabbitmq_vhost.new_name() for _ in range(50)}
        names.add(rabbitmq_vhost.new_name(pid=1))
        self.assertEqual(51, len(names))
        for name in names:
            self.assertIsNotNone(SCRIPT_NAME_RE.fullmatch(name), name)
            self.assertNotEqual('/', name)
        self.assertEqual(os.getpid(),
                         rabbitmq_vhost.owner(rabbitmq_vhost.new_name()))
        self.assertEqual(1, rabbitmq_vhost.owner(
            rabbitmq_vhost.new_name(pid=1)))

    def test_only_test_vhosts_of_dead_processes_are_stale(self):
        alive = {100}
        ours = rabbitmq_vhost.new_name(pid=100)
        dead = rabbitmq_vhost.new_name(pid=200)
        names = ['/', 'production', 'nova-test-', 'nova-test-200',
                 'nova-test-200-xyz', ours, dead]
        self.assertEqual([dead], rabbitmq_vhost.stale(
            names, alive=lambda pid: pid in alive))

    def test_this_process_is_alive(self):
        self.assertTrue(rabbitmq_vhost.pid_alive(os.getpid()))


class URLTestCase(test.TestCase):
    def test_one_host(self):
        url = rabbitmq_vhost.with_vhost(
            'rabbit://nova:p%40ss%2Fw@192.168.251.1:5672/', 'nova-test-1-ab')
        self.assertEqual('rabbit://nova:p%40ss%2Fw@192.168.251.1:5672/'
                         'nova-test-1-ab', url)
        parsed = parse(url)
        self.assertEqual('nova-test-1-ab', parsed.virtual_host)
        self.assertEqual([('192.168.251.1', 5672, 'nova', 'p@ss/w')],
                         [(h.hostname, h.port, h.username, h.password)
                          for h in parsed.hosts])

    def test_replaces_a_vhost_and_keeps_several_hosts(self):
        url = rabbitmq_vhost.with_vhost(
            'rabbit://a:x@b1:5672,a:y@b2:5673/other', 'mine')
        parsed = parse(url)
        self.assertEqual('mine', parsed.virtual_host)
        self.assertEqual([('b1', 5672), ('b2', 5673)],
                         [(h.hostname, h.port) for h in parsed.hosts])


class RigTestCase(test.TestCase):
    """multihost.Rig builds both hosts' URLs in a fresh vhost."""

    ENV = {'HOSTA_ADDR': '192.168.251.1', 'HOSTB_ADDR': '192.168.251.2'}

    def setUp(self):
        super().setUp()
        self.patch = mock.patch.object(multihost.Rig, 'env', None)
        self.patch.start()
        self.addCleanup(self.patch.stop)
        self.useFixture(self._fixture('two_hosts', multihost,
                                      side_effect=lambda: dict(self.ENV)))
        self.script = []
        self.useFixture(self._fixture('_run', rabbitmq_vhost,
                                      side_effect=self._script))
        self.useFixture(self._fixture('run_tool', multihost.base,
                                      side_effect=self._run_tool))
        self.at_exit = []
        self.useFixture(self._fixture(
            'register', rabbitmq_vhost.atexit,
            side_effect=lambda *a: self.at_exit.append(a)))
        self.vhosts = ['/', rabbitmq_vhost.new_name(pid=2 ** 22 + 1)]

    @staticmethod
    def _fixture(name, owner, **kw):
        return fixtures.MockPatchObject(owner, name, **kw)

    def _script(self, *argv):
        self.script.append(argv)
        if argv == ('--list-vhosts',):
            return '\n'.join(self.vhosts) + '\n'
        return ''

    def _run_tool(self, path, *argv):
        # setup-rabbitmq.sh --print-transport-url ADDR, as it answers.
        self.assertEqual(multihost.RABBITMQ, path)
        self.assertEqual('--print-transport-url', argv[0])
        return 'rabbit://nova:pw@%s:5672/\n' % argv[1]

    def test_urls_name_a_vhost_of_this_process(self):
        env = multihost.Rig.ensure()
        vhost = env['RABBITMQ_VHOST']
        self.assertEqual(os.getpid(), rabbitmq_vhost.owner(vhost))
        for key, addr in (('TRANSPORT_URL_A', '127.0.0.1'),
                          ('TRANSPORT_URL_B', '192.168.251.1')):
            parsed = parse(env[key])
            self.assertEqual(vhost, parsed.virtual_host, key)
            self.assertEqual([(addr, 5672, 'nova', 'pw')],
                             [(h.hostname, h.port, h.username, h.password)
                              for h in parsed.hosts])
        # The stale vhost of a dead run went; ours was made, with the
        # rig's listen address; once per process.
        self.assertEqual([('--list-vhosts',),
                          ('--delete-vhost', self.vhosts[1]),
                          ('--listen', '192.168.251.1', '--vhost', vhost)],
                         self.script)
        self.assertIs(env, multihost.Rig.ensure())
        self.assertEqual(3, len(self.script))

        # At exit it is deleted.
        [(func, name)] = [a for a in self.at_exit
                          if a[0] is rabbitmq_vhost._delete_quietly]
        func(name)
        self.assertEqual(('--delete-vhost', vhost), self.script[-1])

    def test_two_runs_get_two_vhosts(self):
        first = multihost.Rig.ensure()
        multihost.Rig.env = None
        with mock.patch.object(rabbitmq_vhost.os, 'getpid',
                               return_value=os.getpid() + 1):
            second = multihost.Rig.ensure()
        self.assertNotEqual(first['RABBITMQ_VHOST'],
                            second['RABBITMQ_VHOST'])
        self.assertNotEqual(parse(first['TRANSPORT_URL_B']).virtual_host,
                            parse(second['TRANSPORT_URL_B']).virtual_host)
