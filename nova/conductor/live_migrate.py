"""Live migration, the conductor's part: start it, record how it ended,
and settle the ones a dead process left.

The conductor checks and claims (LiveMigrationTask), then casts
``live_migration`` to the SOURCE compute, which drives the rest (see
ComputeManager.live_migration) and reports the outcome with the cast
``report_live_migration`` (record_outcome here). No API or conductor
thread waits on libvirt's job.

A process may die at any step. The database names the source host and
task_state 'migrating' until an outcome is recorded; the hosts' libvirtd
goes on with a job that runs. recover_live_migrations (at the
conductor's start, and when a compute service starts) asks every host
that is up where the guest stands before it changes anything, and never
settles a migration whose job still runs or whose source still drives
it: the instance's host becomes the one its guest runs on, the other
hosts give back what they held for it, and its console tokens (which
name the old port) are revoked.
"""

import threading
import time

from oslo_concurrency import lockutils
from oslo_log import log as logging

from nova.api.openstack import common as api_common
from nova.compute import instance_actions
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import rpcapi as conductor_rpcapi
from nova.conductor import tasks
from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.scheduler import manager as scheduler
from nova import servicegroup
from nova.virt import driver as virt_driver

LOG = logging.getLogger(__name__)

# Outcomes a source reports (the protocol's values).
DONE = conductor_rpcapi.MIGRATION_DONE
FAILED = conductor_rpcapi.MIGRATION_FAILED
UNKNOWN = conductor_rpcapi.MIGRATION_UNKNOWN
OUTCOMES = (DONE, FAILED, UNKNOWN)

# A recovery looks again this often (seconds) while a job still runs.
RECOVERY_POLL_INTERVAL = 2

# The migration record's statuses (os-migrations), Nova's for a live
# migration: preparing (destination chosen, hosts' checks), running
# (cast to the source), then completed, failed (the guest stayed) or
# error (refused before it started, or lost). Written once the
# destination is known (a refused request gets an 'error' record then):
# every write here lengthens the API's call.
PREPARING, RUNNING = 'preparing', 'running'
COMPLETED, MIGRATION_FAILED, MIGRATION_ERROR = 'completed', 'failed', 'error'
IN_PROGRESS = (PREPARING, RUNNING)
MIGRATION_TYPE = 'live-migration'


def _node_facts(host):
    """(hypervisor hostname, host ip) of ``host``'s last report."""
    service = db.service_get_by_host(host) if host else None
    report = (service or {}).get('report') or {}
    return report.get('hypervisor_hostname', host), report.get('host_ip')


def _record(server, status, dest=None):
    """A new migration record of ``server`` towards ``dest`` (None: not
    chosen)."""
    source_node = _node_facts(server['host'])[0]
    dest_node, dest_ip = _node_facts(dest) if dest else (None, None)
    return db.migration_create({
        'instance_uuid': server['uuid'], 'source_compute': server['host'],
        'source_node': source_node, 'dest_compute': dest,
        'dest_node': dest_node, 'dest_host': dest_ip, 'status': status,
        'migration_type': MIGRATION_TYPE,
        'old_instance_type_id': server['flavor_id'],
        'new_instance_type_id': server['flavor_id']})


def _end_record(uuid, status, fault=None, host=None):
    """The newest migration of ``uuid`` still in progress ends in
    ``status``; its instance action's event with it."""
    for migration in db.migration_list(instance_uuid=uuid,
                                       migration_type=MIGRATION_TYPE):
        if migration['status'] in IN_PROGRESS:
            db.migration_update(migration['id'], {'status': status},
                                expected_status=IN_PROGRESS)
            break
    instance_actions.event_finish(uuid, instance_actions.LIVE_MIGRATION,
                                  host=host, fault=fault)


def _lock(uuid):
    # One recording per instance at a time in this process.
    return lockutils.lock('nova-live-migration-%s' % uuid)


def _refresh_ports(compute_rpcapi, ctxt, hosts, instance):
    """Record each host's serial port facts now, checked as every
    action's are (tasks.record_ports); never raises."""
    for host in hosts:
        tasks.refresh_ports(compute_rpcapi, ctxt, host, instance)


