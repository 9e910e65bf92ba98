"""An in-memory nova.compute.api.API, following its contract exactly."""

import datetime
import uuid

from nova import exception

IMAGE_ID = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
OTHER_IMAGE_ID = 'a2459075-d96c-40d5-893e-577ff92e721c'
FLAVOR_ID = '1'
CREATED_AT = datetime.datetime(2024, 5, 1, 12, 0, 0)
UPDATED_AT = datetime.datetime(2024, 5, 1, 12, 5, 30)
CONSOLE_URL = 'ws://127.0.0.1:6083/?token=%s'


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


class FakeComputeAPI:
    """Servers per project; admins see every project's servers.

    ``fail[method] = exc`` makes that method raise ``exc``; ``calls`` and
    ``contexts`` record each call's arguments and RequestContext;
    ``console_output[uuid]`` is what get_console_output returns (a server
    without an entry has no console log).
    """

    def __init__(self):
        self.flavors = _flavors()
        self.images = _images()
        self.servers = {}
        self.console_output = {}
        self.fail = {}
        self.calls = []
        self.contexts = []

    def _called(self, ctx, method, *args):
        self.contexts.append(ctx)
        self.calls.append((method,) + args)
        if method in self.fail:
            raise self.fail[method]

    def add_server(self, project_id='demo', user_id='demo', status='ACTIVE',
                   host='compute-1', name='vm', fault=None, task_state=None):
        server = {
            'uuid': str(uuid.uuid4()), 'name': name,
            'project_id': project_id, 'user_id': user_id,
            'flavor_id': FLAVOR_ID, 'image_id': IMAGE_ID,
            'status': status, 'task_state': task_state, 'host': host,
            'created_at': CREATED_AT, 'updated_at': UPDATED_AT,
            'fault': fault,
        }
        self.servers[server['uuid']] = server
        return dict(server)

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

    def create(self, ctx, name, image_ref, flavor_ref):
        self._called(ctx, 'create', name, image_ref, flavor_ref)
        if image_ref not in self.images:
            raise exception.ImageNotFound(image_id=image_ref)
        if flavor_ref not in self.flavors:
            raise exception.FlavorNotFound(flavor_id=flavor_ref)
        server = self.add_server(project_id=ctx.project_id,
                                 user_id=ctx.user_id, status='BUILD',
                                 host=None, name=name,
                                 task_state='scheduling')
        self.servers[server['uuid']]['flavor_id'] = flavor_ref
        self.servers[server['uuid']]['image_id'] = image_ref
        return dict(self.servers[server['uuid']])

    def get(self, ctx, server_id):
        self._called(ctx, 'get', server_id)
        return dict(self._server(ctx, server_id))

    def list(self, ctx):
        self._called(ctx, 'list')
        return [dict(s) for s in self.servers.values()
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

    def rebuild(self, ctx, server_id, image_ref):
        self._called(ctx, 'rebuild', server_id, image_ref)
        server = self._server(ctx, server_id)
        if image_ref not in self.images:
            raise exception.ImageNotFound(image_id=image_ref)
        if server['status'] not in ('ACTIVE', 'SHUTOFF', 'ERROR'):
            raise exception.InstanceInvalidState(
                action='rebuild', instance_uuid=server_id,
                state=server['status'])
        server.update(status='REBUILD', image_id=image_ref,
                      task_state='rebuilding')
        return dict(server)

    # Consoles.

    def get_console_output(self, ctx, server_id):
        self._called(ctx, 'get_console_output', server_id)
        server = self._server(ctx, server_id)
        if server['status'] == 'BUILD':
            raise exception.InstanceNotReady(instance_id=server_id,
                                             state='building')
        if server_id not in self.console_output:
            raise exception.ConsoleNotAvailable(instance_uuid=server_id)
        return self.console_output[server_id]

    def get_serial_console(self, ctx, server_id, console_type='serial'):
        self._called(ctx, 'get_serial_console', server_id, console_type)
        server = self._server(ctx, server_id)
        if console_type != 'serial':
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        if server['status'] != 'ACTIVE':
            raise exception.InstanceNotReady(instance_id=server_id,
                                             state=server['status'])
        return {'type': 'serial', 'url': CONSOLE_URL % uuid.uuid4()}
