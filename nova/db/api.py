"""Database access for the compute API: plain dicts in, plain dicts out.

On oslo.db's enginefacade: one transaction context manager per process,
made by :func:`configure` (or, on first use, from the ``[database]``
options, oslo.db's). Every function runs in its own short transaction
(``writer`` or ``reader``), so threads share nothing but the engine's
pool. State changes that race (two requests on one instance, a worker
finishing a task the user already superseded) are single conditional
UPDATEs: see :func:`instance_update`. The writes that may race another
process are retried on a deadlock (MariaDB) or a busy database (SQLite)
and on a lost connection (:data:`retry_on_race`). An instance's state is
Nova's ``vm_state`` and ``task_state``; the REST API derives a server's
status from them.
"""

import contextlib
import datetime
import os
import stat
import threading

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

import nova.conf
from nova.db import migration
from nova.db import models
from nova import exception

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

DB_DIR_MODE = 0o700
DB_FILE_MODE = 0o600
SQLITE_BUSY_TIMEOUT = 30  # seconds a writer waits for another one
ANY = object()  # "do not care" for the expected values of instance_update

_FLAVOR_KEYS = ('id', 'name', 'ram', 'vcpus', 'disk', 'extra_specs',
                'swap', 'ephemeral_gb', 'rxtx_factor', 'is_public',
                'disabled')
_IMAGE_KEYS = ('id', 'name', 'kernel_path', 'ramdisk_path', 'disk_path',
               'disk_format', 'properties', 'status')
_INSTANCE_KEYS = ('uuid', 'name', 'project_id', 'user_id', 'flavor_id',
                  'image_id', 'vm_state', 'task_state', 'host',
                  'created_at', 'updated_at', 'description')
# -- srv: {key of the instance dict: its default for rows made before it}.
# 'metadata' is the column's name; the model's attribute is metadata_.
_INSTANCE_SERVER_FIELDS = {
    'metadata': {}, 'key_name': None, 'key_data': None,
    'access_ip_v4': None, 'access_ip_v6': None, 'disk_config': 'MANUAL',
    'power_state': 0, 'launched_at': None, 'terminated_at': None,
    'availability_zone': None, 'config_drive': '', 'user_data': None,
}
_SERVICE_KEYS = ('id', 'host', 'binary', 'topic', 'disabled',
                 'disabled_reason', 'forced_down', 'stopped', 'report_count',
                 'report', 'created_at', 'updated_at')
_TOKEN_KEYS = ('instance_uuid', 'console_type', 'host', 'port',
               'expires_at')

# Keys of a report that describe the host's serial ports (see
# LibvirtDriver.serial_port_facts); serial_ports_seq orders them.
SERIAL_PORT_KEYS = ('serial_ports_total', 'serial_ports_free',
                    'serial_port_holders', 'serial_ports_seq')

_SWAP_LOCK = threading.Lock()
# A report is read, merged and written back: one writer at a time in
# this process (the conductor's heartbeats and the workers recording a
# finished action); other processes are what retry_on_race is for.
_SERVICE_LOCK = threading.Lock()
_INIT_LOCK = threading.Lock()
_context_manager = None  # enginefacade's transaction context manager
# Set while this thread is inside a writer transaction (_transaction).
_WRITING = threading.local()


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _sqlite_busy(exc):
    """SQLite's deadlock: a transaction that read, then found another
    writer had committed (``database is locked`` without waiting)."""
    inner = getattr(exc, 'inner_exception', None)
    return (isinstance(inner, sa_exc.OperationalError) and
            'database is locked' in str(inner))


# Starts each try in a new transaction: put it outside the transaction.
retry_on_race = oslo_db_api.wrap_db_retry(
    max_retries=10, retry_interval=0.1, max_retry_interval=2,
    inc_retry_interval=True, jitter=True, retry_on_deadlock=True,
    retry_on_disconnect=True, exception_checker=_sqlite_busy)


# -- engine -----------------------------------------------------------------

def _private_sqlite_file(path):
    """Create the database file 0600 (its folder 0700), or tighten it.

    It holds every tenant's instance names, faults and image paths. SQLite
    gives its -wal and -shm files the database file's mode.
    """
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=DB_DIR_MODE)
    elif stat.S_IMODE(os.stat(folder).st_mode) & 0o077:
        # Not changed here: it may be a folder other services share.
        LOG.warning('The folder %s of the database is open to group or '
                    'others (mode %04o); make it 0700', folder,
                    stat.S_IMODE(os.stat(folder).st_mode))
    for name in (path, path + '-wal', path + '-shm', path + '-journal'):
        flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOCTTY
        if name == path:
            flags |= os.O_CREAT
        try:
            fd = os.open(name, flags, DB_FILE_MODE)
        except FileNotFoundError:
            continue
        try:
            if stat.S_IMODE(os.fstat(fd).st_mode) != DB_FILE_MODE:
                os.fchmod(fd, DB_FILE_MODE)
        finally:
            os.close(fd)


def _pool_sqlite_connections(engine):
    """Keep an SQLite file's connections open between transactions.

    oslo.db gives a file database SQLAlchemy's NullPool: every
    transaction opened the file, mapped its WAL index and set the
    pragmas again, about 0.3 ms, a third of a one-row read (the
    console output path makes one per request). A QueuePool made as
    ``Pool.recreate()`` makes one (same creator and event listeners:
    oslo.db's, SQLAlchemy's dialect set-up, the pragmas below), sized by
    oslo.db's ``[database] max_pool_size``, ``max_overflow`` and
    ``pool_timeout``, as a MySQL engine's is. SQLAlchemy opens a file
    database with ``check_same_thread=False`` (its own default pool for
    one is a QueuePool), and a connection goes back rolled back, so no
    transaction or snapshot outlives its session.
    """
    old = engine.pool
    if not isinstance(old, sa.pool.NullPool):
        return
    opts = CONF.database
    engine.pool = sa.pool.QueuePool(
        old._creator, pool_size=opts.max_pool_size or 5,
        max_overflow=(10 if opts.max_overflow is None
                      else opts.max_overflow),
        timeout=opts.pool_timeout or 30, recycle=old._recycle,
        reset_on_return=old._reset_on_return, _dispatch=old.dispatch,
        dialect=old._dialect)


def _sqlite_pragmas(memory):
    """An ``on_engine_create`` hook: WAL and the busy timeout."""
    def pragmas(dbapi_conn):
        if not memory:
            # Readers do not block the writer, nor the writer them.
            dbapi_conn.execute('PRAGMA journal_mode=WAL')
        dbapi_conn.execute('PRAGMA busy_timeout=%d' %
                           (SQLITE_BUSY_TIMEOUT * 1000))

    def begin(conn):
        # oslo.db begins every SQLite transaction DEFERRED: one that read
        # and then writes fails at once with "database is locked" when
        # another connection committed in between (the busy timeout
        # cannot help: its snapshot is stale). A writer takes the write
        # lock when it begins instead, waiting up to the busy timeout.
        if not getattr(_WRITING, 'depth', 0):
            return
        if conn.connection.driver_connection.in_transaction:
            # oslo.db's listener began first; nothing ran in it yet.
            conn.exec_driver_sql('ROLLBACK')
        conn.exec_driver_sql('BEGIN IMMEDIATE')
        # oslo.db's listener, if it runs after this one, begins nothing.
        conn.info['in_transaction'] = True

    def hook(engine):
        if not memory:
            _pool_sqlite_connections(engine)
        event.listen(engine, 'connect', lambda conn, record: pragmas(conn))
        event.listen(engine, 'begin', begin)
        if memory:
            # Its one connection was made before this hook ran.
            with engine.connect() as conn:
                pragmas(conn.connection.driver_connection)
    return hook