class LiveMigrationTask:
    """Start the live migration of the instance ``instance_uuid``.

    ``host``: the destination's name, or None for the scheduler's
    choice; ``block_migration``: True, False or 'auto'.
    """

    def __init__(self, ctxt, conf, compute_rpcapi, instance_uuid, host,
                 block_migration, force=True, disk_over_commit=None):
        self.context = ctxt
        self.conf = conf
        self.compute_rpcapi = compute_rpcapi
        self.uuid = instance_uuid
        self.destination = host
        # Microversion 2.30: a named host is checked by the scheduler's
        # filters unless forced (before 2.30 it always is forced).
        self.force = force
        self.block_migration = (None if block_migration == 'auto' else
                                block_migration)
        # Before microversion 2.25 (None after): sizes the source's
        # check of the destination's free space (as Nova).
        self.disk_over_commit = disk_over_commit

    def execute(self):
        """Pick or check the destination, claim its ports, run both
        hosts' checks, mark the instance migrating and cast to the
        source. Returns the destination once the cast is sent.

        :raises nova.exception.NoValidHost, ComputeHostNotFound,
            ComputeServiceUnavailable, MigrationPreCheckError (400);
            InstanceInvalidState (409) when it is not ACTIVE without a
            task; InstanceNotFound; a host's own error from its check;
            ServiceUnavailable (the broker). Nothing has changed then.
        """
        uuid = self.uuid
        server = db.instance_get(uuid)
        if server is None:
            raise exception.InstanceNotFound(instance_id=uuid)
        instance_actions.event_start(uuid, instance_actions.LIVE_MIGRATION,
                                     server['host'])
        # Choosing the destination and claiming its ports happen under
        # one lock, as for a build: two requests never count one port.
        try:
            with scheduler.CLAIMS_LOCK:
                dest = self._destination(server)
                updated = db.instance_update(
                    uuid, {'task_state': task_states.MIGRATING},
                    expected_vm_state=vm_states.ACTIVE,
                    expected_task_state=None)
                if updated is None:
                    raise self._invalid_state()
                scheduler.claim_migration(uuid, dest)
        except Exception as e:
            _record(server, MIGRATION_ERROR)
            _end_record(uuid, MIGRATION_ERROR, exception.fault_message(e))
            raise
        record = _record(updated, PREPARING, dest)
        source = updated['host']
        instance = tasks.instance_for(updated)
        try:
            data = self._check(instance, source, dest)
            LOG.info('Live migrating instance %s from %s to %s', uuid,
                     source, dest)
            db.migration_update(record['id'], {'status': RUNNING},
                                expected_status=PREPARING)
            self.compute_rpcapi.live_migration(self.context, source,
                                               instance, dest, data)
        except Exception as e:
            db.instance_update(uuid, {'task_state': None},
                               expected_task_state=task_states.MIGRATING)
            scheduler.end_migration(uuid)
            _end_record(uuid, MIGRATION_ERROR, exception.fault_message(e))
            if isinstance(e, exception.MigrationError):
                # The host's reason, not its message: that already has
                # a "Migration ... error: " label of its own.
                raise exception.MigrationPreCheckError(
                    reason=e.kwargs.get('reason', e.message)) from e
            raise
        return dest

    def _invalid_state(self):
        server = db.instance_get(self.uuid)
        if server is None:
            return exception.InstanceNotFound(instance_id=self.uuid)
        # As the API shows it (compute.api's 409s say the same).
        state = api_common.status_of(server)
        if server['task_state']:
            state = '%s (%s)' % (state, server['task_state'])
        return exception.InstanceInvalidState(
            action='live migrate', instance_uuid=self.uuid, state=state)

    def _check(self, instance, source, dest):
        data = self.compute_rpcapi.check_can_live_migrate_destination(
            self.context, dest, instance)
        data.block_migration = self.block_migration
        data.disk_over_commit = self.disk_over_commit
        try:
            return self.compute_rpcapi.check_can_live_migrate_source(
                self.context, source, instance, data)
        finally:
            # Its shared storage check file has done its job (as Nova's
            # destination does once the source answered).
            try:
                self.compute_rpcapi.cleanup_live_migration_destination_check(
                    self.context, dest, instance, data)
            except Exception as e:
                LOG.warning('Host %s did not remove its shared storage '
                            'check file %s: %s', dest, data.filename,
                            exception.fault_message(e))

    def _destination(self, server):
        """The destination: the one asked for, checked (by the
        scheduler's filters too unless forced), or one picked."""
        host = self.destination
        if host is None:
            return self._scheduled(server)
        service = db.service_get_by_host(host)
        if service is None:
            raise exception.ComputeHostNotFound(host=host)
        if not servicegroup.is_up(service, self.conf):
            raise exception.ComputeServiceUnavailable(host=host)
        if host == server['host']:
            raise exception.MigrationPreCheckError(
                reason='server %s is already on host %s' % (
                    server['uuid'], host))
        if not self.force:
            return self._scheduled(server, only=host)
        return host

    def _scheduled(self, server, only=None):
        source = server['host']
        if only is None and not any(s['host'] != source
                                    for s in db.service_list()):
            raise exception.NoValidHost(reason=(
                'The server\'s own host %s is the only compute host: a '
                'live migration needs another one.' % source))
        instance = tasks.instance_for(server)
        try:
            return scheduler.select_host(
                self.conf, instance.flavor, instance.image_meta,
                exclude=(source,), only=only,
                excluded_why="the server's own host")
        except exception.Invalid as e:
            raise exception.NoValidHost(reason=e.message)


