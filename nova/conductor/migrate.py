"""Cold migration and resize, the conductor's part.

``migrate_server`` (a short call from the compute API, as Nova's) picks
the destination with the scheduler, for the NEW flavor (its
``hw:serial_port_count`` and RAM), leaving the source out unless
``[DEFAULT] allow_resize_to_same_host``, writes the migration record
(os-migrations: type 'migration' for the same flavor, 'resize' for
another; Nova's statuses) and returns; a thread of its own then runs the
hosts' steps, each a call (compute RPC 2.3):

  prep_resize (dest) -> resize_instance (source) -> finish_resize (dest)

and the server ends VERIFY_RESIZE (vm_state resized) on the destination,
with the new flavor. A step that fails before the guest left the source
leaves it ACTIVE there, running, with the reason as its fault; a failed
finish is reverted at once. ``confirm_resize`` and ``revert_resize``
(casts) run the last steps the same way.

Nothing waits for an outcome cast: the conductor calls, so a lost step is
a timeout here, recorded. A conductor that dies mid-move leaves the task
set; its recovery (ComputeTaskManager.recover and check_stuck_tasks)
calls :func:`recover`.
"""

import threading

from oslo_log import log as logging

from nova.api.openstack import common as api_common
from nova.compute import instance_actions
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import tasks
from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler

LOG = logging.getLogger(__name__)

# Nova's migration statuses for cold migration and resize.
PRE_MIGRATING = 'pre-migrating'
MIGRATING = 'migrating'
POST_MIGRATING = 'post-migrating'
FINISHED = 'finished'
CONFIRMING = 'confirming'
CONFIRMED = 'confirmed'
REVERTING = 'reverting'
REVERTED = 'reverted'
ERROR = 'error'
TYPES = ('migration', 'resize')

# uuids whose move a thread of this process runs now.
_running = set()
_running_lock = threading.Lock()


def _flavor_object(flavor):
    """The Flavor object of a flavor dict (root_gb once Flavor has it)."""
    values = dict(name=flavor['name'], memory_mb=flavor['ram'],
                  vcpus=flavor['vcpus'],
                  extra_specs=dict(flavor['extra_specs'] or {}))
    if 'root_gb' in objects.Flavor.fields:
        values['root_gb'] = flavor.get('disk') or 0
    result = objects.Flavor(**values)
    if 'root_gb' not in objects.Flavor.fields:
        # Read with getattr(flavor, 'root_gb', 0) until the field exists;
        # never serialized (not a field).
        object.__setattr__(result, 'root_gb', flavor.get('disk') or 0)
    return result


def _instance(server, flavor, host=None):
    instance = tasks.instance_for(server, host=host)
    if flavor is not None:
        instance.flavor = _flavor_object(flavor)
    return instance


def _action(migration):
    return (instance_actions.RESIZE if migration['migration_type'] ==
            'resize' else instance_actions.MIGRATE)


def _set_status(migration, status, expected=None):
    done = db.migration_update(migration['id'], {'status': status},
                               expected_status=expected or db.ANY)
    if done is None:
        LOG.warning('Migration %s not set %s: it was in another status',
                    migration['id'], status)
    return done


def _latest(uuid, statuses):
    for migration in db.migration_list(instance_uuid=uuid):
        if (migration['migration_type'] in TYPES and
                migration['status'] in statuses):
            return migration
    return None


def _old_flavor(migration):
    return (db.flavor_get(migration['old_instance_type_id']) or
            db.flavor_get_deleted(migration['old_instance_type_id']))


def _new_flavor(migration):
    return (db.flavor_get(migration['new_instance_type_id']) or
            db.flavor_get_deleted(migration['new_instance_type_id']))


def _invalid_state(uuid, action):
    server = db.instance_get(uuid)
    if server is None:
        return exception.InstanceNotFound(instance_id=uuid)
    state = api_common.status_of(server)
    if server['task_state']:
        state = '%s (%s)' % (state, server['task_state'])
    return exception.InstanceInvalidState(action=action, instance_uuid=uuid,
                                          state=state)


