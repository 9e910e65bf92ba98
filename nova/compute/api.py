"""The compute API: what the REST layer calls.

Every method takes the caller's RequestContext. Servers belong to the
caller's project: a server of another project does not exist for the
caller (an admin sees all). Flavors and images are shared; creating them
is for admins, as an image names files on the compute host.

Build, reboot, rebuild and delete are accepted here, marked on the server
(status and task_state) and run on a pool of worker threads calling the
compute manager. A deleted server stays visible, with task_state
'deleting', until its guest is gone; then its row is removed.
"""

from concurrent import futures
import json
import os
import threading
import time
from urllib import parse
import uuid as uuid_lib

from oslo_log import log as logging

import nova.conf
from nova.compute import manager
from nova.console import tokens
from nova import context as nova_context
from nova.db import api as db
from nova import exception
from nova.virt.libvirt import driver as libvirt_driver

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

WORKERS = 8  # concurrent server actions; more wait in the pool's queue
MAX_NAME_LENGTH = 255
MAX_INT = 2 ** 31 - 1
DISK_FORMATS = ('raw', 'qcow2', 'qed', 'vdi', 'vmdk', 'vhdx')

_default_compute = None
_default_compute_lock = threading.Lock()


def _local_compute():
    """This process's compute manager on the configured libvirt."""
    global _default_compute
    with _default_compute_lock:
        if _default_compute is None:
            _default_compute = manager.ComputeManager(
                libvirt_driver.LibvirtDriver())
        return _default_compute


# -- input checks -------------------------------------------------------------

def _bad(field, detail):
    return exception.ValidationError(field=field, detail=detail)


def _check_string(value, field, max_length=MAX_NAME_LENGTH):
    if (not isinstance(value, str) or not value.strip() or
            len(value) > max_length):
        raise _bad(field, 'must be a non-blank string of at most %d '
                          'characters' % max_length)
    return value


def _check_int(value, field, minimum):
    if (isinstance(value, bool) or not isinstance(value, int) or
            not minimum <= value <= MAX_INT):
        raise _bad(field, 'must be an integer from %d to %d' % (
            minimum, MAX_INT))
    return value


def _check_dict(value, field, string_values):
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(key, str) and key and len(key) <= MAX_NAME_LENGTH
            for key in value):
        raise _bad(field, 'must be an object with non-empty string keys')
    if string_values:
        if not all(isinstance(v, str) and len(v) <= MAX_NAME_LENGTH
                   for v in value.values()):
            raise _bad(field, 'values must be strings of at most %d '
                              'characters' % MAX_NAME_LENGTH)
    else:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise _bad(field, 'values must be JSON')
    return dict(value)


def _check_path(value, field):
    if value is None:
        return None
    if not isinstance(value, str) or not os.path.isabs(value):
        raise exception.Invalid(reason='%s must be an absolute path, not %r'
                                % (field, value))
    if not os.path.isfile(value):
        raise exception.Invalid(reason='%s %s does not exist or is not a '
                                'file' % (field, value))
    return value


def _require_admin(ctx, action):
    if not ctx.is_admin:
        raise exception.Forbidden(action=action)


def _ready(server):
    return server['status'] == manager.ACTIVE and not server['task_state']


def _state(server):
    if server['task_state']:
        return '%s (%s)' % (server['status'], server['task_state'])
    return server['status']


def console_url(base_url, token):
    """``base_url`` with ``token=...`` added to its query."""
    parts = parse.urlsplit(base_url)
    query = '&'.join(q for q in (parts.query, 'token=' + token) if q)
    return parse.urlunsplit(parts._replace(query=query))


