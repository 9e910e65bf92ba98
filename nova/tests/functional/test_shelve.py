"""Shelve and unshelve on the real daemons.

* SnapshotFilesTestCase: a disk saved and made again with the real
  qemu-img (snapshot.flatten, snapshot.restore_disk's conversion).
* OneHostShelveTestCase: nova-all with Keystone and Glance, through the
  REST API: shelve (offloaded at once), unshelve; disk, console log and
  serial console kept.
* TwoHostsShelveTestCase (tools/two-hosts.sh, with Glance): offloaded
  on one host, unshelved on the other; to and from an N host.
"""

import json
import os
import re
import subprocess
import time

import libvirt
import libvirt_qemu

from nova import exception
from nova.tests.functional import base
from nova.tests.functional import multihost
from nova.tests.functional import services
from nova.tests.functional import test_api
from nova.tests.functional import test_glance
from nova.tests.functional import test_keystone
from nova.tests.functional import test_multihost
from nova.virt import images
from nova.virt.libvirt import snapshot

PATTERN_OFFSET = 1024 * 1024
PATTERN = 0x5a


def qemu_img(*args):
    return subprocess.run(('qemu-img',) + args, check=True,
                          capture_output=True, text=True).stdout


def info(path):
    return json.loads(qemu_img('info', '--force-share', '--output=json',
                               path))


def has_pattern(path, pattern=PATTERN, offset=PATTERN_OFFSET,
                length=65536):
    """Whether the disk image ``path`` holds ``pattern`` bytes at
    ``offset``, as qemu-io reads it (through its whole backing chain)."""
    proc = subprocess.run(
        ['qemu-io', '-f', 'qcow2', '--force-share', '-r', '-c',
         'read -P 0x%x %d %d' % (pattern, offset, length), path],
        capture_output=True, text=True)
    return proc.returncode == 0 and 'verification failed' not in (
        proc.stdout + proc.stderr)


class SnapshotFilesTestCase(base.FunctionalTestCase):
    """qemu-img's part, on files: what the guest wrote survives the trip
    overlay -> standalone image -> overlay of the original image."""

    def test_saved_and_made_again_reads_the_same(self):
        tmp = self.instances_path
        image = os.path.join(tmp, 'image.qcow2')
        qemu_img('create', '-f', 'qcow2', image, '4M')
        subprocess.run(['qemu-io', '-f', 'qcow2', '-c',
                        'write -P 0x42 0 4M', image], check=True,
                       capture_output=True)
        disk = os.path.join(tmp, 'disk')
        qemu_img('create', '-f', 'qcow2', '-F', 'qcow2', '-b', image, disk)
        # The guest writes data of its own, and zeroes some of the image.
        subprocess.run(['qemu-io', '-f', 'qcow2', '-c',
                        'write -P 0x5a 1M 64k', '-c', 'write -z 2M 64k',
                        disk], check=True, capture_output=True)
        files = images.BootFiles(None, None, image, 'qcow2')
        saved = os.path.join(tmp, 'saved.qcow2')
        snapshot.flatten(disk, files, saved)
        saved_info = info(saved)
        self.assertEqual('qcow2', saved_info['format'])
        self.assertNotIn('backing-filename', saved_info)
        again = os.path.join(tmp, 'again')
        snapshot._qemu_img('convert', '-f', 'qcow2', '-O', 'qcow2', '-B',
                           image, '-F', 'qcow2', saved, again, what='x')
        self.assertEqual(image, info(again)['backing-filename'])
        subprocess.run(['qemu-img', 'compare', '-f', 'qcow2', '-F', 'qcow2',
                        disk, again], check=True, capture_output=True)

    def test_a_disk_that_is_not_our_overlay_is_never_read(self):
        tmp = self.instances_path
        secret = os.path.join(tmp, 'secret')
        with open(secret, 'wb') as f:
            f.write(b'host secret' * 100)
        image = os.path.join(tmp, 'image.qcow2')
        qemu_img('create', '-f', 'qcow2', image, '1M')
        disk = os.path.join(tmp, 'disk')
        qemu_img('create', '-f', 'qcow2', '-F', 'raw', '-b', secret, disk)
        e = self.assertRaises(
            exception.InstanceFileUnsafe, snapshot.flatten, disk,
            images.BootFiles(None, None, image, 'qcow2'),
            os.path.join(tmp, 'out.qcow2'))
        self.assertNotIn(secret, str(e))
        self.assertFalse(os.path.exists(os.path.join(tmp, 'out.qcow2')))