# -- outcomes ---------------------------------------------------------------

def record_outcome(ctxt, compute_rpcapi, conf, uuid, source, dest, outcome,
                   fault=None):
    """What the source reported (the conductor's endpoint
    ``report_live_migration``). UNKNOWN starts a recovery of ``uuid``."""
    if outcome not in OUTCOMES:
        LOG.error('Live migration of %s: unknown outcome %r from %s', uuid,
                  outcome, source)
        outcome = UNKNOWN
    if outcome == UNKNOWN:
        LOG.warning('Live migration of %s from %s to %s ended in doubt (%s); '
                    'asking the hosts', uuid, source, dest, fault)
        recover_live_migrations(ctxt, compute_rpcapi, conf, uuids=[uuid])
        return
    with _lock(uuid):
        server = db.instance_get(uuid)
        if server is None:
            LOG.info('Live migration of %s ended (%s) but it is gone',
                     uuid, outcome)
            scheduler.end_migration(uuid)
            _end_record(uuid, COMPLETED if outcome == DONE
                        else MIGRATION_FAILED, fault)
            return
        if outcome == DONE:
            _moved(ctxt, compute_rpcapi, server, source, dest)
        else:
            _stayed(ctxt, compute_rpcapi, server, source, dest, fault)


def _moved(ctxt, compute_rpcapi, server, source, dest):
    uuid = server['uuid']
    # The guest runs on ``dest`` now, whatever request came since.
    db.instance_update(uuid, {'host': dest})
    _refresh_ports(compute_rpcapi, ctxt, (source, dest),
                   tasks.instance_for(dict(server, host=dest)))
    scheduler.end_migration(uuid)
    # They name the source's port.
    tokens.delete_for_instance(uuid)
    # Recorded before the server leaves its task: who sees it ACTIVE
    # sees the migration completed.
    _end_record(uuid, COMPLETED, host=dest)
    db.instance_update(uuid, {'vm_state': vm_states.ACTIVE,
                              'task_state': None},
                       expected_task_state=task_states.MIGRATING)
    LOG.info('Live migrated server %s from %s to %s', uuid, source, dest)


