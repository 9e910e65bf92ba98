"""The conductor topic's endpoints.

``ConductorManager`` records the compute services' heartbeats.
``ComputeTaskManager`` runs the instance actions the compute API hands
over (``nova.conductor.api.ComputeTaskAPI``): it casts each to the
instance's compute host, records the outcome the host casts back, and
owns the instances' task_state from then on, including after a restart
(``init_host``). Both run in nova-conductor, or in nova-all.
"""

import datetime
import threading

from oslo_log import log as logging
import oslo_messaging

from nova.compute import power_state
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import live_migrate
from nova.conductor import migrate
from nova.conductor import shelve
from nova.conductor import tasks
from nova.console import tokens
from nova import context as nova_context
from nova.db import api as db
from nova import exception
from nova.compute import instance_actions
from nova.objects import compute_node
from nova.scheduler import manager as scheduler
from nova import servicegroup

LOG = logging.getLogger(__name__)

# Actions, as the compute host names them in its outcome.
BUILD = 'build'
REBOOT = 'reboot'
REBUILD = 'rebuild'
DELETE = 'delete'

_LABELS = {BUILD: 'Build', REBOOT: 'Reboot', REBUILD: 'Rebuild',
           DELETE: 'Delete'}

# The instance action (os-instance-actions) each one is an event of.
_RECORDED_AS = {BUILD: instance_actions.CREATE,
                REBOOT: instance_actions.REBOOT,
                REBUILD: instance_actions.REBUILD,
                DELETE: instance_actions.DELETE}

# The task each action runs in: an outcome naming another is not one of
# the actions this conductor sent.
_TASKS = {BUILD: (task_states.SPAWNING,),
          REBOOT: tuple(task_states.REBOOT_TASK_STATES.values()),
          REBUILD: (task_states.REBUILDING,),
          DELETE: (task_states.DELETING,)}

# -- shv: shelve's actions (their outcomes come to shelve_done).
_LABELS.update(shelve.LABELS)
_RECORDED_AS.update(shelve.RECORDED_AS)
# os-stop / os-start (conductor RPC 2.5): what each leaves the instance
# in when its host succeeded.
STOP = 'stop'
START = 'start'
_LABELS.update({STOP: 'Stop', START: 'Start'})
_RECORDED_AS.update({STOP: instance_actions.STOP,
                     START: instance_actions.START})
_TASKS.update({STOP: (task_states.POWERING_OFF,),
               START: (task_states.POWERING_ON,)})
_POWER_DONE = {
    STOP: {'vm_state': vm_states.STOPPED,
           'power_state': power_state.SHUTDOWN},
    START: {'vm_state': vm_states.ACTIVE,
            'power_state': power_state.RUNNING},
}


def _restarted(before, report):
    """Whether ``report`` comes from another compute process than the
    service's last report: the boot id of their serial port facts
    differs. A process killed and started again within
    ``service_down_time`` sends no stop report and never counts as down,
    yet what it ran is lost."""
    old = (before.get('report') or {}).get('serial_ports_seq')
    new = (report or {}).get('serial_ports_seq')
    return bool(old and new and old[0] != new[0])


class ConductorManager:
    # The newest conductor RPC API version served (history:
    # nova.conductor.rpcapi).
    target = oslo_messaging.Target(version='2.5')

    def __init__(self, on_host_up=None, conf=None):
        """``on_host_up(host)`` runs when a compute service registers, or
        comes back after a stop, after it counted as down (silent for
        ``service_down_time``) or as a new process (its report's boot id
        changed): ComputeTaskManager.recover_host."""
        self._on_host_up = on_host_up
        self._conf = conf

    def report_state(self, ctxt, host, binary, topic, report, up):
        """Record a heartbeat; ``report`` is a ComputeNode (None with
        ``up`` False): its fields that are set are recorded (but its
        host, which is the service row's own)."""
        if report is not None:
            if not isinstance(report, compute_node.ComputeNode):
                raise exception.Invalid(
                    reason='the report of host %s is a %s, not a '
                           'ComputeNode' % (host, type(report).__name__))
            report = {k: v for k, v in report.items() if k != 'host'}
        before = db.service_get_by_host(host) if up else None
        service = db.service_report(host, binary, topic, report, up=up)
        if service['report_count'] == 1:
            LOG.info('Compute service %s on host %s registered', binary,
                     host)
        elif not up:
            LOG.info('Compute service on host %s stopped', host)
        if up and self._on_host_up is not None and (
                before is None or before['stopped'] or
                _restarted(before, report) or (
                    self._conf is not None and
                    not servicegroup.is_up(before, self._conf))):
            self._on_host_up(host)

    def ping(self, ctxt):
        """Answer, so a process can check its way to the broker and back."""
        return True


