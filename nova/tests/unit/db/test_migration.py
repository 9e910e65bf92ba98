"""A database made by the release before ``instances`` is upgraded on
configure(): nothing lost, nothing done twice, nothing half done."""

import importlib
import os
import sqlite3
import threading
from unittest import mock

import sqlalchemy as sa

from nova.api.openstack import common as api_common
from nova.db import api as db
from nova.db import migration
from nova import test
from nova.tests.unit.db import base

# The schema that release's models made (create_all on SQLite), as is.
TODAY_DDL = """
CREATE TABLE flavors (
    id VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL,
    ram INTEGER NOT NULL, vcpus INTEGER NOT NULL, disk INTEGER NOT NULL,
    extra_specs JSON NOT NULL, PRIMARY KEY (id), UNIQUE (name));
CREATE TABLE images (
    id VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL, kernel_path TEXT,
    ramdisk_path TEXT, disk_path TEXT, disk_format VARCHAR(16) NOT NULL,
    properties JSON NOT NULL, status VARCHAR(16) NOT NULL,
    PRIMARY KEY (id));
CREATE TABLE servers (
    uuid VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL, user_id VARCHAR(255) NOT NULL,
    flavor_id VARCHAR(255) NOT NULL, image_id VARCHAR(36) NOT NULL,
    status VARCHAR(16) NOT NULL, task_state VARCHAR(32), host VARCHAR(255),
    created_at DATETIME NOT NULL, updated_at DATETIME, fault_message TEXT,
    description VARCHAR(255), PRIMARY KEY (uuid));
CREATE INDEX ix_servers_project_id ON servers (project_id);
CREATE INDEX ix_servers_host ON servers (host);
CREATE TABLE console_auth_tokens (
    id INTEGER NOT NULL, token_hash VARCHAR(64) NOT NULL,
    instance_uuid VARCHAR(36) NOT NULL, console_type VARCHAR(32) NOT NULL,
    host VARCHAR(255) NOT NULL, port INTEGER NOT NULL,
    expires_at DATETIME NOT NULL, PRIMARY KEY (id), UNIQUE (token_hash));
CREATE INDEX ix_console_auth_tokens_expires_at
    ON console_auth_tokens (expires_at);
CREATE INDEX ix_console_auth_tokens_instance_uuid
    ON console_auth_tokens (instance_uuid);
CREATE TABLE services (
    id INTEGER NOT NULL, host VARCHAR(255) NOT NULL,
    binary VARCHAR(255) NOT NULL, topic VARCHAR(255) NOT NULL,
    disabled BOOLEAN NOT NULL, disabled_reason VARCHAR(255),
    forced_down BOOLEAN NOT NULL, stopped BOOLEAN NOT NULL,
    report_count INTEGER NOT NULL, report JSON NOT NULL,
    created_at DATETIME NOT NULL, updated_at DATETIME, PRIMARY KEY (id),
    UNIQUE (host));
"""

# (uuid, status, task_state, host, fault): every status that release
# wrote, with the tasks it ran in, and a delete in progress.
OLD_SERVERS = [
    ('s-build', 'BUILD', 'spawning', 'h1', None),
    ('s-active', 'ACTIVE', None, 'h1', None),
    ('s-error', 'ERROR', None, None, 'No valid host'),
    ('s-reboot', 'REBOOT', 'rebooting', 'h1', None),
    ('s-hard', 'HARD_REBOOT', 'rebooting_hard', 'h2', 'old fault'),
    ('s-rebuild', 'REBUILD', 'rebuilding', 'h2', None),
    ('s-migrating', 'MIGRATING', 'migrating', 'h1', None),
    ('s-deleting', 'ACTIVE', 'deleting', 'h2', None),
    ('s-error-deleting', 'ERROR', 'deleting', 'h1', 'boom'),
]
EXPECTED_VM_STATE = {
    's-build': 'building', 's-active': 'active', 's-error': 'error',
    's-reboot': 'active', 's-hard': 'active', 's-rebuild': 'active',
    's-migrating': 'active', 's-deleting': 'active',
    's-error-deleting': 'error'}