def _stayed(ctxt, compute_rpcapi, server, source, dest, fault):
    uuid = server['uuid']
    if server['host'] != source:
        LOG.warning('Live migration of %s failed on %s, but it is recorded '
                    'on %s: left as it is', uuid, source, server['host'])
    else:
        LOG.error('Live migration of server %s from %s to %s failed; it '
                  'stays on %s: %s', uuid, source, dest, source, fault)
    _refresh_ports(compute_rpcapi, ctxt, (source, dest),
                   tasks.instance_for(server))
    scheduler.end_migration(uuid)
    _end_record(uuid, MIGRATION_FAILED, fault or 'live migration failed',
                host=source)
    db.instance_update(uuid, {'vm_state': vm_states.ACTIVE,
                              'task_state': None},
                       expected_task_state=task_states.MIGRATING)


# -- recovery ---------------------------------------------------------------

# Settling in this process: uuids a recovery thread is looking after.
_recovering = set()
_recovering_lock = threading.Lock()

# What one look at a migration found.
_SETTLED, _DRIVEN, _JOB_RUNS, _NO_ANSWER = range(4)


def recover_live_migrations(ctxt, compute_rpcapi, conf, uuids=None,
                            wait=False, started_host=None):
    """Settle the live migrations left by a process that died: the
    conductor's start-up calls this, and so does the endpoint
    ``recover_live_migrations`` (a compute service started).

    Looks at every instance in task_state 'migrating' (or ``uuids``) on
    a thread of its own, as it may have to wait for a job: see
    :func:`settle`. One whose source still drives it, or whose hosts do
    not answer, is left for the report or the next recovery. ``wait``:
    return only once the thread has ended (tests). ``started_host``: a
    compute service that just started, asked even if its first report
    is not recorded yet.
    """
    if uuids is None:
        uuids = [s['uuid'] for s in db.instance_get_all(
            task_states=(task_states.MIGRATING,))]
    with _recovering_lock:
        todo = [u for u in uuids if u not in _recovering]
        _recovering.update(todo)
    if not todo:
        return None

    def run():
        try:
            pending = list(todo)
            while pending:
                later = []
                for uuid in pending:
                    try:
                        found = settle(ctxt, compute_rpcapi, conf, uuid,
                                       started_host)
                    except Exception:
                        LOG.exception('Recovery of the live migration of '
                                      '%s failed', uuid)
                        found = _NO_ANSWER
                    if found == _JOB_RUNS:
                        later.append(uuid)
                    else:
                        with _recovering_lock:
                            _recovering.discard(uuid)
                pending = later
                if pending:
                    time.sleep(RECOVERY_POLL_INTERVAL)
        finally:
            with _recovering_lock:
                _recovering.difference_update(todo)

    thread = threading.Thread(target=run, daemon=True,
                              name='nova-live-migration-recovery')
    thread.start()
    if wait:
        thread.join()
    return thread


def _ask_hosts(ctxt, compute_rpcapi, conf, instance, started_host=None):
    """{host: get_live_migration_state answer} of the hosts up that
    answered."""
    answers = {}
    for service in db.service_list():
        host = service['host']
        if host != started_host and not servicegroup.is_up(service, conf):
            continue
        try:
            answers[host] = compute_rpcapi.get_live_migration_state(
                ctxt, host, instance)
        except Exception as e:
            LOG.warning('Host %s did not say where the guest of %s stands: '
                        '%s', host, instance.uuid,
                        exception.fault_message(e))
    return answers