def write_through_qemu(domain_uuid, pattern=PATTERN, offset=PATTERN_OFFSET):
    """Write to a running guest's disk through its own QEMU (HMP
    qemu-io on its disk device's backend), as the guest would: our test
    guest has no block driver of its own."""
    device = '/machine/peripheral/virtio-disk0/virtio-backend'
    conn = libvirt.open('qemu:///system')
    try:
        dom = conn.lookupByUUIDString(domain_uuid)
        hmp = libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
        out = ''
        for command in ('write -P 0x%x %d 65536' % (pattern, offset),
                        'flush'):
            out += libvirt_qemu.qemuMonitorCommand(
                dom, 'qemu-io -d %s "%s"' % (device, command), hmp)
    finally:
        conn.close()
    if 'rror' in out or 'onflict' in out:
        raise AssertionError('qemu-io in the guest\'s QEMU: %s' % out)


class ShelveCalls:
    """REST helpers of a test with ``request(token, method, path,
    body)``."""

    def action(self, token, server_id, body):
        return self.request(token, 'POST', '/servers/%s/action' % server_id,
                            body)

    def wait_status(self, token, server_id, status, timeout=180):
        deadline = time.monotonic() + timeout
        server = None
        while time.monotonic() < deadline:
            code, body = self.request(token, 'GET',
                                      '/servers/%s' % server_id)
            self.assertEqual(200, code, body)
            server = body['server']
            if server['status'] == 'ERROR':
                self.fail('server went to ERROR: %s' % server)
            if (server['status'] == status and
                    not server.get('OS-EXT-STS:task_state')):
                return server
            time.sleep(0.5)
        self.fail('server %s not %s within %d s: %s' % (
            server_id, status, timeout, server))

    def console(self, token, server_id):
        code, body = self.request(
            token, 'POST', '/servers/%s/remote-consoles' % server_id,
            {'remote_console': {'protocol': 'serial', 'type': 'serial'}})
        self.assertEqual(200, code, body)
        console = test_api.WebsocketConsole(body['remote_console']['url'])
        self.addCleanup(console.close)
        return console.wait_prompt()

    def assertHistoryThenNewBoot(self, output, marks, banners=2):
        """The old boot's marks once each, in order, then the new boot's
        banner: nothing twice."""
        found = [m.start() for m in re.finditer('NOVA-GUEST-BANNER',
                                                output)]
        self.assertEqual(banners, len(found), '%d bytes, %s: %s' % (
            len(output), [m for m in marks if m in output], output[:1500]))
        positions = []
        for mark in marks:
            self.assertEqual(1, len(re.findall(
                r'\n' + re.escape(mark) + r'\r?\n', output)),
                '%s: %s' % (mark, output[-1500:]))
            positions.append(output.index('\n' + mark))
        self.assertEqual(sorted(positions), positions)
        return found, positions


