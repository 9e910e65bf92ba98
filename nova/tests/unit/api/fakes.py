"""An in-memory nova.compute.api.API, following its contract exactly."""

import datetime
import uuid

from nova.api.openstack import common
from nova.compute import console_output as compute_console_output
from nova.compute import keypairs
import nova.conf
from nova import exception
from nova import quota

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

# The optional arguments of the compute API's create, and of its update
# and rebuild.
SERVER_OPTIONS = ('metadata', 'key_name', 'access_ip_v4', 'access_ip_v6',
                  'disk_config', 'availability_zone', 'user_data',
                  'scheduler_hints')
UPDATE_OPTIONS = ('name', 'description', 'metadata', 'access_ip_v4',
                  'access_ip_v6', 'disk_config')

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
    # -- shv
    'SHELVED': ('shelved', None),
    'SHELVED_OFFLOADED': ('shelved_offloaded', None),
    'RESIZE': ('active', 'resize_prep'),
    'VERIFY_RESIZE': ('resized', None),
    'REVERT_RESIZE': ('resized', 'resize_reverting'),
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
            'cpu_info': {'arch': 'x86_64', 'model': 'Haswell-noTSX',
                         'vendor': 'Intel', 'features': ['vmx'],
                         'topology': {'cores': 4, 'threads': 2,
                                      'sockets': 1}},
            'uptime': ' 12:06:00 up 3 days,  2:10,  0 users,  load '
                      'average: 0.10, 0.20, 0.30',
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
        self.keypairs = {}  # {(user_id, name): key pair}
        self.aggregates = {}  # id -> aggregate dict, as the compute API's
        self.migrations = {}
        self.console_output = {}
        self.console_tail_lengths = []  # tail_length of each call
        self.console_servers = []  # server= of each console output
        self.fail = {}
        self.calls = []
        self.contexts = []
        self.forced = []  # live_migrate's force of each call
        self.disk_over_commits = []  # and its disk_over_commit

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

    def flavor_list(self, ctx, is_public=True):
        self._called(ctx, 'flavor_list')
        return [dict(f) for f in self.flavors.values()
                if is_public is None or
                f.get('is_public', True) == is_public]

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

    def create(self, ctx, name, image_ref, flavor_ref, description=_UNSET,
               **options):
        assert set(options) <= set(SERVER_OPTIONS), options
        self._called(ctx, 'create', name, image_ref, flavor_ref,
                     description=description, **options)
        if image_ref not in self.images:
            raise exception.ImageNotFound(image_id=image_ref)
        if flavor_ref not in self.flavors:
            raise exception.FlavorNotFound(flavor_id=flavor_ref)
        key_name = options.get('key_name')
        if key_name is not None:
            pair = self.keypairs.get((ctx.user_id, key_name))
            if pair is None:
                raise exception.KeypairNotFound(user_id=ctx.user_id,
                                                name=key_name)
            options['key_data'] = pair['public_key']
        server = self.add_server(
            project_id=ctx.project_id, user_id=ctx.user_id, status='BUILD',
            host=None, name=name, task_state='scheduling',
            description=None if description is _UNSET else description)
        stored = self.servers[server['uuid']]
        stored['flavor_id'] = flavor_ref
        stored['image_id'] = image_ref
        options.pop('scheduler_hints', None)
        stored.update(options)
        return self._out(stored)

    def update(self, ctx, server_id, **changes):
        assert set(changes) <= set(UPDATE_OPTIONS), changes
        self._called(ctx, 'update', server_id, **changes)
        server = self._server(ctx, server_id)
        server.update(changes)
        return self._out(server)

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

    def _power(self, ctx, server_id, action, from_status, to_status):
        self._called(ctx, action, server_id)
        server = self._server(ctx, server_id)
        if server.get('locked') and not ctx.is_admin:
            raise exception.InstanceIsLocked(instance_uuid=server_id)
        if server['status'] not in from_status:
            raise exception.InstanceInvalidState(
                action="'%s'" % action, instance_uuid=server_id,
                state='in vm_state %s' % server['status'].lower())
        server['status'] = to_status

    def stop(self, ctx, server_id):
        self._power(ctx, server_id, 'stop', ('ACTIVE', 'ERROR'), 'SHUTOFF')

    def start(self, ctx, server_id):
        self._power(ctx, server_id, 'start', ('SHUTOFF',), 'ACTIVE')

    def rebuild(self, ctx, server_id, image_ref, description=_UNSET,
                **changes):
        assert set(changes) <= set(UPDATE_OPTIONS), changes
        self._called(ctx, 'rebuild', server_id, image_ref,
                     description=description, **changes)
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
        server.update(changes)
        return self._out(server)

    # Key pairs: per user, in memory; keys checked and made by the real
    # nova.compute.keypairs functions.

    def keypair_list(self, ctx, user_id):
        self._called(ctx, 'keypair_list', user_id)
        return [dict(p) for (user, _), p in sorted(self.keypairs.items())
                if user == user_id]

    def keypair_get(self, ctx, user_id, name):
        self._called(ctx, 'keypair_get', user_id, name)
        if (user_id, name) not in self.keypairs:
            raise exception.KeypairNotFound(user_id=user_id, name=name)
        return dict(self.keypairs[(user_id, name)])

    def keypair_create(self, ctx, user_id, name, key_type='ssh',
                       public_key=None):
        self._called(ctx, 'keypair_create', user_id, name, key_type)
        keypairs.check_name(name)
        if (user_id, name) in self.keypairs:
            raise exception.KeyPairExists(key_name=name)
        private_key = None
        if public_key is None:
            private_key, public_key = keypairs.generate(key_type, user_id)
        pair = {'id': len(self.keypairs) + 1, 'user_id': user_id,
                'name': name, 'type': key_type,
                'public_key': public_key.strip(),
                'fingerprint': keypairs.fingerprint(key_type,
                                                    public_key.strip()),
                'created_at': CREATED_AT}
        self.keypairs[(user_id, name)] = pair
        if private_key is not None:
            return dict(pair, private_key=private_key)
        return dict(pair)

    def keypair_delete(self, ctx, user_id, name):
        self._called(ctx, 'keypair_delete', user_id, name)
        if self.keypairs.pop((user_id, name), None) is None:
            raise exception.KeypairNotFound(user_id=user_id, name=name)

    # Several compute hosts (admins only).

    def live_migrate(self, ctx, server_id, host=None,
                     block_migration='auto', force=True,
                     disk_over_commit=None):
        self._called(ctx, 'live_migrate', server_id, host, block_migration)
        # Not in _called: the existing tests compare its arguments.
        self.forced.append(force)
        self.disk_over_commits.append(disk_over_commit)
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
            'cpu_info': state.get('cpu_info', {}),
            'uptime': state.get('uptime'),
        }

    def hypervisor_servers(self, ctx, host):
        self._called(ctx, 'hypervisor_servers', host)
        return sorted(('instance-%s' % s['uuid'], s['uuid'])
                      for s in self.servers.values() if s['host'] == host)

    def aggregate_list(self, ctx):
        self._called(ctx, 'aggregate_list')
        return [dict(a) for a in self.aggregates.values()]

    def aggregate_get(self, ctx, aggregate_id):
        self._called(ctx, 'aggregate_get', aggregate_id)
        if aggregate_id not in self.aggregates:
            raise exception.AggregateNotFound(aggregate_id=aggregate_id)
        return dict(self.aggregates[aggregate_id])

    def hypervisor_list(self, ctx):
        self._called(ctx, 'hypervisor_list')
        return [self._hypervisor(name, state)
                for name, state in sorted(self.hosts.items())]

    def get_host_uptime(self, ctx, host):
        # -- admin: compute RPC 2.6, as the fake driver answers.
        self._called(ctx, 'get_host_uptime', host)
        return ' 15:00:00 up 1 day,  2:03,  0 users,  load average: 0.00'

    def get_diagnostics(self, ctx, server_id):
        self._called(ctx, 'get_diagnostics', server_id)
        self.get(ctx, server_id)
        return {'cpu0_time': 1000, 'memory': 65536}

    def hypervisor_get(self, ctx, hypervisor_id):
        self._called(ctx, 'hypervisor_get', hypervisor_id)
        assert type(hypervisor_id) is int, hypervisor_id
        for name, state in self.hosts.items():
            if state['hypervisor_id'] == hypervisor_id:
                return self._hypervisor(name, state)
        raise exception.HypervisorNotFound(hypervisor_id=hypervisor_id)

    # Consoles.

    # -- ver: what is recorded about servers (nova.compute.server_records);
    # nothing is recorded here: empty answers, in the real API's shapes.

    def tags_of(self, uuids):
        return {uuid: [] for uuid in uuids}

    def get_tags(self, ctx, server_id):
        self._server(ctx, server_id)
        return []

    def get_metadata(self, ctx, server_id):
        self._server(ctx, server_id)
        return {}

    def actions_list(self, ctx, server_id, deleted_ok=False):
        server = self._server(ctx, server_id)
        return {'uuid': server['uuid'], 'project_id': server['project_id'],
                'user_id': server['user_id']}, []

    def action_get(self, ctx, server_id, request_id, deleted_ok=False):
        self._server(ctx, server_id)
        raise exception.InstanceActionNotFound(request_id=request_id,
                                               instance_uuid=server_id)

    def migration_list(self, ctx, **filters):
        return []

    def limits(self, ctx):
        # nova.quota's shapes: [quota]'s defaults, nothing in use.
        return (quota.conf_defaults(nova.conf.CONF),
                dict.fromkeys(quota.RESOURCES, 0))

    def availability_zones(self, ctx, with_hosts=False):
        return [('nova', True, {} if with_hosts else None)]

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


