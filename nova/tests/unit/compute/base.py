"""Compute hosts on fake drivers, reached over oslo.messaging's in-process
transport, with flavors and images in a test database.

Each test gets its own configuration (``nova.conf.new_conf``) and so its
own ``fake://`` transport. On it run the conductor's RPC server and one
real ``ComputeService`` per name in ``HOSTS``, each serving a
``ComputeManager`` on a ``FakeDriver``: API -> ComputeTaskAPI -> RPC
(messages checked to be JSON) -> ComputeTaskManager -> ComputeAPI -> RPC
-> ComputeManager -> driver, and the outcome back to the conductor.
"""

import logging
import os
import time

import fixtures

import nova.conf
from nova.cmd import common
from nova.compute import manager
from nova.compute import rpcapi
from nova.compute import task_states
from nova.compute import service as compute_service
from nova.console import api as console_api
from nova import context
from nova.db import api as db
from nova import rpc
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import fake_driver
from nova.tests.unit.db import base as db_base
from nova.virt import images

ADMIN = context.get_admin_context()
ALICE = context.RequestContext(user_id='alice', project_id='pa')
BOB = context.RequestContext(user_id='bob', project_id='pb')

TASK_STATES = task_states.ALL
WAIT = 10  # seconds a test waits for something that takes milliseconds
# How often an idle RPC worker thread (futurist's) looks whether its
# server stopped: 1 s by default, which each stop of an RPC server
# waits out (server.wait()). A test stops two or three of them.
WORKER_IDLE_CHECK = 0.1


def new_conf(case, **overrides):
    """A parsed configuration of its own for ``case``, with short RPC
    time-outs (a hung call fails the test instead of stalling it) and
    RPC servers that stop quickly (WORKER_IDLE_CHECK); its transport is
    cleaned up after the test."""
    case.useFixture(fixtures.MonkeyPatch(
        'futurist._thread.ThreadWorker.MAX_IDLE_FOR', WORKER_IDLE_CHECK))
    conf = nova.conf.new_conf()
    conf([], project='nova', default_config_files=[])
    rpc.register_opts(conf)
    values = dict(report_interval=1, rpc_response_timeout=10,
                  long_rpc_timeout=20)
    values.update(overrides)
    for name, value in values.items():
        conf.set_override(name, value)
    case.addCleanup(rpc.cleanup, conf)
    return conf


def wait_for(case, predicate, what, timeout=WAIT):
    """Poll ``predicate`` until it is true; fail the test naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            case.fail('%s did not happen within %d s' % (what, timeout))
        time.sleep(0.01)


def wait_for_migrations(case, timeout=WAIT):
    """Wait until no instance is live migrating: the source reported and
    the conductor recorded it (a cast each way)."""
    return wait_for(case, lambda: not db.instance_get_all(
        task_states=('migrating',)), 'the end of the live migrations',
        timeout)


class RPCTestCase(db_base.DBTestCase):
    """A database, a transport and the conductor; hosts on demand."""

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.nova_conf = new_conf(self)
        self.conductor = common.start_conductor(self.nova_conf)
        self.addCleanup(common.stop_rpc_server, self.conductor)
        self.drivers = {}
        self.services = {}
        self.stopped = set()

    def wait_for_tasks(self, timeout=WAIT):
        """Wait until no instance is in a task (every action handed to
        the conductor ended); False on timeout."""
        deadline = time.monotonic() + timeout
        while db.instance_get_all(task_states=TASK_STATES):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def conductor_endpoint(self):
        """The conductor's ComputeTaskManager (live migration outcomes)."""
        return self.conductor.task_manager

    def nova_flags(self, group=None, **kw):
        for name, value in kw.items():
            self.nova_conf.set_override(name, value, group=group)

    def start_host(self, host, driver=None,
                   manager_class=manager.ComputeManager):
        """Start the compute service of ``host`` (its manager a
        ``manager_class``); wait for its report."""
        if driver is None:
            driver = fake_driver.FakeDriver(
                host, first_port=(fake_driver.FIRST_PORT +
                                  1000 * len(self.drivers)))
        service = compute_service.ComputeService(
            self.nova_conf, manager_class(driver, host=host,
                                          conf=self.nova_conf))
        service.start()
        self.addCleanup(self._stop_if_running, service)
        self.drivers[host] = driver
        self.services[host] = service
        self.wait_registered(host)
        return service

    def wait_registered(self, host):
        return wait_for(self, lambda: self._reported(host, stopped=False),
                        'the first report of %s' % host)

    def stop_host(self, host):
        """Stop ``host``'s service cleanly; wait until it counts as down."""
        return self._stop(self.services[host])

    def _stop(self, service):
        service.stop()
        self.stopped.add(service)
        return wait_for(
            self, lambda: self._reported(service.host, stopped=True),
            'the stop report of %s' % service.host)

    def _stop_if_running(self, service):
        # Waiting for the stop report: the conductor, stopped next, would
        # otherwise miss it.
        if service not in self.stopped:
            self._stop(service)

    @staticmethod
    def _reported(host, stopped):
        service = db.service_get_by_host(host)
        if service is None or service['stopped'] != stopped:
            return None
        return service

    def console_api(self):
        """What nova-serialproxy asks about consoles, over this test's
        transport."""
        return console_api.API(rpcapi.ComputeAPI(self.nova_conf),
                               self.nova_conf)