class OneHostShelveTestCase(ShelveCalls, test_keystone.KeystoneCalls,
                            base.FunctionalTestCase):
    """nova-all with Keystone and Glance (as GlanceServicesTestCase,
    without its tests)."""

    def setUp(self):
        super().setUp()
        self.clouds = test_keystone._Keystone.ensure()
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type,
            extra_conf={'api': {'auth_strategy': 'keystone'},
                        'keystone_authtoken': test_keystone.authtoken_conf(
                            self.clouds),
                        'glance': services.glance_conf(
                            self.clouds['nova-service'])})
        self.addCleanup(self.services.cleanup)
        self.services.start()
        self.images = services.GlanceImages.ensure(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline)
        self.demo = self.token('nova-demo')

    create = test_glance.GlanceServicesTestCase.create

    def disk_image(self):
        """A qcow2 disk image with its kernel, in Glance, with data. The
        kernel boots ``quiet``: two boots' output stays well within the
        100 KiB console output returns."""
        disk = os.path.join(self.services.workdir, 'shelve-disk.qcow2')
        qemu_img('create', '-f', 'qcow2', disk, '8M')
        subprocess.run(['qemu-io', '-f', 'qcow2', '-c',
                        'write -P 0x42 0 8M', disk], check=True,
                       capture_output=True)
        return services.GlanceImages.create(
            'func-%d-shelve-disk' % os.getpid(), disk, 'qcow2',
            kernel_id=self.images['kernel'],
            ramdisk_id=self.images['ramdisk'],
            os_command_line=self.stack.cmdline + ' quiet')

    def instance_dir(self, server_id):
        return os.path.join(self.services.workdir, 'instances', server_id)

    def test_shelve_offload_unshelve_keeps_disk_log_and_console(self):
        image_id = self.disk_image()
        server_id = self.create(image_id, name='keeper')
        self.wait_active(self.demo, server_id)
        self.wait_output(self.demo, server_id, 'NOVA-GUEST-BANNER')
        console = self.console(self.demo, server_id)
        console.run('echo before-shelve')
        console.close()
        write_through_qemu(server_id)
        self.assertTrue(has_pattern(
            os.path.join(self.instance_dir(server_id), 'disk')))

        code, body = self.action(self.demo, server_id, {'shelve': None})
        self.assertEqual(202, code, body)
        self.wait_status(self.demo, server_id, 'SHELVED_OFFLOADED')
        self.assertFalse(os.path.exists(self.instance_dir(server_id)))
        # Nova's image, in the caller's project.
        code, images_body = self.request(self.demo, 'GET', '/images/detail')
        self.assertEqual(200, code, images_body)
        shelved = [i for i in images_body['images']
                   if i['name'] == 'keeper-shelved']
        self.assertEqual(1, len(shelved), images_body)
        # A console request is refused (no guest), never a 500.
        code, fault = self.action(self.demo, server_id,
                                  {'os-getConsoleOutput': {}})
        self.assertEqual(409, code, fault)

        code, body = self.action(self.demo, server_id, {'unshelve': None})
        self.assertEqual(202, code, body)
        self.wait_status(self.demo, server_id, 'ACTIVE')
        console = self.console(self.demo, server_id)
        self.assertIn(b'after-unshelve', console.run('echo after-unshelve'))
        output = self.wait_output(self.demo, server_id, 'after-unshelve\n')
        banners, (before, after) = self.assertHistoryThenNewBoot(
            output, ['before-shelve', 'after-unshelve'])
        self.assertLess(banners[0], before)
        self.assertLess(before, banners[1])
        self.assertLess(banners[1], after)
        # The guest's disk is what it wrote, over the original image.
        disk_info = info(os.path.join(self.instance_dir(server_id), 'disk'))
        self.assertIn('/_base/', disk_info['backing-filename'])
        self.assertTrue(has_pattern(
            os.path.join(self.instance_dir(server_id), 'disk')))
        # And the image's own bytes around it, through the backing file.
        self.assertTrue(has_pattern(
            os.path.join(self.instance_dir(server_id), 'disk'),
            pattern=0x42, offset=0))
        # The saved image is gone.
        code, _ = self.request(self.demo, 'GET',
                               '/images/%s' % shelved[0]['id'])
        self.assertEqual(404, code)