class ComputeTaskManager(shelve.ShelveTasks):
    """Build, reboot, rebuild, delete and live migration of instances.

    Each action arrives with the instance already in its task_state (the
    compute API set it, or answered 409). Here it is cast to the
    instance's host (``nova.compute.manager``), which casts back
    ``instance_action_done``. An outcome is recorded only while the
    instance is still in the task the action started in: a newer request
    that took it over (a delete, a hard reboot during a soft one) is
    never undone. An outcome counts only when it names the host the
    database names for the instance, and a task its action runs in: a
    stale host's outcome changes nothing of the instance. (The ``host``
    of a cast is the sender's word: the broker does not authenticate
    compute hosts to each other.) The serial port facts that come with
    an outcome are recorded in every case, when of the heartbeat's
    types.
    """

    # The same conductor RPC API as ConductorManager's (2.0 added these
    # methods, 2.1 live migration's force, 2.2 its disk_over_commit,
    # 2.3 cold migration and resize, 2.4 shelve, 2.5 os-stop/os-start;
    # history: nova.conductor.rpcapi).
    target = oslo_messaging.Target(version='2.5')

    def __init__(self, conf, compute_api=None):
        self.conf = conf
        self.compute_rpcapi = (compute_api or
                               compute_rpcapi.ComputeAPI(conf))
        # Hosts each build tried (in this process; a restart forgets,
        # so a rescheduled build may try one host again).
        self._build_tries = {}
        # (uuid, task_state) of the actions this process cast to a host
        # and whose outcome has not come yet: an action handed over twice
        # (a cast that waited on the broker while recovery re-drove it)
        # runs once.
        self._in_flight = set()
        # {(uuid, task_state): when check_stuck_tasks last sent it again}:
        # a cast sent again may wait in the host's queue, where the host
        # does not see it, so it is not sent again before another
        # stuck_task_timeout (the task's updated_at does not move).
        self._resent = {}
        self._lock = threading.Lock()

    # -- recording ------------------------------------------------------------

    def _fail(self, uuid, task, action, fault):
        """ERROR with ``fault`` when still in ``task``."""
        LOG.error('%s of server %s failed: %s', _LABELS.get(action, action),
                  uuid, fault)
        if action in _RECORDED_AS:
            instance_actions.event_finish(uuid, _RECORDED_AS[action],
                                          fault=fault)
        done = db.instance_update(
            uuid, {'vm_state': vm_states.ERROR, 'task_state': None,
                   'fault': fault}, expected_task_state=task)
        if done is None:
            LOG.info('Failure of %s not recorded: server %s was deleted or '
                     'taken over by another request',
                     _LABELS.get(action, action), uuid)

    def _current(self, uuid, task, action):
        """The row, when the instance is still in ``task``."""
        current = db.instance_get(uuid)
        if current is None:
            LOG.info('Server %s is gone: %s not run', uuid,
                     _LABELS.get(action, action))
            return None
        if current['task_state'] != task:
            LOG.info('%s of server %s not run: superseded by %s',
                     _LABELS.get(action, action), uuid,
                     current['task_state'])
            return None
        return current

    def _host_down(self, uuid, host):
        """InstanceHostUnavailable when ``host`` cannot take a cast now
        (on a broker it would wait in a queue nobody reads)."""
        service = db.service_get_by_host(host) if host else None
        reason = ('is not known' if service is None else
                  servicegroup.down_reason(service, self.conf))
        if reason:
            return exception.InstanceHostUnavailable(
                instance_uuid=uuid, host=host, reason=reason)
        return None

    def _cast(self, ctxt, current, task, action, send, boot=True):
        """Cast ``send(instance)`` to the instance's host, once per task
        until its outcome; on any error before the host has it, record
        the failure."""
        uuid = current['uuid']
        with self._lock:
            if (uuid, task) in self._in_flight:
                LOG.info('%s of server %s already sent to host %s',
                         _LABELS.get(action, action), uuid, current['host'])
                return
            self._in_flight.add((uuid, task))
        try:
            error = self._host_down(uuid, current['host'])
            if error is not None:
                raise error
            instance_actions.event_start(uuid, _RECORDED_AS[action],
                                         current['host'])
            send(tasks.instance_for(current, boot=boot, ctx=ctxt))
        except Exception as e:
            self._landed(uuid, task)
            self._fail(uuid, task, action, exception.fault_message(e))

    def _landed(self, uuid, task):
        with self._lock:
            self._in_flight.discard((uuid, task))

    # -- actions (casts from the compute API) ---------------------------------

    def _cast_to_host(self, ctxt, instance_uuid, task, action, send, *args,
                      boot=True):
        """The action on an instance still in ``task`` (see _current):
        ``send(ctxt, its host, instance, *args)`` (a compute RPC cast)
        through _cast. Serves the actions that need nothing else."""
        current = self._current(instance_uuid, task, action)
        if current is None:
            return
        self._cast(ctxt, current, task, action,
                   lambda instance: send(ctxt, current['host'], instance,
                                         *args), boot=boot)

    def build_instances(self, ctxt, instance_uuid):
        current = self._current(instance_uuid, task_states.SPAWNING, BUILD)
        if current is None:
            return
        with self._lock:
            self._build_tries.setdefault(instance_uuid, [])
        self._cast(ctxt, current, task_states.SPAWNING, BUILD,
                   lambda instance: self.compute_rpcapi.
                   build_and_run_instance(ctxt, current['host'], instance))

    def reboot_instance(self, ctxt, instance_uuid, reboot_type):
        self._cast_to_host(ctxt, instance_uuid,
                           task_states.REBOOT_TASK_STATES[reboot_type],
                           REBOOT, self.compute_rpcapi.reboot_instance,
                           reboot_type)

    def rebuild_instance(self, ctxt, instance_uuid, image_id):
        current = self._current(instance_uuid, task_states.REBUILDING,
                                REBUILD)
        if current is None:
            return

        def send(instance):
            # -- admin: a stopped server is rebuilt stopped (compute RPC
            # 2.6 reads it from vm_state).
            instance.vm_state = current['vm_state']
            self.compute_rpcapi.rebuild_instance(ctxt, current['host'],
                                                 instance)
        self._cast(ctxt, current, task_states.REBUILDING, REBUILD, send)

    def delete_instance(self, ctxt, instance_uuid):
        current = self._current(instance_uuid, task_states.DELETING, DELETE)
        if current is None:
            return
        if current['host'] is None:
            db.instance_delete(instance_uuid)
            LOG.info('Deleted server %s', instance_uuid)
            return
        if current['vm_state'] == vm_states.RESIZED:
            # Its source still keeps a folder and ports for a revert.
            migrate.drop_source(ctxt, self.compute_rpcapi, current)
        # Without its image or flavor rows: a guest whose image is gone
        # can still be deleted.
        self._cast(ctxt, current, task_states.DELETING, DELETE,
                   lambda instance: self.compute_rpcapi.terminate_instance(
                       ctxt, current['host'], instance), boot=False)

    def live_migrate_instance(self, ctxt, instance_uuid, host,
                              block_migration, force=True,
                              disk_over_commit=None):
        """A call: the pre-checks run now and their errors are the
        caller's; returns None once the migration started. ``force``
        (2.1; a 2.0 caller's named host is forced), ``disk_over_commit``
        (2.2): see LiveMigrationTask."""
        if block_migration not in (True, False, 'auto'):
            raise tasks.bad_input('block_migration',
                                  "must be true, false or 'auto'")
        if disk_over_commit not in (None, True, False):
            raise tasks.bad_input('disk_over_commit', 'must be true or false')
        self._live_migration_task(ctxt, instance_uuid, host,
                                  block_migration, force,
                                  disk_over_commit).execute()

    def _live_migration_task(self, ctxt, instance_uuid, host,
                             block_migration, force=True,
                             disk_over_commit=None):
        return live_migrate.LiveMigrationTask(
            ctxt, self.conf, self.compute_rpcapi, instance_uuid, host,
            block_migration, force=bool(force),
            disk_over_commit=disk_over_commit)

    # -- resize: cold migration and resize (nova.conductor.migrate) ---------

    def migrate_server(self, ctxt, instance_uuid, flavor_id=None):
        """A call (2.3): choose the destination and start the move;
        returns the destination. See migrate.MigrationTask."""
        return migrate.MigrationTask(ctxt, self.conf, self.compute_rpcapi,
                                     instance_uuid, flavor_id).execute()

    def confirm_resize(self, ctxt, instance_uuid):
        """A cast (2.3): the source drops what it kept."""
        if self._current(instance_uuid, task_states.RESIZE_CONFIRMING,
                         'confirm resize') is not None:
            migrate.start_confirm(ctxt, self.compute_rpcapi, instance_uuid)

    def revert_resize(self, ctxt, instance_uuid):
        """A cast (2.3): back to the source with the old flavor."""
        if self._current(instance_uuid, task_states.RESIZE_REVERTING,
                         'revert resize') is not None:
            migrate.start_revert(ctxt, self.compute_rpcapi, instance_uuid)

    def stop_instance(self, ctxt, instance_uuid):
        """os-stop (2.5): power the guest off on its host."""
        self._cast_to_host(ctxt, instance_uuid, task_states.POWERING_OFF,
                           STOP, self.compute_rpcapi.stop_instance)

    def start_instance(self, ctxt, instance_uuid):
        """os-start (2.5): boot the stopped guest on its host."""
        self._cast_to_host(ctxt, instance_uuid, task_states.POWERING_ON,
                           START, self.compute_rpcapi.start_instance)

    # -- outcomes (casts from the compute hosts) ------------------------------

    def recover_live_migrations(self, ctxt, host):
        """A cast from a compute service that started (perhaps before it
        counted as down, so report_state saw no comeback): settle the
        live migrations no service drives any more."""
        live_migrate.recover_live_migrations(ctxt, self.compute_rpcapi,
                                             self.conf, started_host=host)

    def report_live_migration(self, ctxt, instance, source, dest, outcome,
                              fault=None):
        """A cast from a live migration's source: how it ended (see
        nova.conductor.live_migrate.record_outcome)."""
        live_migrate.record_outcome(ctxt, self.compute_rpcapi, self.conf,
                                    instance.uuid, source, dest, outcome,
                                    fault)

    def _outcome_of(self, host, instance_uuid, action, task_state,
                    serial_port_facts, tasks_of):
        """``(label, instance row)`` an outcome of ``action`` from
        ``host`` is about; the row is None (logged) when the outcome is
        not one: ``task_state`` is not in ``tasks_of[action]`` or
        ``host`` is not the instance's host. Serves
        instance_action_done and shelve_done."""
        # First: from now on the scheduler counts what the action took
        # or freed (the host's facts about itself, whatever it says of
        # the instance).
        tasks.record_ports(host, serial_port_facts)
        label = _LABELS.get(action, action)
        if task_state not in tasks_of.get(action, ()):
            LOG.warning('Outcome from host %s for server %s ignored: '
                        'action %r does not run in task %r', host,
                        instance_uuid, action, task_state)
            return label, None
        current = db.instance_get(instance_uuid)
        if current is None or current['host'] != host:
            # A host that is not (or no longer) the instance's: a stale
            # outcome (the build was rescheduled, the instance moved or
            # was deleted) or a made-up one. Nothing of the instance is
            # changed on its word: not its state, not its tokens, not the
            # action its own host runs.
            LOG.warning('%s outcome from host %s ignored: it is not the '
                        'host of server %s (%s)', label, host,
                        instance_uuid,
                        'gone' if current is None else current['host'])
            return label, None
        return label, current

    def instance_action_done(self, ctxt, host, instance_uuid, action,
                             task_state, serial_port_facts, fault=None,
                             error=None):
        """Record what ``host`` did of ``action`` on the instance; ignored
        (logged) when ``host`` is not the instance's host or
        ``task_state`` is not a task of ``action``.

        :param action: 'build', 'reboot', 'rebuild' or 'delete'.
        :param task_state: the task the action ran in.
        :param serial_port_facts: the host's facts after the action (see
            ComputeDriver.serial_port_facts), or None.
        :param fault: None on success, else the error's message (never
            a traceback); cut to ``MAX_FAULT_LENGTH`` characters, and
            replaced when it is no str.
        :param error: the error's class name (a build that found no free
            serial port is tried on another host).
        """
        label, current = self._outcome_of(host, instance_uuid, action,
                                          task_state, serial_port_facts,
                                          _TASKS)
        if current is None:
            return
        self._landed(instance_uuid, task_state)
        fault = tasks.checked_fault(fault, host, label)
        if action in (REBOOT, REBUILD, STOP, START):
            # Tokens issued while it ran may name the old port.
            tokens.delete_for_instance(instance_uuid)
        if fault is not None:
            if (action == BUILD and
                    error == 'SocketPortRangeExhaustedException' and
                    self._rebuilt_elsewhere(ctxt, instance_uuid, host,
                                            fault)):
                return
            self._forget_tries(instance_uuid, action)
            self._fail(instance_uuid, task_state, action, fault)
            return
        self._forget_tries(instance_uuid, action)
        instance_actions.event_finish(instance_uuid, _RECORDED_AS[action],
                                      host=host)
        if action == DELETE:
            if current['task_state'] == task_states.DELETING:
                db.instance_delete(instance_uuid)  # its tokens go with it
                LOG.info('Deleted server %s', instance_uuid)
            return
        values = {'vm_state': vm_states.ACTIVE, 'task_state': None,
                  'fault': None, 'power_state': power_state.RUNNING}
        if action in (BUILD, REBUILD):
            # -- srv: OS-SRV-USG:launched_at, as Nova sets it.
            values['launched_at'] = db.utcnow()
        values.update(_POWER_DONE.get(action, {}))
        if action == REBUILD and current['vm_state'] == vm_states.STOPPED:
            # -- admin: rebuilt without being started.
            values.update(_POWER_DONE[STOP])
        done = db.instance_update(instance_uuid, values,
                                  expected_task_state=task_state)
        if done is None:
            LOG.info('%s of server %s done, but the server was taken over '
                     'meanwhile', label, instance_uuid)

    def _forget_tries(self, uuid, action):
        if action == BUILD:
            with self._lock:
                self._build_tries.pop(uuid, None)

    def _rebuilt_elsewhere(self, ctxt, uuid, host, fault):
        """A build that found no free serial port on ``host`` goes to
        another host: True when it was cast there."""
        with self._lock:
            tried = self._build_tries.setdefault(uuid, [])
            tried.append(host)
            tried = list(tried)
        if len(tried) >= tasks.MAX_BUILD_ATTEMPTS:
            return False
        current = db.instance_get(uuid)
        if current is None or current['task_state'] != task_states.SPAWNING:
            return False
        try:
            instance = tasks.instance_for(current, boot=True)
        except exception.NovaException:
            return False
        with scheduler.CLAIMS_LOCK:  # the claim moves with the instance
            try:
                new_host = scheduler.select_host(
                    self.conf, instance.flavor, instance.image_meta,
                    exclude=tried)
            except exception.NoValidHost:
                return False
            current = db.instance_update(
                uuid, {'host': new_host},
                expected_task_state=task_states.SPAWNING)
            if current is None:
                return False
        LOG.warning('Build of server %s: %s; rescheduled to host %s', uuid,
                    fault, new_host)
        # The try on ``host`` failed; the next one is an event of its own.
        instance_actions.event_finish(uuid, instance_actions.CREATE,
                                      host=host, fault=fault)
        self._cast(ctxt, current, task_states.SPAWNING, BUILD,
                   lambda instance: self.compute_rpcapi.
                   build_and_run_instance(ctxt, new_host, instance))
        return True

    # -- restart recovery -----------------------------------------------------

    def init_host(self):
        """Recover the instances left in a task, asking their hosts.

        Run when the conductor starts: the actions it had cast may still
        be running on the hosts, which then report as usual; the hosts
        that do not answer now are asked again when they next register
        (``recover_host``).
        """
        self.recover(nova_context.get_admin_context())

    def recover_host(self, host):
        """A compute service (re)registered: what it ran when it stopped
        is lost, so its instances' tasks are recovered now."""
        self.recover(nova_context.get_admin_context(), hosts=(host,))

    def recover(self, ctxt, hosts=None):
        """Each instance in a task (of ``hosts``, default all) whose host
        runs no action on it: the action is sent again (it may never
        have reached the host: a cast that waited on the broker for this
        conductor, or a host that restarted), except a build whose guest
        exists already, which ends in ERROR; a live migration is settled
        by where the guest is. Nothing is changed for an instance whose
        host does not answer, or still runs its action."""
        migrating = []
        for server in db.instance_get_all(task_states=task_states.ALL):
            if server['task_state'] == task_states.MIGRATING:
                # Its guest may be on any host: every host is asked.
                migrating.append(server['uuid'])
                continue
            if hosts is not None and server['host'] not in hosts:
                continue
            if server['task_state'] in task_states.RESIZE_STATES:
                if hosts is None:  # the conductor's own start
                    migrate.recover(ctxt, self.compute_rpcapi, server)
                continue
            try:
                self._recover_one(ctxt, server)
            except Exception:
                LOG.exception('Recovery of server %s failed',
                              server['uuid'])
        if migrating:
            live_migrate.recover_live_migrations(
                ctxt, self.compute_rpcapi, self.conf, uuids=migrating,
                started_host=hosts[0] if hosts and len(hosts) == 1 else None)

    def check_stuck_tasks(self, ctxt, now=None):
        """Recover each instance whose task is older than ``[conductor]
        stuck_task_timeout`` (its last change, ``updated_at``), as a
        restart would: a cast or an outcome lost while both sides stayed
        up ends here, not at the next restart. Live migrations are left
        to their own recovery (their source drives them). Returns the
        uuids checked. ``now`` (aware UTC) is for tests."""
        timeout = self.conf.conductor.stuck_task_timeout
        if not timeout:
            return []
        now = now or db.utcnow()
        try:
            # -- shv: [DEFAULT] shelved_offload_time > 0 runs here too.
            self._offload_expired(ctxt, now)
        except Exception:
            LOG.exception('Offload of shelved servers failed')
        cutoff = now - datetime.timedelta(seconds=timeout)
        checked = []
        stuck = set()
        for server in db.instance_get_all(task_states=task_states.ALL):
            if (server['task_state'] == task_states.MIGRATING or
                    server['updated_at'] is None or
                    server['updated_at'] > cutoff):
                continue
            key = (server['uuid'], server['task_state'])
            stuck.add(key)
            resent = self._resent.get(key)
            if resent is not None and resent > cutoff:
                continue
            checked.append(server['uuid'])
            if server['task_state'] in task_states.RESIZE_STATES:
                # Driven by this conductor's calls: stuck only when no
                # thread of it runs the move.
                if migrate.recover(ctxt, self.compute_rpcapi, server):
                    self._resent[key] = now
                continue
            try:
                if self._recover_one(ctxt, server, stale=True):
                    self._resent[key] = now
            except Exception:
                LOG.exception('Check of server %s, %s for over %d s, '
                              'failed', server['uuid'],
                              server['task_state'], timeout)
        # Tasks that ended (or moved on) are forgotten.
        for key in set(self._resent) - stuck:
            del self._resent[key]
        return checked

    def _ask(self, ctxt, server):
        """The host's answer about the instance's guest, or None when it
        cannot be asked now."""
        host = server['host']
        error = self._host_down(server['uuid'], host)
        if error is None:
            try:
                return self.compute_rpcapi.get_instance_state(
                    ctxt, host, tasks.instance_for(server))
            except exception.NovaException as e:
                error = e
        LOG.warning('Server %s is %s; not recovered now: %s. It is when '
                    'its host registers again.', server['uuid'],
                    server['task_state'], exception.fault_message(error))
        return None

    def _recover_one(self, ctxt, server, stale=False):
        """``stale``: the task is older than the stuck-task timeout, so
        an outcome the host says it sent is taken as lost. True when the
        action was sent again."""
        uuid, task = server['uuid'], server['task_state']
        if server['host'] is None:
            if task == task_states.DELETING:
                db.instance_delete(uuid)
            elif task == task_states.UNSHELVING:
                # -- shv: no host chosen yet: choose one now.
                self.unshelve_instance(ctxt, uuid)
                return True
            else:
                self._fail(uuid, task, 'recovery', 'Interrupted while %s'
                           % task)
            return
        answer = self._ask(ctxt, server)
        if answer is None:
            return
        if answer['busy']:
            LOG.info('Server %s is %s and its host %s runs it still: '
                     'left to finish', uuid, task, server['host'])
            return
        if answer['finished'] == task and not stale:
            # Done, and its outcome cast is on its way (it was sent
            # before the host answered): sending the action again would
            # run it twice, and a build would end in ERROR.
            LOG.info('Server %s is %s and its host %s has sent the '
                     'outcome: left to arrive', uuid, task, server['host'])
            return
        if answer['finished'] == task:
            LOG.warning('Server %s is %s; its host %s sent the outcome '
                        'over %d s ago and it never came: settled again',
                        uuid, task, server['host'],
                        self.conf.conductor.stuck_task_timeout)
        if task == task_states.SPAWNING and answer['exists']:
            # Its guest was made, but whether its build ended is unknown.
            LOG.warning('Build of server %s was interrupted', uuid)
            self._fail(uuid, task, 'recovery',
                       'Interrupted by a restart while %s (host %s runs no '
                       'action on it)' % (task, server['host']))
            return
        LOG.info('Server %s is %s and its host %s runs no action on it: '
                 'sent again', uuid, task, server['host'])
        # What this process sent for the task is lost with the host's
        # restart: it must not count as in flight, or nothing would ever
        # end the task.
        self._landed(uuid, task)
        if task == task_states.SPAWNING:
            self.build_instances(ctxt, uuid)
        elif task in (task_states.REBOOTING, task_states.REBOOTING_HARD):
            tokens.delete_for_instance(uuid)
            self.reboot_instance(ctxt, uuid, 'HARD' if task ==
                                 task_states.REBOOTING_HARD else 'SOFT')
        elif task == task_states.REBUILDING:
            tokens.delete_for_instance(uuid)
            self.rebuild_instance(ctxt, uuid, server['image_id'])
        elif task == task_states.DELETING:
            self.delete_instance(ctxt, uuid)
        elif task == task_states.SHELVING:
            record = db.shelved_instance_get(uuid) or {}
            self.shelve_instance(ctxt, uuid, record.get('image_id'))
        elif task == task_states.SHELVING_OFFLOADING:
            self.shelve_offload_instance(ctxt, uuid)
        elif task == task_states.UNSHELVING:
            self.unshelve_instance(ctxt, uuid)
        elif task in task_states.POWER_TASKS:
            # Powering a guest off or on twice does no harm.
            tokens.delete_for_instance(uuid)
            (self.stop_instance if task == task_states.POWERING_OFF
             else self.start_instance)(ctxt, uuid)
        else:
            return False
        return True
