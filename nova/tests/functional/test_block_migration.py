"""Block live migration between two real hosts, through the REST API.

Host A runs nova-all, host B nova-compute in its own namespaces
(tools/two-hosts.sh); each has its own instances folder, so the shared
storage check finds them not shared and block_migration "auto" copies
the disk. The server boots from a qcow2 disk image in Glance (with the
tiny guest's kernel and initramfs as kernel_id/ramdisk_id); each host
backs the server's overlay with the image in its own image cache.

The tiny guest's kernel has no virtio-blk driver (Debian builds it as a
module, the initramfs has none), so the guest cannot reach its disk:
the disk content is written and read back through the running QEMU's
own block layer (HMP ``qemu-io`` on the guest's disk), which is what the
guest's writes go through too, so the copy must carry them.
"""

import os
import re
import subprocess
import tempfile

import libvirt
import libvirt_qemu
import testtools.content

from nova.tests.functional import multihost
from nova.tests.functional import services
from nova.tests.functional import test_multihost

ADMIN_TOKEN = test_multihost.ADMIN_TOKEN
# The disk image's virtual size, and the marker written to the disk.
DISK_SIZE = '64M'
PATTERN = '0x5a'
MARK_OFFSET, MARK_LENGTH = 1 << 20, 4 << 20
# Numbered console lines: one every USLEEP us, in the guest's shell.
LINE = re.compile(rb'TICK (\d+)\r\n')
USLEEP = 20000
# The guest's disk as QEMU's device tree names it (libvirt's alias
# virtio-disk0; the block backend is the inner virtio device's).
DISK_QDEV = '/machine/peripheral/virtio-disk0/virtio-backend'
HOSTB_LIBVIRTD_PID = os.path.join('/srv/nova-hostb', 'run', 'libvirt',
                                  'libvirtd.pid')


class _DiskImage:
    """A qcow2 disk image in Glance that boots the tiny guest's kernel
    (its kernel_id and ramdisk_id), made once per test process."""

    image_id = None

    @classmethod
    def ensure(cls, stack):
        if cls.image_id is None:
            ids = services.GlanceImages.ids
            folder = tempfile.mkdtemp(prefix='nova-blk-image-')
            path = os.path.join(folder, 'disk.qcow2')
            subprocess.run(['qemu-img', 'create', '-f', 'qcow2', path,
                            DISK_SIZE], check=True, capture_output=True)
            cls.image_id = services.GlanceImages.create(
                'func-%d-disk' % os.getpid(), path, 'qcow2',
                kernel_id=ids['kernel'], ramdisk_id=ids['ramdisk'],
                os_command_line=stack.cmdline)
        return cls.image_id


class _BlockMigrationBase(test_multihost.MultiHostTestCase):
    def setUp(self):
        super().setUp()
        self.image_id = _DiskImage.ensure(self.stack)
        self.uris = {'host-a': self.env['HOSTA_URI'],
                     'host-b': self.env['HOSTB_URI']}
        self.folders = {'host-a': self.env['HOSTA_INSTANCES'],
                        'host-b': self.env['HOSTB_INSTANCES']}

    def boot_disk(self, name='blk'):
        server = self.conn.compute.create_server(
            name=name, image_id=self.image_id, flavor_id='1',
            networks='none')
        self.domains.append('instance-%s' % server.id)
        self.addCleanup(self._delete, server)
        return self.wait_active(server)

    def block_migrate(self, server, host, block_migration='auto'):
        self.admin.compute.live_migrate_server(
            server, host=host, force=True, block_migration=block_migration)
        return self.wait_active(server, timeout=300)

    # -- the disk, through QEMU's block layer -------------------------------

    def qemu_io(self, server, command):
        """HMP ``qemu-io`` on the guest's disk in its running QEMU (its
        output goes to QEMU's own log, not here)."""
        conn = libvirt.open(self.uris[self.host_of(server)])
        try:
            dom = conn.lookupByUUIDString(server.id)
            libvirt_qemu.qemuMonitorCommand(
                dom, 'qemu-io -d %s "%s"' % (DISK_QDEV, command),
                libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)
        finally:
            conn.close()

    def read_mark(self, server, length=MARK_LENGTH):
        """The marker as the disk file on the server's host holds it,
        once its QEMU flushed what it caches."""
        self.qemu_io(server, 'flush')
        return subprocess.run(
            ['qemu-io', '-r', '-U', '-f', 'qcow2', '-c', 'read -P %s %d %d'
             % (PATTERN, MARK_OFFSET, length),
             self.disk_of(server, self.host_of(server))],
            capture_output=True, text=True).stdout

    def write_mark(self, server, length=MARK_LENGTH):
        self.qemu_io(server, 'write -P %s %d %d' % (
            PATTERN, MARK_OFFSET, length))
        self.assertMarkIntact(server, length)

    def assertMarkIntact(self, server, length=MARK_LENGTH):
        out = self.read_mark(server, length)
        self.assertNotIn('Pattern verification failed', out)
        self.assertIn('read %d/%d bytes' % (length, length), out)

    def disk_of(self, server, host):
        return os.path.join(self.folders[host], server.id, 'disk')

    # -- numbered lines -----------------------------------------------------

    @staticmethod
    def start_ticks(console, first, last):
        """The guest prints TICK first..last, one a USLEEP, in the
        foreground (nothing else is typed meanwhile)."""
        console.ws.send_binary((
            'i=%d; while [ $i -le %d ]; do echo "TICK $i"; i=$((i+1)); '
            'usleep %d; done\r' % (first, last, USLEEP)).encode())

    def whole_log(self, server, host):
        """Every byte of the console log chain on ``host``, oldest
        first (console.log.N ... console.log.0, console.log)."""
        folder = os.path.join(self.folders[host], server.id)
        names = [n for n in os.listdir(folder)
                 if re.fullmatch(r'console\.log(\.\d+)?', n)]
        names.sort(key=lambda n: -int(n.rsplit('.', 1)[1])
                   if n != 'console.log' else 1)
        data = b''
        for name in names:
            with open(os.path.join(folder, name), 'rb') as f:
                data += f.read()
        return data

    def assertTicks(self, data, last):
        numbers = [int(n) for n in LINE.findall(data)]
        self.assertEqual(list(range(1, last + 1)), numbers,
                         'lost or doubled lines: %s' % sorted(
                             set(range(1, last + 1)) ^ set(numbers)))