class TwoHostsShelveTestCase(test_multihost.MultiHostTestCase):
    """Offloaded on one host, unshelved on the other (tools/two-hosts.sh;
    run under ``flock /work/wt/.rig.lock``)."""

    def setUp(self):
        super().setUp()
        disk = os.path.join(self.instances_path, 'shelve-disk.qcow2')
        qemu_img('create', '-f', 'qcow2', disk, '8M')
        subprocess.run(['qemu-io', '-f', 'qcow2', '-c',
                        'write -P 0x42 0 8M', disk], check=True,
                       capture_output=True)
        images = services.GlanceImages.ensure(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline)
        self.disk_image = services.GlanceImages.create(
            'func-%d-shelve-disk-%s' % (os.getpid(), self.id()[-20:]),
            disk, 'qcow2', kernel_id=images['kernel'],
            ramdisk_id=images['ramdisk'],
            os_command_line=self.stack.cmdline + ' quiet')
        self.addCleanup(self.enable, 'host-a')

    def enable(self, host, enabled=True):
        status, body = self.a.request(
            'PUT', '/os-services/%s' % ('enable' if enabled else 'disable'),
            {'host': host, 'binary': 'nova-compute'},
            token=test_multihost.ADMIN_TOKEN)
        self.assertEqual(200, status, body)

    def boot_disk_server(self):
        server = self.conn.compute.create_server(
            name='shelver', image_id=self.disk_image, flavor_id='1',
            networks='none')
        self.domains.append('instance-%s' % server.id)
        self.addCleanup(self._delete, server)
        return self.wait_active(server)

    def wait_status(self, server, status, timeout=180):
        def check():
            current = self.admin.compute.get_server(server.id)
            if current.status == 'ERROR':
                self.fail('server went to ERROR: %s' % current.fault)
            return (current.status == status and not current.task_state
                    and current)
        try:
            return multihost.wait_for(check, timeout, 'server %s %s' % (
                server.id, status))
        except AssertionError:
            self.fail('%s not %s; host B log:\n%s\nnova-all log:\n%s' % (
                server.id, status, self.b.log_tail() if self.b else '-',
                self.a.log_tail()))

    def instance_disk(self, host, server):
        root = self.env['HOSTA_INSTANCES' if host == 'host-a'
                        else 'HOSTB_INSTANCES']
        return os.path.join(root, server.id, 'disk')

    def mark(self, server, text):
        console, _ = self.console(server)
        self.assertIn(text.encode(), console.run('echo %s' % text))
        console.close()

    def offload_and_unshelve_on(self, server, source, dest):
        """Shelve (offloaded at once) on ``source``, unshelve on
        ``dest`` (the only host enabled)."""
        self.assertEqual(source, self.host_of(server))
        self.conn.compute.shelve_server(server)
        self.wait_status(server, 'SHELVED_OFFLOADED')
        self.assertIsNone(self.host_of(server))
        self.assertFalse(os.path.exists(os.path.dirname(
            self.instance_disk(source, server))))
        self.enable(dest)
        self.enable(source, enabled=False)
        self.conn.compute.unshelve_server(server)
        self.wait_status(server, 'ACTIVE')
        self.assertEqual(dest, self.host_of(server))

    def assertLogContinues(self, output, marks, boots):
        banners = [m.start() for m in re.finditer('NOVA-GUEST-BANNER',
                                                  output)]
        self.assertEqual(boots, len(banners), output[:2000])
        positions = []
        for mark in marks:
            self.assertEqual(1, output.count(mark + '\n'),
                             '%s: %s' % (mark, output[-1500:]))
            positions.append(output.index(mark + '\n'))
        self.assertEqual(sorted(positions), positions)
        # Each mark was typed during its own boot: after its banner.
        for number, position in enumerate(positions):
            self.assertLess(banners[number], position)
            if number + 1 < len(banners):
                self.assertLess(position, banners[number + 1])

    def test_offload_then_unshelve_on_the_other_host(self):
        server = self.boot_disk_server()  # host B not up: on host A
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        self.mark(server, 'before-shelve')
        write_through_qemu(server.id)
        self.start_b()
        self.offload_and_unshelve_on(server, 'host-a', 'host-b')
        self.mark(server, 'after-unshelve')  # interactive there
        output = self.wait_output(server, 'after-unshelve\n')
        self.assertLogContinues(output, ['before-shelve', 'after-unshelve'],
                                boots=2)
        disk = self.instance_disk('host-b', server)
        self.assertTrue(has_pattern(disk))
        self.assertTrue(has_pattern(disk, pattern=0x42, offset=0))
        self.assertPortCounts({'host-a': 0, 'host-b': 1})

    def test_to_and_from_an_old_host(self):
        server = self.boot_disk_server()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        self.mark(server, 'on-new-host')
        before = self.wait_output(server, 'on-new-host\n')
        self.start_b(old=True)
        self.offload_and_unshelve_on(server, 'host-a', 'host-b')
        # The N host's tcp console logs nothing (no virtlogd): its
        # console output is the history, arrived unchanged.
        on_old = self.console_output(server)
        self.assertIn(before, on_old)
        self.assertEqual(1, on_old.count('on-new-host\n'))
        self.mark(server, 'on-old-host')  # interactive there
        self.offload_and_unshelve_on(server, 'host-b', 'host-a')
        self.mark(server, 'new-host-again')
        output = self.wait_output(server, 'new-host-again\n')
        self.assertIn(before, output)
        self.assertLogContinues(output, ['on-new-host', 'new-host-again'],
                                boots=2)
