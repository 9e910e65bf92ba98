"""The compute manager: one compute host's side of every server action.

It turns the database's server rows into the driver's Instance objects,
runs the driver and records the outcome on the server row. Actions on one
server are serialized by a per-server lock. Each action finishes (ACTIVE,
or ERROR with the error's message as the fault) only if the server is
still in the task the action started in: a newer request that took the
server over (a delete, a hard reboot during a soft one) is never undone.
"""

import threading

from oslo_concurrency import lockutils
from oslo_log import log as logging

import nova.conf
from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# Server status, as the API shows it.
BUILD = 'BUILD'
ACTIVE = 'ACTIVE'
ERROR = 'ERROR'
REBOOT = 'REBOOT'
HARD_REBOOT = 'HARD_REBOOT'
REBUILD = 'REBUILD'

# Task states: the action in progress, None when there is none.
SPAWNING = 'spawning'
REBOOTING = 'rebooting'
REBOOTING_HARD = 'rebooting_hard'
REBUILDING = 'rebuilding'
DELETING = 'deleting'
TASK_STATES = (SPAWNING, REBOOTING, REBOOTING_HARD, REBUILDING, DELETING)

# reboot_type -> (status, task_state) while it runs.
REBOOT_STATES = {'SOFT': (REBOOT, REBOOTING),
                 'HARD': (HARD_REBOOT, REBOOTING_HARD)}

MAX_FAULT_LENGTH = 1000


def fault_message(exc):
    """What a user sees of an error: its message, never a traceback."""
    if isinstance(exc, exception.NovaException):
        message = exc.message
    else:
        message = str(exc) or type(exc).__name__
    return message[:MAX_FAULT_LENGTH]


