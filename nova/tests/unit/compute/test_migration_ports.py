"""Serial port facts after a live migration or a failed action.

Build, reboot, rebuild and delete record the host's port facts when they
end, so the scheduler sees freed or taken ports at once. (Attack review,
finding 8:) a live migration recorded none and its destination was no
claim, so the source counted the moved server's port as taken and the
destination counted it free until their next heartbeats; a reboot that
failed after the destroy recorded nothing either.
"""

import threading

from nova.compute import api as compute_api
from nova import context
from nova.db import api as db
from nova import exception
from nova.scheduler import manager as scheduler
from nova.tests.unit.compute import base

ADMIN = context.get_admin_context()
ALICE = context.RequestContext(user_id='alice', project_id='pa')


class PortFactsTestCase(base.ComputeTestCase):
    HOSTS = ('host-a', 'host-b')

    def setUp(self):
        super().setUp()
        self.api = compute_api.API(conf=self.nova_conf)
        self.addCleanup(self.api.shutdown)
        self._quiet_heartbeats()
        self.uuid = self.api.create(ALICE, 'vm', 'img-1', '1')['uuid']
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.src = db.instance_get(self.uuid)['host']
        self.dest = [h for h in self.HOSTS if h != self.src][0]

    def _quiet_heartbeats(self):
        # From here on only actions record facts: what a test sees is
        # what they recorded, not a heartbeat's.
        self.nova_flags(report_interval=3600)
        counts = {h: db.service_get_by_host(h)['report_count']
                  for h in self.HOSTS}
        for h in self.HOSTS:
            base.wait_for(self, lambda h=h: db.service_get_by_host(h)[
                'report_count'] > counts[h], 'the last heartbeat of ' + h)

    def _holders(self, host):
        return db.service_get_by_host(host)['report'].get(
            'serial_port_holders')

    def _seq(self, host):
        return db.service_get_by_host(host)['report'].get(
            'serial_ports_seq')

    def test_live_migration_records_both_hosts_port_facts(self):
        self.assertIn(self.uuid, self._holders(self.src))
        self.api.live_migrate(ADMIN, self.uuid, self.dest)
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.assertEqual(self.dest, db.instance_get(self.uuid)['host'])
        self.assertNotIn(self.uuid, self._holders(self.src),
                         'source still reported as holding the port')
        self.assertIn(self.uuid, self._holders(self.dest),
                      'destination not reported as holding the port')
        self.assertNotIn(self.uuid, scheduler._MIGRATING_TO)

    def test_failed_live_migration_records_both_hosts(self):
        before = {h: self._seq(h) for h in self.HOSTS}
        self.drivers[self.src].fail['live_migration'] = (
            exception.MigrationError(reason='link down'))
        self.api.live_migrate(ADMIN, self.uuid, self.dest)
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.assertEqual(self.src, db.instance_get(self.uuid)['host'])
        for host in self.HOSTS:
            self.assertGreater(self._seq(host), before[host],
                               'facts of %s not recorded' % host)
        self.assertIn(self.uuid, self._holders(self.src))
        self.assertNotIn(self.uuid, self._holders(self.dest))
        self.assertNotIn(self.uuid, scheduler._MIGRATING_TO)

    def test_destination_is_a_claim_while_the_migration_runs(self):
        gate = self.drivers[self.src].gates['live_migration'] = (
            threading.Event())
        self.addCleanup(gate.set)
        self.api.live_migrate(ADMIN, self.uuid, self.dest)
        self.drivers[self.src].entered_event('live_migration').wait(
            base.WAIT)
        self.assertEqual(self.dest, scheduler._MIGRATING_TO.get(self.uuid))
        claims = scheduler._claims({
            h: db.service_get_by_host(h)['report'] for h in self.HOSTS})
        self.assertGreaterEqual(claims.get(self.dest, 0), 1)
        gate.set()
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.assertNotIn(self.uuid, scheduler._MIGRATING_TO)

    def test_hard_reboot_failing_after_the_destroy_records_facts(self):
        driver = self.drivers[self.src]
        driver.hooks['reboot'] = lambda: driver.ports.pop(self.uuid, None)
        driver.fail['reboot'] = exception.InstanceBootFailed(
            instance_uuid=self.uuid, reason='no QEMU')
        self.api.reboot(ALICE, self.uuid, 'HARD')
        self.assertTrue(self.wait_for_tasks(base.WAIT))
        self.assertEqual('error', db.instance_get(self.uuid)['vm_state'])
        self.assertNotIn(self.uuid, self._holders(self.src),
                         'the freed port is still counted as taken')