class ComputeTestCase(RPCTestCase):
    """``HOSTS`` running, the first one's driver as ``self.driver``."""

    HOSTS = ('fake-host',)

    def setUp(self):
        super().setUp()
        for host in self.HOSTS:
            self.start_host(host)
        self.driver = self.drivers[self.HOSTS[0]] if self.HOSTS else None
        self.flavor = db.flavor_create({
            'id': '1', 'name': 'm1.tiny', 'ram': 128, 'vcpus': 2,
            'extra_specs': {'hw:serial_port_count': '2'}})
        self.kernel = self._file('vmlinuz')
        self.image = db.image_create({
            'id': 'img-1', 'name': 'tiny', 'kernel_path': self.kernel,
            'ramdisk_path': self._file('initrd'),
            'properties': {'os_command_line': 'console=ttyS0 quiet'}})
        self.image2 = db.image_create({
            'id': 'img-2', 'name': 'disk', 'disk_path': self._file('disk'),
            'disk_format': 'qcow2'})

    def _file(self, name):
        path = os.path.join(self.instances_path, name)
        with open(path, 'wb') as f:
            f.write(b'x')
        return path

    def assertInstanceFromRows(self, instance, uuid, host='fake-host'):
        """``instance`` is what the test flavor and image rows describe."""
        self.assertEqual((uuid, host), (instance.uuid, instance.host))
        self.assertEqual(('m1.tiny', 128, 2, {'hw:serial_port_count': '2'}),
                         (instance.flavor.name, instance.flavor.memory_mb,
                          instance.flavor.vcpus,
                          instance.flavor.extra_specs))
        meta = instance.image_meta
        self.assertEqual(
            ('img-1', 'tiny', None, 'raw', None,
             {'os_command_line': 'console=ttyS0 quiet'}),
            (meta.id, meta.name, meta.kernel_path, meta.disk_format,
             meta.disk_path, meta.properties))
        # The host finds the files by the image's id.
        files = images.boot_files(None, nova.conf.CONF, meta)
        self.assertEqual((self.kernel, None), (files.kernel, files.disk))
        self.assertTrue(files.ramdisk.endswith('initrd'))

    def _server(self, uuid=ids.SRV1, vm_state='building',
                task_state='spawning', ctx=ALICE, host='fake-host', **kw):
        values = {'uuid': uuid, 'name': 'vm', 'project_id': ctx.project_id,
                  'user_id': ctx.user_id, 'flavor_id': '1',
                  'image_id': 'img-1', 'vm_state': vm_state,
                  'task_state': task_state, 'host': host}
        values.update(kw)
        return db.instance_create(values)

    def _state(self, uuid=ids.SRV1):
        server = db.instance_get(uuid)
        return server and (server['vm_state'], server['task_state'],
                           server['fault'])
