"""A live migration's destination counts the moving server's ports as
claimed until a measurement of the destination counts them (attack
review, finding 8: the destination counted them free)."""

from nova.compute import states
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler
from nova.tests.unit.compute import base
from nova.tests.unit.db import base as db_base
from nova.tests.unit.scheduler import test_claims

S1 = '00000000-0000-4000-8000-0000000000b1'


class MigrationClaimsTestCase(db_base.DBTestCase):
    _select = test_claims.ClaimsTestCase._select
    _server = test_claims.ClaimsTestCase._server

    def setUp(self):
        super().setUp()
        # As test_claims: a two-port flavor; host b has two free.
        self.nova_conf = base.new_conf(self, service_down_time=60)
        db.flavor_create({'id': '2', 'name': 'two', 'ram': 128, 'vcpus': 1,
                          'extra_specs': {'hw:serial_port_count': '2'}})
        db.image_create({'id': 'img', 'name': 'i', 'kernel_path': '/k'})
        self.flavor = objects.Flavor(
            memory_mb=128, extra_specs={'hw:serial_port_count': '2'})
        self.image = objects.ImageMeta(kernel_path='/k')
        db.service_report('b', 'nova-compute', 'compute',
                          test_claims._report(2, holders=[]))
        self._server(S1, host='a', task_state=states.LIVE_MIGRATING)
        self.addCleanup(scheduler.end_migration, S1)

    def test_destination_claims_while_the_migration_runs(self):
        self.assertEqual('b', self._select())
        scheduler.claim_migration(S1, 'b')
        e = self.assertRaises(exception.NoValidHost, self._select)
        self.assertIn('b: only 0 free serial ports', e.message)

    def test_claim_ends_with_the_migration(self):
        scheduler.claim_migration(S1, 'b')
        scheduler.end_migration(S1)
        self.assertEqual('b', self._select())

    def test_destination_measurement_that_counts_it_is_not_doubled(self):
        scheduler.claim_migration(S1, 'b')
        db.service_report('b', 'nova-compute', 'compute',
                          test_claims._report(2, holders=[S1]))
        self.assertEqual('b', self._select())
