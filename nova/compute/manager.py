"""The compute manager: one compute host's side of every server action.

It is the RPC endpoint of nova-compute (topic ``compute``, server = the
host's name) and wraps the host's one driver. It never touches the
database: the conductor reads the instance's rows, sends what the driver
needs (an Instance, a versioned object), and records the outcome this
host casts back (``instance_action_done``).

Its RPC API version is ``target.version`` (see ``nova.compute.rpcapi``
for the history): a message of a newer minor version, or of another
major version, is refused by the RPC server with UnsupportedVersion.

Errors: a ``nova.exception`` error crosses RPC as itself. Anything else
is logged here with its traceback and sent as ``ComputeHostError`` with
its message only.
"""

import functools
import threading
import time

from oslo_concurrency import lockutils
from oslo_log import log as logging
import oslo_messaging

from nova.compute import console_followers
from nova.compute import console_output
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import rpcapi as conductor_rpcapi
import nova.conf
from nova.console import type as ctype
from nova import exception
from nova.virt import driver as virt_driver

LOG = logging.getLogger(__name__)

# How often a failed migration's source looks whether libvirt's job is
# over before it decides (seconds).
SETTLE_POLL_INTERVAL = 0.5


def _lock_name(uuid):
    return 'nova-server-%s' % uuid


def _remotable(func):
    """Errors made safe: a ``nova.exception`` error crosses RPC as
    itself, anything else is logged here and sent as ComputeHostError
    with its message only. (Arguments and results are versioned objects
    or plain data, which the RPC serializer carries: nothing to convert.)
    """
    @functools.wraps(func)
    def wrapper(self, ctxt, *args, **kwargs):
        try:
            return func(self, ctxt, *args, **kwargs)
        except exception.NovaException:
            raise
        except Exception as e:
            LOG.exception('%s failed on host %s', func.__name__, self.host)
            raise exception.ComputeHostError(
                host=self.host, reason=exception.fault_message(e))
    return wrapper


