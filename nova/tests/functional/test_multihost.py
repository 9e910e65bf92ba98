"""Two compute services over RabbitMQ, driven through the API.

Host A runs nova-all (API, proxy, conductor, its compute service); host
B runs nova-compute in its own network namespace with its own libvirtd
(tools/two-hosts.sh). openstacksdk and websocket-client talk to the API
and the proxy as users and operators would.
"""

import signal

import openstack

from nova.compute import rpcapi
import nova.conf
from nova import context
from nova import exception
from nova.objects import instance as instance_obj
from nova import rpc
from nova.tests.functional import base
from nova.tests.functional import multihost
from nova.tests.functional import services
from nova.tests.functional import test_api

ADMIN_TOKEN = 'admin:admin'


class MultiHostTestCase(base.FunctionalTestCase):
    OLD_HOST_B = False
    HOST_A_CONF = None  # {group: {option: value}} for nova-all on host A

    def setUp(self):
        super().setUp()
        self.env = multihost.Rig.ensure(self.stack)
        self.domains = []  # of the servers booted here
        self.addCleanup(services.destroy_guests_in, self.env['HOSTB_URI'],
                        self.env['HOSTB_INSTANCES'], self.domains)
        self.addCleanup(services.destroy_guests_in, self.env['HOSTA_URI'],
                        self.env['HOSTA_INSTANCES'], self.domains)
        self.a = multihost.host_a_services(self.stack, self.env,
                                           self.port_start,
                                           self.HOST_A_CONF)
        self.addCleanup(self.a.cleanup)
        self.a.start()
        self.b = None
        # Registered before any server's: host B stops after they are gone.
        self.addCleanup(self._stop_b)
        self.admin = self.connect(ADMIN_TOKEN)
        self.conn = self.connect(services.USER_TOKEN)

    def start_b(self, old=None, libvirt=None, module=None):
        old = self.OLD_HOST_B if old is None else old
        self._stop_b()
        self.b = multihost.ComputeProcess(self.stack, self.env,
                                          self.port_start + 20, old=old,
                                          libvirt=libvirt, module=module)
        self.b.start()
        self.wait_service('host-b', 'up')
        return self.b

    def _stop_b(self):
        if self.b is not None:
            self.b.cleanup()

    def connect(self, token):
        return openstack.connection.Connection(
            auth_type='admin_token',
            auth={'endpoint': self.a.endpoint, 'token': token},
            compute_api_version='2.25')

    # -- helpers ------------------------------------------------------------

    def services_by_host(self):
        status, body = self.a.request('GET', '/os-services',
                                      token=ADMIN_TOKEN)
        self.assertEqual(200, status, body)
        return {s['host']: s for s in body['services']}

    def wait_service(self, host, state, timeout=60):
        def check():
            service = self.services_by_host().get(host)
            return service and service['state'] == state
        try:
            multihost.wait_for(check, timeout,
                               'service %s %s' % (host, state))
        except AssertionError:
            self.fail('%s not %s; host B log:\n%s\nnova-all log:\n%s' % (
                host, state, self.b.log_tail() if self.b else '-',
                self.a.log_tail()))

    def hypervisors(self):
        """Nova's detail of each host with its serial console facts
        (this project's extension, out of Nova's bodies)."""
        status, body = self.a.request('GET', '/os-hypervisors/detail',
                                      token=ADMIN_TOKEN)
        self.assertEqual(200, status, body)
        status, facts = self.a.request(
            'GET', '/os-hypervisors/serial-console-facts', token=ADMIN_TOKEN)
        self.assertEqual(200, status, facts)
        facts = {f['id']: f for f in facts['serial_console_facts']}
        return {h['service']['host']: dict(h, **facts[h['id']])
                for h in body['hypervisors']}

    def boot(self, name='multi'):
        server = self.conn.compute.create_server(
            name=name, image_id=self.env['IMAGE_ID'], flavor_id='1',
            networks='none')
        self.domains.append('instance-%s' % server.id)
        self.addCleanup(self._delete, server)
        return self.wait_active(server)

    def _delete(self, server):
        self.conn.compute.delete_server(server, ignore_missing=True)
        try:
            self.conn.compute.wait_for_delete(server, wait=60)
        except Exception:
            pass  # host gone: the guest cleanup above removes it

    def wait_status(self, server, status, timeout=180):
        """The server once its status is ``status`` with no task."""
        def check():
            current = self.admin.compute.get_server(server.id)
            if current.status == 'ERROR':
                self.fail('server went to ERROR: %s' % current.fault)
            return (current.status == status and not current.task_state
                    and current)
        return multihost.wait_for(check, timeout, 'server %s %s' % (
            server.id, status))

    def wait_active(self, server, timeout=120):
        return self.wait_status(server, 'ACTIVE', timeout)

    def host_of(self, server):
        return self.admin.compute.get_server(server.id).compute_host

    def console_output(self, server):
        return self.conn.compute.get_server_console_output(
            server)['output']

    def wait_output(self, server, needle, timeout=120):
        return multihost.wait_for(
            lambda: needle in self.console_output(server) and
            self.console_output(server), timeout,
            '%r in the console output' % needle)

    def console(self, server):
        url = self.conn.compute.create_console(
            server, console_type='serial')['url']
        console = test_api.WebsocketConsole(url)
        self.addCleanup(console.close)
        return console.wait_prompt(), url

    def live_migrate(self, server, host):
        self.admin.compute.live_migrate_server(
            server, host=host, force=host is not None,
            block_migration='auto')
        return self.wait_active(server)

    def assertPortCounts(self, held):
        """Serial ports held per host, as the hosts' next reports say."""
        def reported():
            hypervisors = self.hypervisors()
            return all(
                hypervisors[host]['serial_ports']['total'] -
                hypervisors[host]['serial_ports']['free'] == count
                for host, count in held.items())
        try:
            multihost.wait_for(reported, 15, 'serial ports %s' % held)
        except AssertionError:
            self.fail('serial ports held: expected %s, reported %s' % (
                held, {h: v['serial_ports'] for h, v in
                       self.hypervisors().items()}))

    def assertContinuous(self, output, marks):
        """Each mark once, in order, after one boot banner."""
        self.assertEqual(1, output.count('NOVA-GUEST-BANNER'), output[-800:])
        positions = []
        for mark in marks:
            self.assertEqual(1, output.count(mark + '\n'),
                             '%s: %s' % (mark, output[-800:]))
            positions.append(output.index(mark + '\n'))
        self.assertEqual(sorted(positions), positions)


