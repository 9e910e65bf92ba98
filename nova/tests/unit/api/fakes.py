"""An in-memory nova.compute.api.API, following its contract exactly."""

import datetime
import uuid

from nova.api.openstack import common
from nova.compute import console_output as compute_console_output
from nova import exception

IMAGE_ID = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
OTHER_IMAGE_ID = 'a2459075-d96c-40d5-893e-577ff92e721c'
FLAVOR_ID = '1'
CREATED_AT = datetime.datetime(2024, 5, 1, 12, 0, 0)
UPDATED_AT = datetime.datetime(2024, 5, 1, 12, 5, 30)
CONSOLE_URL = 'ws://127.0.0.1:6083/?token=%s'
CONSOLE_PAGE_URL = 'http://127.0.0.1:6083/console.html?token=%s'
# When the compute services last reported (the database gives aware UTC).
HEARTBEAT = datetime.datetime(2024, 5, 1, 12, 6, 0,
                              tzinfo=datetime.timezone.utc)

# An optional argument the caller did not pass.
_UNSET = object()

# The status this fake keeps -> the (vm_state, task_state) the compute
# API returns for it; the task state is the one the fake's server holds
# unless it holds none.
_STATE_OF_STATUS = {
    'BUILD': ('building', None),
    'ACTIVE': ('active', None),
    'ERROR': ('error', None),
    'SHUTOFF': ('stopped', None),
    'REBOOT': ('active', 'rebooting'),
    'HARD_REBOOT': ('active', 'rebooting_hard'),
    'REBUILD': ('active', 'rebuilding'),
    'MIGRATING': ('active', 'migrating'),
}


def _check_storable(value):
    """Raise as the real database does on a string it cannot store (a
    lone surrogate cannot be encoded to UTF-8); the API must refuse such
    input before it gets here."""
    if isinstance(value, str):
        value.encode('utf-8')
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_storable(item)


def _flavors():
    return {
        '1': {'id': '1', 'name': 'm1.tiny', 'ram': 512, 'vcpus': 1,
              'disk': 1, 'extra_specs': {'hw:serial_port_count': '2'}},
        'm1.small': {'id': 'm1.small', 'name': 'm1.small', 'ram': 2048,
                     'vcpus': 1, 'disk': 20, 'extra_specs': {}},
    }


def _images():
    return {
        IMAGE_ID: {'id': IMAGE_ID, 'name': 'cirros', 'status': 'active',
                   'properties': {'hw_serial_port_count': '1'},
                   'min_ram': 0, 'min_disk': 1, 'size': 16338944,
                   'created_at': CREATED_AT, 'updated_at': UPDATED_AT},
        OTHER_IMAGE_ID: {'id': OTHER_IMAGE_ID, 'name': 'busybox',
                         'status': 'queued', 'properties': {},
                         'created_at': CREATED_AT,
                         'updated_at': CREATED_AT},
    }


def _hosts():
    """Two compute hosts: compute-1 new enough for virtlogd, compute-2
    not (an N / N+1 mix). Service ids differ from hypervisor ids, as
    they may in Nova."""
    return {
        'compute-1': {
            'service_id': 10, 'hypervisor_id': 1,
            'hypervisor_hostname': 'compute-1.example.org',
            'up': True, 'disabled': False, 'disabled_reason': None,
            'forced_down': False, 'updated_at': HEARTBEAT,
            'host_ip': '192.0.2.11', 'vcpus': 8, 'vcpus_used': 1,
            'memory_mb': 16384, 'memory_mb_used': 1024,
            'hypervisor_version': 8000000, 'virtlogd': True,
            'console_log': 'virtlogd', 'libvirt_version': '8.0.0',
            'qemu_version': '6.2.0', 'serial_ports_total': 10001,
            'serial_ports_free': 9999,
        },
        'compute-2': {
            'service_id': 11, 'hypervisor_id': 2,
            'hypervisor_hostname': 'compute-2.example.org',
            'up': True, 'disabled': False, 'disabled_reason': None,
            'forced_down': False, 'updated_at': HEARTBEAT,
            'host_ip': '192.0.2.12', 'vcpus': 4, 'vcpus_used': 0,
            'memory_mb': 8192, 'memory_mb_used': 512,
            'hypervisor_version': 2005000, 'virtlogd': False,
            'console_log': 'file', 'libvirt_version': '1.2.17',
            'qemu_version': '2.5.0', 'serial_ports_total': 100,
            'serial_ports_free': 100,
        },
    }