class ComputeManager:
    """Runs on the compute host ``host`` and wraps its one driver."""

    # The newest compute RPC API version served; every older 2.x too.
    target = oslo_messaging.Target(version='2.6')

    def __init__(self, driver, host=None, conf=None):
        """``conf`` (default: the process's CONF) gives the limits of the
        console followers; a separate one per host for tests."""
        self.driver = driver
        self.host = host or driver.host_name
        self._conf = conf or nova.conf.CONF
        self._followers = console_followers.FollowerTable(
            self.host, self._conf)
        self._conductor_api = None
        # {uuid: actions running or waiting for the guest's lock here}
        self._busy = {}
        # uuid -> task_state of the last action whose outcome was sent.
        self._finished = {}
        self._busy_lock = threading.Lock()
        # Live migrations this service drives as their source, by uuid,
        # and when it started: casts sent before are stale.
        self._driving = set()
        self._migrations_lock = threading.Lock()
        self._started_at = time.time()
        self._compute_rpcapi = None

    @property
    def compute_rpcapi(self):
        """The client this host calls other hosts with (made on first
        use: a manager that never migrates opens no transport)."""
        with self._migrations_lock:
            if self._compute_rpcapi is None:
                self._compute_rpcapi = compute_rpcapi.ComputeAPI(self._conf)
            return self._compute_rpcapi

    @property
    def console_followers(self):
        """The host's FollowerTable (an attribute, so not an RPC method:
        ComputeService closes it when it stops)."""
        return self._followers

    @staticmethod
    def _lock(uuid):
        # One action per guest at a time on this host.
        return lockutils.lock(_lock_name(uuid))

    def _still_here(self, instance):
        """Whether a follow of the guest goes on: yes while an action on
        it runs (a hard reboot or a rebuild undefines its domain and
        defines it again, and its log goes on; a live migration takes it
        away only at its end), else whether its domain is defined here.
        Never waits for the action: it only tries its lock."""
        lock = lockutils.internal_lock(_lock_name(instance.uuid))
        if not lock.acquire(blocking=False):
            return True
        try:
            return self.driver.instance_exists(instance)
        finally:
            lock.release()

    # -- server actions -------------------------------------------------------
    # Casts from the conductor (nova.conductor.manager.ComputeTaskManager).
    # Each reports its outcome back with a cast, instance_action_done,
    # with this host's serial port facts as they are once it is done (the
    # driver's serial_port_facts()), success or not: the scheduler never
    # waits a report_interval to see the ports a delete freed or a build
    # took.

    def _conductor(self):
        if self._conductor_api is None:
            self._conductor_api = conductor_rpcapi.ConductorAPI(self._conf)
        return self._conductor_api

    def _run_action(self, ctxt, method, action, task_state, instance,
                    work, report=None):
        """Run ``work()`` under the guest's lock, then report.

        A ``nova.exception`` error is reported as its message; any other
        is logged here with its traceback and reported as
        ComputeHostError's message only. ``report(fault, error, facts,
        result)`` sends the outcome instead of instance_action_done
        (``result``: what ``work()`` returned, None on failure).
        """
        uuid = instance.uuid
        with self._busy_lock:
            self._busy[uuid] = self._busy.get(uuid, 0) + 1
            self._finished.pop(uuid, None)
        fault = error = result = None
        try:
            with self._lock(uuid):
                try:
                    result = work()
                except exception.NovaException as e:
                    LOG.info('%s of %s failed on host %s: %s', method, uuid,
                             self.host, e.message)
                    fault, error = e.message, type(e).__name__
                except Exception as e:
                    LOG.exception('%s failed on host %s', method, self.host)
                    fault = exception.ComputeHostError(
                        host=self.host,
                        reason=exception.fault_message(e)).message
                    error = 'ComputeHostError'
                facts = self._port_facts()
            try:
                if report is not None:
                    report(fault, error, facts, result)
                else:
                    self._conductor().instance_action_done(
                        ctxt, self.host, uuid, action, task_state, facts,
                        fault=fault, error=error)
                with self._busy_lock:
                    # Until the next action on it: the conductor's
                    # recovery, asking between this cast and its arrival,
                    # must wait for it rather than send the action again.
                    self._finished[uuid] = task_state
            except Exception:
                # The conductor settles it by asking this host when it
                # recovers (get_instance_state).
                LOG.exception('Outcome of %s of %s not sent to the '
                              'conductor', method, uuid)
        finally:
            with self._busy_lock:
                self._busy[uuid] -= 1
                if not self._busy[uuid]:
                    del self._busy[uuid]
                    if method == 'terminate_instance' and fault is None:
                        # Gone from this host: nothing more to remember.
                        self._finished.pop(uuid, None)

    def _port_facts(self):
        try:
            return self.driver.serial_port_facts()
        except Exception as e:
            LOG.warning('Serial port facts of host %s not read: %s',
                        self.host, exception.fault_message(e))
            return None

    @_remotable
    def build_and_run_instance(self, ctxt, instance):
        """Spawn the guest (a cast; the outcome goes to the conductor)."""
        self._run_action(
            ctxt, 'build_and_run_instance', 'build', task_states.SPAWNING,
            instance,
            lambda: self.driver.spawn(ctxt, instance, instance.image_meta))

    @_remotable
    def reboot_instance(self, ctxt, instance, reboot_type):
        """'SOFT' or 'HARD' reboot (a cast)."""
        task = task_states.REBOOT_TASK_STATES[reboot_type]
        self._run_action(
            ctxt, 'reboot_instance', 'reboot', task, instance,
            lambda: self.driver.reboot(ctxt, instance,
                                       reboot_type=reboot_type))

    @_remotable
    def rebuild_instance(self, ctxt, instance):
        """Boot the guest again from ``instance.image_meta`` (a cast); an
        instance whose ``vm_state`` is 'stopped' (2.6) gets its new disk
        and definition but is not started, as it was."""
        power_on = instance.vm_state != vm_states.STOPPED
        self._run_action(
            ctxt, 'rebuild_instance', 'rebuild', task_states.REBUILDING,
            instance,
            lambda: self.driver.rebuild(ctxt, instance,
                                        instance.image_meta,
                                        power_on=power_on))

    @_remotable
    def terminate_instance(self, ctxt, instance):
        """Destroy the guest, its disks and its log (a cast)."""
        self._run_action(
            ctxt, 'terminate_instance', 'delete', task_states.DELETING,
            instance,
            lambda: self.driver.destroy(ctxt, instance))

    # -- shv: shelve (2.4; nova.conductor.shelve) --------------------------

    def _shelve_report(self, ctxt, action, task_state, instance):
        def report(fault, error, facts, result):
            result = result or {}
            self._conductor().shelve_done(
                ctxt, self.host, instance.uuid, action, task_state, facts,
                fault=fault, error=error, saved=result.get('saved'),
                console_log=result.get('console_log'),
                log_fault=result.get('log_fault'))
        return report

    @_remotable
    def shelve_instance(self, ctxt, instance, image_id, offload):
        """Stop the guest, save its disk into ``image_id`` (None: save
        nothing) and, with ``offload``, destroy it here (a cast). A
        failed save starts the guest again and fails the shelve."""
        def work():
            saved = False
            try:
                if image_id is None:
                    self.driver.power_off(instance)
                else:
                    saved = self.driver.snapshot_for_shelve(
                        ctxt, instance, image_id)
            except Exception:
                self._start_again(ctxt, instance)
                raise
            result = {'saved': {'saved': bool(saved),
                                'offloaded': bool(offload)}}
            if offload:
                result.update(self._offload(ctxt, instance))
            return result
        self._run_action(
            ctxt, 'shelve_instance', 'shelve', task_states.SHELVING,
            instance, work, report=self._shelve_report(
                ctxt, 'shelve', task_states.SHELVING, instance))

    def _start_again(self, ctxt, instance):
        try:
            self.driver.power_on(ctxt, instance)
        except Exception as e:
            LOG.error('Server %s not started again after its failed '
                      'shelve: %s', instance.uuid,
                      exception.fault_message(e))

    def _offload(self, ctxt, instance):
        """Read the guest's log (never fatal), then destroy it here."""
        console_log = log_fault = None
        try:
            console_log = self.driver.read_console_log_for_shelve(instance)
        except Exception as e:
            log_fault = exception.fault_message(e)
            LOG.warning('Console log of %s not read for the offload: %s; '
                        'the server is offloaded without it',
                        instance.uuid, log_fault)
        self.driver.shelve_offload(ctxt, instance)
        return {'console_log': console_log, 'log_fault': log_fault}

    @_remotable
    def shelve_offload_instance(self, ctxt, instance):
        """Destroy the shelved guest here, sending its log (a cast)."""
        self._run_action(
            ctxt, 'shelve_offload_instance', 'shelve_offload',
            task_states.SHELVING_OFFLOADING, instance,
            lambda: self._offload(ctxt, instance),
            report=self._shelve_report(ctxt, 'shelve_offload',
                                       task_states.SHELVING_OFFLOADING,
                                       instance))

    @_remotable
    def unshelve_instance(self, ctxt, instance, snapshot_meta,
                          console_log):
        """Start a shelved guest defined here again, or boot an
        offloaded one here from ``snapshot_meta`` with ``console_log``
        written back (a cast)."""
        def work():
            if self.driver.instance_exists(instance):
                self.driver.power_on(ctxt, instance)
                return None
            lost = self.driver.unshelve(ctxt, instance, instance.image_meta,
                                        snapshot_meta, console_log)
            return {'log_fault': lost if isinstance(lost, str) else None}
        self._run_action(
            ctxt, 'unshelve_instance', 'unshelve', task_states.UNSHELVING,
            instance, work, report=self._shelve_report(
                ctxt, 'unshelve', task_states.UNSHELVING, instance))

    @_remotable
    def get_instance_state(self, ctxt, instance):
        """For the conductor's recovery: ``{'exists': bool, 'busy':
        bool, 'finished': str or None}``: whether the guest's domain is
        defined on this host; whether an action on it runs here now (its
        outcome will come); the task_state of the last action on it whose
        outcome this process sent (None: none since it started, or the
        guest was deleted), so an outcome still on its way is waited
        for, not overtaken by the action sent again."""
        with self._busy_lock:
            busy = instance.uuid in self._busy
            finished = self._finished.get(instance.uuid)
        return {'exists': bool(self.driver.instance_exists(instance)),
                'busy': busy, 'finished': finished}

    @_remotable
    def get_serial_port_facts(self, ctxt, instance):
        """This host's serial port facts now; for an action that ended
        without returning them (a live migration)."""
        return self.driver.serial_port_facts()

    # -- consoles -------------------------------------------------------------

    @_remotable
    def get_console_output(self, ctxt, instance, tail_length=None):
        """The log's newest bytes, each as the character of that code.

        :param tail_length: (2.1) None for the whole answer of the
            driver, or the number of lines (int >= 0) to send: only
            those cross RPC (see nova.compute.console_output).
        :raises nova.exception.Invalid: a bad ``tail_length``.

        RPC carries JSON text, not bytes. Latin-1 maps every byte to one
        character and back exactly; a console log is mostly ASCII, which
        JSON carries as it is (base64 adds a third, and decoding it cost
        more than the rest of an in-process call).
        """
        console_output.check_tail_length(tail_length)
        data = self.driver.get_console_output(ctxt, instance)
        return console_output.tail(data, tail_length).decode('latin-1')

    @_remotable
    def get_serial_console(self, ctxt, instance, console_type):
        """The guest's serial console: a ``ConsoleSerial`` object."""
        if console_type != 'serial':
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        return self.driver.get_serial_console(ctxt, instance)

    @_remotable
    def validate_console_port(self, ctxt, instance, host, port,
                              console_type):
        """Whether ``host:port`` is the guest's current serial console.

        ``console_type`` 'serial' or 'serial-readonly' (a viewer's token
        names the same port); any other type is no. Fails closed: any
        error looking it up means no.
        """
        try:
            if console_type not in ctype.SERIAL_TYPES:
                return False
            console = self.driver.get_serial_console(ctxt, instance)
            return console.host == host and console.port == int(port)
        except Exception as e:
            LOG.info('Console port of server %s not confirmed: %s',
                     instance.uuid, exception.fault_message(e))
            return False

    @_remotable
    def follow_console_log(self, ctxt, instance, follow_id=None,
                           history_bytes=None, wait=0):
        """Follow the guest's console log: history, then live bytes.

        :param follow_id: None opens a follower (its first answer carries
            the newest ``history_bytes`` of the log); else the id a first
            answer gave, for the next bytes.
        :param history_bytes: int 0..102400, None: 102400; used when
            opening only.
        :param wait: seconds (number >= 0) to wait for bytes when there
            are none; cut to ``[serial_console] console_follow_max_wait``
            and half of ``rpc_response_timeout`` (see console_followers).
        :returns: ``{'follow_id': str, 'data': str, 'gap': bool,
            'ended': bool, 'retry_after': float}``: ``data`` is the bytes
            (at most 256 KiB) as latin-1 text, as get_console_output;
            ``gap``: bytes may be missing before ``data`` (the log rotated
            away faster than it was read); ``ended``: the guest is no
            longer on this host and every byte of its log was handed out,
            the follower is closed; ``retry_after``: seconds >= 0 to pause
            before the next call, > 0 only for an empty answer that did
            not wait as asked (this host's waiting slots were all taken,
            see FollowerTable.follow). A caller that ignores it still
            works; it only polls faster.
        :raises nova.exception.ConsoleFollowNotFound: unknown, ended or
            expired ``follow_id``, or one of another instance.
        :raises nova.exception.TooManyConsoleFollowers: on opening, past
            ``[serial_console] max_console_followers``.
        :raises nova.exception.InstanceNotFound,
            nova.exception.ConsoleLogFollowUnavailable: on opening, see
            LibvirtDriver.open_console_follower.
        :raises nova.exception.Invalid: a bad ``history_bytes`` or
            ``wait``.
        """
        history_bytes = console_followers.check_history_bytes(
            history_bytes)
        console_followers.check_wait(wait)
        if follow_id is None:
            follow_id = self._followers.start(
                instance.uuid, lambda: self.driver.open_console_follower(
                    instance, history_bytes))
        data, gap, ended, retry_after = self._followers.follow(
            instance.uuid, follow_id, wait,
            alive=lambda: self._still_here(instance))
        return {'follow_id': follow_id, 'data': data.decode('latin-1'),
                'gap': gap, 'ended': ended, 'retry_after': retry_after}

    @_remotable
    def end_console_follow(self, ctxt, instance, follow_id):
        """Close the follower ``follow_id`` of ``instance`` now (a cast:
        an unknown id is ignored)."""
        self._followers.end(instance.uuid, follow_id)

    # -- live migration (source-driven; see nova.conductor.live_migrate) ---
    # The conductor asks both checks, then casts live_migration here, to
    # the source. The source calls pre_live_migration on the destination,
    # runs and watches libvirt's job, then calls post (or, when the job
    # ended and the guest still runs here, rollback) on the destination,
    # and reports the outcome to the conductor with a cast.

    @_remotable
    def check_can_live_migrate_destination(self, ctxt, instance):
        return self.driver.check_can_live_migrate_destination(ctxt,
                                                              instance)

    @_remotable
    def check_can_live_migrate_source(self, ctxt, instance, migrate_data):
        return self.driver.check_can_live_migrate_source(ctxt, instance,
                                                         migrate_data)

    @_remotable
    def cleanup_live_migration_destination_check(self, ctxt, instance,
                                                 migrate_data):
        self.driver.cleanup_live_migration_destination_check(ctxt,
                                                             migrate_data)

    @_remotable
    def pre_live_migration(self, ctxt, instance, migrate_data):
        return self.driver.pre_live_migration(ctxt, instance, migrate_data)

    @_remotable
    def live_migration(self, ctxt, instance, dest, migrate_data,
                       requested_at=None):
        """A cast from the conductor: move ``instance`` to ``dest``.

        Never raises: the outcome goes to the conductor
        (``report_live_migration``): MIGRATION_DONE, MIGRATION_FAILED
        (the guest runs here, the destination was rolled back) or
        MIGRATION_UNKNOWN (the job ended in an error and the guest does
        not run here: the conductor asks the hosts). A request sent
        before this service started is refused (FAILED): the conductor
        may have settled the migration meanwhile
        (live_migrate.recover_live_migrations).
        """
        uuid = instance.uuid
        with self._migrations_lock:
            self._driving.add(uuid)
        try:
            with self._lock(uuid):
                outcome, fault = self._drive_live_migration(
                    ctxt, instance, dest, migrate_data, requested_at)
        except Exception as e:
            LOG.exception('Live migration of %s to %s', uuid, dest)
            outcome = conductor_rpcapi.MIGRATION_UNKNOWN
            fault = exception.fault_message(e)
        finally:
            # Not driving before the report: an UNKNOWN one makes the
            # conductor ask this host, which must not answer "driving".
            with self._migrations_lock:
                self._driving.discard(uuid)
        self._conductor().report_live_migration(
            ctxt, instance, self.host, dest, outcome, fault)

    def _drive_live_migration(self, ctxt, instance, dest, data,
                              requested_at):
        uuid = instance.uuid
        if (isinstance(requested_at, (int, float)) and
                not isinstance(requested_at, bool) and
                requested_at < self._started_at):
            LOG.warning('Live migration of %s to %s not started: requested '
                        'before this service started', uuid, dest)
            return self._not_moved(
                ctxt, instance, dest, None,
                'the source host restarted before the migration started')
        try:
            data = self.compute_rpcapi.pre_live_migration(ctxt, dest,
                                                          instance, data)
        except Exception as e:
            # It may have taken ports before failing or timing out: the
            # guest is not defined there, so all it holds for it goes.
            return self._not_moved(ctxt, instance, dest, None,
                                   self._fault('pre_live_migration', e))
        try:
            self.driver.live_migration(ctxt, instance, data.connect_uri,
                                       data)
        except Exception as e:
            return self._not_moved(ctxt, instance, dest, data,
                                   self._fault('live_migration', e))
        try:
            self.compute_rpcapi.post_live_migration_at_destination(
                ctxt, dest, instance, data)
        except Exception as e:
            # The guest runs there; at its restart that host takes stock
            # of the ports the guest listens on.
            LOG.warning('Live migration of %s: the destination %s did not '
                        'settle it: %s', uuid, dest,
                        exception.fault_message(e))
        try:
            self.driver.post_live_migration(ctxt, instance, data)
        except Exception:
            LOG.exception('Live migration of %s: clean-up on the source '
                          'failed', uuid)
        LOG.info('Live migrated %s to %s', uuid, dest)
        return conductor_rpcapi.MIGRATION_DONE, None

    def _fault(self, what, e):
        """The text of ``e`` as _remotable would send it: a Nova error's
        message; anything else logged here and named ComputeHostError."""
        if isinstance(e, exception.NovaException):
            return e.message
        LOG.error('%s failed on host %s: %s', what, self.host,
                  exception.fault_message(e), exc_info=e)
        return exception.ComputeHostError(
            host=self.host, reason=exception.fault_message(e)).message

    def _not_moved(self, ctxt, instance, dest, data, fault):
        """The migration failed: roll the destination back if, and only
        if, the guest certainly stays here (libvirt's job is over and the
        guest runs here). Returns (outcome, fault)."""
        state = self._settled_state(instance)
        if state != virt_driver.GUEST_RUNNING:
            LOG.error('Live migration of %s to %s failed (%s) and the guest '
                      'is %s here: left for the conductor to settle',
                      instance.uuid, dest, fault, state)
            return conductor_rpcapi.MIGRATION_UNKNOWN, fault
        LOG.error('Live migration of %s to %s failed; it stays on %s: %s',
                  instance.uuid, dest, self.host, fault)
        try:
            self.compute_rpcapi.rollback_live_migration_at_destination(
                ctxt, dest, instance, data)
        except Exception as e:
            LOG.warning('Rollback of %s on %s failed: %s', instance.uuid,
                        dest, exception.fault_message(e))
        return conductor_rpcapi.MIGRATION_FAILED, fault

    def _settled_state(self, instance):
        """The guest's state here once no migration job runs on it (at
        most long_rpc_timeout: then GUEST_MIGRATING)."""
        deadline = time.monotonic() + self._conf.long_rpc_timeout
        while True:
            state = self.driver.live_migration_guest_state(instance)
            if (state != virt_driver.GUEST_MIGRATING or
                    time.monotonic() > deadline):
                return state
            time.sleep(SETTLE_POLL_INTERVAL)

    @_remotable
    def post_live_migration_at_destination(self, ctxt, instance,
                                           migrate_data=None):
        self.driver.post_live_migration_at_destination(ctxt, instance,
                                                       migrate_data)

    @_remotable
    def rollback_live_migration_at_destination(self, ctxt, instance,
                                               migrate_data=None):
        self.driver.rollback_live_migration_at_destination(ctxt, instance,
                                                           migrate_data)

    @_remotable
    def post_live_migration_at_source(self, ctxt, instance, migrate_data):
        """The guest left this host (found by a recovery): give back what
        it held here and send its log on. Refused while it runs here."""
        with self._lock(instance.uuid):
            state = self.driver.live_migration_guest_state(instance)
            if state != virt_driver.GUEST_ABSENT:
                raise exception.MigrationError(
                    reason='instance %s is %s on %s' % (instance.uuid,
                                                        state, self.host))
            self.driver.post_live_migration(ctxt, instance, migrate_data)

    @_remotable
    def get_live_migration_state(self, ctxt, instance):
        """``{'guest': driver GUEST_* state, 'driving': bool}``: whether
        this service runs the migration of ``instance`` as its source."""
        with self._migrations_lock:
            driving = instance.uuid in self._driving
        return {'guest': self.driver.live_migration_guest_state(instance),
                'driving': driving}

    # -- cold migration and resize (calls from nova.conductor.migrate) ------
    # Each step runs under the guest's lock and answers the conductor,
    # which runs them in order and records the outcome.

    def _resize_step(self, instance, work):
        with self._busy_lock:
            self._busy[instance.uuid] = self._busy.get(instance.uuid, 0) + 1
        try:
            with self._lock(instance.uuid):
                return work()
        finally:
            with self._busy_lock:
                self._busy[instance.uuid] -= 1
                if not self._busy[instance.uuid]:
                    del self._busy[instance.uuid]

    @_remotable
    def prep_resize(self, ctxt, instance, same_host=False):
        return self._resize_step(instance, lambda: (
            self.driver.prepare_migration(ctxt, instance,
                                          instance.image_meta,
                                          bool(same_host))))

    @_remotable
    def resize_instance(self, ctxt, instance, dest_data, same_host=False):
        return self._resize_step(instance, lambda: (
            self.driver.migrate_disk_and_power_off(
                ctxt, instance, dest_data, bool(same_host))))

    @_remotable
    def finish_resize(self, ctxt, instance, same_host=False):
        def work():
            self.driver.finish_migration(ctxt, instance,
                                         instance.image_meta,
                                         bool(same_host))
            return self._port_facts()
        return self._resize_step(instance, work)

    @_remotable
    def confirm_resize(self, ctxt, instance, same_host=False):
        def work():
            self.driver.confirm_migration(ctxt, instance, bool(same_host))
            return self._port_facts()
        return self._resize_step(instance, work)

    @_remotable
    def revert_resize(self, ctxt, instance, source_data=None,
                      same_host=False):
        def work():
            note = self.driver.revert_migration_at_destination(
                ctxt, instance, source_data, bool(same_host))
            return {'note': note, 'facts': self._port_facts()}
        return self._resize_step(instance, work)

    @_remotable
    def finish_revert_resize(self, ctxt, instance):
        def work():
            self.driver.finish_revert_migration(ctxt, instance)
            return self._port_facts()
        return self._resize_step(instance, work)

    # -- os-stop / os-start (2.5): casts from the conductor, run and
    # reported as reboot is.

    @_remotable
    def stop_instance(self, ctxt, instance):
        """Power the guest off; it keeps its definition, disk, serial
        ports and console log (a cast)."""
        self._run_action(
            ctxt, 'stop_instance', 'stop', task_states.POWERING_OFF,
            instance, lambda: self.driver.power_off(instance))

    @_remotable
    def start_instance(self, ctxt, instance):
        """Boot the stopped guest again; its console log is appended to
        (a cast)."""
        self._run_action(
            ctxt, 'start_instance', 'start', task_states.POWERING_ON,
            instance, lambda: self.driver.power_on(ctxt, instance))

    # -- admin (2.6): diagnostics and the host's uptime (calls)

    @_remotable
    def get_diagnostics(self, ctxt, instance):
        """The running guest's statistics (ComputeDriver.get_diagnostics).

        :raises nova.exception.InstanceInvalidState: it does not run
            (Nova checks the guest's power state here too).
        :raises nova.exception.InstanceNotFound: no such guest here.
        """
        if not self.driver.is_running(instance):
            raise exception.InstanceInvalidState(
                action='get_diagnostics', instance_uuid=instance.uuid,
                state='in power state shutdown')
        return self.driver.get_diagnostics(instance)

    @_remotable
    def get_host_uptime(self, ctxt):
        """This host's ``uptime`` line (ComputeDriver.get_host_uptime)."""
        return self.driver.get_host_uptime()
