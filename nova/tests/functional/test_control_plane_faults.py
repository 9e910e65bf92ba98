"""A process of the control plane killed at each step of a live migration.

The two-host rig of test_multihost: host A runs nova-all (API, conductor,
proxy and A's compute service), host B nova-compute in its own network
namespace. A process is killed (SIGKILL, as a crash or an OOM kill)
before libvirt's job starts, while it runs, or after the guest switched
over; libvirt's job goes on in libvirtd whatever happens to the process
that started it. Once the killed process is back, the server must be
consistent: its host is where its guest runs, only that host holds its
serial port, its console output and console work there with its log
intact, and a delete removes the guest.

libvirt's migration bandwidth is lowered on the source's domain before
a migration the test must catch while it runs, and raised again once
the test has done what it wanted during the job.
"""

import signal

import libvirt

from nova.tests.functional import multihost
from nova.tests.functional import test_multihost

# MiB/s: slow enough that the job runs for many seconds, and the fastest
# libvirt takes once the test lets it go.
SLOW = 1
FAST = 8192


class ControlPlaneFaultTestCase(test_multihost.MultiHostTestCase):

    def _uri(self, host):
        return {'host-a': self.env['HOSTA_URI'],
                'host-b': self.env['HOSTB_URI']}[host]

    def _domain(self, host, server):
        conn = libvirt.open(self._uri(host))
        self.addCleanup(conn.close)
        try:
            return conn.lookupByUUIDString(server.id)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def _ask(self, host, server, question, default):
        """``question(domain)`` on ``host``; ``default`` when the guest
        is not there (or left while asked)."""
        dom = self._domain(host, server)
        if dom is None:
            return default
        try:
            return question(dom)
        except libvirt.libvirtError as e:
            if e.get_error_code() in (libvirt.VIR_ERR_NO_DOMAIN,
                                      libvirt.VIR_ERR_OPERATION_INVALID):
                return default
            raise

    def runs_on(self, server):
        """The hosts whose libvirtd runs the guest (state running)."""
        return [host for host in ('host-a', 'host-b') if self._ask(
            host, server,
            lambda dom: dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING,
            False)]

    def job_runs(self, host, server):
        return self._ask(host, server, lambda dom: dom.jobInfo()[0] not in (
            libvirt.VIR_DOMAIN_JOB_NONE, libvirt.VIR_DOMAIN_JOB_COMPLETED),
            False)

    def set_speed(self, host, server, mib_per_s):
        self._ask(host, server,
                  lambda dom: dom.migrateSetMaxSpeed(mib_per_s), None)

    def request_migration(self, server, dest):
        status, body = self.a.request(
            'POST', '/servers/%s/action' % server.id,
            {'os-migrateLive': {'host': dest, 'block_migration': 'auto'}},
            token=test_multihost.ADMIN_TOKEN, version='2.25')
        self.assertEqual(202, status, body)

    def wait_job(self, host, server):
        multihost.wait_for(lambda: self.job_runs(host, server), 60,
                           'the migration job on %s' % host, interval=0.1)

    def wait_runs_on(self, host, server):
        multihost.wait_for(lambda: self.runs_on(server) == [host], 120,
                           'the guest running on %s only' % host)

    def kill_a(self):
        self.a.process.send_signal(signal.SIGKILL)
        self.a.process.wait(30)

    def booted_with_marks(self, on):
        """A server on host ``on`` (B started after the boot when ``on``
        is host-a) with a mark typed on its console."""
        if on == 'host-b':
            self.start_b()
            server = self.boot()
            if self.host_of(server) != 'host-b':
                self.live_migrate(server, 'host-b')
        else:
            server = self.boot()
            self.start_b()
        self.assertEqual(on, self.host_of(server))
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        console, _ = self.console(server)
        console.run('echo mark-before')
        self.wait_output(server, 'mark-before\n')
        console.close()
        return server

    def assertConsistent(self, server, host, marks=('mark-before',)):
        """``host`` has the guest, the API agrees, everything works."""
        server = self.wait_active(server, timeout=180)
        self.assertEqual([host], self.runs_on(server))
        self.assertEqual(host, self.host_of(server))
        other = {'host-a': 'host-b', 'host-b': 'host-a'}[host]
        self.assertPortCounts({host: 1, other: 0})
        console, _ = self.console(server)
        console.run('echo mark-after')
        output = self.wait_output(server, 'mark-after\n')
        self.assertContinuous(output, list(marks) + ['mark-after'])
        self.conn.compute.delete_server(server)
        self.conn.compute.wait_for_delete(server, wait=120)
        self.assertEqual([], self.runs_on(server))
        for h in ('host-a', 'host-b'):
            self.assertIsNone(self._domain(h, server))
        self.assertPortCounts({'host-a': 0, 'host-b': 0})


