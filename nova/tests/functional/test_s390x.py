"""A real s390x guest, emulated by QEMU (TCG), through the whole cloud.

The blueprint names s390x, whose consoles are SCLP devices and not
isa-serial ports, as a reason for the feature. Here an image with
``hw_architecture=s390x`` (Debian's s390x kernel, a busybox initramfs,
from ``tools/build-guest-image.sh --arch s390x``) boots through nova-all;
its console output and its interactive console over nova-serialproxy work
at once, as for the host's own architecture. Boot to the shell prompt
takes a few seconds under TCG here.
"""

import re
import time

import libvirt
from lxml import etree
from testtools import content

from nova.objects import instance as objects
from nova.tests.functional import base
from nova.tests.functional import test_api

S390X_IMAGE_ID = '0a2f7c3e-5b1d-4e8a-9c6f-3d4b2a190390'


class _S390xImage:
    """Built once per test process (a cached build takes seconds)."""

    kernel = initrd = cmdline = None

    @classmethod
    def ensure(cls):
        if cls.kernel is None:
            kernel, initrd = base.run_tool(base.BUILD_IMAGE, '--arch',
                                           's390x').split()
            with open(kernel.rsplit('/', 1)[0] + '/cmdline') as f:
                cls.cmdline = f.read().strip()
            cls.kernel, cls.initrd = kernel, initrd
        return cls


class S390xGuestTestCase(test_api.APITestCase):
    def setUp(self):
        super().setUp()
        image = _S390xImage.ensure()
        self.services.register_image(
            'nova-guest-s390x', S390X_IMAGE_ID, image.kernel, image.initrd,
            {'hw_architecture': 's390x', 'os_command_line': image.cmdline})

    def boot_s390x(self):
        server = self.conn.compute.create_server(
            name='s390x', image_id=S390X_IMAGE_ID, flavor_id='1',
            networks='none')
        self.addCleanup(self._delete, server)
        return self.wait_active(server)

    def _domain_xml(self, server):
        conn = libvirt.open('qemu:///system')
        try:
            return etree.fromstring(
                conn.lookupByUUIDString(server.id).XMLDesc(0).encode())
        finally:
            conn.close()

    def _assert_s390x_domain(self, server):
        dom = self._domain_xml(server)
        os_type = dom.find('os/type')
        self.assertEqual('s390x', os_type.get('arch'))
        self.assertTrue(os_type.get('machine').startswith('s390-ccw-virtio'),
                        os_type.get('machine'))
        self.assertEqual('qemu', dom.get('type'))
        # No isa-serial on s390x: the console is an SCLP device, a tcp
        # port for the proxy and logged by virtlogd.
        self.assertEqual([], dom.findall('devices/serial'))
        consoles = dom.findall('devices/console')
        self.assertEqual(1, len(consoles), etree.tostring(dom))
        console = consoles[0]
        self.assertEqual('tcp', console.get('type'))
        self.assertEqual('sclp', console.find('target').get('type'))
        self.assertEqual('bind', console.find('source').get('mode'))
        log = console.find('log')
        self.assertIsNotNone(log, etree.tostring(console))
        self.assertEqual('on', log.get('append'))
        self.assertTrue(log.get('file').endswith(
            '/%s/console.log' % server.id), log.get('file'))

    def _timed(self, name, started):
        self.addDetail(name, content.text_content(
            '%.1f s' % (time.monotonic() - started)))

    def test_console_output_and_interactive_console_together(self):
        started = time.monotonic()
        server = self.boot_s390x()
        self._timed('seconds-to-active', started)
        self._assert_s390x_domain(server)

        # The kernel's messages, from the SCLP console, in console output.
        deadline = time.monotonic() + 120
        while not self.console_output(server):
            self.assertLess(time.monotonic(), deadline, 'no console output')
            time.sleep(0.2)
        self._timed('seconds-to-first-console-byte', started)
        output = self.wait_output(server, 'NOVA-GUEST-BANNER')
        self.assertIn('Linux version', output)
        self.assertIn('s390x', output)
        self.assertIn('Kernel command line: console=ttysclp0', output)

        # The same console, interactive over nova-serialproxy.
        console = self.shell(self.remote_console_url(server))
        self._timed('seconds-to-shell-prompt', started)
        typed = 'echo s390x-$RANDOM'
        answer = console.run(typed).decode()
        match = re.fullmatch(r's390x-(\d+)\n', answer)
        self.assertIsNotNone(match, answer)

        # What was typed and what the guest answered are both in the log,
        # once: a client was connected (see _boot_ids on what is not).
        output = self.wait_output(server, answer.strip())
        self.assertEqual(1, output.count(typed), output[-600:])
        self.assertEqual(1, output.count(answer.strip()), output[-600:])
        self.assertLess(output.index(typed), output.index(answer.strip()))

    def _boot_ids(self, server, count):
        """The distinct NOVA-GUEST-BANNER boot ids, once ``count`` are in
        the console output.

        While no client holds the tcp port, QEMU 7.2's sclp console fails
        each write and the s390x kernel sends it once more: that output is
        in the log twice. Distinct boot ids count boots all the same.
        """
        deadline = time.monotonic() + 120
        while True:
            output = self.console_output(server)
            ids = list(dict.fromkeys(re.findall(
                r'NOVA-GUEST-BANNER ([0-9a-f-]{36})', output)))
            if len(ids) >= count:
                return ids
            self.assertLess(time.monotonic(), deadline, output[-600:])
            time.sleep(0.5)

    def test_hard_reboot_keeps_the_s390x_guest_and_its_log(self):
        server = self.boot_s390x()
        first = self._boot_ids(server, 1)
        self.conn.compute.reboot_server(server, 'HARD')
        server = self.wait_active(server)
        ids = self._boot_ids(server, 2)
        self.assertEqual(first[0], ids[0])
        self._assert_s390x_domain(server)
        console = self.shell(self.remote_console_url(server))
        self.assertEqual(b'after-reboot\n', console.run('echo after-reboot'))


class S390xDriverTestCase(base.FunctionalTestCase):
    """The driver alone: case chart rows other than the API's default."""

    def _boot(self, ports=None):
        image = _S390xImage.ensure()
        inst = self.make_instance(ports=ports)
        # Files of this process's own (ImageMeta's local files), as the
        # driver is driven directly here.
        inst.image_meta = objects.ImageMeta(
            name='nova-guest-s390x', kernel_path=image.kernel,
            ramdisk_path=image.initrd,
            properties={'hw_architecture': 's390x'})
        return self.boot(inst)  # console=ttysclp0 by default

    def _consoles(self, inst):
        live = self.driver._parse_domain(self.driver.host.get_domain(inst))
        self.assertEqual([], [d for d in live.char_devices
                              if d.root_name == 'serial'])
        return [(d.type, d.target_type, d.log is not None)
                for d in live.char_devices]

    def test_two_ports_sclp_logged_and_sclplm(self):
        inst = self._boot(ports='2')
        self.assertEqual([('tcp', 'sclp', True), ('tcp', 'sclplm', False)],
                         self._consoles(inst))
        client = self.shell(self.connect_console(inst))
        self.assertEqual(b's390x-2\n', client.run('echo s390x-$((1+1))'))
        self.wait_for_output(inst, rb's390x-2')

    def test_serial_disabled_gives_pty_with_log(self):
        self.flags(enabled=False, group='serial_console')
        inst = self._boot()
        self.assertEqual([('pty', 'sclp', True)], self._consoles(inst))
        self.wait_for_output(inst, base.BANNER)
        self.assertIn(b'Kernel command line: console=ttysclp0',
                      self.driver.get_console_output(None, inst))
