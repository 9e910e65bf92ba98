import datetime
import os
import sqlite3
import threading

from nova.db import api as db
from nova import exception
from nova.tests.unit.db import base

UTC = datetime.timezone.utc


def _server(uuid='s1', project='p1', host='h1', **kw):
    values = {'uuid': uuid, 'name': 'vm', 'project_id': project,
              'user_id': 'u1', 'flavor_id': '1', 'image_id': 'i1',
              'status': 'BUILD', 'task_state': 'spawning', 'host': host}
    values.update(kw)
    return db.server_create(values)


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
        self.assertEqual({'flavors', 'images', 'servers',
                          'console_auth_tokens'}, tables)
        self.assertEqual('wal', conn.execute(
            'PRAGMA journal_mode').fetchone()[0])

    def test_sqlite_connections_wait_for_a_busy_writer(self):
        db.flavor_list()
        with db._transaction() as session:
            timeout = session.connection().exec_driver_sql(
                'PRAGMA busy_timeout').scalar()
        self.assertEqual(db.SQLITE_BUSY_TIMEOUT * 1000, timeout)

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
                          'disk': 0, 'extra_specs': {'a': 'b'}}, fetched)
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
        server = db.server_get('s1')
        self.assertIs(dict, type(server))
        self.assertEqual(UTC, server['created_at'].tzinfo)
        self.assertTrue(before <= server['created_at'] <=
                        datetime.datetime.now(UTC))
        self.assertIsNone(server['fault'])
        self.assertNotIn('fault_message', server)

    def test_update_only_in_expected_state(self):
        _server()
        self.assertIsNone(db.server_update(
            's1', {'status': 'ACTIVE'}, expected_task_state='deleting'))
        self.assertIsNone(db.server_update(
            's1', {'status': 'ACTIVE'}, expected_status=('ACTIVE', 'ERROR')))
        self.assertEqual('BUILD', db.server_get('s1')['status'])
        updated = db.server_update(
            's1', {'status': 'ERROR', 'task_state': None, 'fault': 'boom'},
            expected_status='BUILD', expected_task_state=(None, 'spawning'))
        self.assertEqual(('ERROR', None, 'boom'), (
            updated['status'], updated['task_state'], updated['fault']))
        self.assertEqual(updated, db.server_get('s1'))
        self.assertTrue(updated['updated_at'] >= updated['created_at'])
        # None as the expected value means "no task".
        self.assertIsNotNone(db.server_update(
            's1', {'status': 'ACTIVE'}, expected_task_state=None))

    def test_update_of_missing_server(self):
        self.assertIsNone(db.server_update('nope', {'status': 'ACTIVE'}))

    def test_one_winner_among_racing_threads(self):
        _server(status='ACTIVE', task_state=None)
        winners = []
        start = threading.Barrier(10)

        def race(i):
            start.wait()
            if db.server_update('s1', {'task_state': 'rebooting',
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
        self.assertEqual(str(winners[0]), db.server_get('s1')['name'])

    def test_list_filters_and_orders_newest_first(self):
        t0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
        _server('a', 'p1', 'h1', created_at=t0)
        _server('b', 'p2', 'h1', created_at=t0 + datetime.timedelta(1))
        _server('c', 'p1', 'h2', created_at=t0 + datetime.timedelta(2))
        self.assertEqual(['c', 'b', 'a'],
                         [s['uuid'] for s in db.server_list()])
        self.assertEqual(['c', 'a'], [s['uuid'] for s in
                                      db.server_list(project_id='p1')])
        self.assertEqual(['b', 'a'], [s['uuid'] for s in
                                      db.server_list(host='h1')])

    def test_delete_takes_the_console_tokens_along(self):
        _server('a')
        _server('b')
        later = datetime.datetime.now(UTC) + datetime.timedelta(hours=1)
        _token('a', 'h' * 64, later)
        _token('b', 'g' * 64, later)
        self.assertTrue(db.server_delete('a'))
        self.assertIsNone(db.server_get('a'))
        self.assertIsNone(db.console_token_get_by_hash('h' * 64))
        self.assertIsNotNone(db.console_token_get_by_hash('g' * 64))
        self.assertFalse(db.server_delete('a'))


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
