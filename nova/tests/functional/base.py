"""Functional tests against the real libvirtd, virtlogd and QEMU.

The first test of a run sets the host up with ``tools/setup-host.sh``
(installs and starts the daemons when needed) and builds the tiny guest
image. When the real stack cannot start the tests fail with the script's
message: they never skip.
"""

import os
import re
import subprocess
import tempfile
import time

import fixtures
import testtools.content
import websocket

from nova.console import serial
from nova import exception
from nova.objects import instance as objects
from nova import test
from nova.tests.functional import tcp_client
from nova.virt.libvirt import driver as libvirt_driver

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
SETUP_HOST = os.path.join(REPO, 'tools', 'setup-host.sh')
BUILD_IMAGE = os.path.join(REPO, 'tools', 'build-guest-image.sh')
BANNER = rb'NOVA-GUEST-BANNER ([0-9a-f-]{36})'
PROMPT = rb'nova-guest# '
BOOT_TIMEOUT = 120

VIRTLOGD_DEFAULT_MAX_SIZE = 2 * 1024 * 1024
VIRTLOGD_DEFAULT_MAX_BACKUPS = 3


def run_tool(*argv):
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError('%s failed (exit %d):\n%s' % (
            ' '.join(argv), proc.returncode, proc.stderr[-3000:]))
    return proc.stdout


class _Stack:
    """Set up once per test process: the daemons and the guest image."""

    virt_type = None
    kernel = initrd = cmdline = None

    @classmethod
    def ensure(cls):
        if cls.virt_type is None:
            if os.geteuid() != 0:
                raise RuntimeError('functional tests need root: they drive '
                                   'the real libvirtd/virtlogd/QEMU')
            set_virtlogd(VIRTLOGD_DEFAULT_MAX_SIZE,
                         VIRTLOGD_DEFAULT_MAX_BACKUPS)
            kernel, initrd = run_tool(BUILD_IMAGE).split()
            with open(os.path.join(os.path.dirname(kernel), 'cmdline')) as f:
                cls.cmdline = f.read().strip()
            cls.kernel, cls.initrd = kernel, initrd
            cls.virt_type = run_tool(SETUP_HOST,
                                     '--print-virt-type').strip()
        return cls


def set_virtlogd(max_size, max_backups):
    """Apply virtlogd settings (virtlogd re-reads them on re-exec)."""
    run_tool(SETUP_HOST, '--virtlogd-max-size', str(max_size),
             '--virtlogd-max-backups', str(max_backups))


class FunctionalTestCase(test.TestCase):
    # Serial console on, virtlogd as the host really is: the mission.
    serial_enabled = True

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(900, gentle=True))
        self.stack = _Stack.ensure()
        # Guests write their logs here; virtlogd runs as root.
        self.instances_path = tempfile.mkdtemp(prefix='nova-func-')
        self.addCleanup(subprocess.run, ['rm', '-rf', self.instances_path])
        self.flags(instances_path=self.instances_path)
        self.flags(virt_type=self.stack.virt_type,
                   connection_uri='qemu:///system', group='libvirt')
        self.port_start = test.free_port_block(20)
        self.flags(enabled=self.serial_enabled,
                   port_range='%d:%d' % (self.port_start,
                                         self.port_start + 19),
                   proxyclient_address='127.0.0.1', group='serial_console')
        self.driver = libvirt_driver.LibvirtDriver()
        self.addCleanup(self.driver.host.close)

    def force_old_host(self):
        """Make this host fail the virtlogd gate (libvirt too old)."""
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.MIN_LIBVIRT_VIRTLOGD', (99, 0, 0)))
        self.assertFalse(self.driver.uses_virtlogd())

    def make_instance(self, ports=None, image_ports=None):
        extra = {} if ports is None else {'hw:serial_port_count': ports}
        props = {'os_command_line': self.stack.cmdline}
        if image_ports is not None:
            props['hw_serial_port_count'] = image_ports
        inst = objects.Instance(flavor=objects.Flavor(
            memory_mb=128, vcpus=1, extra_specs=extra))
        inst.image_meta = objects.ImageMeta(
            name='nova-guest', kernel_path=self.stack.kernel,
            ramdisk_path=self.stack.initrd, properties=props)
        return inst

    def boot(self, inst=None, **kw):
        """Spawn a guest; it is destroyed at cleanup, even on failure."""
        inst = inst or self.make_instance(**kw)
        self.addCleanup(self._destroy_quietly, inst)
        self.driver.spawn(None, inst, inst.image_meta)
        return inst

    def _destroy_quietly(self, inst):
        try:
            self.driver.destroy(None, inst)
        except Exception as e:  # cleanup must go on for the next guests
            self.addDetail('destroy-error', testtools.content.text_content(
                '%s: %s' % (inst.uuid, e)))

    def wait_for_output(self, inst, pattern, timeout=BOOT_TIMEOUT, count=1):
        """Poll get_console_output until ``pattern`` occurs ``count`` times.

        Returns the whole output read at that moment.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        output = b''
        while time.monotonic() < deadline:
            output = self.driver.get_console_output(None, inst)
            if len(regex.findall(output)) >= count:
                return output
            time.sleep(0.5)
        self.fail('%r not seen %d time(s) in console output within %d s; '
                  'its end: %r' % (pattern, count, timeout, output[-600:]))

    def connect_console(self, inst):
        console = self.driver.get_serial_console(None, inst)
        client = tcp_client.SerialConsoleClient(console.host, console.port)
        self.addCleanup(client.close)
        return client

    def shell(self, client):
        """Get a prompt on the guest's serial shell."""
        client.send_line('')
        client.read_until(PROMPT, timeout=BOOT_TIMEOUT)
        return client

    def assertPortFree(self, port, host='127.0.0.1'):
        try:
            serial._bind_test(host, port)
        except exception.SocketPortInUseException as e:
            self.fail('port %d still in use: %s' % (port, e))
        self.assertNotIn((host, port), serial.ALLOCATED_PORTS)

    def assertRefused(self, url, origin=None):
        """The proxy closes the websocket without proxying anything."""
        try:
            ws = websocket.create_connection(url, timeout=15, origin=origin)
        except websocket.WebSocketException:
            return  # refused at the handshake
        try:
            # A refused session gets a close frame at once; an accepted
            # one would stay open (the guest says nothing unasked).
            opcode, data = ws.recv_data(control_frame=True)
            self.assertEqual(websocket.ABNF.OPCODE_CLOSE, opcode, data)
            self.assertNotIn(b'Traceback', data)
        except (websocket.WebSocketConnectionClosedException,
                ConnectionError):
            pass
        finally:
            ws.close()
