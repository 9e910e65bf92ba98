"""Bringing a database made by an older release to today's tables.

:func:`upgrade` runs on every ``nova.db.api.configure()``. Each step looks
at the schema it finds and does only what is missing, so a second run
changes nothing. All steps run in ONE transaction: a process killed
midway leaves the database as it was, and of several services starting
together on one SQLite file one upgrades while the others wait
(``BEGIN IMMEDIATE``, up to the busy timeout), then find nothing to do.

Steps:

- the ``servers`` table of releases before the ``instances`` one: its
  rows move to ``instances``, the API status becoming Nova's
  ``vm_state`` (:data:`STATUS_TO_VM_STATE`), ``task_state`` kept, so an
  action in progress is still one (the restart recovery ends it);
- tables added since (``create_all``);
- nullable columns added since.
"""

import contextlib

from oslo_log import log as logging
import sqlalchemy as sa

from nova.compute import vm_states
from nova.db import models

LOG = logging.getLogger(__name__)

OLD_INSTANCES_TABLE = 'servers'

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


@contextlib.contextmanager
def _transaction(engine):
    """A connection in a transaction that holds DDL too.

    Python's sqlite3 module commits before DDL on its own, and opens its
    transaction only at the first write: with its own transaction control
    off, BEGIN IMMEDIATE takes the write lock at once and COMMIT ends it.
    Other backends get an ordinary transaction.
    """
    with engine.connect() as conn:
        if engine.dialect.name != 'sqlite':
            with conn.begin():
                yield conn
            return
        dbapi_conn = conn.connection.driver_connection
        saved = dbapi_conn.isolation_level
        dbapi_conn.isolation_level = None
        try:
            conn.exec_driver_sql('BEGIN IMMEDIATE')
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql('ROLLBACK')
                raise
            conn.exec_driver_sql('COMMIT')
        finally:
            dbapi_conn.isolation_level = saved


def upgrade(engine):
    """Run every step on ``engine``'s database (see the module's doc)."""
    with _transaction(engine) as conn:
        _move_servers_to_instances(conn)
        models.Base.metadata.create_all(conn)
        _add_missing_columns(conn)


def _vm_state_of(status_column):
    return sa.case(
        *[(sa.func.upper(status_column) == status, vm_state)
          for status, vm_state in STATUS_TO_VM_STATE.items()],
        else_=vm_states.ERROR)


def _move_servers_to_instances(conn):
    if OLD_INSTANCES_TABLE not in sa.inspect(conn).get_table_names():
        return
    old = sa.Table(OLD_INSTANCES_TABLE, sa.MetaData(), autoload_with=conn)
    new = models.Instance.__table__
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


def _add_missing_columns(conn):
    """Columns added since a database was made (nullable ones only)."""
    inspector = sa.inspect(conn)
    for table in models.Base.metadata.sorted_tables:
        have = {c['name'] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have and column.nullable:
                conn.execute(sa.text('ALTER TABLE %s ADD COLUMN %s %s' % (
                    table.name, column.name,
                    column.type.compile(conn.dialect))))