class APIProcessKilledTestCase(ControlPlaneFaultTestCase):
    """nova-all (API, conductor and the source's compute) dies; libvirt's
    job goes on and the restarted services find where the guest is."""

    def test_killed_during_the_job(self):
        # The case: before, the server was ACTIVE on host A while
        # its guest ran on B; console output 404, delete left the guest.
        server = self.booted_with_marks('host-a')
        self.set_speed('host-a', server, SLOW)
        self.request_migration(server, 'host-b')
        self.wait_job('host-a', server)
        self.kill_a()
        self.set_speed('host-a', server, FAST)
        self.wait_runs_on('host-b', server)
        self.a.start()
        self.assertConsistent(server, 'host-b')

    def test_restarted_while_the_job_runs(self):
        # The restarted conductor finds libvirt's job still running: it
        # changes nothing until the job ended, then records the outcome.
        server = self.booted_with_marks('host-a')
        self.set_speed('host-a', server, SLOW)
        self.request_migration(server, 'host-b')
        self.wait_job('host-a', server)
        self.kill_a()
        self.a.start()
        self.assertTrue(self.job_runs('host-a', server))
        self.assertEqual(
            ('MIGRATING', 'host-a'),
            (self.admin.compute.get_server(server.id).status,
             self.host_of(server)))
        self.set_speed('host-a', server, FAST)
        self.assertConsistent(server, 'host-b')

    def test_killed_before_the_job_starts(self):
        server = self.booted_with_marks('host-a')
        self.request_migration(server, 'host-b')
        self.kill_a()  # at once: the cast to the source may be unread
        self.a.start()
        server = self.wait_active(server, timeout=180)
        # Wherever it went, the API says so and it works there.
        self.assertConsistent(server, self.runs_on(server)[0])

    def test_killed_after_the_switchover(self):
        server = self.booted_with_marks('host-a')
        self.request_migration(server, 'host-b')
        # As soon as B runs it: the source may not have reported yet.
        multihost.wait_for(lambda: 'host-b' in self.runs_on(server), 60,
                           'the guest running on host-b', interval=0.05)
        self.kill_a()
        self.a.start()
        self.assertConsistent(server, 'host-b')

    def test_conductor_killed_while_the_source_drives(self):
        # B is the source and survives; the conductor (in nova-all, with
        # the destination's compute service) dies during the job.
        server = self.booted_with_marks('host-b')
        self.set_speed('host-b', server, SLOW)
        self.request_migration(server, 'host-a')
        self.wait_job('host-b', server)
        self.kill_a()
        self.set_speed('host-b', server, FAST)
        self.wait_runs_on('host-a', server)
        self.a.start()
        self.assertConsistent(server, 'host-a')


class ComputeKilledTestCase(ControlPlaneFaultTestCase):
    """A compute service dies (nova-compute of host B); the conductor
    lives on."""

    def test_source_killed_during_the_job(self):
        server = self.booted_with_marks('host-b')
        self.set_speed('host-b', server, SLOW)
        self.request_migration(server, 'host-a')
        self.wait_job('host-b', server)
        self.b.stop(signal.SIGKILL)
        self.set_speed('host-b', server, FAST)
        self.wait_runs_on('host-a', server)
        self.start_b()
        self.assertConsistent(server, 'host-a')

    def test_destination_killed_during_the_job(self):
        server = self.booted_with_marks('host-a')
        self.set_speed('host-a', server, SLOW)
        self.request_migration(server, 'host-b')
        self.wait_job('host-a', server)
        self.b.stop(signal.SIGKILL)
        self.set_speed('host-a', server, FAST)
        self.wait_runs_on('host-b', server)
        self.start_b()
        self.assertConsistent(server, 'host-b')
