import datetime
import os
import sqlite3
import threading
from unittest import mock

from oslo_db import exception as db_exc
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from nova.db import api as db
from nova.db import models
from nova import exception
from nova.tests.unit.db import base
from nova.tests.unit.db import test_migration

UTC = datetime.timezone.utc


def _server(uuid='s1', project='p1', host='h1', **kw):
    values = {'uuid': uuid, 'name': 'vm', 'project_id': project,
              'user_id': 'u1', 'flavor_id': '1', 'image_id': 'i1',
              'vm_state': 'building', 'task_state': 'spawning', 'host': host}
    values.update(kw)
    return db.instance_create(values)


def _token(uuid, token_hash, expires_at):
    return db.console_token_create({
        'token_hash': token_hash, 'instance_uuid': uuid,
        'console_type': 'serial', 'host': '127.0.0.1', 'port': 10000,
        'expires_at': expires_at})


class EngineTestCase(base.DBTestCase):
    def test_configure_creates_directory_tables_and_wal(self):
        self.assertTrue(os.path.isfile(self.db_path))
        conn = sqlite3.connect(self.db_path)
        self.addCleanup(conn.close)
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        self.assertEqual({'flavors', 'images', 'instances',
                          'console_auth_tokens', 'services',
                          'alembic_version'} | test_migration.LATER_TABLES,
                         tables)
        self.assertEqual('wal', conn.execute(
            'PRAGMA journal_mode').fetchone()[0])

    def test_sqlite_connections_wait_for_a_busy_writer(self):
        db.flavor_list()
        with db._transaction() as session:
            timeout = session.connection().exec_driver_sql(
                'PRAGMA busy_timeout').scalar()
        self.assertEqual(db.SQLITE_BUSY_TIMEOUT * 1000, timeout)

    def test_file_database_connections_are_kept_between_transactions(self):
        # Issue 14: oslo.db's NullPool opened the file (and set the
        # pragmas) for every transaction, a third of a one-row read.
        engine = db.get_engine()
        opened = []
        sa.event.listen(engine, 'connect',
                        lambda conn, record: opened.append(conn))
        for i in range(5):
            db.flavor_list()
            _server(uuid='s%d' % i)
        self.assertLessEqual(len(opened), 1)
        self.assertIsInstance(engine.pool, sa.pool.QueuePool)
        # A kept connection still has its pragmas, and is in no
        # transaction between two sessions (a stale snapshot would hide
        # what another connection committed).
        with db._reading() as session:
            conn = session.connection()
            self.assertEqual(db.SQLITE_BUSY_TIMEOUT * 1000,
                             conn.exec_driver_sql(
                                 'PRAGMA busy_timeout').scalar())
        other = sqlite3.connect(self.db_path)
        self.addCleanup(other.close)
        other.execute("UPDATE instances SET name = 'seen' WHERE uuid = "
                      "(SELECT MIN(uuid) FROM instances)")
        other.commit()
        self.assertIn('seen', [s['name'] for s in db.instance_get_all()])

    def test_kept_connections_serve_threads_at_once(self):
        _server(uuid='t0')
        errors, barrier = [], threading.Barrier(8)

        def read():
            try:
                barrier.wait(10)
                for _ in range(20):
                    if db.instance_get('t0') is None:
                        errors.append('not found')
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual([], errors)

    def test_first_use_configures_from_conf(self):
        db.dispose()
        other = os.path.join(os.path.dirname(self.db_path), 'new', 'x.db')
        self.flags(connection='sqlite:///' + other, group='database')
        db.flavor_create({'id': '1', 'name': 'a', 'ram': 1, 'vcpus': 1})
        self.assertTrue(os.path.isfile(other))

    def test_explicit_url_wins_over_conf(self):
        other = os.path.join(os.path.dirname(self.db_path), 'y.db')
        db.configure('sqlite:///' + other)
        db.flavor_create({'id': '1', 'name': 'a', 'ram': 1, 'vcpus': 1})
        db.configure()
        self.assertEqual([], db.flavor_list())