def _new_context_manager(url):
    manager = enginefacade.transaction_context()
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == 'sqlite':
        memory = parsed.database in (None, '', ':memory:')
        if not memory:
            _private_sqlite_file(os.path.abspath(parsed.database))
        manager.append_on_engine_create(_sqlite_pragmas(memory))
    # The other [database] options are read from CONF by oslo.db.
    # thread_checkin (a sleep(0) after every transaction) lets eventlet's
    # green threads run; ours are OS threads, for which it only gives the
    # GIL away and waits for it back: up to a switch interval (5 ms) per
    # request on a busy API.
    manager.configure(connection=url, thread_checkin=False)
    return manager


def make_engine(url=None):
    """A new engine for ``url`` (default ``[database] connection``), set
    up as :func:`configure` sets up this process's, but not upgraded and
    not used by this module (``nova-manage db``, tests). Dispose of it."""
    return _new_context_manager(
        url or CONF.database.connection).writer.get_engine()


def configure(url=None):
    """(Re)create this process's engine and the tables; return the engine.

    ``url`` defaults to ``[database] connection``. The directory of a
    SQLite file is created when missing. The database is brought to the
    newest schema first (``nova.db.migration.upgrade``, alembic).
    """
    global _context_manager
    manager = _new_context_manager(url or CONF.database.connection)
    engine = manager.writer.get_engine()
    try:
        migration.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    with _SWAP_LOCK:
        old, _context_manager = _context_manager, manager
    if old is not None:
        old.writer.get_engine().dispose()
    return engine


def get_engine():
    """This process's engine (configured on first use)."""
    return _manager().writer.get_engine()


def dispose():
    """Forget the engine (closing its connections); tests use this."""
    global _context_manager
    with _SWAP_LOCK:
        old, _context_manager = _context_manager, None
    if old is not None:
        old.writer.get_engine().dispose()


def _manager():
    manager = _context_manager
    if manager is None:
        with _INIT_LOCK:
            if _context_manager is None:
                configure()
        manager = _context_manager
    return manager


class _Scope(object):
    """What enginefacade keeps a transaction's state on. Our functions
    take no request context: each call is its own transaction."""


@contextlib.contextmanager
def _transaction():
    """A writer session in a new transaction, committed on leaving; on
    SQLite it holds the write lock from its first statement."""
    manager = _manager()  # configured first: its upgrade locks alone
    _WRITING.depth = getattr(_WRITING, 'depth', 0) + 1
    try:
        with manager.writer.using(_Scope()) as session:
            yield session
    finally:
        _WRITING.depth -= 1


def _reading():
    """A reader session (the writer's database: no replica lag)."""
    return _manager().reader.using(_Scope())


def _insert(model, values, to_dict, what, before_flush=None):
    try:
        with _transaction() as session:
            row = model(**values)
            session.add(row)
            if before_flush is not None:
                before_flush(session, row)
            session.flush()
            return to_dict(row)
    except db_exc.DBError as e:
        # oslo.db names a duplicate key; any other integrity error stays
        # a Conflict, as it was before oslo.db.
        if not isinstance(e, db_exc.DBDuplicateEntry) and not isinstance(
                getattr(e, 'inner_exception', None), sa_exc.IntegrityError):
            raise
        raise exception.Conflict(reason='%s already exists' % what)


def _get(model, key, to_dict):
    with _reading() as session:
        row = session.get(model, key)
        return None if row is None else to_dict(row)


def _list(query, to_dict):
    with _reading() as session:
        return [to_dict(row) for row in session.scalars(query)]


def _keys(keys):
    return lambda row: {key: getattr(row, key) for key in keys}


# -- flavors and images -----------------------------------------------------

def flavor_create(values):
    """Insert a flavor; Conflict when its id or name is taken."""
    return _insert(models.Flavor, values, _keys(_FLAVOR_KEYS),
                   'A flavor with id %r or name %r' % (
                       values.get('id'), values.get('name')))


def flavor_get(flavor_id):
    return _get(models.Flavor, flavor_id, _keys(_FLAVOR_KEYS))


def flavor_list():
    return _list(sa.select(models.Flavor).order_by(models.Flavor.id),
                 _keys(_FLAVOR_KEYS))


def image_create(values):
    """Insert an image; Conflict when its id is taken."""
    return _insert(models.Image, values, _keys(_IMAGE_KEYS),
                   'An image with id %r' % values.get('id'))


def image_get(image_id):
    return _get(models.Image, image_id, _keys(_IMAGE_KEYS))


def image_list():
    return _list(sa.select(models.Image).order_by(models.Image.name,
                                                  models.Image.id),
                 _keys(_IMAGE_KEYS))


def image_update(image_id, values):
    """Change a catalog image (a snapshot's ``disk_path``, ``status``);
    the image dict, or None when it is gone."""
    with _transaction() as session:
        row = session.get(models.Image, image_id)
        if row is None:
            return None
        for key, value in values.items():
            if key not in _IMAGE_KEYS or key == 'id':
                raise ValueError('not an image key: %r' % key)
            setattr(row, key, value)
        session.flush()
        return _keys(_IMAGE_KEYS)(row)


def image_delete(image_id):
    """Remove a catalog image; False when it was gone."""
    with _transaction() as session:
        return session.execute(sa.delete(models.Image).where(
            models.Image.id == image_id)).rowcount == 1


# -- instances --------------------------------------------------------------

def _instance_dict(row):
    instance = {key: getattr(row, key) for key in _INSTANCE_KEYS}
    instance['fault'] = row.fault_message
    for key, default in _INSTANCE_SERVER_FIELDS.items():
        value = getattr(row, 'metadata_' if key == 'metadata' else key)
        instance[key] = default if value is None else value
    instance['metadata'] = dict(instance['metadata'])
    return instance


def _instance_values(values):
    values = dict(values)
    if 'fault' in values:
        values['fault_message'] = values.pop('fault')
    return values


def instance_create(values, image=None):
    """Insert an instance; ``values`` use the keys of the instance dict.

    ``image``: the image dict (nova.image) it is created with, copied
    with the row in one transaction (see :func:`instance_image`).
    Conflict when its uuid is taken.
    """
    values = _instance_values(values)
    values.setdefault('created_at', utcnow())
    values.setdefault('updated_at', values['created_at'])
    if 'metadata' in values:  # the model's attribute (see models)
        values['metadata_'] = values.pop('metadata')

    def snapshots(session, instance):
        _snapshot_flavor(session, instance)
        if image is not None:
            _snapshot_image(session, instance.uuid, image)
    return _insert(models.Instance, values, _instance_dict,
                   'An instance with uuid %r' % values.get('uuid'),
                   before_flush=snapshots)