def make_today_database(path, servers=OLD_SERVERS, ddl=TODAY_DDL):
    conn = sqlite3.connect(path)
    try:
        conn.executescript(ddl)
        conn.execute(
            "INSERT INTO flavors VALUES ('1', 'tiny', 512, 1, 0, "
            "'{\"hw:serial_port_count\": \"2\"}')")
        conn.execute(
            "INSERT INTO images VALUES ('i1', 'cirros', '/k', NULL, NULL, "
            "'raw', '{}', 'active')")
        for n, (uuid, status, task, host, fault) in enumerate(servers):
            conn.execute(
                'INSERT INTO servers (uuid, name, project_id, user_id, '
                'flavor_id, image_id, status, task_state, host, created_at, '
                'updated_at, fault_message) VALUES '
                "(?, ?, 'p1', 'u1', '1', 'i1', ?, ?, ?, ?, "
                "'2026-01-02 03:04:05.000000', ?)",
                (uuid, 'vm-%d' % n, status, task, host,
                 '2026-01-01 00:00:%02d.000000' % n, fault))
        if 'description VARCHAR' in ddl:
            conn.execute("UPDATE servers SET description = 'mine' "
                         "WHERE uuid = 's-active'")
        conn.execute(
            "INSERT INTO console_auth_tokens VALUES (7, ?, 's-active', "
            "'serial', '127.0.0.1', 10000, '2026-12-01 00:00:00.000000')",
            ('a' * 64,))
        conn.execute(
            "INSERT INTO services VALUES (3, 'h1', 'nova-compute', "
            "'compute', 0, NULL, 0, 0, 42, '{\"vcpus\": 4}', "
            "'2026-01-01 00:00:00.000000', '2026-01-01 00:01:00.000000')")
        conn.commit()
    finally:
        conn.close()


# The first alembic revision, and the tables the later ones add.
INITIAL_REVISION = '8d2c41e0a7b3'
LATER_TABLES = {
    'key_pairs',
    # -- ver
    'tags', 'instance_actions', 'instance_actions_events', 'migrations',
    # -- adm
    'instance_flavors', 'aggregates', 'aggregate_hosts', 'aggregate_metadata',
    # -- t13
    'instance_images',
    # -- shv
    'shelved_instances',
    # -- quotas
    'quotas', 'quota_classes',
    # -- access
    'flavor_projects', 'instance_usages',
}


def initial_revision():
    return importlib.import_module(
        'nova.db.migrations.versions.%s_initial' % INITIAL_REVISION)


def dump(path):
    """{table: sorted rows} and the schema of the file at ``path``."""
    conn = sqlite3.connect(path)
    try:
        schema = sorted(conn.execute(
            'SELECT type, name, sql FROM sqlite_master').fetchall(),
            key=repr)
        tables = [row[1] for row in schema if row[0] == 'table']
        rows = {table: sorted(conn.execute(
            'SELECT * FROM %s' % table).fetchall(), key=repr)
            for table in tables}
        return schema, rows
    finally:
        conn.close()


def columns(path, table):
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute(
            'PRAGMA table_info(%s)' % table)]
    finally:
        conn.close()


class UpgradeTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        base.use_database(self)  # a fresh folder; dispose() on cleanup
        self.path = os.path.join(os.path.dirname(self.db_path), 'old.db')
        self.url = 'sqlite:///' + self.path

    def test_servers_become_instances_without_loss(self):
        make_today_database(self.path)
        _, before = dump(self.path)
        db.configure(self.url)
        _, after = dump(self.path)
        # Other tables untouched, row for row (flavors gained columns
        # at the end since: the old ones are as they were).
        for table in ('flavors', 'images', 'console_auth_tokens',
                      'services'):
            width = len(before[table][0]) if before[table] else 0
            self.assertEqual(before[table],
                             [row[:width] for row in after[table]], table)
        self.assertNotIn('servers', after)
        self.assertNotIn('status', columns(self.path, 'instances'))
        self.assertEqual(len(OLD_SERVERS), len(after['instances']))
        old_rows = {row[0]: row for row in before['servers']}
        for uuid, status, task, host, fault in OLD_SERVERS:
            instance = db.instance_get(uuid)
            self.assertEqual(EXPECTED_VM_STATE[uuid], instance['vm_state'])
            self.assertEqual((task, host, fault),
                             (instance['task_state'], instance['host'],
                              instance['fault']))
            # What the API showed of it, it shows still.
            self.assertEqual(status, api_common.status_of(instance), uuid)
            # Every other column as it was.
            old = old_rows[uuid]
            self.assertEqual(
                (old[1], old[2], old[3], old[4], old[5]),
                tuple(instance[k] for k in ('name', 'project_id', 'user_id',
                                            'flavor_id', 'image_id')))
            self.assertEqual(old[9], instance['created_at'].strftime(
                '%Y-%m-%d %H:%M:%S.%f'))
            self.assertEqual(old[10], instance['updated_at'].strftime(
                '%Y-%m-%d %H:%M:%S.%f'))
        self.assertEqual('mine', db.instance_get('s-active')['description'])
        # The moved rows are found by the indexed queries and kept their
        # order (newest first).
        self.assertEqual(['s-error-deleting', 's-deleting', 's-migrating'],
                         [i['uuid'] for i in db.instance_get_all()][:3])
        self.assertEqual({'s-hard', 's-rebuild', 's-deleting'},
                         {i['uuid'] for i in db.instance_get_all(host='h2')})
        self.assertEqual(['s-migrating'], [i['uuid'] for i in
                                           db.instance_get_all(
                                               task_states=('migrating',))])
        self.assertEqual('s-active', db.console_token_get_by_hash(
            'a' * 64)['instance_uuid'])
        self.assertEqual(42, db.service_get_by_host('h1')['report_count'])
        # And it is writable in the new shape.
        self.assertEqual('error', db.instance_update(
            's-build', {'vm_state': 'error', 'task_state': None},
            expected_vm_state='building',
            expected_task_state='spawning')['vm_state'])

    def test_second_configure_changes_nothing(self):
        make_today_database(self.path)
        db.configure(self.url)
        once = dump(self.path)
        db.configure(self.url)
        self.assertEqual(once, dump(self.path))
        db.configure(self.url)
        self.assertEqual(once, dump(self.path))

    def test_new_database_has_no_servers_table(self):
        db.configure(self.url)
        schema, rows = dump(self.path)
        self.assertEqual({'flavors', 'images', 'instances',
                          'console_auth_tokens', 'services',
                          'alembic_version'} | LATER_TABLES, set(rows))
        self.assertEqual([(migration.head(),)], rows['alembic_version'])

    def test_a_failure_midway_leaves_the_old_database_whole(self):
        make_today_database(self.path)
        before = dump(self.path)
        with mock.patch.object(migration, '_add_missing_columns',
                               side_effect=RuntimeError('killed')):
            self.assertRaises(RuntimeError, db.configure, self.url)
        # The table made, the rows copied, servers dropped: all undone.
        self.assertEqual(before, dump(self.path))
        db.configure(self.url)
        self.assertEqual(len(OLD_SERVERS), len(db.instance_get_all()))

    def test_older_servers_without_description(self):
        ddl = TODAY_DDL.replace('description VARCHAR(255), ', '')
        make_today_database(self.path, servers=OLD_SERVERS[:2], ddl=ddl)
        self.assertNotIn('description', columns(self.path, 'servers'))
        db.configure(self.url)
        self.assertIsNone(db.instance_get('s-active')['description'])
        self.assertEqual(('active', None),
                         (db.instance_get('s-active')['vm_state'],
                          db.instance_get('s-active')['task_state']))

    def test_rows_already_in_instances_win(self):
        make_today_database(self.path, servers=OLD_SERVERS[:2])
        # Made by a newer release, then the older one ran again and
        # wrote its servers table.
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            # As the first revision made it: the later ones add to it.
            instances = initial_revision()._tables().tables['instances']
            instances.create(conn)
            conn.execute(instances.insert().values(
                uuid='s-active', name='newer', project_id='p1',
                user_id='u1', flavor_id='1', image_id='i1',
                vm_state='error', created_at=db.utcnow()))
        db.configure(self.url)
        self.assertEqual(('newer', 'error'),
                         (db.instance_get('s-active')['name'],
                          db.instance_get('s-active')['vm_state']))
        self.assertEqual('building', db.instance_get('s-build')['vm_state'])
        self.assertNotIn('servers', dump(self.path)[1])

    def test_unknown_status_becomes_error(self):
        make_today_database(self.path,
                            servers=[('s-odd', 'PAUSED', None, 'h1', None)])
        db.configure(self.url)
        self.assertEqual('error', db.instance_get('s-odd')['vm_state'])

    def test_services_starting_together_upgrade_once(self):
        make_today_database(self.path)
        engines = [db.make_engine(self.url)
                   for _ in range(4)]
        for engine in engines:
            self.addCleanup(engine.dispose)
        start, errors = threading.Barrier(len(engines)), []

        def run(engine):
            start.wait()
            try:
                migration.upgrade(engine)
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        rows = dump(self.path)[1]
        self.assertNotIn('servers', rows)
        self.assertEqual(len(OLD_SERVERS), len(rows['instances']))