class OlderComputeRPCTestCase(MultiHostTestCase):
    """A rolling upgrade: host B still runs compute RPC API 2.0, host
    A's services send at most 2.0 ([upgrade_levels] compute)."""

    HOST_A_CONF = {'upgrade_levels': {'compute': '2.0'}}

    def test_older_compute_serves_console_output_and_migrates(self):
        server = self.boot()  # host B not up yet: on host A
        self.assertEqual('host-a', self.host_of(server))
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        console, _ = self.console(server)
        console.run('echo before-move')

        self.start_b(module='nova.tests.functional.old_rpc_compute')
        self.live_migrate(server, 'host-b')
        self.assertEqual('host-b', self.host_of(server))
        console, _ = self.console(server)
        self.assertIn(b'on-the-old-host',
                      console.run('echo on-the-old-host'))
        output = self.wait_output(server, 'on-the-old-host\n')
        self.assertContinuous(output, ['before-move', 'on-the-old-host'])
        # ``length`` is cut by host A under the cap (2.0 has no
        # tail_length): the whole output's last lines (lines end at
        # '\n'; read twice in a row until the guest is quiet).

        def same_tail():
            whole = self.console_output(server)
            tail = self.conn.compute.get_server_console_output(
                server, length=3)['output']
            lines = whole[:-1].split('\n') if whole.endswith(
                '\n') else whole.split('\n')
            expected = '\n'.join(lines[-3:]) + (
                '\n' if whole.endswith('\n') else '')
            return 'on-the-old-host' in tail and tail == expected
        multihost.wait_for(same_tail, 30, 'the last 3 lines cut by host A')

        # Host B is 2.0 only: a 2.1 message (uncapped) is refused at
        # once, naming the option; host A never sent one.
        e = self.assertRaises(exception.ComputeHostError,
                              self._uncapped_tail, server)
        self.assertIn('[upgrade_levels] compute', e.message)

        self.live_migrate(server, 'host-a')
        self.assertEqual('host-a', self.host_of(server))
        self.assertPortCounts({'host-a': 1, 'host-b': 0})
        console, _ = self.console(server)
        console.run('echo back-on-the-new-host')
        output = self.wait_output(server, 'back-on-the-new-host\n')
        self.assertContinuous(output, ['before-move', 'on-the-old-host',
                                       'back-on-the-new-host'])

    def _uncapped_tail(self, server):
        """get_console_output with tail_length (2.1), sent to host B
        from this process on the rig's broker, with no cap."""
        conf = nova.conf.new_conf()
        conf([], project='nova', default_config_files=[])
        rpc.register_opts(conf)
        conf.set_override('transport_url', self.env['TRANSPORT_URL_A'])
        conf.set_override('rpc_response_timeout', 30)
        self.addCleanup(rpc.cleanup, conf)
        return rpcapi.ComputeAPI(conf).get_console_output(
            context.get_admin_context(), 'host-b',
            instance_obj.Instance(uuid=server.id, host='host-b'),
            tail_length=1)