class BlockMigrationTestCase(_BlockMigrationBase):
    def test_there_and_back_keeps_disk_log_and_console(self):
        server = self.boot_disk()  # host B not up yet: on host A
        self.assertEqual('host-a', self.host_of(server))
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        self.write_mark(server)
        self.start_b()
        hops = (('host-a', 'host-b', 1, 400), ('host-b', 'host-a', 401, 800))
        for source, dest, first, last in hops:
            console, old_url = self.console(server)
            self.start_ticks(console, first, last)
            self.wait_output(server, 'TICK %d\n' % (first + 20))
            self.block_migrate(server, None)  # the only other host
            self.assertEqual(dest, self.host_of(server))
            # The disk went with it, copied into the destination's
            # overlay, backed by the destination's own image cache.
            self.assertMarkIntact(server)
            self.assertFalse(os.path.exists(self.disk_of(server, source)))
            info = subprocess.run(
                ['qemu-img', 'info', '-U', '--output=json',
                 self.disk_of(server, dest)], check=True,
                capture_output=True, text=True).stdout
            self.assertIn(os.path.join(self.folders[dest], '_base'), info)
            # The old console URL named the source's port: refused.
            console.close()
            self.assertRefused(old_url)
            self.wait_output(server, 'TICK %d\n' % last, timeout=300)
            new_console, new_url = self.console(server)
            self.assertNotEqual(old_url, new_url)
            self.assertIn(b'here-%s' % dest.encode(),
                          new_console.run('echo here-%s' % dest))
            new_console.close()
        self.assertTicks(self.whole_log(server, 'host-a'), 800)
        output = self.console_output(server)
        self.assertEqual(1, output.count('NOVA-GUEST-BANNER'))
        self.assertLess(output.index('here-host-b\n'),
                        output.index('here-host-a\n'))
        self.assertPortCounts({'host-a': 1, 'host-b': 0})

    def test_to_and_from_a_host_below_the_gate_keeps_the_log(self):
        server = self.boot_disk()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        self.write_mark(server)
        console, _ = self.console(server)
        console.run('echo before-move')
        console.close()
        self.start_b(old=True)
        self.block_migrate(server, 'host-b')
        self.assertEqual('host-b', self.host_of(server))
        self.assertMarkIntact(server)
        # The N host's guest has no <log>: what console output shows
        # there is the log carried from A.
        self.assertContinuous(self.console_output(server), ['before-move'])
        console, _ = self.console(server)
        self.assertIn(b'on-old', console.run('echo on-old'))
        console.close()
        self.block_migrate(server, 'host-a')
        self.assertEqual('host-a', self.host_of(server))
        self.assertMarkIntact(server)
        # Interactive; as for every N -> N+1 move the guest keeps its
        # unlogged devices until a hard reboot, and console output reads
        # the log carried back (what it said on A before it left).
        console, _ = self.console(server)
        self.assertIn(b'back-on-new', console.run('echo back-on-new'))
        self.assertContinuous(self.console_output(server), ['before-move'])

    def test_local_disk_without_block_migration_is_a_clear_400(self):
        server = self.boot_disk()
        self.start_b()
        status, body = self.a.request(
            'POST', '/servers/%s/action' % server.id,
            {'os-migrateLive': {'host': 'host-b', 'block_migration': False,
                                'disk_over_commit': False}},
            token=ADMIN_TOKEN)
        self.assertEqual(400, status, body)
        self.assertIn('has a local disk', str(body))
        self.assertIn('block_migration true', str(body))
        server = self.wait_active(server)
        self.assertEqual('host-a', self.host_of(server))

    def test_block_migration_true_before_2_25(self):
        server = self.boot_disk()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        self.write_mark(server)
        self.start_b()
        status, body = self.a.request(
            'POST', '/servers/%s/action' % server.id,
            {'os-migrateLive': {'host': 'host-b', 'block_migration': True,
                                'disk_over_commit': False}},
            token=ADMIN_TOKEN)
        self.assertEqual(202, status, body)
        server = self.wait_active(server, timeout=300)
        self.assertEqual('host-b', self.host_of(server))
        self.assertMarkIntact(server)


