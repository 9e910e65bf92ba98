"""A driver that records what the compute manager asks of it.

It has every method ``nova.compute.manager.ComputeManager`` calls, with
the LibvirtDriver's signatures (see ``DriverSignatureTestCase``).
"""

import threading
import time

from nova.console import type as ctype
from nova import exception
from nova.objects import migrate_data
from nova.virt import driver
from nova.virt.libvirt import console_follow

HOST = '127.0.0.1'
FIRST_PORT = 10000
MEMORY_MB = 4096
SERIAL_PORTS = 100


class FakeConsoleLog:
    """A guest's console log in memory: written by the test, followed by
    FakeFollowers. ``rotate_away()`` makes every open follower meet a
    LogGap at its next read (after the bytes it had not read yet)."""

    def __init__(self):
        self.data = bytearray()
        self.cond = threading.Condition()
        self.followers = []

    def write(self, data):
        with self.cond:
            self.data += data
            self.cond.notify_all()

    def rotate_away(self, lost):
        """``lost`` bytes written that no follower will ever see."""
        with self.cond:
            for follower in self.followers:
                follower.gaps.append(len(self.data))
            self.data += b'?' * lost
            for follower in self.followers:
                follower.skip_to = len(self.data)
            self.cond.notify_all()


class FakeFollower:
    """LogFollower's read(timeout) and close() over a FakeConsoleLog."""

    def __init__(self, log, history_bytes):
        self.log = log
        self.pos = max(0, len(log.data) - history_bytes)
        self.gaps = []
        self.skip_to = None
        self.closed = False
        self.timeouts = []      # of every read, in order
        log.followers.append(self)

    def read(self, timeout=None):
        if self.closed:
            raise ValueError('read from a closed FakeFollower')
        self.timeouts.append(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.log.cond:
            while True:
                end = self.gaps[0] if self.gaps else len(self.log.data)
                if self.pos < end:
                    data = bytes(self.log.data[self.pos:end])
                    self.pos = end
                    return data
                if self.gaps:
                    self.gaps.pop(0)
                    self.pos = self.skip_to
                    raise console_follow.LogGap('fake console.log')
                left = None if deadline is None else (
                    deadline - time.monotonic())
                if left is not None and left <= 0:
                    return b''
                self.log.cond.wait(left)

    def close(self):
        self.closed = True
        with self.log.cond:
            if self in self.log.followers:
                self.log.followers.remove(self)


class FakeDriver(driver.ComputeDriver):
    """Guests are entries of ``self.ports`` (uuid -> serial port).

    ``fail[method] = exc`` makes a method raise; ``gates[method]`` is an
    Event the method waits for first; ``hooks[method]`` is called first.
    ``report`` updates what ``get_host_report`` returns.
    """

    host_name = None  # the interface's property, set per instance

    def __init__(self, host_name='fake-host', first_port=FIRST_PORT):
        self.host_name = host_name
        self.calls = []
        self.instances = []
        self.ports = {}
        self.incoming = {}  # uuid -> port reserved by pre_live_migration
        # uuid -> the port a resized guest's source keeps for a revert.
        self.kept = {}
        self.fail = {}
        self.gates = {}
        self.cleaned_checks = []  # shared check files removed
        self.hooks = {}
        self.entered = {}
        self.report = {}
        self.console_logs = {}  # uuid -> FakeConsoleLog
        # uuid -> a GUEST_* state live_migration_guest_state answers
        # instead of the one ``ports`` gives.
        self.states = {}
        self._next_port = first_port
        self._lock = threading.Lock()
        self._seq = 0

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

    def entered_event(self, name):
        """The event set when ``name`` is first called: made here if the
        call has not happened yet, so a test can wait before it does."""
        with self._lock:
            return self.entered.setdefault(name, threading.Event())

    def names(self):
        return [call[0] for call in self.calls]

    def _take_port(self):
        with self._lock:
            port = self._next_port
            self._next_port += 1
            return port

    def _new_port(self, instance):
        self.ports[instance.uuid] = self._take_port()

    def init_host(self, host=None):
        self.calls.append(('init_host', host))

    def serial_port_facts(self):
        with self._lock:
            return self._port_facts()

    def _port_facts(self):
        self._seq += 1
        # As the PortTable: pre_live_migration's ports are held too.
        holders = set(self.ports) | set(self.incoming)
        facts = {'serial_ports_total': SERIAL_PORTS,
                 'serial_ports_free': SERIAL_PORTS - len(holders),
                 'serial_port_holders': sorted(holders),
                 'serial_ports_seq': [str(id(self)), self._seq]}
        facts.update((k, v) for k, v in self.report.items() if k in facts)
        return facts

    def get_host_report(self):
        with self._lock:
            report = {
                'hypervisor_hostname': self.host_name + '.example.org',
                'hypervisor_type': 'QEMU',
                'host_ip': HOST,
                'vcpus': 8,
                'memory_mb': MEMORY_MB,
                'memory_mb_free': MEMORY_MB,
                'running_vms': len(self.ports),
                'virtlogd': True,
                'console_log': 'virtlogd',
                'serial_console_enabled': True,
            }
            report.update(self._port_facts())
            report.update(self.report)
        return report

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

    def rebuild(self, context, instance, image_meta, power_on=True):
        if power_on:
            self._call('rebuild', instance, image_meta.id)
        else:
            self._call('rebuild', instance, image_meta.id, 'stopped')
        self._new_port(instance)
        self.running[instance.uuid] = power_on

    def _guest_port(self, instance):
        if instance.uuid not in self.ports:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return self.ports[instance.uuid]

    def get_console_output(self, context, instance):
        self._call('get_console_output', instance)
        self._guest_port(instance)
        return b'console of ' + instance.uuid.encode()

    def console_log(self, uuid):
        """The FakeConsoleLog of guest ``uuid`` (made on first use)."""
        with self._lock:
            return self.console_logs.setdefault(uuid, FakeConsoleLog())

    def open_console_follower(self, instance, history_bytes):
        self._call('open_console_follower', instance, history_bytes)
        self._guest_port(instance)
        return FakeFollower(self.console_log(instance.uuid), history_bytes)

    def instance_exists(self, instance):
        return instance.uuid in self.ports

    def get_serial_console(self, context, instance):
        self._call('get_serial_console', instance)
        return ctype.ConsoleSerial(host=HOST,
                                   port=self._guest_port(instance))

    # -- live migration: the guest moves from one FakeDriver to another ----

    def check_can_live_migrate_destination(self, context, instance):
        self._call('check_can_live_migrate_destination', instance)
        return migrate_data.LibvirtLiveMigrateData(
            serial_listen_addr=HOST, supports_virtlogd=True,
            instance_dir='/fake/%s/%s' % (self.host_name, instance.uuid),
            connect_uri='fake+tcp://%s/system' % self.host_name,
            filename='nova-shared-check-%s' % len(self.calls))

    def cleanup_live_migration_destination_check(self, context,
                                                 migrate_data):
        # Not in ``calls``: the tests of the steps' order leave it out.
        self.cleaned_checks.append(migrate_data.filename)

    def check_can_live_migrate_source(self, context, instance, migrate_data):
        self._call('check_can_live_migrate_source', instance,
                   migrate_data.block_migration)
        self._guest_port(instance)
        migrate_data.serial_port_count = 1
        return migrate_data

    def pre_live_migration(self, context, instance, migrate_data):
        self._call('pre_live_migration', instance)
        port = self._take_port()
        self.incoming[instance.uuid] = port
        migrate_data.serial_listen_ports = [port]
        return migrate_data

    def live_migration(self, context, instance, dest_uri, migrate_data):
        self._call('live_migration', instance, dest_uri)
        self._guest_port(instance)
        if 'live_migration_moves' in self.hooks:
            # The guest moves, then the job reports an error.
            self.hooks.pop('live_migration_moves')()

    def live_migration_guest_state(self, instance):
        if instance.uuid in self.states:
            return self.states[instance.uuid]
        if instance.uuid in self.ports:
            return driver.GUEST_RUNNING
        return driver.GUEST_ABSENT

    def post_live_migration(self, context, instance, migrate_data):
        self._call('post_live_migration', instance)
        self.ports.pop(instance.uuid, None)

    def post_live_migration_at_destination(self, context, instance,
                                           migrate_data):
        self._call('post_live_migration_at_destination', instance)
        if instance.uuid in self.incoming:
            self.ports[instance.uuid] = self.incoming.pop(instance.uuid)

    def rollback_live_migration_at_destination(self, context, instance,
                                               migrate_data):
        self._call('rollback_live_migration_at_destination', instance)
        if instance.uuid not in self.ports:
            self.incoming.pop(instance.uuid, None)

    # -- os-stop / os-start: a stopped guest keeps its port, as libvirt's
    # power_off keeps the domain; power_on boots it as a hard reboot does.

    def power_off(self, instance):
        self._call('power_off', instance)
        self._guest_port(instance)
        self.running[instance.uuid] = False

    def power_on(self, context, instance):
        self._call('power_on', instance)
        self._new_port(instance)
        self.running[instance.uuid] = True

    def snapshot_for_shelve(self, context, instance, image_id):
        self._call('snapshot_for_shelve', instance, image_id)
        self._guest_port(instance)
        return self.report.get('has_disk', True)

    def read_console_log_for_shelve(self, instance):
        from nova.objects import shelve as shelve_obj
        self._call('read_console_log_for_shelve', instance)
        log = self.console_logs.get(instance.uuid)
        if log is None:
            return None
        return shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log', bytes(log.data))])

    def shelve_offload(self, context, instance):
        self._call('shelve_offload', instance)
        self.ports.pop(instance.uuid, None)

    def unshelve(self, context, instance, image_meta, snapshot_meta,
                 console_log):
        self._call('unshelve', instance, image_meta.id,
                   snapshot_meta and snapshot_meta.id)
        self._new_port(instance)
        if console_log is not None:
            if 'write_back_log' in self.fail:
                return 'not written back: %s' % self.fail['write_back_log']
            self.console_log(instance.uuid).write(console_log.history())
        return None

    # -- cold migration and resize: the source keeps its guest's port until
    # confirm or revert; the destination takes a new one.

    def prepare_migration(self, context, instance, image_meta, same_host):
        self._call('prepare_migration', instance, same_host)
        return migrate_data.LibvirtLiveMigrateData(
            serial_listen_addr=HOST, supports_virtlogd=True,
            instance_dir='/fake/%s/%s' % (self.host_name, instance.uuid),
            inbound_addr=HOST)

    def migrate_disk_and_power_off(self, context, instance, dest_data,
                                   same_host):
        self._call('migrate_disk_and_power_off', instance, same_host)
        self.kept[instance.uuid] = self._guest_port(instance)
        return self.hooks.get('migrate_note', lambda: None)()

    def finish_migration(self, context, instance, image_meta, same_host):
        self._call('finish_migration', instance, instance.flavor.name,
                   same_host)
        self._new_port(instance)

    def confirm_migration(self, context, instance, same_host):
        self._call('confirm_migration', instance, same_host)
        self.kept.pop(instance.uuid, None)
        if not same_host:
            self.ports.pop(instance.uuid, None)

    def revert_migration_at_destination(self, context, instance,
                                        source_data, same_host):
        self._call('revert_migration_at_destination', instance, same_host,
                   source_data is not None)
        if not same_host:
            self.ports.pop(instance.uuid, None)
        return None

    def finish_revert_migration(self, context, instance):
        self._call('finish_revert_migration', instance,
                   instance.flavor.name)
        if instance.uuid in self.kept:
            self.ports[instance.uuid] = self.kept.pop(instance.uuid)

    # -- admin: diagnostics and uptime (compute RPC 2.6). A guest runs
    # unless power_off (or a rebuild of a stopped one) left it off.

    @property
    def running(self):
        return self.__dict__.setdefault('_running', {})

    def is_running(self, instance):
        self._guest_port(instance)
        return self.running.get(instance.uuid, True)

    def get_diagnostics(self, instance):
        self._call('get_diagnostics', instance)
        return {'cpu0_time': 1000, 'memory': 65536, 'vda_read': 512}

    def get_host_uptime(self):
        self.calls.append(('get_host_uptime',))
        return (' 15:00:00 up 1 day,  2:03,  0 users,  load average: '
                '0.00, 0.01, 0.05')