def instance_get(uuid):
    """The instance dict, or None when there is no such instance."""
    return _get(models.Instance, uuid, _instance_dict)


def instance_get_all(project_id=None, host=None, task_states=None):
    """Instances, newest first; all of them unless filtered (by project,
    host, or a sequence of task states)."""
    query = sa.select(models.Instance).order_by(
        models.Instance.created_at.desc(), models.Instance.uuid)
    if task_states is not None:
        query = query.where(models.Instance.task_state.in_(task_states))
    if project_id is not None:
        query = query.where(models.Instance.project_id == project_id)
    if host is not None:
        query = query.where(models.Instance.host == host)
    return _list(query, _instance_dict)


def _matches(column, expected):
    if not isinstance(expected, (tuple, list, set, frozenset)):
        expected = (expected,)
    return sa.or_(*[column.is_(None) if value is None else column == value
                    for value in expected])


@retry_on_race
def instance_update(uuid, values, expected_vm_state=ANY,
                    expected_task_state=ANY, image=None):
    """Update an instance only if it is in the expected state.

    ``image``: a new image dict to copy (a rebuild), in the same
    transaction as the update (see :func:`instance_image`).

    ``expected_vm_state`` and ``expected_task_state`` are ``ANY``, one
    value (``None`` included) or a tuple of values. The check and the
    write are one UPDATE, so of two racing callers only one wins. Returns
    the updated instance, or None when it is missing or in another state.
    """
    table = models.Instance.__table__
    stmt = table.update().where(table.c.uuid == uuid)
    if expected_vm_state is not ANY:
        stmt = stmt.where(_matches(table.c.vm_state, expected_vm_state))
    if expected_task_state is not ANY:
        stmt = stmt.where(_matches(table.c.task_state, expected_task_state))
    values = _instance_values(values)
    values.setdefault('updated_at', utcnow())
    with _transaction() as session:
        if session.execute(stmt.values(**values)).rowcount != 1:
            return None
        if image is not None:
            _snapshot_image(session, uuid, image)
        return _instance_dict(session.get(models.Instance, uuid))


@retry_on_race
def instance_delete(uuid):
    """Remove an instance, its console tokens and tags; False if it was
    gone. Its actions and migrations stay, as Nova's."""
    with _transaction() as session:
        session.execute(sa.delete(models.ConsoleAuthToken).where(
            models.ConsoleAuthToken.instance_uuid == uuid))
        session.execute(sa.delete(models.Tag).where(
            models.Tag.resource_id == uuid))
        session.execute(sa.delete(models.InstanceFlavor).where(
            models.InstanceFlavor.instance_uuid == uuid))
        session.execute(sa.delete(models.InstanceImage).where(
            models.InstanceImage.instance_uuid == uuid))
        session.execute(sa.delete(models.ShelvedInstance).where(
            models.ShelvedInstance.instance_uuid == uuid))
        _record_usage(session, uuid)
        table = models.Instance.__table__
        return session.execute(
            table.delete().where(table.c.uuid == uuid)).rowcount == 1


# -- compute services -------------------------------------------------------

def service_report(host, binary, topic, report, up=True):
    """Record a service's heartbeat (``up``) or clean stop (not ``up``).

    The first report creates the service. Returns the service.
    """
    with _SERVICE_LOCK:
        try:
            return _service_report(host, binary, topic, report, up)
        except db_exc.DBDuplicateEntry:
            # Two first reports of one host raced; the other made the row.
            return _service_report(host, binary, topic, report, up)


def _ports_not_older(old, new):
    """Whether the serial port facts of report ``new`` were measured no
    earlier than those of ``old``. Only two measurements of one compute
    process (same boot id in ``serial_ports_seq``) can be ordered; any
    other pair counts as newer."""
    a, b = old.get('serial_ports_seq'), new.get('serial_ports_seq')
    if not a or not b or a[0] != b[0]:
        return True
    return b[1] >= a[1]


def _merge_report(old, new):
    """``new``, but with ``old``'s serial port facts when they are newer:
    a heartbeat measured before a delete released the instance's ports may
    arrive after the delete recorded the freed ports."""
    merged = dict(new)
    if not _ports_not_older(old, new):
        for key in SERIAL_PORT_KEYS:
            if key in old:
                merged[key] = old[key]
    return merged


@retry_on_race
def service_update_ports(host, facts):
    """Record a host's serial port facts measured at the end of an
    action (build, reboot, rebuild, delete), unless a newer measurement
    is already recorded. Returns True when recorded; False when the host
    has no service row or its facts were newer."""
    facts = {k: v for k, v in (facts or {}).items()
             if k in SERIAL_PORT_KEYS}
    if not facts:
        return False
    table = models.Service.__table__
    with _SERVICE_LOCK, _transaction() as session:
        row = session.scalars(sa.select(models.Service).where(
            table.c.host == host)).first()
        if row is None:
            return False
        old = dict(row.report or {})
        if not _ports_not_older(old, facts):
            return False
        old.update(facts)
        row.report = old
        return True


@retry_on_race
def _service_report(host, binary, topic, report, up):
    now = utcnow()
    table = models.Service.__table__
    with _transaction() as session:
        row = session.scalars(sa.select(models.Service).where(
            table.c.host == host)).first()
        if row is None:
            row = models.Service(host=host, binary=binary, topic=topic,
                                 created_at=now, report={}, report_count=1)
            session.add(row)
        else:
            # In SQL, so that racing reports each count.
            row.report_count = models.Service.report_count + 1
        row.binary, row.topic = binary, topic
        if report is not None:
            row.report = _merge_report(row.report or {}, report)
        row.stopped = not up
        row.updated_at = now
        session.flush()
        return _keys(_SERVICE_KEYS)(row)


def service_get_by_host(host):
    query = sa.select(models.Service).where(models.Service.host == host)
    found = _list(query, _keys(_SERVICE_KEYS))
    return found[0] if found else None


def service_list():
    return _list(sa.select(models.Service).order_by(models.Service.id),
                 _keys(_SERVICE_KEYS))


# -- console tokens ---------------------------------------------------------

def console_token_create(values):
    return _insert(models.ConsoleAuthToken, values, _keys(_TOKEN_KEYS),
                   'A console token with this hash')


def console_token_get_by_hash(token_hash):
    query = sa.select(models.ConsoleAuthToken).where(
        models.ConsoleAuthToken.token_hash == token_hash)
    found = _list(query, _keys(_TOKEN_KEYS))
    return found[0] if found else None


@retry_on_race
def _delete_tokens(condition):
    table = models.ConsoleAuthToken.__table__
    with _transaction() as session:
        return session.execute(table.delete().where(condition)).rowcount


def console_token_delete_for_instance(instance_uuid):
    return _delete_tokens(
        models.ConsoleAuthToken.__table__.c.instance_uuid == instance_uuid)


def console_token_purge_expired(now=None):
    """Delete the tokens expired at ``now``; return how many."""
    return _delete_tokens(
        models.ConsoleAuthToken.__table__.c.expires_at <= (now or utcnow()))


# -- ver: locks, tags, instance actions, migrations ------------------------