def settle(ctxt, compute_rpcapi, conf, uuid, started_host=None):
    """Look at the migration of ``uuid`` once and settle it if its
    outcome is certain; returns what was found (_SETTLED, _DRIVEN,
    _JOB_RUNS or _NO_ANSWER)."""
    with _lock(uuid):
        server = db.instance_get(uuid)
        if server is None or server['task_state'] != task_states.MIGRATING:
            return _SETTLED
        source = server['host']
        instance = tasks.instance_for(server)
        answers = _ask_hosts(ctxt, compute_rpcapi, conf, instance,
                             started_host)
        if answers.get(source, {}).get('driving'):
            LOG.info('Live migration of %s: its source %s still drives it',
                     uuid, source)
            return _DRIVEN
        guests = {h: a['guest'] for h, a in answers.items()}
        if virt_driver.GUEST_MIGRATING in guests.values():
            LOG.info('Live migration of %s: libvirt\'s job still runs; '
                     'waiting for its end', uuid)
            return _JOB_RUNS
        running = [h for h, g in guests.items()
                   if g == virt_driver.GUEST_RUNNING]
        if len(running) != 1:
            everyone = {s['host'] for s in db.service_list()}
            if not running and (set(answers) != everyone or any(
                    g != virt_driver.GUEST_ABSENT
                    for g in guests.values())):
                # The host that has it may be down, or it is stopped:
                # nothing certain to record yet.
                LOG.warning('Live migration of %s: its guest runs on no '
                            'host that answered (%s); left migrating',
                            uuid, guests)
                return _NO_ANSWER
            reason = ('after an interrupted live migration its guest runs '
                      'on %s' % (' and '.join(sorted(running)) or
                                 'no host'))
            LOG.error('Live migration of %s: %s', uuid, reason)
            _end_record(uuid, MIGRATION_ERROR, reason)
            db.instance_update(uuid, {'vm_state': vm_states.ERROR,
                                      'task_state': None, 'fault': reason},
                               expected_task_state=task_states.MIGRATING)
            scheduler.end_migration(uuid)
            return _SETTLED
        here = running[0]
        others = [h for h in answers if h != here]
        if here != source:
            _finish_move(ctxt, compute_rpcapi, instance, source, here,
                         source in answers)
        for host in others:
            if host != source or here == source:
                _roll_back(ctxt, compute_rpcapi, instance, host)
    if here == source:
        record_outcome(ctxt, compute_rpcapi, conf, uuid, source, None,
                       FAILED, 'interrupted; the guest stayed on %s' %
                       source)
    else:
        record_outcome(ctxt, compute_rpcapi, conf, uuid, source, here, DONE)
    return _SETTLED


def _finish_move(ctxt, compute_rpcapi, instance, source, dest,
                 source_answers):
    """The guest runs on ``dest``: it keeps only the ports the guest
    listens on; the source gives back the rest and sends the log on."""
    LOG.warning('Live migration of %s from %s was interrupted after the '
                'guest moved to %s: finishing it', instance.uuid, source,
                dest)
    try:
        compute_rpcapi.post_live_migration_at_destination(ctxt, dest,
                                                          instance, None)
    except Exception as e:
        LOG.warning('Host %s did not settle %s: %s', dest, instance.uuid,
                    exception.fault_message(e))
    if not source_answers:
        return  # it takes stock of its guests when it starts again
    try:
        data = compute_rpcapi.check_can_live_migrate_destination(
            ctxt, dest, instance)
    except Exception as e:
        LOG.warning('Host %s did not clean up after %s left it: %s',
                    source, instance.uuid, exception.fault_message(e))
        return
    try:
        # Its shared storage check file tells the source whether the
        # folder it would clean is the guest's own there.
        compute_rpcapi.post_live_migration_at_source(ctxt, source, instance,
                                                     data)
    except Exception as e:
        LOG.warning('Host %s did not clean up after %s left it: %s',
                    source, instance.uuid, exception.fault_message(e))
    finally:
        try:
            compute_rpcapi.cleanup_live_migration_destination_check(
                ctxt, dest, instance, data)
        except Exception as e:
            LOG.warning('Host %s did not remove its shared storage check '
                        'file %s: %s', dest, data.filename,
                        exception.fault_message(e))


def _roll_back(ctxt, compute_rpcapi, instance, host):
    """``host`` (not where the guest runs) gives back what it holds for
    it; a host that holds nothing for it is left alone (its folder may be
    kept there for the operator)."""
    try:
        facts = compute_rpcapi.get_serial_port_facts(ctxt, host, instance)
        if instance.uuid not in (facts or {}).get('serial_port_holders',
                                                  ()):
            return
        compute_rpcapi.rollback_live_migration_at_destination(
            ctxt, host, instance, None)
        LOG.info('Host %s gave back what it held for %s', host,
                 instance.uuid)
    except Exception as e:
        LOG.warning('Host %s did not give back what it holds for %s: %s',
                    host, instance.uuid, exception.fault_message(e))
