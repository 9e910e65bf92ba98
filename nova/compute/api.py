"""The compute API: what the REST layer calls.

Every method takes the caller's RequestContext. Servers belong to the
caller's project: a server of another project does not exist for the
caller (an admin sees all). Flavors and images are shared; creating them
is for admins, as an image names files on the compute hosts.

A new server gets its host from the scheduler and keeps it until a live
migration moves it; every call for a server goes to that host over RPC
(``nova.compute.rpcapi``). A server whose host is down is answered at
once with 409 naming the host; other servers are unaffected.

Build, reboot, rebuild and delete are accepted here, marked on the
instance (vm_state and task_state) and run on a pool of worker threads
(``nova.conductor.tasks``); a live migration is checked here, then driven
by its source host (``nova.conductor.live_migrate``). A deleted server
stays visible, with task_state 'deleting', until its guest is gone; then
its row is removed.
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
from nova.compute import rpcapi
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import live_migrate
from nova.conductor import tasks as conductor_tasks
from nova.console import tokens
from nova.console import type as ctype
from nova.api.openstack import common as api_common
from nova import context as nova_context
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler
from nova import servicegroup

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

WORKERS = 8  # concurrent server actions; more wait in the pool's queue
MAX_NAME_LENGTH = 255
MAX_INT = 2 ** 31 - 1
DISK_FORMATS = ('raw', 'qcow2', 'qed', 'vdi', 'vmdk', 'vhdx')
UNSET = object()


# -- input checks -------------------------------------------------------------

def _bad(field, detail):
    return exception.ValidationError(field=field, detail=detail)


def _check_string(value, field, max_length=MAX_NAME_LENGTH):
    if (not isinstance(value, str) or not value.strip() or
            len(value) > max_length):
        raise _bad(field, 'must be a non-blank string of at most %d '
                          'characters' % max_length)
    return value


def _check_description(value):
    """Any string of at most 255 characters, empty too (as Nova), or None."""
    if value is not None and (not isinstance(value, str) or
                              len(value) > MAX_NAME_LENGTH):
        raise _bad('description', 'must be null or a string of at most %d '
                                  'characters' % MAX_NAME_LENGTH)
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
    return (server['vm_state'] == vm_states.ACTIVE and
            not server['task_state'])


def _state(server):
    # The status the user sees in the server's body names the state in
    # the 409 they get.
    status = api_common.status_of(server)
    if server['task_state']:
        return '%s (%s)' % (status, server['task_state'])
    return status


def _bare_instance(server):
    """Enough of the server for the console calls: they find the guest by
    its uuid, so its flavor and image are not read from the database."""
    return objects.Instance(uuid=server['uuid'], host=server['host'])


def console_url(base_url, token):
    """``base_url`` with ``token=...`` added to its query."""
    parts = parse.urlsplit(base_url)
    query = '&'.join(q for q in (parts.query, 'token=' + token) if q)
    return parse.urlunsplit(parts._replace(query=query))


# The web terminal nova-serialproxy serves next to its websocket.
CONSOLE_PAGE = 'console.html'
_PAGE_SCHEMES = {'ws': 'http', 'wss': 'https'}


def console_page_url(base_url, token):
    """The proxy's web terminal for ``token``: ``http(s)://.../console.html``.

    Same host, port and folder as ``base_url``; ``https`` when base_url is
    ``wss``. The page works with a viewer's token and with an interactive
    ``serial`` token alike.
    """
    parts = parse.urlsplit(base_url)
    scheme = _PAGE_SCHEMES.get(parts.scheme.lower(), parts.scheme)
    folder = parts.path.rsplit('/', 1)[0]
    return console_url(parse.urlunsplit(parts._replace(
        scheme=scheme, path='%s/%s' % (folder, CONSOLE_PAGE))), token)


class API:
    def __init__(self, compute_rpcapi=None, conf=None):
        """``compute_rpcapi`` defaults to one on ``conf``'s transport.

        ``start()`` (nova-api, nova-all) recovers the tasks a stopped
        process left.
        """
        self.conf = conf or CONF
        self.compute_rpcapi = (compute_rpcapi or
                               rpcapi.ComputeAPI(self.conf))
        self.tasks = conductor_tasks.ServerTasks(self.compute_rpcapi)
        self._pool = futures.ThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix='nova-compute-task')
        self._tasks = set()
        self._tasks_lock = threading.Lock()
        self._closed = False

    def start(self):
        """Finish what a stopped API process left: deletes run again on
        the workers, other interrupted tasks end (see ServerTasks)."""
        admin = nova_context.get_admin_context()

        def delete(server):
            self._submit(server, task_states.DELETING, 'Delete',
                         self.tasks.terminate, admin, server)
        self.tasks.recover_interrupted_tasks(delete=delete)

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
                            exception.fault_message(e))
                try:
                    db.instance_update(uuid, {
                        'vm_state': vm_states.ERROR, 'task_state': None,
                        'fault': exception.fault_message(e)},
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
            db.instance_update(uuid, {'vm_state': vm_states.ERROR,
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

    # -- hosts ----------------------------------------------------------------

    def _service(self, host):
        return db.service_get_by_host(host) if host else None

    def _check_host(self, server):
        """The server's host must be up to be asked anything."""
        host = server['host']
        service = self._service(host)
        if service is None:
            raise exception.InstanceHostUnavailable(
                instance_uuid=server['uuid'], host=host,
                reason='is not known')
        reason = servicegroup.down_reason(service, self.conf)
        if reason:
            raise exception.InstanceHostUnavailable(
                instance_uuid=server['uuid'], host=host, reason=reason)
        return service

    def _host_status(self, service):
        if service is None:
            return 'UNKNOWN'
        if servicegroup.is_up(service, self.conf):
            return 'MAINTENANCE' if service['disabled'] else 'UP'
        return 'DOWN'

    def _annotate(self, servers):
        """Add 'host_status' and 'node' (the hypervisor's host name)."""
        services = {s['host']: s for s in db.service_list()}
        for server in servers:
            service = services.get(server['host'])
            server['host_status'] = (self._host_status(service)
                                     if server['host'] else '')
            server['node'] = (service['report'].get('hypervisor_hostname')
                              if service else None)
        return servers

    # -- servers ----------------------------------------------------------

    def _get(self, ctx, server_id):
        server = db.instance_get(server_id) if isinstance(
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

    def create(self, ctx, name, image_ref, flavor_ref, description=None):
        """Accept a server (vm_state building) and build it in the
        background.

        With no host able to take it, the server is made in ERROR with
        the scheduler's reason as its fault, as in Nova.
        """
        _check_string(name, 'name')
        _check_description(description)
        flavor = self.flavor_get(ctx, flavor_ref)
        image = self.image_get(ctx, image_ref)
        self._check_open()
        values = {
            'uuid': str(uuid_lib.uuid4()), 'name': name,
            'project_id': ctx.project_id, 'user_id': ctx.user_id,
            'flavor_id': flavor['id'], 'image_id': image['id'],
            'description': description}
        probe = conductor_tasks.instance_for(values, image=image)
        # The new row (spawning, on its host) is the claim on the host's
        # serial ports: no other create may choose before it exists.
        with scheduler.CLAIMS_LOCK:
            try:
                host = scheduler.select_host(self.conf, probe.flavor,
                                             probe.image_meta)
            except exception.NoValidHost as e:
                host, refused = None, e
            else:
                values.update(vm_state=vm_states.BUILDING,
                              task_state=task_states.SPAWNING, host=host)
                server = db.instance_create(values)
        if host is None:
            LOG.warning('No host for server %s: %s', values['uuid'],
                        refused.message)
            values.update(vm_state=vm_states.ERROR, task_state=None,
                          fault=refused.message)
            return self._annotate([db.instance_create(values)])[0]
        self._submit(server, task_states.SPAWNING, 'Build', self.tasks.build,
                     ctx, server)
        return self._annotate([server])[0]

    def get(self, ctx, server_id):
        return self._annotate([self._get(ctx, server_id)])[0]

    def list(self, ctx):
        return self._annotate(db.instance_get_all(
            project_id=None if ctx.is_admin else ctx.project_id))

    def delete(self, ctx, server_id):
        """Accept a delete, in any state; deleting twice is harmless.

        A server that never got a host is simply forgotten; one whose
        host is down cannot be deleted until it is back (its guest would
        be left running there).
        """
        server = self._get(ctx, server_id)
        self._check_open()
        uuid = server['uuid']
        if server['host'] is None:
            db.instance_delete(uuid)
            return
        if server['task_state'] != task_states.DELETING:
            self._check_host(server)
        updated = db.instance_update(
            uuid, {'task_state': task_states.DELETING},
            expected_task_state=(None,) + tuple(
                t for t in task_states.ALL
                if t not in (task_states.DELETING, task_states.MIGRATING)))
        if updated is None:
            server = self._get(ctx, server_id)  # InstanceNotFound if gone
            if server['task_state'] == task_states.MIGRATING:
                raise self._invalid_state(ctx, server_id, 'delete')
            return  # already being deleted
        tokens.delete_for_instance(uuid)
        self._submit(updated, task_states.DELETING, 'Delete',
                     self.tasks.terminate, ctx, updated)

    def reboot(self, ctx, server_id, reboot_type):
        """SOFT: from ACTIVE. HARD: from ACTIVE, ERROR or a soft reboot."""
        if reboot_type not in task_states.REBOOT_TASK_STATES:
            raise _bad('reboot_type', "must be 'SOFT' or 'HARD'")
        server = self._get(ctx, server_id)
        self._check_open()
        self._check_host(server)
        if reboot_type == 'SOFT':
            vm_state, tasks = (vm_states.ACTIVE,), (None,)
        else:
            vm_state = (vm_states.ACTIVE, vm_states.ERROR)
            tasks = (None, task_states.REBOOTING)
        task = task_states.REBOOT_TASK_STATES[reboot_type]
        updated = db.instance_update(
            server['uuid'], {'task_state': task},
            expected_vm_state=vm_state, expected_task_state=tasks)
        if updated is None:
            raise self._invalid_state(ctx, server_id, 'reboot')
        tokens.delete_for_instance(server['uuid'])
        self._submit(updated, task, '%s reboot' % reboot_type.capitalize(),
                     self.tasks.reboot, ctx, updated, reboot_type)

    def rebuild(self, ctx, server_id, image_ref, description=UNSET):
        """Boot the server again from ``image_ref``; from ACTIVE or ERROR."""
        server = self._get(ctx, server_id)
        image = self.image_get(ctx, image_ref)
        values = {'task_state': task_states.REBUILDING,
                  'image_id': image['id']}
        if description is not UNSET:
            values['description'] = _check_description(description)
        self._check_open()
        self._check_host(server)
        updated = db.instance_update(
            server['uuid'], values,
            expected_vm_state=(vm_states.ACTIVE, vm_states.ERROR),
            expected_task_state=None)
        if updated is None:
            raise self._invalid_state(ctx, server_id, 'rebuild')
        tokens.delete_for_instance(server['uuid'])
        self._submit(updated, task_states.REBUILDING, 'Rebuild',
                     self.tasks.rebuild, ctx, updated, image)
        return self._annotate([updated])[0]

    # -- live migration -----------------------------------------------------

    def live_migrate(self, ctx, server_id, host=None,
                     block_migration='auto'):
        """Move an ACTIVE server to ``host`` (or one the scheduler picks).

        The pre-checks of both hosts run now, and their errors are the
        caller's (400); then the source host drives the migration
        (nova.conductor.live_migrate). The server is MIGRATING meanwhile,
        then ACTIVE on the new host, or ACTIVE on the old one if the
        migration failed.
        """
        _require_admin(ctx, 'os-migrateLive')
        if block_migration not in (True, False, 'auto'):
            raise _bad('block_migration', "must be true, false or 'auto'")
        if host is not None:
            _check_string(host, 'host')
        server = self._get(ctx, server_id)
        self._check_open()
        self._check_host(server)
        if not _ready(server):
            raise self._invalid_state(ctx, server_id, 'live migrate')
        live_migrate.LiveMigrationTask(
            ctx, self.conf, self.compute_rpcapi, server['uuid'], host,
            block_migration).execute()

    # -- services and hypervisors (admin) ---------------------------------

    def service_list(self, ctx):
        _require_admin(ctx, 'os-services')
        return [dict(s, up=servicegroup.is_up(s, self.conf))
                for s in db.service_list()]

    def _hypervisor(self, service):
        report = service['report'] or {}
        memory = report.get('memory_mb', 0)
        return {
            'id': service['id'],
            'hypervisor_hostname': report.get('hypervisor_hostname',
                                              service['host']),
            'host': service['host'],
            'up': servicegroup.is_up(service, self.conf),
            'disabled': service['disabled'],
            'disabled_reason': service['disabled_reason'],
            'hypervisor_type': report.get('hypervisor_type', 'QEMU'),
            'hypervisor_version': report.get('hypervisor_version', 0),
            'host_ip': report.get('host_ip'),
            'vcpus': report.get('vcpus', 0),
            'vcpus_used': report.get('vcpus_used', 0),
            'memory_mb': memory,
            'memory_mb_used': memory - report.get('memory_mb_free', memory),
            'running_vms': report.get('running_vms', 0),
            'virtlogd': bool(report.get('virtlogd', False)),
            'console_log': report.get('console_log', 'none'),
            'libvirt_version': report.get('libvirt_version'),
            'qemu_version': report.get('qemu_version'),
            'serial_ports_total': report.get('serial_ports_total', 0),
            'serial_ports_free': report.get('serial_ports_free', 0),
        }

    def hypervisor_list(self, ctx):
        _require_admin(ctx, 'os-hypervisors')
        return [self._hypervisor(s) for s in db.service_list()]

    def hypervisor_get(self, ctx, hypervisor_id):
        _require_admin(ctx, 'os-hypervisors')
        for service in db.service_list():
            if str(service['id']) == str(hypervisor_id):
                return self._hypervisor(service)
        raise exception.HypervisorNotFound(hypervisor_id=hypervisor_id)

    # -- consoles -----------------------------------------------------------

    @staticmethod
    def _check_ready(server):
        if not _ready(server):
            raise exception.InstanceNotReady(instance_id=server['uuid'],
                                             state=_state(server))

    def get_console_output(self, ctx, server_id, tail_length=None):
        """The console log's newest bytes: its last ``tail_length``
        lines (int >= 0; None: all), see ComputeAPI.get_console_output."""
        server = self._get(ctx, server_id)
        self._check_ready(server)
        self._check_host(server)
        return self.compute_rpcapi.get_console_output(
            ctx, server['host'], _bare_instance(server),
            tail_length=tail_length)

    def _authorize_console(self, ctx, server, console_type):
        """A fresh token of ``console_type`` for the server's first tcp
        serial port (the host is asked for a plain serial console: a
        viewer's token names the same port)."""
        self._check_ready(server)
        self._check_host(server)
        console = self.compute_rpcapi.get_serial_console(
            ctx, server['host'], _bare_instance(server), ctype.SERIAL)
        return tokens.authorize(server['uuid'], console_type, console.host,
                                console.port)

    def get_serial_console(self, ctx, server_id, console_type='serial'):
        """A console URL for the server, with a fresh token."""
        server = self._get(ctx, server_id)
        if console_type != ctype.SERIAL:
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        token = self._authorize_console(ctx, server, console_type)
        return {'type': console_type,
                'url': console_url(self.conf.serial_console.base_url,
                                   token)}

    def get_console_viewer(self, ctx, server_id):
        """A read-only viewer of the server's serial console.

        Returns ``{'type': 'serial-readonly', 'url': <websocket URL>,
        'web_url': <the proxy's web terminal for it>}`` with a fresh
        token, stored hashed with the instance's other console tokens:
        the same TTL, revoked with them (reboot, rebuild, delete, live
        migration). Errors as get_serial_console: InstanceNotFound (also
        for another project's server), InstanceNotReady or
        InstanceHostUnavailable (409), ConsoleTypeUnavailable (400, no
        serial console on the host), ServiceUnavailable (503, broker).
        """
        server = self._get(ctx, server_id)
        token = self._authorize_console(ctx, server, ctype.READ_ONLY)
        base_url = self.conf.serial_console.base_url
        return {'type': ctype.READ_ONLY,
                'url': console_url(base_url, token),
                'web_url': console_page_url(base_url, token)}