# Microversion 2.9: an instance's lock ('owner' or 'admin' locked it).
_INSTANCE_KEYS = _INSTANCE_KEYS + ('locked', 'locked_by')

_ACTION_KEYS = ('id', 'action', 'instance_uuid', 'request_id', 'user_id',
                'project_id', 'start_time', 'finish_time', 'message')
_EVENT_KEYS = ('id', 'action_id', 'event', 'start_time', 'finish_time',
               'result', 'traceback', 'host')
_MIGRATION_KEYS = ('id', 'instance_uuid', 'source_compute', 'dest_compute',
                   'source_node', 'dest_node', 'dest_host',
                   'old_instance_type_id', 'new_instance_type_id',
                   'status', 'migration_type', 'created_at', 'updated_at')


def instance_tags(uuids):
    """{uuid: sorted list of its tags} for each of ``uuids``."""
    uuids = list(uuids)
    found = {uuid: [] for uuid in uuids}
    if not uuids:
        return found
    query = sa.select(models.Tag).where(
        models.Tag.resource_id.in_(uuids)).order_by(models.Tag.tag)
    for row in _list(query, _keys(('resource_id', 'tag'))):
        found[row['resource_id']].append(row['tag'])
    return found


@retry_on_race
def instance_tags_set(uuid, tags, limit=None):
    """Replace the instance's tags by ``tags`` (any order, no
    duplicates); with ``tags`` a single tag, add it. Returns the tags now
    held, or None when the result would hold more than ``limit``."""
    table = models.Tag.__table__
    with _transaction() as session:
        held = set(session.scalars(sa.select(table.c.tag).where(
            table.c.resource_id == uuid)))
        if isinstance(tags, str):
            new = held | {tags}
        else:
            new = set(tags)
        if limit is not None and len(new) > limit:
            return None
        for tag in held - new:
            session.execute(table.delete().where(
                table.c.resource_id == uuid, table.c.tag == tag))
        for tag in sorted(new - held):
            session.execute(table.insert().values(resource_id=uuid,
                                                  tag=tag))
        return sorted(new)


@retry_on_race
def instance_tag_delete(uuid, tag=None):
    """Delete one tag (``tag``) or all; how many were deleted."""
    table = models.Tag.__table__
    stmt = table.delete().where(table.c.resource_id == uuid)
    if tag is not None:
        stmt = stmt.where(table.c.tag == tag)
    with _transaction() as session:
        return session.execute(stmt).rowcount


@retry_on_race
def action_start(values):
    """Insert an instance action (``values``: the action's keys but id);
    returns it."""
    values = dict(values)
    values.setdefault('start_time', utcnow())
    with _transaction() as session:
        row = models.InstanceAction(**values)
        session.add(row)
        session.flush()
        return _keys(_ACTION_KEYS)(row)


def _latest_action(session, instance_uuid, action):
    table = models.InstanceAction.__table__
    return session.scalars(sa.select(models.InstanceAction).where(
        table.c.instance_uuid == instance_uuid,
        table.c.action == action).order_by(
        table.c.start_time.desc(), table.c.id.desc())).first()


@retry_on_race
def action_event_start(instance_uuid, action, event, host):
    """Start ``event`` in the newest ``action`` of the instance; the
    event, or None when the instance has no such action."""
    with _transaction() as session:
        row = _latest_action(session, instance_uuid, action)
        if row is None:
            return None
        ev = models.InstanceActionEvent(action_id=row.id, event=event,
                                        host=host, start_time=utcnow())
        session.add(ev)
        session.flush()
        return _keys(_EVENT_KEYS)(ev)


@retry_on_race
def action_event_finish(instance_uuid, action, event, result,
                        traceback=None, host=None):
    """Finish the newest unfinished ``event`` of the newest ``action``
    (one is started when there is none) with ``result`` ('Success' or
    'Error'); the action finishes with it, its message 'Error' on an
    error, as Nova's. Returns the event, or None without the action."""
    now = utcnow()
    table = models.InstanceActionEvent.__table__
    with _transaction() as session:
        action_row = _latest_action(session, instance_uuid, action)
        if action_row is None:
            return None
        ev = session.scalars(sa.select(models.InstanceActionEvent).where(
            table.c.action_id == action_row.id, table.c.event == event,
            table.c.finish_time.is_(None)).order_by(
            table.c.id.desc())).first()
        if ev is None:
            ev = models.InstanceActionEvent(action_id=action_row.id,
                                            event=event, host=host,
                                            start_time=now)
            session.add(ev)
        ev.finish_time = now
        ev.result = result
        ev.traceback = traceback
        if host is not None:
            ev.host = host
        action_row.finish_time = now
        if result != 'Success':
            action_row.message = 'Error'
        session.flush()
        return _keys(_EVENT_KEYS)(ev)


def action_list(instance_uuid):
    """The instance's actions, newest first."""
    table = models.InstanceAction.__table__
    return _list(sa.select(models.InstanceAction).where(
        table.c.instance_uuid == instance_uuid).order_by(
        table.c.start_time.desc(), table.c.id.desc()),
        _keys(_ACTION_KEYS))


def action_get_by_request_id(instance_uuid, request_id):
    table = models.InstanceAction.__table__
    found = _list(sa.select(models.InstanceAction).where(
        table.c.instance_uuid == instance_uuid,
        table.c.request_id == request_id).order_by(table.c.id.desc()),
        _keys(_ACTION_KEYS))
    return found[0] if found else None


def action_events(action_id):
    """The action's events, oldest first."""
    table = models.InstanceActionEvent.__table__
    return _list(sa.select(models.InstanceActionEvent).where(
        table.c.action_id == action_id).order_by(table.c.id),
        _keys(_EVENT_KEYS))


def migration_create(values):
    values = dict(values)
    values.setdefault('created_at', utcnow())
    values.setdefault('updated_at', values['created_at'])
    return _insert(models.Migration, values, _keys(_MIGRATION_KEYS),
                   'A migration')


@retry_on_race
def migration_update(migration_id, values, expected_status=ANY):
    """Update a migration (only in ``expected_status``, one or a tuple);
    the migration, or None when missing or in another status."""
    table = models.Migration.__table__
    stmt = table.update().where(table.c.id == migration_id)
    if expected_status is not ANY:
        stmt = stmt.where(_matches(table.c.status, expected_status))
    values = dict(values)
    values.setdefault('updated_at', utcnow())
    with _transaction() as session:
        if session.execute(stmt.values(**values)).rowcount != 1:
            return None
        return _keys(_MIGRATION_KEYS)(session.get(models.Migration,
                                                  migration_id))


def migration_list(instance_uuid=None, status=None, host=None,
                   source_compute=None, migration_type=None,
                   instance_uuids=None):
    """Migrations, newest first, filtered as Nova's os-migrations: by
    instance, status, ``host`` (source or destination), source host,
    type; ``instance_uuids`` (a collection) limits them to those."""
    table = models.Migration.__table__
    query = sa.select(models.Migration).order_by(
        table.c.created_at.desc(), table.c.id.desc())
    if instance_uuid is not None:
        query = query.where(table.c.instance_uuid == instance_uuid)
    if instance_uuids is not None:
        query = query.where(table.c.instance_uuid.in_(list(instance_uuids)))
    if status is not None:
        query = query.where(table.c.status == status)
    if host is not None:
        query = query.where(sa.or_(table.c.source_compute == host,
                                   table.c.dest_compute == host))
    if source_compute is not None:
        query = query.where(table.c.source_compute == source_compute)
    if migration_type is not None:
        query = query.where(table.c.migration_type == migration_type)
    return _list(query, _keys(_MIGRATION_KEYS))