class FlavorImageTestCase(base.DBTestCase):
    def test_flavor_round_trip_as_plain_dict(self):
        created = db.flavor_create({'id': '1', 'name': 'm1', 'ram': 64,
                                    'vcpus': 2, 'extra_specs': {'a': 'b'}})
        fetched = db.flavor_get('1')
        self.assertIs(dict, type(fetched))
        self.assertEqual({'id': '1', 'name': 'm1', 'ram': 64, 'vcpus': 2,
                          'disk': 0, 'extra_specs': {'a': 'b'}, 'swap': 0,
                          'ephemeral_gb': 0, 'rxtx_factor': 1.0,
                          'is_public': True, 'disabled': False}, fetched)
        self.assertEqual(created, fetched)
        self.assertEqual([fetched], db.flavor_list())
        self.assertIsNone(db.flavor_get('2'))

    def test_duplicate_flavor_name_is_a_conflict(self):
        db.flavor_create({'id': '1', 'name': 'm1', 'ram': 64, 'vcpus': 1})
        e = self.assertRaises(exception.Conflict, db.flavor_create,
                              {'id': '2', 'name': 'm1', 'ram': 1,
                               'vcpus': 1})
        self.assertEqual(409, e.code)
        self.assertEqual(1, len(db.flavor_list()))

    def test_image_defaults(self):
        image = db.image_create({'id': 'i1', 'name': 'cirros',
                                 'disk_path': '/x'})
        self.assertEqual({'id': 'i1', 'name': 'cirros', 'kernel_path': None,
                          'ramdisk_path': None, 'disk_path': '/x',
                          'disk_format': 'raw', 'properties': {},
                          'status': 'active'}, db.image_get('i1'))
        self.assertEqual(image, db.image_get('i1'))
        self.assertRaises(exception.Conflict, db.image_create,
                          {'id': 'i1', 'name': 'other'})