class FakeComputeAPI:
    """Servers per project; admins see every project's servers.

    ``fail[method] = exc`` makes that method raise ``exc``; ``calls`` and
    ``contexts`` record each call's arguments and RequestContext (an
    optional argument only when the caller passed it, as a dict at the
    end); ``console_output[uuid]`` is what get_console_output returns (a
    server without an entry has no console log). ``hosts`` are the
    compute hosts behind service_list, hypervisor_list and
    live_migrate; a live migration stays in MIGRATING until
    ``finish_live_migration``.
    """

    def __init__(self):
        self.flavors = _flavors()
        self.images = _images()
        self.hosts = _hosts()
        self.servers = {}
        self.migrations = {}
        self.console_output = {}
        self.console_tail_lengths = []  # tail_length of each call
        self.console_servers = []  # server= of each console output
        self.fail = {}
        self.calls = []
        self.contexts = []

    def _called(self, ctx, method, *args, **optional):
        self.contexts.append(ctx)
        given = {k: v for k, v in optional.items() if v is not _UNSET}
        self.calls.append((method,) + args + ((given,) if given else ()))
        _check_storable((args, given))
        if method in self.fail:
            raise self.fail[method]

    def actions(self):
        """``calls`` but the ``get`` lookups: every call on one server
        first gets it, for its owner as the policy's target (as Nova's
        API does), which changes nothing."""
        return [call for call in self.calls if call[0] != 'get']

    def _node(self, host):
        if host is None:
            return None
        if host in self.hosts:
            return self.hosts[host]['hypervisor_hostname']
        return host

    def add_server(self, project_id='demo', user_id='demo', status='ACTIVE',
                   host='compute-1', name='vm', fault=None, task_state=None,
                   description=None):
        server = {
            'uuid': str(uuid.uuid4()), 'name': name,
            'project_id': project_id, 'user_id': user_id,
            'flavor_id': FLAVOR_ID, 'image_id': IMAGE_ID,
            'status': status, 'task_state': task_state, 'host': host,
            'node': self._node(host),
            'created_at': CREATED_AT, 'updated_at': UPDATED_AT,
            'fault': fault, 'description': description,
        }
        self.servers[server['uuid']] = server
        return self._out(server)

    def _host_status(self, host):
        if not host:
            return ''
        if host not in self.hosts:
            return 'UNKNOWN'
        state = self.hosts[host]
        if not state['up'] or state['forced_down']:
            return 'DOWN'
        return 'MAINTENANCE' if state['disabled'] else 'UP'

    def _out(self, server):
        """A copy as the compute API returns it, host_status included.

        The fake keeps the status the API shows; the compute API returns
        the vm_state and task_state it is derived from.
        """
        server = dict(server)
        status = server.pop('status')
        vm_state, task = _STATE_OF_STATUS[status]
        if server['task_state'] is None:
            server['task_state'] = task
        server['vm_state'] = vm_state
        assert common.status_of(server) == status, (status, server)
        server['host_status'] = self._host_status(server['host'])
        return server

    def _server(self, ctx, server_id):
        server = self.servers.get(server_id)
        if server is None or not (ctx.is_admin
                                  or server['project_id'] == ctx.project_id):
            raise exception.InstanceNotFound(instance_id=server_id)
        return server

    # Flavors and images.

    def flavor_list(self, ctx):
        self._called(ctx, 'flavor_list')
        return [dict(f) for f in self.flavors.values()]

    def flavor_get(self, ctx, flavor_id):
        self._called(ctx, 'flavor_get', flavor_id)
        if flavor_id not in self.flavors:
            raise exception.FlavorNotFound(flavor_id=flavor_id)
        return dict(self.flavors[flavor_id])

    def image_list(self, ctx):
        self._called(ctx, 'image_list')
        return [dict(i) for i in self.images.values()]

    def image_get(self, ctx, image_id):
        self._called(ctx, 'image_get', image_id)
        if image_id not in self.images:
            raise exception.ImageNotFound(image_id=image_id)
        return dict(self.images[image_id])

    # Servers.

    def create(self, ctx, name, image_ref, flavor_ref, description=_UNSET):
        self._called(ctx, 'create', name, image_ref, flavor_ref,
                     description=description)
        if image_ref not in self.images:
            raise exception.ImageNotFound(image_id=image_ref)
        if flavor_ref not in self.flavors:
            raise exception.FlavorNotFound(flavor_id=flavor_ref)
        server = self.add_server(
            project_id=ctx.project_id, user_id=ctx.user_id, status='BUILD',
            host=None, name=name, task_state='scheduling',
            description=None if description is _UNSET else description)
        self.servers[server['uuid']]['flavor_id'] = flavor_ref
        self.servers[server['uuid']]['image_id'] = image_ref
        return self._out(self.servers[server['uuid']])

    def get(self, ctx, server_id):
        self._called(ctx, 'get', server_id)
        return self._out(self._server(ctx, server_id))

    def list(self, ctx):
        self._called(ctx, 'list')
        return [self._out(s) for s in self.servers.values()
                if ctx.is_admin or s['project_id'] == ctx.project_id]

    def delete(self, ctx, server_id):
        self._called(ctx, 'delete', server_id)
        self._server(ctx, server_id)
        del self.servers[server_id]

    def reboot(self, ctx, server_id, reboot_type):
        self._called(ctx, 'reboot', server_id, reboot_type)
        assert reboot_type in ('SOFT', 'HARD'), reboot_type
        server = self._server(ctx, server_id)
        if server['status'] not in ('ACTIVE', 'SHUTOFF'):
            raise exception.InstanceInvalidState(
                action='reboot', instance_uuid=server_id,
                state=server['status'])
        server['status'] = 'HARD_REBOOT' if reboot_type == 'HARD' else (
            'REBOOT')

    def rebuild(self, ctx, server_id, image_ref, description=_UNSET):
        self._called(ctx, 'rebuild', server_id, image_ref,
                     description=description)
        server = self._server(ctx, server_id)
        if image_ref not in self.images:
            raise exception.ImageNotFound(image_id=image_ref)
        if server['status'] not in ('ACTIVE', 'SHUTOFF', 'ERROR'):
            raise exception.InstanceInvalidState(
                action='rebuild', instance_uuid=server_id,
                state=server['status'])
        server.update(status='REBUILD', image_id=image_ref,
                      task_state='rebuilding')
        if description is not _UNSET:
            server['description'] = description
        return self._out(server)

    # Several compute hosts (admins only).

    def live_migrate(self, ctx, server_id, host=None,
                     block_migration='auto'):
        self._called(ctx, 'live_migrate', server_id, host, block_migration)
        assert host is None or isinstance(host, str), host
        assert (block_migration is True or block_migration is False
                or block_migration == 'auto'), block_migration
        server = self._server(ctx, server_id)
        if server['status'] != 'ACTIVE' or server['task_state']:
            raise exception.InstanceInvalidState(
                action='live-migrate', instance_uuid=server_id,
                state=server['status'])
        source = server['host']
        if host is not None:
            if host not in self.hosts:
                raise exception.ComputeHostNotFound(host=host)
            if not self.hosts[host]['up']:
                raise exception.ComputeServiceUnavailable(host=host)
            if host == source:
                raise exception.MigrationPreCheckError(
                    reason='the server is already on %s' % host)
            target = host
        else:
            candidates = sorted(
                name for name, state in self.hosts.items()
                if name != source and state['up'] and not state['disabled'])
            if not candidates:
                raise exception.NoValidHost(
                    reason='No other compute host is up and enabled.')
            target = candidates[0]
        server.update(status='MIGRATING', task_state='migrating')
        self.migrations[server_id] = target

    def finish_live_migration(self, server_id):
        """The end of a live migration: the server runs on its target."""
        target = self.migrations.pop(server_id)
        self.servers[server_id].update(
            status='ACTIVE', task_state=None, host=target,
            node=self._node(target))

    def service_list(self, ctx):
        self._called(ctx, 'service_list')
        return [{
            'id': state['service_id'], 'binary': 'nova-compute',
            'host': name, 'topic': 'compute',
            'disabled': state['disabled'],
            'disabled_reason': state['disabled_reason'],
            'forced_down': state['forced_down'],
            'updated_at': state['updated_at'], 'up': state['up'],
        } for name, state in sorted(self.hosts.items())]

    def _hypervisor(self, name, state):
        running = [s for s in self.servers.values() if s['host'] == name]
        return {
            'id': state['hypervisor_id'],
            'hypervisor_hostname': state['hypervisor_hostname'],
            'host': name, 'up': state['up'], 'disabled': state['disabled'],
            'disabled_reason': state['disabled_reason'],
            'hypervisor_type': 'QEMU',
            'hypervisor_version': state['hypervisor_version'],
            'host_ip': state['host_ip'], 'vcpus': state['vcpus'],
            'vcpus_used': state['vcpus_used'],
            'memory_mb': state['memory_mb'],
            'memory_mb_used': state['memory_mb_used'],
            'running_vms': len(running), 'virtlogd': state['virtlogd'],
            'console_log': state['console_log'],
            'libvirt_version': state['libvirt_version'],
            'qemu_version': state['qemu_version'],
            'serial_ports_total': state['serial_ports_total'],
            'serial_ports_free': state['serial_ports_free'],
        }

    def hypervisor_list(self, ctx):
        self._called(ctx, 'hypervisor_list')
        return [self._hypervisor(name, state)
                for name, state in sorted(self.hosts.items())]

    def hypervisor_get(self, ctx, hypervisor_id):
        self._called(ctx, 'hypervisor_get', hypervisor_id)
        assert type(hypervisor_id) is int, hypervisor_id
        for name, state in self.hosts.items():
            if state['hypervisor_id'] == hypervisor_id:
                return self._hypervisor(name, state)
        raise exception.HypervisorNotFound(hypervisor_id=hypervisor_id)

    # Consoles.

    def get_console_server(self, ctx, server_id):
        # The API's one read before a console output: recorded as a
        # 'get' (see actions()); ``console_servers`` holds what the API
        # handed on to get_console_output.
        self._called(ctx, 'get', server_id)
        return dict(self._out(self._server(ctx, server_id)), service=None)

    def get_console_output(self, ctx, server_id, tail_length=None,
                           server=None):
        self._called(ctx, 'get_console_output', server_id)
        self.console_tail_lengths.append(tail_length)
        self.console_servers.append(server)
        server = self._server(ctx, server_id)
        if server['status'] == 'BUILD':
            raise exception.InstanceNotReady(instance_id=server_id,
                                             state='building')
        if server_id not in self.console_output:
            raise exception.ConsoleNotAvailable(instance_uuid=server_id)
        data = self.console_output[server_id]
        if isinstance(data, bytes):  # cut as the compute host does
            data = compute_console_output.tail(data, tail_length)
        return data

    def get_serial_console(self, ctx, server_id, console_type='serial'):
        self._called(ctx, 'get_serial_console', server_id, console_type)
        server = self._server(ctx, server_id)
        if console_type != 'serial':
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        if server['status'] != 'ACTIVE':
            raise exception.InstanceNotReady(instance_id=server_id,
                                             state=server['status'])
        return {'type': 'serial', 'url': CONSOLE_URL % uuid.uuid4()}

    def get_console_viewer(self, ctx, server_id):
        self._called(ctx, 'get_console_viewer', server_id)
        server = self._server(ctx, server_id)
        if server['status'] != 'ACTIVE':
            raise exception.InstanceNotReady(instance_id=server_id,
                                             state=server['status'])
        token = uuid.uuid4().hex
        return {'type': 'serial-readonly', 'url': CONSOLE_URL % token,
                'web_url': CONSOLE_PAGE_URL % token}