# Server metadata (its ``metadata`` column, a JSON object str -> str).

@retry_on_race
def instance_metadata_update(uuid, values=None, replace=False,
                             delete_key=None, limit=None):
    """Change the instance's metadata in one transaction: merge
    ``values`` into it (``replace``: make it ``values``), or delete
    ``delete_key``. Returns the new metadata; None when the instance is
    gone; raises MetadataItemNotFound (no ``delete_key``) and
    MetadataLimitExceeded (more than ``limit`` items)."""
    table = models.Instance.__table__
    with _transaction() as session:
        row = session.execute(sa.select(table.c.metadata).where(
            table.c.uuid == uuid)).first()
        if row is None:
            return None
        current = dict(row[0] or {})
        if delete_key is not None:
            if delete_key not in current:
                raise exception.MetadataItemNotFound()
            del current[delete_key]
        elif replace:
            current = dict(values or {})
        else:
            current.update(values or {})
        if limit is not None and len(current) > limit:
            raise exception.MetadataLimitExceeded(allowed=limit)
        session.execute(table.update().where(table.c.uuid == uuid).values(
            metadata=current, updated_at=utcnow()))
        return current


def instance_metadata_get(uuid):
    """The instance's metadata (a dict), or None when it is gone."""
    table = models.Instance.__table__
    with _reading() as session:
        row = session.execute(sa.select(table.c.metadata).where(
            table.c.uuid == uuid)).first()
    return None if row is None else dict(row[0] or {})


# -- srv: key pairs (os-keypairs) -------------------------------------------

_KEY_PAIR_KEYS = ('id', 'user_id', 'name', 'fingerprint', 'public_key',
                  'type', 'created_at')


def key_pair_create(values):
    """Insert a key pair; Conflict when the user has one of that name."""
    values = dict(values)
    values.setdefault('created_at', utcnow())
    return _insert(models.KeyPair, values, _keys(_KEY_PAIR_KEYS),
                   'Key pair %r' % values.get('name'))


def key_pair_get(user_id, name):
    """The user's key pair called ``name``, or None."""
    query = sa.select(models.KeyPair).where(
        models.KeyPair.user_id == user_id, models.KeyPair.name == name)
    found = _list(query, _keys(_KEY_PAIR_KEYS))
    return found[0] if found else None


def key_pair_list(user_id):
    """The user's key pairs, by name."""
    return _list(sa.select(models.KeyPair).where(
        models.KeyPair.user_id == user_id).order_by(models.KeyPair.name),
        _keys(_KEY_PAIR_KEYS))


@retry_on_race
def key_pair_delete(user_id, name):
    """Delete the user's key pair; False when there was none."""
    table = models.KeyPair.__table__
    with _transaction() as session:
        return session.execute(table.delete().where(
            table.c.user_id == user_id, table.c.name == name)).rowcount == 1


# -- adm: flavors (manage, extra specs, snapshots) and aggregates -----------

def _flavor_dict(row):
    return _keys(_FLAVOR_KEYS)(row)


def _snapshot_flavor(session, instance):
    """Copy the new instance's flavor (in its insert's transaction)."""
    flavor = session.get(models.Flavor, instance.flavor_id)
    if flavor is not None:
        session.add(models.InstanceFlavor(
            instance_uuid=instance.uuid, flavor_id=flavor.id,
            flavor=_flavor_dict(flavor)))


def instance_flavor(instance):
    """The flavor dict ``instance`` (a dict with ``uuid`` and
    ``flavor_id``) was created with; its flavor's current row for an
    instance without a snapshot; None when neither exists."""
    with _reading() as session:
        row = session.get(models.InstanceFlavor, instance['uuid'])
        if row is not None:
            return dict(row.flavor)
        row = session.get(models.Flavor, instance['flavor_id'])
        return None if row is None else _flavor_dict(row)


@retry_on_race
def instance_flavor_set(uuid, flavor):
    """Make ``flavor`` (a flavor dict) the instance's flavor snapshot (a
    finished or reverted resize)."""
    with _transaction() as session:
        row = session.get(models.InstanceFlavor, uuid)
        snapshot = {k: flavor[k] for k in _FLAVOR_KEYS if k in flavor}
        if row is None:
            session.add(models.InstanceFlavor(
                instance_uuid=uuid, flavor_id=str(flavor['id']),
                flavor=snapshot))
        else:
            row.flavor_id = str(flavor['id'])
            row.flavor = snapshot


def flavor_get_deleted(flavor_id):
    """A deleted flavor as the instances still using it have it (the
    newest such snapshot), with ``deleted`` True; None when no instance
    uses a flavor of that id."""
    query = sa.select(models.InstanceFlavor).where(
        models.InstanceFlavor.flavor_id == flavor_id).order_by(
        models.InstanceFlavor.instance_uuid)
    found = _list(query, lambda row: dict(row.flavor))
    if not found:
        return None
    return dict(found[-1], deleted=True)


@retry_on_race
def flavor_delete(flavor_id):
    """Delete a flavor; False when it was gone. Instances keep their
    snapshots."""
    table = models.Flavor.__table__
    with _transaction() as session:
        # -- access: its access list goes with it (Nova's too).
        session.execute(sa.delete(models.FlavorProject).where(
            models.FlavorProject.flavor_id == flavor_id))
        return session.execute(
            table.delete().where(table.c.id == flavor_id)).rowcount == 1


@retry_on_race
def flavor_update_extra_specs(flavor_id, update=None, remove=None):
    """Merge ``update`` into a flavor's extra specs and drop key
    ``remove``; the flavor, None when missing. Raises KeyError when
    ``remove`` is not a key."""
    with _transaction() as session:
        row = session.get(models.Flavor, flavor_id)
        if row is None:
            return None
        specs = dict(row.extra_specs or {})
        specs.update(update or {})
        if remove is not None:
            del specs[remove]
        row.extra_specs = specs
        session.flush()
        return _flavor_dict(row)


def _aggregate_dict(session, row):
    hosts = session.scalars(sa.select(models.AggregateHost.host).where(
        models.AggregateHost.aggregate_id == row.id).order_by(
        models.AggregateHost.id)).all()
    metadata = {m.key: m.value for m in session.scalars(
        sa.select(models.AggregateMetadata).where(
            models.AggregateMetadata.aggregate_id == row.id))}
    return {'id': row.id, 'uuid': row.uuid, 'name': row.name,
            'created_at': row.created_at, 'updated_at': row.updated_at,
            'hosts': list(hosts), 'metadata': metadata}


def _aggregate_conflict(name):
    return exception.AggregateNameExists(aggregate_name=name)


