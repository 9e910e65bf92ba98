"""A fresh SQLite database file per test, configured through CONF."""

import os

import fixtures

from nova.db import api as db
from nova import test


def use_database(case):
    """Point ``[database] connection`` of ``case`` at a new file; set up."""
    tmp = case.useFixture(fixtures.TempDir()).path
    case.db_path = os.path.join(tmp, 'db', 'nova.sqlite')
    case.flags(connection='sqlite:///' + case.db_path, group='database')
    db.configure()
    case.addCleanup(db.dispose)


class DBTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        use_database(self)
