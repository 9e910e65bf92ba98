"""tools/setup-mariadb.sh and nova.db on the real MariaDB of this machine.

The script: the server listens on 127.0.0.1 only, a second run changes
nothing, the password is root's alone, ``--database`` makes a database
nova (and only with its password) can use, ``--drop-database`` removes
it, a bad name is refused. nova.db: the upgrade of a database made by
today's main keeps every row, racing writers behave as on SQLite.
No guest is needed: test.TestCase, not FunctionalTestCase.
"""

import datetime
import importlib
import os
import stat
import subprocess
import threading
import urllib.parse

import pymysql
import sqlalchemy as sa

from nova.db import api as db
from nova.db import migration
from nova import test
from nova.tests.functional import base
from nova.tests.functional import mariadb_database

SETUP = mariadb_database.SETUP_MARIADB
CNF = '/etc/mysql/mariadb.conf.d/90-nova.cnf'
PASSWORD_FILE = '/var/lib/nova/mariadb-password'
UTC = datetime.timezone.utc
# The tables the release before alembic made (the first revision's).
initial = importlib.import_module(
    'nova.db.migrations.versions.8d2c41e0a7b3_initial')


def listeners():
    """Local addresses the server listens on."""
    pids = subprocess.run(['pgrep', '-x', 'mariadbd'], capture_output=True,
                          text=True).stdout.split()
    out = subprocess.run(['ss', '-Hltnp'], capture_output=True,
                         text=True).stdout
    return sorted(line.split()[3] for line in out.splitlines()
                  if any('pid=%s,' % pid in line for pid in pids))


class SetupScriptTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        base.run_tool(SETUP)

    def test_loopback_only_and_a_second_run_changes_nothing(self):
        self.assertEqual(['127.0.0.1:3306'], listeners())
        before = os.stat(CNF).st_mtime_ns, listeners()
        pids = subprocess.run(['pgrep', '-x', 'mariadbd'],
                              capture_output=True, text=True).stdout
        base.run_tool(SETUP)
        self.assertEqual(before, (os.stat(CNF).st_mtime_ns, listeners()))
        self.assertEqual(pids, subprocess.run(
            ['pgrep', '-x', 'mariadbd'], capture_output=True,
            text=True).stdout)  # not restarted

    def test_password_is_roots_alone(self):
        st = os.stat(PASSWORD_FILE)
        self.assertEqual((0, 0o600), (st.st_uid, stat.S_IMODE(st.st_mode)))

    def test_database_for_nova_and_drop(self):
        name = mariadb_database.new_name()
        url = base.run_tool(SETUP, '--database', name).strip()
        self.addCleanup(mariadb_database.drop, name)
        parts = urllib.parse.urlsplit(url)
        self.assertEqual(('mysql+pymysql', '127.0.0.1', 3306, '/' + name),
                         (parts.scheme, parts.hostname, parts.port,
                          parts.path))
        with open(PASSWORD_FILE) as f:
            self.assertEqual(f.read(), parts.password)
        conn = pymysql.connect(host='127.0.0.1', user='nova',
                               password=parts.password, database=name)
        conn.cursor().execute('CREATE TABLE t (x INT)')
        conn.close()
        self.assertRaises(pymysql.err.OperationalError, pymysql.connect,
                          host='127.0.0.1', user='nova', password='wrong',
                          database=name)
        self.assertRaises(pymysql.err.OperationalError, pymysql.connect,
                          host='127.0.0.1', user='', database=name)
        # Again: the same URL, the table kept.
        self.assertEqual(url, base.run_tool(SETUP, '--database',
                                            name).strip())
        self.assertIn(name, base.run_tool(SETUP, '--list-databases').split())
        mariadb_database.drop(name)
        self.assertNotIn(name,
                         base.run_tool(SETUP, '--list-databases').split())

    def test_bad_name_is_refused(self):
        proc = subprocess.run([SETUP, '--database', 'x`; DROP'],
                              capture_output=True, text=True)
        self.assertEqual(1, proc.returncode)
        self.assertIn("database name 'x`; DROP': letters, digits, _ only",
                      proc.stderr)


class MariaDBTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.url = mariadb_database.create()
        self.addCleanup(db.dispose)

    def _today_main_database(self):
        """Tables as today's main made them (create_all), with rows."""
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        tables = initial._tables()
        t = tables.tables
        with engine.begin() as conn:
            tables.create_all(conn)
            conn.execute(t['flavors'].insert().values(
                id='1', name='tiny', ram=512, vcpus=1, disk=0,
                extra_specs={'hw:serial_port_count': '2'}))
            conn.execute(t['images'].insert().values(
                id='i1', name='cirros', kernel_path='/k',
                disk_format='raw', properties={'os': 'x'},
                status='active'))
            for n in range(3):
                conn.execute(t['instances'].insert().values(
                    uuid='u%d' % n, name='vm%d' % n, project_id='p1',
                    user_id='u1', flavor_id='1', image_id='i1',
                    vm_state='active', task_state=None, host='host-a',
                    created_at=datetime.datetime(2026, 1, 1, 0, 0, 0, n,
                                                 tzinfo=UTC),
                    description='d%d' % n))
            conn.execute(t['services'].insert().values(
                host='host-a', binary='nova-compute', topic='compute',
                disabled=False, forced_down=False, stopped=False,
                report_count=5, report={'vcpus': 2},
                created_at=datetime.datetime(2026, 1, 1, tzinfo=UTC)))
        return engine, tables

    def _dump(self, engine, tables):
        with engine.connect() as conn:
            return {name: sorted(conn.execute(sa.select(table)).all(),
                                 key=repr)
                    for name, table in tables.tables.items()}

    def test_upgrade_keeps_every_row(self):
        engine, tables = self._today_main_database()
        before = self._dump(engine, tables)
        db.configure(self.url)
        self.assertEqual(before, self._dump(engine, tables))
        self.assertEqual(migration.head(), migration.version(engine))
        # Created one microsecond apart: MariaDB kept them in order.
        self.assertEqual(['u2', 'u1', 'u0'],
                         [i['uuid'] for i in db.instance_get_all()])
        self.assertEqual(6, db.service_report(
            'host-a', 'nova-compute', 'compute', {})['report_count'])
        # t13's revision: each instance keeps its image, properties as
        # a dict (MariaDB reflects the JSON column as text).
        kept = db.instance_image(db.instance_get('u0'))
        self.assertEqual(('i1', {'os': 'x'}),
                         (kept['id'], kept['properties']))

    def test_racing_writers(self):
        db.configure(self.url)
        db.instance_create({
            'uuid': 's1', 'name': 'vm', 'project_id': 'p1', 'user_id': 'u',
            'flavor_id': '1', 'image_id': 'i1', 'vm_state': 'building',
            'task_state': 'spawning'})
        start, won, errors = threading.Barrier(8), [], []

        def race(n):
            start.wait()
            try:
                if n % 2:
                    db.service_report('h1', 'nova-compute', 'compute', {})
                elif db.instance_update('s1', {'vm_state': 'active',
                                               'task_state': None},
                                        expected_task_state='spawning'):
                    won.append(n)
            except Exception as e:
                errors.append(e)
        threads = [threading.Thread(target=race, args=(n,))
                   for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        self.assertEqual(1, len(won))
        self.assertEqual(4, db.service_get_by_host('h1')['report_count'])

    def test_services_starting_together_upgrade_once(self):
        # MariaDB commits each DDL statement on its own: the upgrade
        # lock makes the others wait, then find nothing to do.
        engines = [db.make_engine(self.url) for _ in range(4)]
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
        self.assertEqual(migration.head(), migration.version(engines[0]))
        with engines[0].connect() as conn:
            self.assertEqual(
                {'alembic_version', 'flavors', 'images', 'instances',
                 'console_auth_tokens', 'services',
                 # the later revisions' (srv, ver, adm)
                 'key_pairs', 'tags', 'instance_actions',
                 'instance_actions_events', 'migrations',
                 'instance_flavors', 'aggregates', 'aggregate_hosts',
                 'aggregate_metadata',
                 # t13's
                 'instance_images',
                 # shv
                 'shelved_instances',
                 # quotas
                 'quotas', 'quota_classes',
                 # access
                 'flavor_projects', 'instance_usages'},
                set(sa.inspect(conn).get_table_names()))