def _resize_methods():
    """Cold migration and resize, as the compute API answers them (its
    checks are nova.compute.api's; see nova/tests/unit/compute/
    test_resize.py for the real ones)."""

    def _ready(self, ctx, server_id, action):
        server = self._server(ctx, server_id)
        if server['status'] != 'ACTIVE' or server['task_state']:
            raise exception.InstanceInvalidState(
                action=action, instance_uuid=server_id,
                state=server['status'])
        return server

    def migrate(self, ctx, server_id):
        self._called(ctx, 'migrate', server_id)
        server = _ready(self, ctx, server_id, 'migrate')
        server.update(status='RESIZE', task_state='resize_prep')

    def resize(self, ctx, server_id, flavor_ref):
        self._called(ctx, 'resize', server_id, flavor_ref)
        server = _ready(self, ctx, server_id, 'resize')
        if flavor_ref not in self.flavors:
            raise exception.FlavorNotFound(flavor_id=flavor_ref)
        if flavor_ref == server['flavor_id']:
            raise exception.CannotResizeToSameFlavor()
        server.update(status='RESIZE', task_state='resize_prep')

    def _verify(self, ctx, server_id, action, status, task):
        server = self._server(ctx, server_id)
        if server['status'] != 'VERIFY_RESIZE' or server['task_state']:
            raise exception.InstanceInvalidState(
                action=action, instance_uuid=server_id,
                state=server['status'])
        server.update(status=status, task_state=task)

    def confirm_resize(self, ctx, server_id):
        self._called(ctx, 'confirm_resize', server_id)
        _verify(self, ctx, server_id, 'confirm resize', 'ACTIVE', None)

    def revert_resize(self, ctx, server_id):
        self._called(ctx, 'revert_resize', server_id)
        _verify(self, ctx, server_id, 'revert resize', 'REVERT_RESIZE',
                'resize_reverting')

    for func in (migrate, resize, confirm_resize, revert_resize):
        setattr(FakeComputeAPI, func.__name__, func)


_resize_methods()


# -- access: os-flavor-access, os-simple-tenant-usage, image metadata.
def _access_methods():
    def flavor_access_list(self, ctx, flavor_id):
        self._called(ctx, 'flavor_access_list', flavor_id)
        if flavor_id not in self.flavors:
            raise exception.FlavorNotFound(flavor_id=flavor_id)
        return []

    for func in (flavor_access_list,):
        setattr(FakeComputeAPI, func.__name__, func)


_access_methods()


def _usage_methods():
    def usage_list(self, ctx, start, stop, detailed):
        self._called(ctx, 'usage_list', start, stop, detailed)
        return []

    def usage_show(self, ctx, project_id, start, stop):
        self._called(ctx, 'usage_show', project_id, start, stop)
        return {}

    for func in (usage_list, usage_show):
        setattr(FakeComputeAPI, func.__name__, func)


_usage_methods()


def _image_methods():
    def image_metadata(self, ctx, image_id):
        self._called(ctx, 'image_metadata', image_id)
        if image_id not in self.images:
            raise exception.ImageNotFound(image_id=image_id)
        return dict(self.images[image_id].get('properties') or {})

    for func in (image_metadata,):
        setattr(FakeComputeAPI, func.__name__, func)


_image_methods()