def _start_thread(uuid, target, *args):
    with _running_lock:
        if uuid in _running:
            LOG.info('A move of %s already runs here', uuid)
            return None
        _running.add(uuid)

    def run():
        try:
            target(*args)
        except Exception:
            LOG.exception('Move of server %s failed', uuid)
        finally:
            with _running_lock:
                _running.discard(uuid)
    thread = threading.Thread(target=run, daemon=True,
                              name='nova-resize-%s' % uuid)
    thread.start()
    return thread


def running(uuid):
    with _running_lock:
        return uuid in _running


def _fault(e):
    return exception.fault_message(e)


class MigrationTask:
    """Start the cold migration (``flavor_id`` None) or resize of
    ``instance_uuid``, which the compute API put in resize_prep."""

    def __init__(self, ctxt, conf, compute_rpcapi, instance_uuid,
                 flavor_id=None):
        self.context = ctxt
        self.conf = conf
        self.compute_rpcapi = compute_rpcapi
        self.uuid = instance_uuid
        self.flavor_id = flavor_id
        self.thread = None

    def execute(self):
        """Pick the destination and start the move; returns it.

        :raises nova.exception.NoValidHost (400), FlavorNotFound,
            InstanceInvalidState (409), InstanceNotFound: the server is
            then back as it was (ACTIVE, no task).
        """
        uuid = self.uuid
        server = db.instance_get(uuid)
        if server is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        if server['task_state'] != task_states.RESIZE_PREP:
            raise _invalid_state(uuid, 'migrate')
        old = db.instance_flavor(server)
        resize = self.flavor_id is not None
        action = (instance_actions.RESIZE if resize else
                  instance_actions.MIGRATE)
        instance_actions.event_start(uuid, action, server['host'])
        try:
            new = db.flavor_get(self.flavor_id) if resize else old
            if new is None:
                raise exception.FlavorNotFound(
                    flavor_id=self.flavor_id or server['flavor_id'])
            instance = _instance(server, new)
            source = server['host']
            exclude = () if self.conf.allow_resize_to_same_host else (
                source,)
            with scheduler.CLAIMS_LOCK:
                try:
                    dest = scheduler.select_host(
                        self.conf, instance.flavor, instance.image_meta,
                        exclude=exclude,
                        excluded_why="the server's own host ([DEFAULT] "
                                     "allow_resize_to_same_host is false)")
                except exception.Invalid as e:
                    raise exception.NoValidHost(reason=e.message)
        except Exception as e:
            db.instance_update(uuid, {'task_state': None},
                               expected_task_state=task_states.RESIZE_PREP)
            db.migration_create(self._values(server, None, old, None,
                                             ERROR, resize))
            instance_actions.event_finish(uuid, action, fault=_fault(e))
            raise
        record = db.migration_create(self._values(server, dest, old, new,
                                                  PRE_MIGRATING, resize))
        LOG.info('%s of server %s from %s to %s (migration %s)',
                 'Resize' if resize else 'Cold migration', uuid, source,
                 dest, record['id'])
        self.thread = _start_thread(uuid, run_move, self.context,
                                    self.compute_rpcapi, uuid, record['id'])
        return dest

    @staticmethod
    def _values(server, dest, old, new, status, resize):
        from nova.conductor import live_migrate
        source_node = live_migrate._node_facts(server['host'])[0]
        dest_node, dest_ip = (live_migrate._node_facts(dest) if dest
                              else (None, None))
        return {
            'instance_uuid': server['uuid'],
            'source_compute': server['host'], 'source_node': source_node,
            'dest_compute': dest, 'dest_node': dest_node,
            'dest_host': dest_ip, 'status': status,
            'migration_type': 'resize' if resize else 'migration',
            'old_instance_type_id': str(old['id']) if old else
            server['flavor_id'],
            'new_instance_type_id': str(new['id']) if new else
            (str(old['id']) if old else server['flavor_id'])}