class API:
    def __init__(self, compute=None):
        """``compute``: a ComputeManager, started by the caller.

        By default this process's own, on the configured libvirt, made on
        first use and started (``init_host``) by the first server action.
        Console lookups alone never start it: nova-serialproxy's process
        must not take this process's running tasks for interrupted ones.
        """
        self._compute = compute
        self._start_compute = compute is None
        self._pool = futures.ThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix='nova-compute-task')
        self._tasks = set()
        self._tasks_lock = threading.Lock()
        self._closed = False

    @property
    def compute(self):
        if self._compute is None:
            self._compute = _local_compute()
        return self._compute

    def _compute_for_actions(self):
        """The compute manager, started; before any state is changed."""
        self._check_open()
        compute = self.compute
        if self._start_compute:
            compute.init_host()
        return compute

    # -- flavors ----------------------------------------------------------

    def flavor_list(self, ctx):
        return db.flavor_list()

    def flavor_get(self, ctx, flavor_id):
        """A flavor by id; an integer id means its string (as in Nova)."""
        if isinstance(flavor_id, int) and not isinstance(flavor_id, bool):
            flavor_id = str(flavor_id)
        flavor = db.flavor_get(flavor_id) if isinstance(
            flavor_id, str) else None
        if flavor is None:
            raise exception.FlavorNotFound(flavor_id=flavor_id)
        return flavor

    def flavor_create(self, ctx, name, ram, vcpus, disk=0, extra_specs=None,
                      flavor_id=None):
        _require_admin(ctx, 'flavor create')
        return db.flavor_create({
            'id': (str(uuid_lib.uuid4()) if flavor_id is None else
                   _check_string(flavor_id, 'id')),
            'name': _check_string(name, 'name'),
            'ram': _check_int(ram, 'ram', 1),
            'vcpus': _check_int(vcpus, 'vcpus', 1),
            'disk': _check_int(disk, 'disk', 0),
            'extra_specs': _check_dict(extra_specs, 'extra_specs', True)})

    # -- images -----------------------------------------------------------

    def image_list(self, ctx):
        return db.image_list()

    def image_get(self, ctx, image_id):
        image = db.image_get(image_id) if isinstance(image_id, str) else None
        if image is None:
            raise exception.ImageNotFound(image_id=image_id)
        return image

    def image_create(self, ctx, name, kernel_path=None, ramdisk_path=None,
                     disk_path=None, disk_format='raw', properties=None,
                     image_id=None):
        """Register files on the compute host as an image (admins only).

        A kernel (and optional ramdisk) is booted directly; otherwise the
        disk is booted.
        """
        _require_admin(ctx, 'image create')
        values = {
            'id': (str(uuid_lib.uuid4()) if image_id is None else
                   _check_string(image_id, 'id', 36)),
            'name': _check_string(name, 'name'),
            'kernel_path': _check_path(kernel_path, 'kernel_path'),
            'ramdisk_path': _check_path(ramdisk_path, 'ramdisk_path'),
            'disk_path': _check_path(disk_path, 'disk_path'),
            'disk_format': disk_format,
            'properties': _check_dict(properties, 'properties', False),
            'status': 'active'}
        if disk_format not in DISK_FORMATS:
            raise _bad('disk_format', 'must be one of %s' %
                       ', '.join(DISK_FORMATS))
        if not (kernel_path or disk_path):
            raise exception.Invalid(
                reason='an image needs a kernel_path or a disk_path')
        if ramdisk_path and not kernel_path:
            raise exception.Invalid(reason='a ramdisk_path needs a '
                                           'kernel_path')
        return db.image_create(values)

    # -- background tasks -------------------------------------------------

    def _check_open(self):
        if self._closed:
            raise exception.ServiceUnavailable(
                reason='The compute service is shutting down')

    def _submit(self, server, task, action, func, *args):
        """Run ``func(*args)`` on a worker; never lose its failure."""
        uuid = server['uuid']

        def run():
            try:
                func(*args)
            except Exception as e:
                # The manager logged it and set ERROR; this is a safety
                # net should it not have (it matches only if the server
                # is still in the task).
                LOG.warning('%s of server %s failed: %s', action, uuid,
                            manager.fault_message(e))
                try:
                    db.server_update(uuid, {
                        'status': manager.ERROR, 'task_state': None,
                        'fault': manager.fault_message(e)},
                        expected_task_state=task)
                except Exception:
                    LOG.exception('Could not set server %s to ERROR', uuid)

        with self._tasks_lock:
            try:
                future = self._pool.submit(run)
            except RuntimeError:  # shut down meanwhile
                future = None
            else:
                self._tasks.add(future)
        if future is None:
            reason = 'The compute service is shutting down'
            db.server_update(uuid, {'status': manager.ERROR,
                                    'task_state': None, 'fault': reason},
                             expected_task_state=task)
            raise exception.ServiceUnavailable(reason=reason)
        future.add_done_callback(self._task_done)

    def _task_done(self, future):
        with self._tasks_lock:
            self._tasks.discard(future)

    def wait_for_tasks(self, timeout=None):
        """Wait for every accepted action to finish; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._tasks_lock:
                pending = [f for f in self._tasks if not f.done()]
            if not pending:
                return True
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
            futures.wait(pending, timeout=remaining)

    def shutdown(self):
        """Refuse new actions and finish the accepted ones."""
        self._closed = True
        self._pool.shutdown(wait=True)

    # -- servers ----------------------------------------------------------

    def _get(self, ctx, server_id):
        server = db.server_get(server_id) if isinstance(
            server_id, str) else None
        if server is None or not (ctx.is_admin or
                                  server['project_id'] == ctx.project_id):
            raise exception.InstanceNotFound(instance_id=server_id)
        return server

    def _invalid_state(self, ctx, server_id, action):
        server = self._get(ctx, server_id)  # it may be gone meanwhile
        return exception.InstanceInvalidState(
            action=action, instance_uuid=server['uuid'],
            state=_state(server))

    def create(self, ctx, name, image_ref, flavor_ref):
        """Accept a server (status BUILD) and build it in the background."""
        _check_string(name, 'name')
        flavor = self.flavor_get(ctx, flavor_ref)
        image = self.image_get(ctx, image_ref)
        compute = self._compute_for_actions()
        server = db.server_create({
            'uuid': str(uuid_lib.uuid4()), 'name': name,
            'project_id': ctx.project_id, 'user_id': ctx.user_id,
            'flavor_id': flavor['id'], 'image_id': image['id'],
            'status': manager.BUILD, 'task_state': manager.SPAWNING,
            'host': compute.host})
        self._submit(server, manager.SPAWNING, 'Build',
                     compute.build_and_run_instance, ctx, server)
        return server

    def get(self, ctx, server_id):
        return self._get(ctx, server_id)

    def list(self, ctx):
        return db.server_list(project_id=None if ctx.is_admin else
                              ctx.project_id)

    def delete(self, ctx, server_id):
        """Accept a delete, in any state; deleting twice is harmless."""
        server = self._get(ctx, server_id)
        compute = self._compute_for_actions()
        uuid = server['uuid']
        updated = db.server_update(
            uuid, {'task_state': manager.DELETING},
            expected_task_state=(None,) + tuple(
                t for t in manager.TASK_STATES if t != manager.DELETING))
        if updated is None:
            self._get(ctx, server_id)  # InstanceNotFound if gone
            return  # already being deleted
        tokens.delete_for_instance(uuid)
        self._submit(updated, manager.DELETING, 'Delete',
                     compute.terminate_instance, ctx, updated)

    def reboot(self, ctx, server_id, reboot_type):
        """SOFT: from ACTIVE. HARD: from ACTIVE, ERROR or a soft reboot."""
        if reboot_type not in manager.REBOOT_STATES:
            raise _bad('reboot_type', "must be 'SOFT' or 'HARD'")
        server = self._get(ctx, server_id)
        compute = self._compute_for_actions()
        if reboot_type == 'SOFT':
            statuses, tasks = (manager.ACTIVE,), (None,)
        else:
            statuses = (manager.ACTIVE, manager.ERROR, manager.REBOOT)
            tasks = (None, manager.REBOOTING)
        status, task = manager.REBOOT_STATES[reboot_type]
        updated = db.server_update(
            server['uuid'], {'status': status, 'task_state': task},
            expected_status=statuses, expected_task_state=tasks)
        if updated is None:
            raise self._invalid_state(ctx, server_id, 'reboot')
        tokens.delete_for_instance(server['uuid'])
        self._submit(updated, task, '%s reboot' % reboot_type.capitalize(),
                     compute.reboot_instance, ctx, updated, reboot_type)

    def rebuild(self, ctx, server_id, image_ref):
        """Boot the server again from ``image_ref``; from ACTIVE or ERROR."""
        server = self._get(ctx, server_id)
        image = self.image_get(ctx, image_ref)
        compute = self._compute_for_actions()
        updated = db.server_update(
            server['uuid'], {'status': manager.REBUILD,
                             'task_state': manager.REBUILDING,
                             'image_id': image['id']},
            expected_status=(manager.ACTIVE, manager.ERROR),
            expected_task_state=None)
        if updated is None:
            raise self._invalid_state(ctx, server_id, 'rebuild')
        tokens.delete_for_instance(server['uuid'])
        self._submit(updated, manager.REBUILDING, 'Rebuild',
                     compute.rebuild_instance, ctx, updated, image)
        return updated

    # -- consoles -----------------------------------------------------------

    @staticmethod
    def _check_ready(server):
        if not _ready(server):
            raise exception.InstanceNotReady(instance_id=server['uuid'],
                                             state=_state(server))

    def get_console_output(self, ctx, server_id):
        server = self._get(ctx, server_id)
        self._check_ready(server)
        return self.compute.get_console_output(ctx, server)

    def get_serial_console(self, ctx, server_id, console_type='serial'):
        """A console URL for the server, with a fresh token."""
        server = self._get(ctx, server_id)
        if console_type != 'serial':
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        self._check_ready(server)
        console = self.compute.get_serial_console(ctx, server, console_type)
        token = tokens.authorize(server['uuid'], console_type, console.host,
                                 console.port)
        return {'type': console_type,
                'url': console_url(CONF.serial_console.base_url, token)}

    def validate_console_port(self, ctx, instance_uuid, host, port,
                              console_type):
        """For nova-serialproxy: is ``host:port`` still that console?"""
        admin = nova_context.get_admin_context()
        try:
            server = self._get(admin, instance_uuid)
        except exception.InstanceNotFound:
            return False
        if not _ready(server):
            return False
        return self.compute.validate_console_port(admin, server, host, port,
                                                  console_type)
