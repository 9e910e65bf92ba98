"""Schema migrations: alembic, run in code (no ``alembic.ini``).

:func:`upgrade` brings a database to the newest revision; it runs on
every ``nova.db.api.configure()`` and as ``nova-manage db sync``.
:func:`version` is the revision a database is at (``nova-manage db
version``). The revisions live in ``nova/db/migrations/versions``.

All of an upgrade runs in ONE transaction where the database allows it:
on SQLite (whose DDL is transactional) a process killed midway leaves
the database as it was, and of several services starting together on
one file one upgrades while the others wait (``BEGIN IMMEDIATE``, up to
the busy timeout), then find nothing to do. MariaDB commits each DDL
statement on its own; there, services starting together take turns
through a named lock (``GET_LOCK``) and each revision is written so that
running it again after a crash finishes it.

The first revision (``initial``) also takes a database made before
alembic forward, with the steps below (:func:`upgrade_pre_alembic`);
each does only what is missing:

- the ``servers`` table of releases before the ``instances`` one: its
  rows move to ``instances``, the API status becoming Nova's
  ``vm_state`` (:data:`STATUS_TO_VM_STATE`), ``task_state`` kept, so an
  action in progress is still one (the restart recovery ends it);
- tables added since;
- nullable columns added since.
"""

import contextlib
import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic.runtime import migration as alembic_migration
from oslo_log import log as logging
import sqlalchemy as sa

from nova.compute import vm_states

LOG = logging.getLogger(__name__)

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), 'migrations')
OLD_INSTANCES_TABLE = 'servers'
# MariaDB: how long a starting service waits for another one's upgrade.
LOCK_NAME = 'nova_db_upgrade'
LOCK_TIMEOUT = 300  # seconds

# The status column of ``servers`` (the API status) -> vm_state. The
# task those statuses showed (a reboot, a rebuild, a migration) is the
# row's task_state, which is kept. Any other value (none was ever
# written) becomes ERROR, the state that asks an operator to look.
STATUS_TO_VM_STATE = {
    'BUILD': vm_states.BUILDING,
    'ACTIVE': vm_states.ACTIVE,
    'ERROR': vm_states.ERROR,
    'REBOOT': vm_states.ACTIVE,
    'HARD_REBOOT': vm_states.ACTIVE,
    'REBUILD': vm_states.ACTIVE,
    'MIGRATING': vm_states.ACTIVE,
}


def _sqlite_transaction(conn):
    """BEGIN IMMEDIATE on ``conn``: the write lock at once, DDL included.

    Python's sqlite3 module commits before DDL on its own and opens its
    transaction only at the first write: with its transaction control
    off, BEGIN IMMEDIATE takes the write lock and the COMMIT of
    ``conn.commit()`` ends it. The ``in_transaction`` mark tells
    oslo.db's engine events not to send a BEGIN of their own.
    """
    dbapi_conn = conn.connection.driver_connection
    saved = dbapi_conn.isolation_level
    dbapi_conn.isolation_level = None
    conn.info['in_transaction'] = True
    conn.exec_driver_sql('BEGIN IMMEDIATE')
    return saved


@contextlib.contextmanager
def _locked(engine):
    """A connection to ``engine`` holding the upgrade to itself."""
    with engine.connect() as conn:
        if engine.dialect.name == 'sqlite':
            saved = _sqlite_transaction(conn)
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.connection.driver_connection.isolation_level = saved
            return
        if engine.dialect.name in ('mysql', 'mariadb'):
            got = conn.exec_driver_sql(
                "SELECT GET_LOCK('%s', %d)" % (LOCK_NAME, LOCK_TIMEOUT)
            ).scalar()
            if got != 1:
                raise RuntimeError(
                    'Another service has been upgrading the database for '
                    '%d s (MariaDB lock %s); try again when it is done' %
                    (LOCK_TIMEOUT, LOCK_NAME))
            conn.commit()  # the lock is the session's, not a transaction's
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.exec_driver_sql("SELECT RELEASE_LOCK('%s')" % LOCK_NAME)
                conn.commit()
            return
        with conn.begin():
            yield conn


def _config(conn):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', MIGRATIONS_DIR)
    cfg.attributes['connection'] = conn
    return cfg


def upgrade(engine, revision='head'):
    """Bring ``engine``'s database to ``revision`` (see the module doc)."""
    with _locked(engine) as conn:
        alembic_command.upgrade(_config(conn), revision)


def version(engine):
    """The revision the database is at; None when alembic never ran."""
    with engine.connect() as conn:
        return alembic_migration.MigrationContext.configure(
            conn).get_current_revision()


def head():
    """The newest revision these migrations know."""
    from alembic import script as alembic_script
    return alembic_script.ScriptDirectory(MIGRATIONS_DIR).get_current_head()


# -- before alembic ----------------------------------------------------------

def upgrade_pre_alembic(conn, metadata):
    """Bring a database made before alembic (or an empty one) to the
    tables of ``metadata``, those of the first revision."""
    _move_servers_to_instances(conn, metadata.tables['instances'])
    metadata.create_all(conn)
    _add_missing_columns(conn, metadata)


def _vm_state_of(status_column):
    return sa.case(
        *[(sa.func.upper(status_column) == status, vm_state)
          for status, vm_state in STATUS_TO_VM_STATE.items()],
        else_=vm_states.ERROR)


def _move_servers_to_instances(conn, new):
    if OLD_INSTANCES_TABLE not in sa.inspect(conn).get_table_names():
        return
    old = sa.Table(OLD_INSTANCES_TABLE, sa.MetaData(), autoload_with=conn)
    new.create(conn, checkfirst=True)
    columns = []
    for column in new.columns:
        if column.name == 'vm_state':
            columns.append(_vm_state_of(old.c.status))
        elif column.name in old.c:
            columns.append(old.c[column.name])
        else:
            # Added to servers after the database was made: nullable.
            columns.append(sa.null())
    # Rows already in instances win: a database an older release went
    # back to using after an upgrade keeps the instances it knew.
    query = sa.select(*columns).where(
        old.c.uuid.not_in(sa.select(new.c.uuid)))
    moved = conn.execute(new.insert().from_select(
        [c.name for c in new.columns], query)).rowcount
    old.drop(conn)
    LOG.info('Database upgraded: %d rows of table %s moved to table %s, '
             'their status now a vm_state', moved, OLD_INSTANCES_TABLE,
             new.name)


def _add_missing_columns(conn, metadata):
    """Columns added since a database was made (nullable ones only)."""
    inspector = sa.inspect(conn)
    preparer = conn.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        have = {c['name'] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have and column.nullable:
                conn.execute(sa.text('ALTER TABLE %s ADD COLUMN %s %s' % (
                    preparer.format_table(table),
                    preparer.format_column(column),
                    column.type.compile(conn.dialect))))