def aggregate_create(values, metadata=None):
    """Insert an aggregate (``uuid``, ``name``) with ``metadata``;
    AggregateNameExists when the name is taken."""
    try:
        with _transaction() as session:
            row = models.Aggregate(created_at=utcnow(), **values)
            session.add(row)
            session.flush()
            for key, value in (metadata or {}).items():
                session.add(models.AggregateMetadata(
                    aggregate_id=row.id, key=key, value=value))
            session.flush()
            return _aggregate_dict(session, row)
    except db_exc.DBDuplicateEntry:
        raise _aggregate_conflict(values.get('name'))


def aggregate_get(aggregate_id):
    with _reading() as session:
        row = session.get(models.Aggregate, aggregate_id)
        return None if row is None else _aggregate_dict(session, row)


def aggregate_list():
    with _reading() as session:
        return [_aggregate_dict(session, row) for row in session.scalars(
            sa.select(models.Aggregate).order_by(models.Aggregate.id))]


def aggregate_update(aggregate_id, values):
    """Change ``name``; the aggregate, None when missing."""
    try:
        with _transaction() as session:
            row = session.get(models.Aggregate, aggregate_id)
            if row is None:
                return None
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            session.flush()
            return _aggregate_dict(session, row)
    except db_exc.DBDuplicateEntry:
        raise _aggregate_conflict(values.get('name'))


@retry_on_race
def aggregate_delete(aggregate_id):
    """Delete an empty aggregate and its metadata. Returns False when it
    was gone; raises InvalidAggregateAction when it still has hosts."""
    with _transaction() as session:
        row = session.get(models.Aggregate, aggregate_id)
        if row is None:
            return False
        if session.scalars(sa.select(models.AggregateHost.id).where(
                models.AggregateHost.aggregate_id == row.id)).first():
            raise exception.InvalidAggregateAction(
                action='delete', aggregate_id=aggregate_id,
                reason='not empty: remove its hosts first')
        session.execute(sa.delete(models.AggregateMetadata).where(
            models.AggregateMetadata.aggregate_id == row.id))
        session.delete(row)
        return True


def aggregate_host_add(aggregate_id, host):
    """The aggregate with ``host`` added; AggregateNotFound,
    AggregateHostExists."""
    try:
        with _transaction() as session:
            row = session.get(models.Aggregate, aggregate_id)
            if row is None:
                raise exception.AggregateNotFound(aggregate_id=aggregate_id)
            session.add(models.AggregateHost(aggregate_id=row.id,
                                             host=host))
            row.updated_at = utcnow()
            session.flush()
            return _aggregate_dict(session, row)
    except db_exc.DBDuplicateEntry:
        raise exception.AggregateHostExists(aggregate_id=aggregate_id,
                                            host=host)


@retry_on_race
def aggregate_host_remove(aggregate_id, host):
    """The aggregate without ``host``; AggregateNotFound,
    AggregateHostNotFound."""
    with _transaction() as session:
        row = session.get(models.Aggregate, aggregate_id)
        if row is None:
            raise exception.AggregateNotFound(aggregate_id=aggregate_id)
        table = models.AggregateHost.__table__
        gone = session.execute(table.delete().where(
            table.c.aggregate_id == row.id, table.c.host == host)).rowcount
        if not gone:
            raise exception.AggregateHostNotFound(aggregate_id=aggregate_id,
                                                  host=host)
        row.updated_at = utcnow()
        session.flush()
        return _aggregate_dict(session, row)


@retry_on_race
def aggregate_metadata_set(aggregate_id, metadata):
    """Set each key of ``metadata``; a None value deletes the key (as
    Nova). The aggregate; AggregateNotFound."""
    with _transaction() as session:
        row = session.get(models.Aggregate, aggregate_id)
        if row is None:
            raise exception.AggregateNotFound(aggregate_id=aggregate_id)
        table = models.AggregateMetadata.__table__
        for key, value in metadata.items():
            session.execute(table.delete().where(
                table.c.aggregate_id == row.id, table.c.key == key))
            if value is not None:
                session.add(models.AggregateMetadata(
                    aggregate_id=row.id, key=key, value=value))
        row.updated_at = utcnow()
        session.flush()
        return _aggregate_dict(session, row)


def aggregate_metadata_by_host(host, key):
    """The values of metadata ``key`` of the aggregates holding
    ``host``, sorted."""
    query = sa.select(models.AggregateMetadata.value).join(
        models.AggregateHost, models.AggregateHost.aggregate_id ==
        models.AggregateMetadata.aggregate_id).where(
        models.AggregateHost.host == host,
        models.AggregateMetadata.key == key)
    with _reading() as session:
        return sorted(set(session.scalars(query)))


def aggregate_hosts_by_metadata(key):
    """{host: sorted values of metadata ``key``} over every aggregate."""
    query = sa.select(models.AggregateHost.host,
                      models.AggregateMetadata.value).join(
        models.AggregateMetadata, models.AggregateHost.aggregate_id ==
        models.AggregateMetadata.aggregate_id).where(
        models.AggregateMetadata.key == key)
    found = {}
    with _reading() as session:
        for host, value in session.execute(query):
            found.setdefault(host, set()).add(value)
    return {host: sorted(values) for host, values in found.items()}


@retry_on_race
def service_update(service_id, values):
    """Change a service's ``disabled``, ``disabled_reason`` or
    ``forced_down``; the service, None when missing."""
    with _transaction() as session:
        row = session.get(models.Service, service_id)
        if row is None:
            return None
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        return _keys(_SERVICE_KEYS)(row)


@retry_on_race
def service_delete(service_id):
    """Delete a service row and its host from every aggregate; False when
    it was gone."""
    with _transaction() as session:
        row = session.get(models.Service, service_id)
        if row is None:
            return False
        session.execute(sa.delete(models.AggregateHost).where(
            models.AggregateHost.host == row.host))
        session.delete(row)
        return True


# -- pc ---------------------------------------------------------------------

# What servicegroup needs to tell whether a host is up, and the host's
# name: the service row without its report (a large JSON document).
_SERVICE_LIVENESS_KEYS = ('id', 'host', 'disabled', 'disabled_reason',
                          'forced_down', 'stopped', 'updated_at')


def _instance_with_service_query():
    """The instance's columns, each labelled with its model attribute's
    name (what _instance_dict reads), and the service's liveness ones:
    a Core statement, read without the ORM (no Session, no mapped
    Instance built and thrown away: half the time of the ORM query,
    measured side by side)."""
    instances = models.Instance.__table__
    services = models.Service.__table__
    columns = [column.label(attr.key)
               for attr in sa.inspect(models.Instance).column_attrs
               for column in attr.columns]
    return sa.select(
        *columns,
        *(services.c[key].label('service_' + key)
          for key in _SERVICE_LIVENESS_KEYS)).select_from(
        instances.outerjoin(
            services, services.c.host == instances.c.host)).where(
        instances.c.uuid == sa.bindparam('uuid'))


# Built once: building a statement costs more than running this one.
_INSTANCE_WITH_SERVICE = _instance_with_service_query()


def _connection():
    """A reader's Core connection (no ORM Session)."""
    return _manager().reader.connection.using(_Scope())