def _migration(migration_id):
    for migration in db.migration_list():
        if migration['id'] == migration_id:
            return migration
    return None


def _back_on_source(uuid, task, fault, migration, action, host):
    """The guest stays (or is again) on the source, running: ACTIVE."""
    LOG.error('Move of server %s failed; it stays on %s: %s', uuid, host,
              fault)
    _set_status(migration, ERROR)
    instance_actions.event_finish(uuid, action, host=host, fault=fault)
    db.instance_update(uuid, {'vm_state': vm_states.ACTIVE,
                              'task_state': None, 'fault': fault},
                       expected_task_state=task)


def _in_error(uuid, task, fault, migration, action, host=None):
    LOG.error('Move of server %s failed: %s', uuid, fault)
    _set_status(migration, ERROR)
    instance_actions.event_finish(uuid, action, host=host, fault=fault)
    db.instance_update(uuid, {'vm_state': vm_states.ERROR,
                              'task_state': None, 'fault': fault},
                       expected_task_state=task)


def _step(uuid, old_task, new_task):
    done = db.instance_update(uuid, {'task_state': new_task},
                              expected_task_state=old_task)
    if done is None:
        raise exception.InstanceInvalidState(
            action='resize', instance_uuid=uuid,
            state='no longer %s' % old_task)


def run_move(ctxt, rpc, uuid, migration_id):
    """The hosts' steps of a move (on the task's thread)."""
    migration = _migration(migration_id)
    server = db.instance_get(uuid)
    if migration is None or server is None:
        LOG.info('Move of %s: server or migration gone', uuid)
        return
    action = _action(migration)
    source, dest = migration['source_compute'], migration['dest_compute']
    same_host = source == dest
    new = _new_flavor(migration)
    instance = _instance(server, new)
    task = task_states.RESIZE_PREP
    try:
        dest_data = rpc.prep_resize(ctxt, dest, instance, same_host)
        _step(uuid, task, task_states.RESIZE_MIGRATING)
        task = task_states.RESIZE_MIGRATING
        _set_status(migration, MIGRATING)
    except Exception as e:
        _clean_destination(ctxt, rpc, instance, dest, same_host)
        _back_on_source(uuid, task, _fault(e), migration, action, source)
        return
    try:
        note = rpc.resize_instance(ctxt, source, instance, dest_data,
                                   same_host)
    except Exception as e:
        if isinstance(e, exception.ResizeError):
            # The source put its guest back and runs it.
            _clean_destination(ctxt, rpc, instance, dest, same_host)
            _back_on_source(uuid, task, _fault(e), migration, action,
                            source)
        else:
            _in_error(uuid, task, 'the source %s did not finish its step '
                      '(%s); the guest may be stopped there'
                      % (source, _fault(e)), migration, action, source)
        tasks.refresh_ports(rpc, ctxt, source, instance)
        return
    try:
        _step(uuid, task, task_states.RESIZE_MIGRATED)
        _set_status(migration, POST_MIGRATING)
        _step(uuid, task_states.RESIZE_MIGRATED, task_states.RESIZE_FINISH)
        task = task_states.RESIZE_FINISH
        facts = rpc.finish_resize(ctxt, dest, instance, same_host)
    except Exception as e:
        fault = 'the destination %s did not start it: %s' % (dest,
                                                             _fault(e))
        LOG.error('Move of %s: %s; reverting', uuid, fault)
        _revert_steps(ctxt, rpc, uuid, migration, task, fault, action)
        return
    tasks.record_ports(dest, facts)
    if not same_host:
        tasks.refresh_ports(rpc, ctxt, source, instance)
    tokens.delete_for_instance(uuid)
    _set_status(migration, FINISHED)
    instance_actions.event_finish(uuid, action, host=dest)
    values = {'host': dest, 'vm_state': vm_states.RESIZED,
              'task_state': None, 'fault': note}
    if new is not None:
        values['flavor_id'] = new['id']
    if new is not None:
        # Before the task ends: who sees it VERIFY_RESIZE sees the flavor.
        db.instance_flavor_set(uuid, new)
    db.instance_update(uuid, values, expected_task_state=task)
    LOG.info('Moved server %s from %s to %s: VERIFY_RESIZE', uuid, source,
             dest)