class LiveMigrationThroughAPITestCase(MultiHostTestCase):
    def test_both_directions_console_kept(self):
        self.start_b()
        hypervisors = self.hypervisors()
        self.assertEqual({'host-a', 'host-b'}, set(hypervisors))
        for host in ('host-a', 'host-b'):
            self.assertTrue(hypervisors[host]['virtlogd'])
            self.assertEqual('virtlogd', hypervisors[host]['console_log'])

        server = self.boot()
        first = self.host_of(server)
        other = {'host-a': 'host-b', 'host-b': 'host-a'}[first]
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        console, old_url = self.console(server)
        console.run('echo mark-on-%s-1' % first)

        # Host named (forced, as 2.25 does when given a host).
        self.live_migrate(server, other)
        self.assertEqual(other, self.host_of(server))
        output = self.wait_output(server, 'mark-on-%s-1\n' % first)
        self.assertContinuous(output, ['mark-on-%s-1' % first])
        # The old token named the source's port: revoked.
        console.close()
        self.assertRefused(old_url)
        new_console, new_url = self.console(server)
        self.assertNotEqual(old_url, new_url)
        # The destination holds the guest's port, the source none.
        self.assertPortCounts({first: 0, other: 1})
        self.assertIn(b'here-%s' % other.encode(),
                      new_console.run('echo here-%s' % other))

        # Host chosen by the scheduler: the only other one.
        self.live_migrate(server, None)
        self.assertEqual(first, self.host_of(server))
        self.assertPortCounts({first: 1, other: 0})
        new_console, _ = self.console(server)
        new_console.run('echo mark-back-on-%s' % first)
        output = self.wait_output(server, 'mark-back-on-%s\n' % first)
        self.assertContinuous(output, ['mark-on-%s-1' % first,
                                       'here-%s' % other,
                                       'mark-back-on-%s' % first])

    def test_to_a_host_below_the_gate(self):
        server = self.boot()  # host B not up yet: on host A
        self.assertEqual('host-a', self.host_of(server))
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        console, _ = self.console(server)
        console.run('echo before-move')

        self.start_b(old=True)
        hypervisors = self.hypervisors()
        self.assertTrue(hypervisors['host-a']['virtlogd'])
        self.assertFalse(hypervisors['host-b']['virtlogd'])
        self.assertEqual('1.3.2', hypervisors['host-b']['libvirt_version'])
        self.assertEqual('none', hypervisors['host-b']['console_log'])

        self.live_migrate(server, 'host-b')
        self.assertEqual('host-b', self.host_of(server))
        # The log was copied; the N host's guest has no <log> to add to.
        output = self.console_output(server)
        self.assertContinuous(output, ['before-move'])
        console, _ = self.console(server)
        self.assertIn(b'still-here', console.run('echo still-here'))

    def test_failed_migration_keeps_the_server_on_its_host(self):
        server = self.boot()  # host B not up yet: on host A
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        # Host B tells sources a libvirtd address that does not exist:
        # the pre-checks pass, the migration itself fails.
        self.start_b(libvirt={'live_migration_connect_uri':
                              'qemu+unix:///system?socket=/nonexistent'})
        self.admin.compute.live_migrate_server(
            server, host='host-b', force=True, block_migration='auto')
        server = self.wait_active(server)
        self.assertEqual('host-a', self.host_of(server))
        self.assertPortCounts({'host-a': 1, 'host-b': 0})
        console, _ = self.console(server)
        self.assertIn(b'still-on-a', console.run('echo still-on-a'))
        output = self.wait_output(server, 'still-on-a\n')
        self.assertContinuous(output, ['still-on-a'])


