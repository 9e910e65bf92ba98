"""A live migration's destination counts the moving server's ports as
claimed until a measurement of the destination counts them (attack
review, finding 8: the destination counted them free)."""

from nova.compute import task_states
from nova.db import api as db
from nova import exception
from nova.scheduler import manager as scheduler
from nova.tests.unit.scheduler import test_claims

S1 = '00000000-0000-4000-8000-0000000000b1'


class MigrationClaimsTestCase(test_claims.ClaimsBase):
    def setUp(self):
        super().setUp()
        # Host b has two free ports.
        db.service_report('b', 'nova-compute', 'compute',
                          test_claims._report(2, holders=[]))
        self._server(S1, host='a', task_state=task_states.MIGRATING)
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