class DiskFullTestCase(_BlockMigrationBase):
    """Host B's instances folder on a tmpfs too small for the disk.

    The tmpfs is mounted in host B's mount namespace (where its libvirtd,
    virtlogd and QEMU run) and named through /proc/<B's libvirtd>/root,
    which is the same folder in every namespace."""

    TMPFS_SIZE = '24m'

    def _tiny_instances(self):
        with open(HOSTB_LIBVIRTD_PID) as f:
            pid = f.read().strip()
        inside = tempfile.mkdtemp(prefix='tiny-',
                                  dir=os.path.dirname(
                                      self.env['HOSTB_INSTANCES']))
        self.addCleanup(os.rmdir, inside)
        enter = ['nsenter', '--target', pid, '--mount', '--']
        subprocess.run(enter + ['mount', '-t', 'tmpfs', '-o',
                                'size=%s,mode=0755' % self.TMPFS_SIZE,
                                'tmpfs', inside], check=True)
        self.addCleanup(subprocess.run, enter + ['umount', '-l', inside])
        return '/proc/%s/root%s' % (pid, inside)

    def test_destination_disk_full_leaves_the_guest_on_the_source(self):
        server = self.boot_disk()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        # More than the tmpfs holds beside B's image cache.
        self.write_mark(server, length=40 << 20)
        console, _ = self.console(server)
        console.run('echo before-full')
        console.close()
        before = self.whole_log(server, 'host-a')
        tiny = self._tiny_instances()
        self.b = multihost.ComputeProcess(
            self.stack, dict(self.env, HOSTB_INSTANCES=tiny),
            self.port_start + 20)
        self.b.start()
        self.wait_service('host-b', 'up')
        self.admin.compute.live_migrate_server(
            server, host='host-b', force=True, block_migration='auto')
        server = self.wait_active(server, timeout=300)
        # Stayed on A, running, untouched: its disk, its log, its console.
        self.assertEqual('host-a', self.host_of(server))
        self.assertMarkIntact(server)
        self.assertTrue(self.whole_log(server, 'host-a').startswith(before))
        console, _ = self.console(server)
        self.assertIn(b'still-on-a', console.run('echo still-on-a'))
        output = self.wait_output(server, 'still-on-a\n')
        self.assertContinuous(output, ['before-full', 'still-on-a'])
        # B gave back its folder, its disk and its ports.
        self.assertFalse(os.path.exists(os.path.join(tiny, server.id)))
        self.assertPortCounts({'host-a': 1, 'host-b': 0})
        status, body = self.a.request(
            'GET', '/os-migrations', token=ADMIN_TOKEN)
        self.assertEqual(200, status, body)
        mine = [m for m in body['migrations']
                if m['instance_uuid'] == server.id]
        self.assertEqual(['failed'], [m['status'] for m in mine])
        # It failed in libvirt's job (the copy), not before it: B had
        # made the folder and the overlay over its cached image.
        log = self.a.log_tail(2000)
        failure = [line for line in log.splitlines()
                   if 'libvirt could not migrate %s' % server.id in line]
        self.assertTrue(failure, log[-3000:])
        self.assertIn('No space left on device', failure[0])
        self.addDetail('failure', testtools.content.text_content(
            '\n'.join(failure)))