def instance_get_with_service(uuid):
    """(instance dict, service dict or None) in one SELECT.

    The instance dict is instance_get's; the service is the one of the
    instance's host (an outer join on ``host``), with the keys
    ``_SERVICE_LIVENESS_KEYS`` only; None when the instance has no host
    or its host never registered. (None, None) when there is no such
    instance.
    """
    with _connection() as conn:
        row = conn.execute(_INSTANCE_WITH_SERVICE, {'uuid': uuid}).first()
    if row is None:
        return None, None
    instance = _instance_dict(row)
    found = {key: getattr(row, 'service_' + key)
             for key in _SERVICE_LIVENESS_KEYS}
    return instance, (found if found['id'] is not None else None)


# -- t13: image snapshots ----------------------------------------------------

# What an instance keeps of its image (Glance's or the local catalog's
# dict, nova.image): never a file path of the local catalog.
IMAGE_SNAPSHOT_KEYS = ('id', 'name', 'status', 'disk_format',
                       'container_format', 'min_ram', 'min_disk', 'size',
                       'virtual_size', 'properties')


def image_snapshot(image):
    """The part of ``image`` (an image dict) an instance keeps."""
    snapshot = {key: image.get(key) for key in IMAGE_SNAPSHOT_KEYS}
    snapshot['properties'] = dict(image.get('properties') or {})
    return snapshot


def _snapshot_image(session, uuid, image):
    snapshot = image_snapshot(image)
    row = session.get(models.InstanceImage, uuid)
    if row is None:
        session.add(models.InstanceImage(instance_uuid=uuid,
                                         image_id=snapshot['id'],
                                         image=snapshot))
    else:
        row.image_id, row.image = snapshot['id'], snapshot


def instance_image(instance):
    """The image dict (keys IMAGE_SNAPSHOT_KEYS) ``instance`` (a dict
    with ``uuid`` and ``image_id``) was created or last rebuilt with;
    None when no copy of that image was kept (an instance made before
    copies were: the caller reads the image and keeps it with
    :func:`instance_image_set`)."""
    with _reading() as session:
        row = session.get(models.InstanceImage, instance['uuid'])
        if row is None or row.image_id != instance['image_id']:
            return None
        return dict(row.image, properties=dict(row.image['properties']))


@retry_on_race
def instance_image_set(uuid, image):
    """Keep ``image`` as the copy of instance ``uuid``; False when the
    instance is gone or now names another image."""
    with _transaction() as session:
        row = session.get(models.Instance, uuid)
        if row is None or row.image_id != image['id']:
            return False
        _snapshot_image(session, uuid, image)
        return True


# -- shv: shelved instances (nova.conductor.shelve) --------------------------

_SHELVED_KEYS = ('instance_uuid', 'image_id', 'shelved_at', 'shelved_host',
                 'log_files', 'log_data', 'log_truncated')
# What a read returns unless it asks for the log: ``log_data`` (up to
# 256 MiB, a deferred column) is fetched only by the unshelve.
_SHELVED_RECORD_KEYS = tuple(k for k in _SHELVED_KEYS if k != 'log_data')


def shelved_instance_set(uuid, **values):
    """Create or change the shelve record of instance ``uuid``
    (``image_id``, ``shelved_host``, ``log_files``, ``log_data``,
    ``log_truncated``); ``shelved_at`` is set when it is created.
    Returns the record as a dict, without ``log_data``."""
    unknown = set(values) - set(_SHELVED_KEYS)
    if unknown:
        raise ValueError('not shelve record keys: %s' % sorted(unknown))
    with _transaction() as session:
        row = session.get(models.ShelvedInstance, uuid)
        if row is None:
            row = models.ShelvedInstance(instance_uuid=uuid,
                                         shelved_at=utcnow())
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        return _keys(_SHELVED_RECORD_KEYS)(row)


def shelved_instance_get(uuid, with_log=False):
    """The shelve record of instance ``uuid`` as a dict, or None.

    Without ``with_log`` the record has no ``log_data`` key and the
    stored log's bytes are not read from the database (``log_files``,
    its names and sizes, is there); ``with_log=True`` (the unshelve,
    which sends the log to the new host) reads them too.
    """
    if not with_log:
        return _get(models.ShelvedInstance, uuid,
                    _keys(_SHELVED_RECORD_KEYS))
    with _reading() as session:
        row = session.get(models.ShelvedInstance, uuid, options=[
            orm.undefer(models.ShelvedInstance.log_data)])
        return None if row is None else _keys(_SHELVED_KEYS)(row)


def shelved_instance_delete(uuid):
    """Forget the shelve record of ``uuid``; False if there was none."""
    with _transaction() as session:
        return session.execute(sa.delete(models.ShelvedInstance).where(
            models.ShelvedInstance.instance_uuid == uuid)).rowcount == 1


# -- quotas: stored limits and the counts they are checked against ---------

def _limits_of(session, model, **where):
    query = sa.select(model.resource, model.hard_limit).filter_by(**where)
    return {resource: limit for resource, limit in session.execute(query)}


def quota_get(project_id, user_id=''):
    """``{resource: hard_limit}`` stored for the project (``user_id``
    '') or for one user of it; {} when none is."""
    with _reading() as session:
        return _limits_of(session, models.Quota, project_id=project_id,
                          user_id=user_id)


def _upsert_limits(model, keys, limits):
    """Insert or update each ``{resource: limit}`` row in one
    transaction. A racing writer's insert of the same row makes ours a
    duplicate: the second try finds its row and updates it."""
    for attempt in (1, 2):
        try:
            with _transaction() as session:
                now = utcnow()
                rows = {row.resource: row for row in session.scalars(
                    sa.select(model).filter_by(**keys))}
                for resource, limit in limits.items():
                    row = rows.get(resource)
                    if row is None:
                        session.add(model(resource=resource,
                                          hard_limit=limit,
                                          created_at=now, **keys))
                    else:
                        row.hard_limit = limit
                        row.updated_at = now
            return
        except db_exc.DBDuplicateEntry:
            if attempt == 2:
                raise


@retry_on_race
def quota_set(project_id, limits, user_id=''):
    """Store ``{resource: hard_limit}`` for the project (or one user of
    it), other resources left as they are; one transaction. A racing
    insert of the same row is retried (it then updates)."""
    _upsert_limits(models.Quota,
                   {'project_id': project_id, 'user_id': user_id}, limits)


@retry_on_race
def quota_delete(project_id, user_id=None):
    """Forget the limits stored for the project and all its users
    (``user_id`` None), or for one user of it; the number of rows."""
    table = models.Quota.__table__
    condition = table.c.project_id == project_id
    if user_id is not None:
        condition = sa.and_(condition, table.c.user_id == user_id)
    with _transaction() as session:
        return session.execute(table.delete().where(condition)).rowcount


def quota_class_get(class_name):
    """``{resource: hard_limit}`` stored for the quota class."""
    with _reading() as session:
        return _limits_of(session, models.QuotaClass, class_name=class_name)


@retry_on_race
def quota_class_set(class_name, limits):
    """Store ``{resource: hard_limit}`` for the quota class."""
    _upsert_limits(models.QuotaClass, {'class_name': class_name}, limits)


# Statuses after which a resize holds one flavor's resources again.
_MIGRATION_ENDED = ('confirmed', 'reverted', 'error', 'failed', 'completed')