class FaultTestCase(MultiHostTestCase):
    def test_broker_restart_while_idle(self):
        self.start_b()
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        multihost.Rig.restart_broker()

        # Calls recover once the services have reconnected.
        def answers():
            try:
                return 'NOVA-GUEST-BANNER' in self.console_output(server)
            except Exception:
                return False
        multihost.wait_for(answers, 120, 'console output after the broker '
                           'restart', interval=1)
        self.wait_service('host-a', 'up')
        self.wait_service('host-b', 'up')
        console, _ = self.console(server)
        self.assertIn(b'after-restart', console.run('echo after-restart'))

    def _servers_on_both_hosts(self):
        self.start_b()
        first = self.boot('first')
        second = self.boot('second')
        if self.host_of(first) == self.host_of(second):
            self.live_migrate(second, {'host-a': 'host-b',
                                       'host-b': 'host-a'}[
                                           self.host_of(first)])
        by_host = {self.host_of(s): s for s in (first, second)}
        self.assertEqual({'host-a', 'host-b'}, set(by_host))
        for server in by_host.values():
            self.wait_output(server, 'NOVA-GUEST-BANNER')
        return by_host['host-a'], by_host['host-b']

    def assertHostDown(self, server, *fragments):
        for method, path, body in (
                ('POST', '/servers/%s/action' % server.id,
                 {'os-getConsoleOutput': {}}),
                ('POST', '/servers/%s/action' % server.id,
                 {'reboot': {'type': 'HARD'}})):
            status, answer = self.a.request(method, path, body)
            self.assertEqual(409, status, answer)
            message = answer['conflictingRequest']['message']
            for fragment in (server.id, 'host-b') + fragments:
                self.assertIn(fragment, message)

    def test_compute_service_stopped(self):
        on_a, on_b = self._servers_on_both_hosts()

        self.b.stop()  # clean stop: reported down at once
        self.wait_service('host-b', 'down', timeout=10)
        self.assertHostDown(on_b, 'was stopped')
        self.assertIn('NOVA-GUEST-BANNER', self.console_output(on_a))
        self.assertEqual('ACTIVE',
                         self.admin.compute.get_server(on_b.id).status)

        # Back: the same server answers again.
        self.start_b()
        self.assertIn('NOVA-GUEST-BANNER', self.console_output(on_b))

        # Killed: down once service_down_time has passed.
        self.b.stop(signal.SIGKILL)
        self.wait_service('host-b', 'down',
                          timeout=multihost.SERVICE_DOWN_TIME + 10)
        self.assertHostDown(on_b, 'has not reported')
        self.assertIn('NOVA-GUEST-BANNER', self.console_output(on_a))
        console, _ = self.console(on_a)
        self.assertIn(b'a-unaffected', console.run('echo a-unaffected'))

        # Its guests kept running: the restarted service takes them back.
        self.start_b()
        self.assertIn('NOVA-GUEST-BANNER', self.console_output(on_b))