class ServerTestCase(base.DBTestCase):
    def test_created_server_has_aware_utc_times_and_fault_key(self):
        before = datetime.datetime.now(UTC)
        _server()
        server = db.instance_get('s1')
        self.assertIs(dict, type(server))
        self.assertEqual(UTC, server['created_at'].tzinfo)
        self.assertTrue(before <= server['created_at'] <=
                        datetime.datetime.now(UTC))
        self.assertIsNone(server['fault'])
        self.assertNotIn('fault_message', server)

    def test_update_only_in_expected_state(self):
        _server()
        self.assertIsNone(db.instance_update(
            's1', {'vm_state': 'active'}, expected_task_state='deleting'))
        self.assertIsNone(db.instance_update(
            's1', {'vm_state': 'active'},
            expected_vm_state=('active', 'error')))
        self.assertEqual('building', db.instance_get('s1')['vm_state'])
        updated = db.instance_update(
            's1', {'vm_state': 'error', 'task_state': None, 'fault': 'boom'},
            expected_vm_state='building',
            expected_task_state=(None, 'spawning'))
        self.assertEqual(('error', None, 'boom'), (
            updated['vm_state'], updated['task_state'], updated['fault']))
        self.assertEqual(updated, db.instance_get('s1'))
        self.assertTrue(updated['updated_at'] >= updated['created_at'])
        # None as the expected value means "no task".
        self.assertIsNotNone(db.instance_update(
            's1', {'vm_state': 'active'}, expected_task_state=None))

    def test_update_of_missing_instance(self):
        self.assertIsNone(db.instance_update('nope', {'vm_state': 'active'}))

    def test_one_winner_among_racing_threads(self):
        _server(vm_state='active', task_state=None)
        winners = []
        start = threading.Barrier(10)

        def race(i):
            start.wait()
            if db.instance_update('s1', {'task_state': 'rebooting',
                                         'name': str(i)},
                                  expected_task_state=None):
                winners.append(i)

        threads = [threading.Thread(target=race, args=(i,))
                   for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(1, len(winners))
        self.assertEqual(str(winners[0]), db.instance_get('s1')['name'])

    def test_list_filters_and_orders_newest_first(self):
        t0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
        _server('a', 'p1', 'h1', created_at=t0)
        _server('b', 'p2', 'h1', created_at=t0 + datetime.timedelta(1))
        _server('c', 'p1', 'h2', created_at=t0 + datetime.timedelta(2))
        self.assertEqual(['c', 'b', 'a'],
                         [s['uuid'] for s in db.instance_get_all()])
        self.assertEqual(['c', 'a'], [s['uuid'] for s in
                                      db.instance_get_all(project_id='p1')])
        self.assertEqual(['b', 'a'], [s['uuid'] for s in
                                      db.instance_get_all(host='h1')])

    def test_delete_takes_the_console_tokens_along(self):
        _server('a')
        _server('b')
        later = datetime.datetime.now(UTC) + datetime.timedelta(hours=1)
        _token('a', 'h' * 64, later)
        _token('b', 'g' * 64, later)
        self.assertTrue(db.instance_delete('a'))
        self.assertIsNone(db.instance_get('a'))
        self.assertIsNone(db.console_token_get_by_hash('h' * 64))
        self.assertIsNotNone(db.console_token_get_by_hash('g' * 64))
        self.assertFalse(db.instance_delete('a'))


class TokenTestCase(base.DBTestCase):
    def test_lookup_delete_and_purge(self):
        now = datetime.datetime.now(UTC)
        _token('a', '1' * 64, now - datetime.timedelta(seconds=1))
        _token('a', '2' * 64, now + datetime.timedelta(seconds=60))
        _token('b', '3' * 64, now + datetime.timedelta(seconds=60))
        self.assertEqual({'instance_uuid': 'b', 'console_type': 'serial',
                          'host': '127.0.0.1', 'port': 10000,
                          'expires_at': now + datetime.timedelta(
                              seconds=60)},
                         db.console_token_get_by_hash('3' * 64))
        self.assertEqual(1, db.console_token_purge_expired(now))
        self.assertIsNone(db.console_token_get_by_hash('1' * 64))
        self.assertEqual(1, db.console_token_delete_for_instance('a'))
        self.assertIsNone(db.console_token_get_by_hash('2' * 64))
        self.assertIsNotNone(db.console_token_get_by_hash('3' * 64))

    def test_hash_is_unique(self):
        later = datetime.datetime.now(UTC) + datetime.timedelta(hours=1)
        _token('a', '1' * 64, later)
        self.assertRaises(exception.Conflict, _token, 'b', '1' * 64, later)


class OldDatabaseTestCase(base.DBTestCase):
    """A database made before a column was added gets it on configure."""

    OLD_SERVERS = """CREATE TABLE servers (
        uuid VARCHAR(36) NOT NULL PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        project_id VARCHAR(255) NOT NULL,
        user_id VARCHAR(255) NOT NULL,
        flavor_id VARCHAR(255) NOT NULL,
        image_id VARCHAR(36) NOT NULL,
        status VARCHAR(16) NOT NULL,
        task_state VARCHAR(32),
        host VARCHAR(255),
        created_at DATETIME NOT NULL,
        updated_at DATETIME,
        fault_message TEXT)"""

    def test_missing_column_of_instances_is_added(self):
        path = os.path.join(os.path.dirname(self.db_path), 'old.sqlite')
        conn = sqlite3.connect(path)
        conn.execute(self.OLD_SERVERS.replace(
            'TABLE servers', 'TABLE instances').replace(
            'status VARCHAR(16)', 'vm_state VARCHAR(255)'))
        conn.commit()
        conn.close()
        db.configure('sqlite:///' + path)
        _server('new', description='n')
        self.assertEqual('n', db.instance_get('new')['description'])
        db.configure('sqlite:///' + path)
        self.assertEqual('n', db.instance_get('new')['description'])

    def test_missing_description_is_added(self):
        path = os.path.join(os.path.dirname(self.db_path), 'old.sqlite')
        conn = sqlite3.connect(path)
        conn.execute(self.OLD_SERVERS)
        conn.execute(
            "INSERT INTO servers (uuid, name, project_id, user_id, "
            "flavor_id, image_id, status, created_at) VALUES ('old', 'vm', "
            "'p1', 'u1', '1', 'i1', 'ACTIVE', '2025-01-01 00:00:00')")
        conn.commit()
        conn.close()
        db.configure('sqlite:///' + path)
        conn = sqlite3.connect(path)
        self.addCleanup(conn.close)
        # Moved to instances (see test_migration), with the column.
        columns = [row[1] for row in conn.execute(
            'PRAGMA table_info(instances)')]
        self.assertIn('description', columns)
        old = db.instance_get('old')
        self.assertEqual(('active', None), (old['vm_state'],
                                            old['description']))
        self.assertEqual('d', db.instance_update(
            'old', {'description': 'd'})['description'])
        _server('new', description='n')
        self.assertEqual('n', db.instance_get('new')['description'])
        # Tables that were missing altogether are made.
        self.assertEqual([], db.service_list())
        # Configuring again finds nothing to add (SQLite refuses to add
        # a column twice).
        db.configure('sqlite:///' + path)
        self.assertEqual('d', db.instance_get('old')['description'])


class ServiceTestCase(base.DBTestCase):
    def test_first_report_creates_the_service(self):
        before = db.utcnow()
        service = db.service_report('h1', 'nova-compute', 'compute',
                                    {'vcpus': 4})
        self.assertEqual(
            {'host': 'h1', 'binary': 'nova-compute', 'topic': 'compute',
             'disabled': False, 'disabled_reason': None,
             'forced_down': False, 'stopped': False, 'report_count': 1,
             'report': {'vcpus': 4}},
            {k: v for k, v in service.items()
             if k not in ('id', 'created_at', 'updated_at')})
        self.assertLessEqual(before, service['created_at'])
        self.assertEqual(service['created_at'], service['updated_at'])
        self.assertEqual(UTC, service['updated_at'].tzinfo)
        self.assertEqual(service, db.service_get_by_host('h1'))

    def test_later_reports_update_it(self):
        first = db.service_report('h1', 'nova-compute', 'compute',
                                  {'vcpus': 4})
        second = db.service_report('h1', 'nova-compute', 'compute',
                                   {'vcpus': 8, 'running_vms': 1})
        self.assertEqual((first['id'], 2, {'vcpus': 8, 'running_vms': 1}),
                         (second['id'], second['report_count'],
                          second['report']))
        self.assertEqual(first['created_at'], second['created_at'])
        self.assertGreaterEqual(second['updated_at'], first['updated_at'])
        self.assertEqual(1, len(db.service_list()))

    def test_stop_report_keeps_the_content(self):
        db.service_report('h1', 'nova-compute', 'compute', {'vcpus': 4})
        stopped = db.service_report('h1', 'nova-compute', 'compute', None,
                                    up=False)
        self.assertEqual((True, {'vcpus': 4}, 2), (
            stopped['stopped'], stopped['report'],
            stopped['report_count']))
        again = db.service_report('h1', 'nova-compute', 'compute',
                                  {'vcpus': 2})
        self.assertFalse(again['stopped'])

    def test_racing_reports_each_count(self):
        # Several hosts' first reports and later ones at once: no report
        # lost, no IntegrityError from two first reports of one host.
        start = threading.Barrier(6)
        errors = []

        def report(host):
            start.wait()
            try:
                for _ in range(10):
                    db.service_report(host, 'nova-compute', 'compute', {})
            except Exception as e:
                errors.append(e)
        threads = [threading.Thread(target=report, args=(host,))
                   for host in ('h1', 'h1', 'h1', 'h2', 'h2', 'h2')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        self.assertEqual({'h1': 30, 'h2': 30},
                         {s['host']: s['report_count']
                          for s in db.service_list()})

    def test_first_report_without_content(self):
        service = db.service_report('h1', 'nova-compute', 'compute', None)
        self.assertEqual({}, service['report'])

    def test_lookup_and_list(self):
        self.assertIsNone(db.service_get_by_host('h1'))
        self.assertEqual([], db.service_list())
        db.service_report('h2', 'nova-compute', 'compute', {})
        db.service_report('h1', 'nova-compute', 'compute', {})
        db.service_report('h2', 'nova-compute', 'compute', {})
        self.assertEqual(['h2', 'h1'],
                         [s['host'] for s in db.service_list()])
        self.assertEqual('h1', db.service_get_by_host('h1')['host'])


class RetryTestCase(base.DBTestCase):
    """Writes that may race another process are tried again, each time
    in a new transaction, on a deadlock, a lost connection or SQLite's
    busy database; other errors are not retried."""

    def setUp(self):
        super().setUp()
        _server('s1')
        self.real = db._transaction
        self.calls = 0

    def _failing_once(self, error):
        def transaction():
            self.calls += 1
            if self.calls == 1:
                raise error
            return self.real()
        return mock.patch.object(db, '_transaction', transaction)

    def _errors(self):
        busy = sa_exc.OperationalError('UPDATE', {}, sqlite3.OperationalError(
            'database is locked'))
        return [db_exc.DBDeadlock(), db_exc.DBConnectionError(),
                db_exc.DBError(busy)]

    def test_instance_update_is_retried(self):
        for error in self._errors():
            self.calls = 0
            with self._failing_once(error), mock.patch('time.sleep'):
                self.assertEqual('active', db.instance_update(
                    's1', {'vm_state': 'active'})['vm_state'])
            self.assertEqual(2, self.calls, error)

    def test_service_report_and_delete_are_retried(self):
        for error in self._errors():
            self.calls = 0
            with self._failing_once(error), mock.patch('time.sleep'):
                db.service_report('h1', 'nova-compute', 'compute', {})
            self.assertEqual(2, self.calls, error)
        self.assertEqual(3, db.service_get_by_host('h1')['report_count'])
        self.calls = 0
        with self._failing_once(db_exc.DBDeadlock()), \
                mock.patch('time.sleep'):
            self.assertTrue(db.instance_delete('s1'))
        self.assertEqual(2, self.calls)

    def test_other_errors_are_not_retried(self):
        with self._failing_once(db_exc.DBError(ValueError('bad'))):
            self.assertRaises(db_exc.DBError, db.instance_update, 's1',
                              {'vm_state': 'active'})
        self.assertEqual(1, self.calls)


class IntegrityTestCase(base.DBTestCase):
    def test_any_integrity_error_is_a_conflict_as_before(self):
        # NOT NULL: oslo.db has no exception of its own for it.
        self.assertRaises(exception.Conflict, db.flavor_create,
                          {'id': '1', 'name': None, 'ram': 1, 'vcpus': 1})
        self.assertEqual([], db.flavor_list())


class WriterLockTestCase(base.DBTestCase):
    """A writer transaction that reads and then writes must not fail with
    "database is locked" when another writer commits in between."""

    def test_read_then_write_while_another_writer_commits(self):
        db.service_report('host-a', 'nova-compute', 'compute', {})
        other_done = threading.Event()
        errors = []

        def other_writer():
            try:
                db.service_report('host-a', 'nova-compute', 'compute',
                                  {'n': 2})
            except Exception as e:
                errors.append(e)
            other_done.set()

        table = models.Service.__table__
        # Called without the retry decorator: the first try must work.
        with db._transaction() as session:
            row = session.scalars(sa.select(models.Service).where(
                table.c.host == 'host-a')).first()
            thread = threading.Thread(target=other_writer)
            thread.start()
            # The other writer commits now unless this transaction holds
            # the write lock (then it waits for this one's commit).
            other_done.wait(0.5)
            row.topic = 'mine'
            session.flush()
        thread.join(30)
        self.assertEqual([], errors)
        self.assertTrue(other_done.is_set())
        service = db.service_get_by_host('host-a')
        self.assertEqual({'n': 2}, service['report'])


class InstanceWithServiceTestCase(base.DBTestCase):
    """The console output's one read (issue 14): a Core statement now;
    it must give what instance_get and the service row give."""

    def _liveness(self, service):
        return {key: service[key] for key in db._SERVICE_LIVENESS_KEYS}

    def test_instance_and_its_host_s_liveness(self):
        _server(uuid='s1', host='h1', metadata={'k': 'v'}, key_name='kp',
                fault='boom', locked=True, locked_by='admin')
        service = db.service_report('h1', 'nova-compute', 'compute',
                                    {'vcpus': 4})
        db.service_update(service['id'], {'disabled': True,
                                          'disabled_reason': 'why'})
        instance, found = db.instance_get_with_service('s1')
        self.assertEqual(db.instance_get('s1'), instance)
        self.assertEqual({'k': 'v'}, instance['metadata'])
        self.assertEqual('boom', instance['fault'])
        self.assertEqual(UTC, instance['created_at'].tzinfo)
        self.assertEqual(self._liveness(db.service_get_by_host('h1')),
                         found)
        self.assertTrue(found['disabled'])
        self.assertEqual(UTC, found['updated_at'].tzinfo)

    def test_defaults_of_columns_left_null(self):
        _server(uuid='s1')
        db.get_engine().dispose()
        with db._transaction() as session:
            session.execute(sa.update(models.Instance).values(
                disk_config=None, power_state=None, metadata_=None))
        instance, _found = db.instance_get_with_service('s1')
        self.assertEqual(db.instance_get('s1'), instance)
        self.assertEqual(('MANUAL', 0, {}), (instance['disk_config'],
                                             instance['power_state'],
                                             instance['metadata']))

    def test_no_host_or_host_never_registered(self):
        _server(uuid='s1', host=None)
        _server(uuid='s2', host='nowhere')
        db.service_report('h1', 'nova-compute', 'compute', {})
        for uuid in ('s1', 's2'):
            instance, found = db.instance_get_with_service(uuid)
            self.assertEqual(db.instance_get(uuid), instance)
            self.assertIsNone(found)

    def test_no_such_instance(self):
        self.assertEqual((None, None), db.instance_get_with_service('nope'))

    def test_no_orm_session(self):
        # What made the read cost twice what it does: an ORM Session
        # and a mapped Instance built for one row.
        _server(uuid='s1')
        made = []

        def began(*args):
            made.append(args)
        sa.event.listen(sa.orm.Session, 'after_begin', began)
        self.addCleanup(sa.event.remove, sa.orm.Session, 'after_begin',
                        began)
        db.instance_get_with_service('s1')
        self.assertEqual([], made)
