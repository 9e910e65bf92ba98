"""Serial port claims: servers being (re)built count against their host's
free ports until a measurement of the host counts them; measurements
are recorded newest-wins."""

from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler
from nova.tests.unit.compute import base
from nova.tests.unit.db import base as db_base


def _report(free, holders=None, seq=None):
    report = {'memory_mb_free': 4096, 'serial_console_enabled': True,
              'serial_ports_total': 4, 'serial_ports_free': free}
    if holders is not None:
        report['serial_port_holders'] = holders
    if seq is not None:
        report['serial_ports_seq'] = seq
    return report


class ClaimsBase(db_base.DBTestCase):
    """A two-port flavor and an image; ``_server`` and ``_select``."""

    def setUp(self):
        super().setUp()
        self.nova_conf = base.new_conf(self, service_down_time=60)
        db.flavor_create({'id': '2', 'name': 'two', 'ram': 128, 'vcpus': 1,
                          'extra_specs': {'hw:serial_port_count': '2'}})
        db.image_create({'id': 'img', 'name': 'i', 'kernel_path': '/k'})
        self.flavor = objects.Flavor(
            memory_mb=128, extra_specs={'hw:serial_port_count': '2'})
        self.image = objects.ImageMeta(kernel_path='/k')

    def _server(self, uuid, host='a', task_state='spawning'):
        db.instance_create({'uuid': uuid, 'name': 'vm', 'project_id': 'p',
                            'user_id': 'u', 'flavor_id': '2',
                            'image_id': 'img', 'vm_state': 'building',
                            'task_state': task_state, 'host': host})

    def _select(self):
        return scheduler.select_host(self.nova_conf, self.flavor,
                                     self.image)


class ClaimsTestCase(ClaimsBase):
    def test_a_build_not_in_the_report_claims_its_ports(self):
        db.service_report('a', 'nova-compute', 'compute',
                          _report(2, holders=[]))
        self.assertEqual('a', self._select())
        self._server('s1')
        e = self.assertRaises(exception.NoValidHost, self._select)
        self.assertIn('a: only 0 free serial ports', e.message)

    def test_a_build_the_report_counts_is_not_counted_twice(self):
        db.service_report('a', 'nova-compute', 'compute',
                          _report(2, holders=['s1']))
        self._server('s1')
        self.assertEqual('a', self._select())

    def test_hard_reboot_between_destroy_and_spawn_claims(self):
        db.service_report('a', 'nova-compute', 'compute',
                          _report(2, holders=[]))
        self._server('s1', task_state='rebooting_hard')
        self.assertRaises(exception.NoValidHost, self._select)

    def test_finished_servers_claim_nothing(self):
        db.service_report('a', 'nova-compute', 'compute',
                          _report(2, holders=[]))
        self._server('s1', task_state=None)
        self.assertEqual('a', self._select())

    def test_report_without_holders_counts_builds_only(self):
        db.service_report('a', 'nova-compute', 'compute', _report(4))
        self._server('s1', task_state='rebooting')
        self.assertEqual('a', self._select())
        self._server('s2')
        self._server('s3')
        self.assertRaises(exception.NoValidHost, self._select)

    def test_claims_steer_to_the_host_with_more_room(self):
        for host in ('a', 'b'):
            db.service_report(host, 'nova-compute', 'compute',
                              _report(4, holders=[]))
        self._server('s1', host='b')
        self.assertEqual('a', self._select())


class PortFactsTestCase(db_base.DBTestCase):
    def _free(self):
        return db.service_get_by_host('a')['report']['serial_ports_free']

    def test_older_heartbeat_keeps_newer_facts(self):
        db.service_report('a', 'nova-compute', 'compute',
                          _report(0, [], ['boot', 1]))
        self.assertTrue(db.service_update_ports(
            'a', _report(1, [], ['boot', 3])))
        # Measured at 2, arrived after the facts measured at 3.
        db.service_report('a', 'nova-compute', 'compute',
                          dict(_report(0, ['x'], ['boot', 2]),
                               memory_mb_free=1))
        report = db.service_get_by_host('a')['report']
        self.assertEqual((1, [], 1), (report['serial_ports_free'],
                                      report['serial_port_holders'],
                                      report['memory_mb_free']))
        db.service_report('a', 'nova-compute', 'compute',
                          _report(3, [], ['boot', 4]))
        self.assertEqual(3, self._free())

    def test_older_facts_are_not_recorded(self):
        db.service_report('a', 'nova-compute', 'compute',
                          _report(2, [], ['boot', 5]))
        self.assertFalse(db.service_update_ports(
            'a', _report(0, [], ['boot', 4])))
        self.assertEqual(2, self._free())

    def test_a_restarted_service_is_believed(self):
        db.service_report('a', 'nova-compute', 'compute',
                          _report(2, [], ['boot', 5]))
        db.service_report('a', 'nova-compute', 'compute',
                          _report(1, [], ['reboot', 1]))
        self.assertEqual(1, self._free())

    def test_unknown_host_and_foreign_keys(self):
        self.assertFalse(db.service_update_ports('a', _report(1)))
        db.service_report('a', 'nova-compute', 'compute', _report(2))
        self.assertFalse(db.service_update_ports('a', {'running_vms': 9}))
        self.assertTrue(db.service_update_ports(
            'a', {'serial_ports_free': 1, 'running_vms': 9}))
        report = db.service_get_by_host('a')['report']
        self.assertEqual((1, None), (report['serial_ports_free'],
                                     report.get('running_vms')))
