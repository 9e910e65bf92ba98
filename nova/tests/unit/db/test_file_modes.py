"""The database file holds every tenant's data: 0600 in a 0700 folder."""

import os
import stat

import fixtures
import sqlalchemy as sa

from nova.db import api as db
from nova import test


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class DatabaseFileModesTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        # Whatever umask the service was started with.
        old = os.umask(0o022)
        self.addCleanup(os.umask, old)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        os.chmod(self.tmp, 0o755)
        self.addCleanup(db.dispose)

    def _write_something(self, url):
        """Write, and keep the connection open: SQLite removes the -wal
        and -shm files when the last connection to the file closes."""
        engine = db.configure(url)
        conn = engine.connect()
        self.addCleanup(conn.close)
        conn.execute(sa.text('CREATE TABLE IF NOT EXISTS t (x)'))
        conn.execute(sa.text('INSERT INTO t VALUES (1)'))
        conn.commit()
        return conn

    def test_new_database_is_0600_in_a_0700_folder(self):
        path = os.path.join(self.tmp, 'state', 'nova.sqlite')
        self._write_something('sqlite:///' + path)
        self.assertEqual(0o700, mode(os.path.dirname(path)))
        for name in (path, path + '-wal', path + '-shm'):
            self.assertEqual(0o600, mode(name), name)

    def test_existing_world_readable_database_is_tightened(self):
        path = os.path.join(self.tmp, 'nova.sqlite')
        self._write_something('sqlite:///' + path).close()
        db.dispose()
        for name in (path, path + '-wal', path + '-shm'):
            if os.path.exists(name):
                os.chmod(name, 0o644)
        logs = self.useFixture(fixtures.FakeLogger(name='nova.db.api'))
        self._write_something('sqlite:///' + path)
        for name in (path, path + '-wal', path + '-shm'):
            if os.path.exists(name):
                self.assertEqual(0o600, mode(name), name)
        # A folder that may be shared is not changed, but named.
        self.assertEqual(0o755, mode(self.tmp))
        self.assertIn('The folder %s of the database is open' % self.tmp,
                      logs.output)