class ComputeManager:
    """Runs on the compute host ``host`` and wraps its one driver."""

    def __init__(self, driver, host=None):
        self.driver = driver
        self.host = host or getattr(driver, 'host_name', None) or CONF.host
        self._started = False
        self._start_lock = threading.Lock()

    @staticmethod
    def _lock(uuid):
        return lockutils.lock('nova-server-%s' % uuid)

    def init_host(self):
        """Start up: the driver's ports, then tasks a restart cut short.

        Servers of this host left in a task by a stopped process are set
        to ERROR, or deleted if they were being deleted. Only one process
        per host may run server actions, and only its first call here
        does anything, so running tasks are never taken for interrupted.
        """
        with self._start_lock:
            if not self._started:
                self.driver.init_host(host=self.host)
                self._recover_interrupted_tasks()
                self._started = True

    def _recover_interrupted_tasks(self):
        for server in db.server_list(host=self.host):
            task = server['task_state']
            if task == DELETING:
                try:
                    self.terminate_instance(None, server)
                except Exception:
                    pass  # recorded on the server and logged
            elif task is not None:
                LOG.warning('Server %s was %s when the compute service '
                            'stopped; setting it to ERROR',
                            server['uuid'], task)
                db.server_update(server['uuid'], {
                    'status': ERROR, 'task_state': None,
                    'fault': 'Interrupted by a restart of the compute '
                             'service while %s' % task},
                    expected_task_state=task)
                tokens.delete_for_instance(server['uuid'])

    # -- from DB rows to the driver's objects ---------------------------------

    def _instance(self, server, image=None, boot=False):
        """The driver's Instance for ``server``.

        ``boot`` requires the flavor and the image (``image`` overrides
        the server's); without it missing rows are tolerated, so a server
        whose image is gone can still be deleted.
        """
        flavor = db.flavor_get(server['flavor_id'])
        image = image or db.image_get(server['image_id'])
        if boot and flavor is None:
            raise exception.FlavorNotFound(flavor_id=server['flavor_id'])
        if boot and image is None:
            raise exception.ImageNotFound(image_id=server['image_id'])
        instance = objects.Instance(uuid=server['uuid'],
                                    host=server['host'] or self.host)
        if flavor is not None:
            instance.flavor = objects.Flavor(
                name=flavor['name'], memory_mb=flavor['ram'],
                vcpus=flavor['vcpus'],
                extra_specs=dict(flavor['extra_specs']))
        if image is not None:
            instance.image_meta = objects.ImageMeta(
                id=image['id'], name=image['name'],
                kernel_path=image['kernel_path'],
                ramdisk_path=image['ramdisk_path'],
                disk_path=image['disk_path'],
                disk_format=image['disk_format'],
                properties=dict(image['properties']))
        return instance

    # -- recording outcomes ---------------------------------------------------

    def _record_failure(self, uuid, task, action, exc):
        """Log ``exc`` with its traceback; show only its message as fault."""
        LOG.exception('%s of server %s failed', action, uuid)
        try:
            done = db.server_update(
                uuid, {'status': ERROR, 'task_state': None,
                       'fault': fault_message(exc)},
                expected_task_state=task)
        except Exception:
            LOG.exception('Could not set server %s to ERROR', uuid)
            return
        if done is None:
            LOG.info('Failure of %s not recorded: server %s was deleted or '
                     'taken over by another request', action, uuid)

    def _run(self, ctx, server, task, action, work, done_values,
             revoke_tokens=False):
        """Run ``work(current_server)`` as ``action`` in task ``task``.

        Skipped when the server is gone or another task took it over.
        Exceptions are recorded on the server and raised again.
        """
        uuid = server['uuid']
        with self._lock(uuid):
            current = db.server_get(uuid)
            if current is None:
                LOG.info('Server %s is gone: %s not run', uuid, action)
                return
            started = current['task_state']
            if started not in (task, None):
                LOG.info('%s of server %s not run: superseded by %s',
                         action, uuid, started)
                return
            try:
                work(current)
            except Exception as e:
                self._record_failure(uuid, started, action, e)
                raise
            finally:
                if revoke_tokens:
                    # Tokens issued while this ran may name the old port.
                    tokens.delete_for_instance(uuid)
            values = dict(done_values, task_state=None, fault=None)
            if db.server_update(uuid, values,
                                expected_task_state=started) is None:
                LOG.info('%s of server %s done, but the server was taken '
                         'over meanwhile', action, uuid)

    # -- actions --------------------------------------------------------------

    def build_and_run_instance(self, ctx, server):
        def spawn(current):
            instance = self._instance(current, boot=True)
            self.driver.spawn(ctx, instance, instance.image_meta)
        self._run(ctx, server, SPAWNING, 'Build', spawn,
                  {'status': ACTIVE, 'host': self.host})

    def reboot_instance(self, ctx, server, reboot_type):
        if reboot_type not in REBOOT_STATES:
            raise exception.ValidationError(
                field='reboot_type', detail="must be 'SOFT' or 'HARD'")

        def reboot(current):
            self.driver.reboot(ctx, self._instance(current, boot=True),
                               reboot_type=reboot_type)
        self._run(ctx, server, REBOOT_STATES[reboot_type][1],
                  '%s reboot' % reboot_type.capitalize(), reboot,
                  {'status': ACTIVE}, revoke_tokens=True)

    def rebuild_instance(self, ctx, server, image):
        def rebuild(current):
            instance = self._instance(current, image=image, boot=True)
            self.driver.rebuild(ctx, instance, instance.image_meta)
        self._run(ctx, server, REBUILDING, 'Rebuild', rebuild,
                  {'status': ACTIVE, 'image_id': image['id']},
                  revoke_tokens=True)

    def terminate_instance(self, ctx, server):
        """Destroy the guest (disks and log too), then forget the server."""
        uuid = server['uuid']
        with self._lock(uuid):
            current = db.server_get(uuid) or server
            try:
                self.driver.destroy(ctx, self._instance(current))
            except Exception as e:
                self._record_failure(uuid, current['task_state'], 'Delete',
                                     e)
                raise
            db.server_delete(uuid)  # its console tokens go with it
            LOG.info('Deleted server %s', uuid)

    # -- consoles -------------------------------------------------------------

    @staticmethod
    def _bare_instance(server):
        return objects.Instance(uuid=server['uuid'], host=server['host'])

    def get_console_output(self, ctx, server):
        return self.driver.get_console_output(ctx,
                                              self._bare_instance(server))

    def get_serial_console(self, ctx, server, console_type):
        if console_type != 'serial':
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        return self.driver.get_serial_console(ctx,
                                              self._bare_instance(server))

    def validate_console_port(self, ctx, server, host, port, console_type):
        """Whether ``host:port`` is the guest's current serial console.

        Fails closed: any error looking it up means no.
        """
        try:
            console = self.get_serial_console(ctx, server, console_type)
            port = int(port)
        except Exception as e:
            LOG.info('Console port of server %s not confirmed: %s',
                     server['uuid'], fault_message(e))
            return False
        return console.host == host and console.port == port
