"""A driver that records what the compute manager asks of it."""

import threading

from nova.console import type as ctype
from nova import exception

HOST = '127.0.0.1'
FIRST_PORT = 10000


class FakeDriver:
    """Guests are entries of ``self.ports`` (uuid -> serial port).

    ``fail[method] = exc`` makes a method raise; ``gates[method]`` is an
    Event the method waits for first; ``hooks[method]`` is called first.
    """

    host_name = 'fake-host'

    def __init__(self):
        self.calls = []
        self.instances = []
        self.ports = {}
        self.fail = {}
        self.gates = {}
        self.hooks = {}
        self.entered = {}
        self._next_port = FIRST_PORT
        self._lock = threading.Lock()

    def _call(self, name, instance, *args):
        with self._lock:
            self.calls.append((name, instance.uuid) + args)
            self.instances.append(instance)
            self.entered.setdefault(name, threading.Event()).set()
        if name in self.gates:
            if not self.gates[name].wait(30):
                raise RuntimeError('gate of %s never opened' % name)
        if name in self.hooks:
            self.hooks[name]()
        if name in self.fail:
            raise self.fail[name]

    def names(self):
        return [call[0] for call in self.calls]

    def _new_port(self, instance):
        with self._lock:
            self.ports[instance.uuid] = self._next_port
            self._next_port += 1

    def init_host(self, host=None):
        self.calls.append(('init_host', host))

    def spawn(self, context, instance, image_meta, network_info=None,
              block_device_info=None):
        self._call('spawn', instance, image_meta.id)
        self._new_port(instance)

    def destroy(self, context, instance, network_info=None,
                block_device_info=None, destroy_disks=True):
        self._call('destroy', instance)
        self.ports.pop(instance.uuid, None)

    def reboot(self, context, instance, network_info=None,
               reboot_type='SOFT'):
        self._call('reboot', instance, reboot_type)
        if reboot_type == 'HARD':
            self._new_port(instance)

    def rebuild(self, context, instance, image_meta):
        self._call('rebuild', instance, image_meta.id)
        self._new_port(instance)

    def _guest_port(self, instance):
        if instance.uuid not in self.ports:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return self.ports[instance.uuid]

    def get_console_output(self, context, instance):
        self._call('get_console_output', instance)
        self._guest_port(instance)
        return b'console of ' + instance.uuid.encode()

    def get_serial_console(self, context, instance):
        self._call('get_serial_console', instance)
        return ctype.ConsoleSerial(host=HOST,
                                   port=self._guest_port(instance))
