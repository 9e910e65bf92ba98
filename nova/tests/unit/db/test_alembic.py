"""Alembic takes over: a database made by the release before alembic
keeps every row; the models and the migrations describe one schema;
``nova-manage db sync`` / ``db version``."""

import io
import json
import os
import sqlite3
from unittest import mock

from alembic import autogenerate
from alembic.runtime import migration as alembic_migration
import fixtures

from nova.cmd import manage
from nova.db import api as db
from nova.db import migration
from nova.db import models
from nova import test
from nova.tests.unit.db import base
from nova.tests.unit.db import test_migration

# The tables today's main made (its models' create_all on SQLite), as
# is: instances, not servers.
MAIN_DDL = test_migration.TODAY_DDL.replace(
    'CREATE TABLE servers', 'CREATE TABLE instances').replace(
    'image_id VARCHAR(36) NOT NULL,\n    status VARCHAR(16) NOT NULL',
    'image_id VARCHAR(36) NOT NULL,\n    vm_state VARCHAR(255) NOT NULL'
).replace(
    'ix_servers_project_id ON servers', 'ix_instances_project_id ON '
    'instances').replace('ix_servers_host ON servers',
                         'ix_instances_host ON instances')

# The revision that found today's schema.
INITIAL = '8d2c41e0a7b3'
INITIAL_REVISION = '8d2c41e0a7b3'

# (uuid, vm_state, task_state, host, fault)
MAIN_INSTANCES = [
    ('i-build', 'building', 'spawning', 'h1', None),
    ('i-active', 'active', None, 'h1', None),
    ('i-error', 'error', None, None, 'No valid host'),
    ('i-reboot', 'active', 'rebooting', 'h2', 'old fault'),
]


def make_main_database(path):
    assert 'vm_state' in MAIN_DDL and 'servers' not in MAIN_DDL
    conn = sqlite3.connect(path)
    try:
        conn.executescript(MAIN_DDL)
        conn.execute(
            "INSERT INTO flavors VALUES ('1', 'tiny', 512, 1, 0, "
            "'{\"hw:serial_port_count\": \"2\"}')")
        conn.execute(
            "INSERT INTO images VALUES ('i1', 'cirros', '/k', NULL, NULL, "
            "'raw', '{\"os\": \"x\"}', 'active')")
        for n, (uuid, vm, task, host, fault) in enumerate(MAIN_INSTANCES):
            conn.execute(
                'INSERT INTO instances (uuid, name, project_id, user_id, '
                'flavor_id, image_id, vm_state, task_state, host, '
                'created_at, updated_at, fault_message, description) '
                "VALUES (?, ?, 'p1', 'u1', '1', 'i1', ?, ?, ?, ?, "
                "'2026-01-02 03:04:05.123456', ?, ?)",
                (uuid, 'vm-%d' % n, vm, task, host,
                 '2026-01-01 00:00:%02d.000001' % n, fault, 'd%d' % n))
        conn.execute(
            "INSERT INTO console_auth_tokens VALUES (7, ?, 'i-active', "
            "'serial', '127.0.0.1', 10000, '2026-12-01 00:00:00.000000')",
            ('a' * 64,))
        conn.execute(
            "INSERT INTO services VALUES (3, 'h1', 'nova-compute', "
            "'compute', 1, 'maintenance', 0, 1, 42, '{\"vcpus\": 4}', "
            "'2026-01-01 00:00:00.000000', '2026-01-01 00:01:00.000000')")
        conn.commit()
    finally:
        conn.close()


class MainDatabaseTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        base.use_database(self)
        self.path = os.path.join(os.path.dirname(self.db_path), 'main.db')
        self.url = 'sqlite:///' + self.path

    def test_every_row_and_table_kept(self):
        make_main_database(self.path)
        schema_before, before = test_migration.dump(self.path)
        # To the first revision only: the later ones add tables and
        # columns of their own.
        engine = db.make_engine(self.url)
        migration.upgrade(engine, test_migration.INITIAL_REVISION)
        engine.dispose()
        schema_after, after = test_migration.dump(self.path)
        self.assertEqual([(test_migration.INITIAL_REVISION,)],
                         after.pop('alembic_version'))
        # Row for row, column for column, and the same tables and
        # indexes: alembic found today's schema and only stamped it.
        self.assertEqual(before, after)
        self.assertEqual(schema_before, [s for s in schema_after
                                         if 'alembic_version' not in s[1]])
        # The later revisions keep every row (adding columns at the end).
        db.configure(self.url)
        _, at_head = test_migration.dump(self.path)
        self.assertEqual([(migration.head(),)], at_head['alembic_version'])
        for table, rows in before.items():
            width = len(rows[0]) if rows else 0
            self.assertEqual(rows, [row[:width] for row in at_head[table]],
                             table)
        # And the API reads them as it did.
        self.assertEqual(['i-reboot', 'i-error', 'i-active', 'i-build'],
                         [i['uuid'] for i in db.instance_get_all()])
        self.assertEqual(('active', 'rebooting', 'old fault', 'd3'), tuple(
            db.instance_get('i-reboot')[k]
            for k in ('vm_state', 'task_state', 'fault', 'description')))
        self.assertEqual(123456,
                         db.instance_get('i-build')['updated_at'].microsecond)
        # Rows older than the server fields read as Nova's defaults.
        self.assertEqual(({}, 'MANUAL', 0, '', None), tuple(
            db.instance_get('i-active')[k] for k in (
                'metadata', 'disk_config', 'power_state', 'config_drive',
                'key_name')))
        self.assertEqual([], db.key_pair_list('u1'))
        self.assertEqual(
            (True, 'maintenance', True, 42),
            tuple(db.service_get_by_host('h1')[k] for k in (
                'disabled', 'disabled_reason', 'stopped', 'report_count')))
        self.assertEqual({'os': 'x'}, db.image_get('i1')['properties'])

    def test_pre_instances_database_still_upgrades(self):
        # The servers -> instances step is reached through alembic too.
        test_migration.make_today_database(self.path)
        db.configure(self.url)
        rows = test_migration.dump(self.path)[1]
        self.assertNotIn('servers', rows)
        self.assertEqual(len(test_migration.OLD_SERVERS),
                         len(rows['instances']))
        self.assertEqual(migration.head(), migration.version(db.get_engine()))


class ModelsMatchMigrationsTestCase(base.DBTestCase):
    def test_no_difference(self):
        # A model changed without a revision (or the other way round)
        # shows here.
        with db.get_engine().connect() as conn:
            diff = autogenerate.compare_metadata(
                alembic_migration.MigrationContext.configure(conn),
                models.Base.metadata)
        self.assertEqual([], diff)


class ManageDbTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(tmp, 'nova.sqlite')
        self.conf = os.path.join(tmp, 'nova.conf')
        with open(self.conf, 'w') as f:
            f.write('[database]\nconnection = sqlite:///%s\n' % self.path)
        self.addCleanup(db.dispose)

    def _manage(self, *argv):
        out = io.StringIO()
        with mock.patch('sys.stdout', out):
            status = manage.main(['--config-file', self.conf] + list(argv))
        return status, json.loads(out.getvalue()) if status == 0 else None

    def test_version_then_sync(self):
        make_main_database(self.path)
        self.assertEqual((0, {'version': None}), self._manage('db', 'version'))
        # version changed nothing.
        self.assertNotIn('alembic_version',
                         test_migration.dump(self.path)[1])
        self.assertEqual((0, {'version': migration.head()}),
                         self._manage('db', 'sync'))
        self.assertEqual((0, {'version': migration.head()}),
                         self._manage('db', 'version'))
        self.assertEqual(len(MAIN_INSTANCES), len(
            test_migration.dump(self.path)[1]['instances']))

    def test_unknown_revision_is_a_clear_error(self):
        err = io.StringIO()
        with mock.patch('sys.stderr', err):
            self.assertEqual(1, self._manage('db', 'sync', 'nosuch')[0])
        self.assertIn("nova-manage: Can't locate revision identified by "
                      "'nosuch'", err.getvalue())