def _clean_destination(ctxt, rpc, instance, dest, same_host):
    """The destination gives back what it made ready (never raises).
    On one host there is nothing to give back: the guest there is the
    source's own."""
    if same_host:
        return
    try:
        rpc.revert_resize(ctxt, dest, instance, None, same_host)
    except Exception as e:
        LOG.warning('Destination %s not cleaned after a failed move of '
                    '%s: %s', dest, instance.uuid, _fault(e))


def _revert_steps(ctxt, rpc, uuid, migration, task, fault, action):
    """Back to the source: the destination removes the guest and sends
    its log back, the source starts its kept guest (a revert, or a
    failed finish). ``fault`` None: a revert asked for."""
    server = db.instance_get(uuid)
    source, dest = migration['source_compute'], migration['dest_compute']
    same_host = source == dest
    old, new = _old_flavor(migration), _new_flavor(migration)
    try:
        source_data = rpc.check_can_live_migrate_destination(
            ctxt, source, _instance(server, old, host=source))
    except Exception as e:
        LOG.warning('Source %s of %s gave no facts (%s): the log stays on '
                    '%s', source, uuid, _fault(e), dest)
        source_data = None
    if source_data is not None and source_data.filename:
        # The facts come with a shared storage check file that nothing
        # looks for here: the source removes it again.
        try:
            rpc.cleanup_live_migration_destination_check(
                ctxt, source, _instance(server, old, host=source),
                source_data)
        except Exception as e:
            LOG.warning('Host %s did not remove its shared storage check '
                        'file %s: %s', source, source_data.filename,
                        _fault(e))
    note = None
    try:
        answer = rpc.revert_resize(ctxt, dest, _instance(server, new,
                                                         host=dest),
                                   source_data, same_host)
        if isinstance(answer, dict):
            note = answer.get('note')
            tasks.record_ports(dest, answer.get('facts'))
        facts = rpc.finish_revert_resize(
            ctxt, source, _instance(server, old, host=source))
    except Exception as e:
        _in_error(uuid, task, '%srevert failed: %s' % (
            (fault + '; ') if fault else '', _fault(e)), migration, action)
        tasks.refresh_ports(rpc, ctxt, source, _instance(server, old))
        return False
    tasks.record_ports(source, facts)
    tokens.delete_for_instance(uuid)
    notes = [n for n in (fault, note) if n]
    values = {'host': source, 'vm_state': vm_states.ACTIVE,
              'task_state': None, 'fault': '; '.join(notes) or None}
    if old is not None:
        values['flavor_id'] = old['id']
    if fault is None:
        _set_status(migration, REVERTED)
        instance_actions.event_finish(uuid, action, host=source)
    else:
        _set_status(migration, ERROR)
        instance_actions.event_finish(uuid, action, host=source,
                                      fault=fault)
    if old is not None:
        db.instance_flavor_set(uuid, old)
    db.instance_update(uuid, values, expected_task_state=task)
    LOG.info('Server %s back on %s', uuid, source)
    return True


def revert(ctxt, rpc, uuid):
    """Revert the finished move of ``uuid`` (task resize_reverting)."""
    migration = _latest(uuid, (FINISHED,))
    if migration is None:
        db.instance_update(uuid, {'task_state': None},
                           expected_task_state=task_states.RESIZE_REVERTING)
        LOG.error('Revert of %s: no finished migration', uuid)
        return
    instance_actions.event_start(uuid, instance_actions.REVERT_RESIZE,
                                 migration['dest_compute'])
    _set_status(migration, REVERTING, FINISHED)
    _revert_steps(ctxt, rpc, uuid, migration, task_states.RESIZE_REVERTING,
                  None, instance_actions.REVERT_RESIZE)