def quota_usage(project_id, user_id=None):
    """What the project's (or one user's) servers use now:
    ``{'instances': n, 'cores': vcpus, 'ram': MiB}``, from each server's
    flavor snapshot (its flavor row when it has none), in one read.

    A server being resized counts with the largest of its flavors (old,
    new, snapshot) until the resize is confirmed or reverted: both hosts
    hold its resources meanwhile, and a revert must fit."""
    instances = models.Instance
    query = sa.select(instances.uuid, instances.flavor_id,
                      models.InstanceFlavor.flavor).outerjoin(
        models.InstanceFlavor,
        models.InstanceFlavor.instance_uuid == instances.uuid).where(
        instances.project_id == project_id)
    if user_id is not None:
        query = query.where(instances.user_id == user_id)
    used = {'instances': 0, 'cores': 0, 'ram': 0}
    with _reading() as session:
        rows = session.execute(query).all()
        flavors = {row.id: _flavor_dict(row) for row in session.scalars(
            sa.select(models.Flavor))}
        moving = {}
        if rows:
            for uuid, old_id, new_id in session.execute(
                    sa.select(models.Migration.instance_uuid,
                              models.Migration.old_instance_type_id,
                              models.Migration.new_instance_type_id).where(
                        models.Migration.instance_uuid.in_(
                            [row.uuid for row in rows]),
                        models.Migration.migration_type == 'resize',
                        models.Migration.status.notin_(
                            _MIGRATION_ENDED))):
                moving.setdefault(uuid, []).extend(
                    flavors.get(i) or {} for i in (old_id, new_id))
    for uuid, flavor_id, snapshot in rows:
        held = [snapshot or flavors.get(flavor_id) or {}]
        held += moving.get(uuid, [])
        used['instances'] += 1
        used['cores'] += max(f.get('vcpus') or 0 for f in held)
        used['ram'] += max(f.get('ram') or 0 for f in held)
    return used


def key_pair_count(user_id):
    """How many key pairs the user has."""
    with _reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(
            models.KeyPair).where(models.KeyPair.user_id == user_id))


# -- access: flavor access (os-flavor-access) and usage ---------------------


def flavor_projects(flavor_id):
    """The project ids given access to flavor ``flavor_id``, sorted."""
    query = sa.select(models.FlavorProject).where(
        models.FlavorProject.flavor_id == flavor_id).order_by(
        models.FlavorProject.project_id)
    return _list(query, lambda row: row.project_id)


def flavor_ids_of_project(project_id):
    """The ids of the flavors project ``project_id`` was given access to."""
    query = sa.select(models.FlavorProject).where(
        models.FlavorProject.project_id == project_id)
    return set(_list(query, lambda row: row.flavor_id))


@retry_on_race
def flavor_project_add(flavor_id, project_id):
    """Give ``project_id`` access to the live flavor ``flavor_id``.

    :raises FlavorNotFound: no such flavor (deleted meanwhile).
    :raises FlavorAccessExists: the project has access already.
    """
    try:
        with _transaction() as session:
            if session.get(models.Flavor, flavor_id) is None:
                raise exception.FlavorNotFound(flavor_id=flavor_id)
            table = models.FlavorProject.__table__
            found = session.execute(sa.select(table.c.id).where(
                table.c.flavor_id == flavor_id,
                table.c.project_id == project_id)).first()
            if found is not None:
                raise exception.FlavorAccessExists(flavor_id=flavor_id,
                                                   project_id=project_id)
            session.add(models.FlavorProject(flavor_id=flavor_id,
                                             project_id=project_id))
            session.flush()
    except db_exc.DBDuplicateEntry:
        # Another request added it between the select and the insert.
        raise exception.FlavorAccessExists(flavor_id=flavor_id,
                                           project_id=project_id)


@retry_on_race
def flavor_project_remove(flavor_id, project_id):
    """Take access to ``flavor_id`` from ``project_id``.

    :raises FlavorAccessNotFound: the project had no access.
    """
    table = models.FlavorProject.__table__
    with _transaction() as session:
        gone = session.execute(table.delete().where(
            table.c.flavor_id == flavor_id,
            table.c.project_id == project_id)).rowcount
    if not gone:
        raise exception.FlavorAccessNotFound(flavor_id=flavor_id,
                                             project_id=project_id)


USAGE_KEYS = ('uuid', 'name', 'project_id', 'user_id', 'flavor',
              'vm_state', 'created_at', 'launched_at', 'terminated_at')


def _record_usage(session, uuid):
    """Keep what os-simple-tenant-usage reads of instance ``uuid``,
    which is deleted in this same transaction (see models.InstanceUsage).
    """
    row = session.get(models.Instance, uuid)
    if row is None:
        return
    snapshot = session.get(models.InstanceFlavor, uuid)
    if snapshot is not None:
        flavor = dict(snapshot.flavor)
    else:
        live = session.get(models.Flavor, row.flavor_id)
        flavor = None if live is None else _flavor_dict(live)
    session.merge(models.InstanceUsage(
        instance_uuid=uuid, name=row.name, project_id=row.project_id,
        user_id=row.user_id, flavor=flavor, vm_state=row.vm_state,
        created_at=row.created_at, launched_at=row.launched_at,
        terminated_at=row.terminated_at or utcnow()))


def usage_list(begin, end, project_id=None):
    """The instances, live and deleted, that ran in [begin, end] (Nova's
    ``get_active_by_window_joined``: launched before ``end`` and not
    terminated before ``begin``), of ``project_id`` or every project;
    dicts with USAGE_KEYS, ``flavor`` the flavor they ran with (None
    when unknown), oldest first."""
    found = []
    live = sa.select(models.Instance).where(
        models.Instance.launched_at < end,
        sa.or_(models.Instance.terminated_at.is_(None),
               models.Instance.terminated_at > begin))
    gone = sa.select(models.InstanceUsage).where(
        models.InstanceUsage.launched_at < end,
        models.InstanceUsage.terminated_at > begin)
    if project_id is not None:
        live = live.where(models.Instance.project_id == project_id)
        gone = gone.where(models.InstanceUsage.project_id == project_id)
    with _reading() as session:
        snapshots = {}
        rows = session.scalars(live).all()
        if rows:
            snapshots = {s.instance_uuid: dict(s.flavor) for s in
                         session.scalars(sa.select(
                             models.InstanceFlavor).where(
                             models.InstanceFlavor.instance_uuid.in_(
                                 [r.uuid for r in rows])))}
        flavors = {}
        for row in rows:
            flavor = snapshots.get(row.uuid)
            if flavor is None:
                if row.flavor_id not in flavors:
                    live_flavor = session.get(models.Flavor, row.flavor_id)
                    flavors[row.flavor_id] = (
                        None if live_flavor is None
                        else _flavor_dict(live_flavor))
                flavor = flavors[row.flavor_id]
            usage = {key: getattr(row, key) for key in USAGE_KEYS
                     if key != 'flavor'}
            usage['flavor'] = flavor
            found.append(usage)
        for row in session.scalars(gone):
            usage = {key: getattr(row, key) for key in USAGE_KEYS
                     if key not in ('uuid',)}
            usage['uuid'] = row.instance_uuid
            found.append(usage)
    return sorted(found, key=lambda u: (u['created_at'], u['uuid']))