def confirm(ctxt, rpc, uuid):
    """Confirm the finished move of ``uuid`` (task resize_confirming):
    the source drops what it kept, ports included."""
    migration = _latest(uuid, (FINISHED, CONFIRMING))
    if migration is None:
        db.instance_update(uuid, {'vm_state': vm_states.ACTIVE,
                                  'task_state': None},
                           expected_task_state=task_states.RESIZE_CONFIRMING)
        return
    source = migration['source_compute']
    same_host = source == migration['dest_compute']
    instance_actions.event_start(uuid, instance_actions.CONFIRM_RESIZE,
                                 source)
    _set_status(migration, CONFIRMING)
    server = db.instance_get(uuid)
    fault = None
    try:
        facts = rpc.confirm_resize(
            ctxt, source, _instance(server, _old_flavor(migration),
                                    host=source), same_host)
        tasks.record_ports(source, facts)
        _set_status(migration, CONFIRMED)
    except Exception as e:
        fault = ('the source %s did not drop what it kept of the server: '
                 '%s' % (source, _fault(e)))
        LOG.error('Confirm of %s: %s', uuid, fault)
        _set_status(migration, ERROR)
    instance_actions.event_finish(uuid, instance_actions.CONFIRM_RESIZE,
                                  host=source, fault=fault)
    db.instance_update(uuid, {'vm_state': vm_states.ACTIVE,
                              'task_state': None, 'fault': fault},
                       expected_task_state=task_states.RESIZE_CONFIRMING)


def start_confirm(ctxt, rpc, uuid):
    return _start_thread(uuid, confirm, ctxt, rpc, uuid)


def start_revert(ctxt, rpc, uuid):
    return _start_thread(uuid, revert, ctxt, rpc, uuid)


def drop_source(ctxt, rpc, server):
    """Before a RESIZED server is deleted: its source drops what it
    kept (never raises)."""
    migration = _latest(server['uuid'], (FINISHED,))
    if migration is None:
        return
    try:
        rpc.confirm_resize(ctxt, migration['source_compute'],
                           tasks.instance_for(
                               server, host=migration['source_compute']),
                           migration['source_compute'] ==
                           migration['dest_compute'])
        _set_status(migration, CONFIRMED)
    except Exception as e:
        LOG.warning('Source %s kept the folder of deleted server %s: %s',
                    migration['source_compute'], server['uuid'], _fault(e))


def recover(ctxt, rpc, server):
    """A move whose task is set but no thread here runs it (a conductor
    that died, a step lost): settled so it is not stuck forever. True
    when something was done."""
    uuid, task = server['uuid'], server['task_state']
    if running(uuid):
        return False
    if task == task_states.RESIZE_CONFIRMING:
        start_confirm(ctxt, rpc, uuid)
        return True
    migration = _latest(uuid, (PRE_MIGRATING, MIGRATING, POST_MIGRATING,
                               REVERTING))
    if task == task_states.RESIZE_PREP and (
            migration is None or migration['status'] == PRE_MIGRATING):
        # The guest never left its host: it was not touched.
        if migration is not None:
            _set_status(migration, ERROR)
        db.instance_update(uuid, {'task_state': None,
                                  'fault': 'Interrupted while %s' % task},
                           expected_task_state=task)
        return True
    fault = ('Interrupted while %s (the conductor stopped); the guest is '
             'on %s or %s: see migration %s' % (
                 task, server['host'],
                 migration['dest_compute'] if migration else '?',
                 migration['id'] if migration else '?'))
    if migration is not None:
        _set_status(migration, ERROR)
    db.instance_update(uuid, {'vm_state': vm_states.ERROR,
                              'task_state': None, 'fault': fault},
                       expected_task_state=task)
    LOG.error('Server %s: %s', uuid, fault)
    return True
