"""Cold migration and resize between two real libvirt hosts on this
machine (tools/two-hosts.sh), the driver steps in the conductor's order
(nova.conductor.migrate): prepare on the destination, the source's copy,
finish on the destination, then confirm or revert.

A chatty guest prints numbered lines; after each move its console output
holds every line exactly once, in order, with what it printed on the
other host. "N" is a host below the virtlogd gate (make_old).

Run under the rig lock: ``flock /work/wt/.rig.lock <stestr command>``.
"""

import os
import re
import subprocess

import fixtures

from nova.console import serial
from nova import exception
from nova.objects import instance as objects
from nova.tests.functional import base
from nova.tests.functional import test_live_migration
from nova.tests.functional import test_multihost
from nova.virt.libvirt import remotefs

SEQ = rb'SEQ (\d{6})'


class ResizeTestCase(test_live_migration.LiveMigrationTestCase):
    def setUp(self):
        super().setUp()
        # Host B's driver runs in this process, in host A's network
        # namespace; the rig's sshd takes B's key only from B's address
        # (authorized_keys from=), so B's ssh runs in B's namespace, as
        # B's nova-compute would.
        run = remotefs.RemoteFilesystem._run
        netns = self.env['HOSTB_NETNS']

        def run_from_its_host(fs, host, op, argv, **kwargs):
            if fs._conf.host == self.b.host_name:
                argv = ['ip', 'netns', 'exec', netns] + list(argv)
            return run(fs, host, op, argv, **kwargs)
        self.useFixture(fixtures.MockPatchObject(
            remotefs.RemoteFilesystem, '_run', run_from_its_host))

    def resized(self, inst, ports):
        """``inst`` with a flavor of ``ports`` serial ports."""
        new = objects.Instance(uuid=inst.uuid, flavor=objects.Flavor(
            name='m1.new', memory_mb=inst.flavor.memory_mb,
            vcpus=inst.flavor.vcpus,
            extra_specs={'hw:serial_port_count': str(ports)}))
        new.image_meta = inst.image_meta
        return new

    def move(self, inst, source, dest, ports=1):
        """The three steps of a move; returns the moved instance."""
        new = self.resized(inst, ports)
        data = dest.prepare_migration(None, new, new.image_meta, False)
        note = source.migrate_disk_and_power_off(None, new, data, False)
        self.assertIsNone(note)
        dest.finish_migration(None, new, new.image_meta, False)
        new.host = dest.host_name
        self.assertTrue(dest.is_running(new))
        self.assertFalse(source.is_running(inst))
        return new

    def revert(self, old, new, source, dest):
        source_data = source.check_can_live_migrate_destination(None, old)
        self.assertIsNone(dest.revert_migration_at_destination(
            None, new, source_data, False))
        source.finish_revert_migration(None, old)
        self.assertFalse(dest.instance_exists(new))
        self.assertTrue(source.is_running(old))

    def chatter(self, drv, inst, first, count):
        """Have the guest print SEQ lines ``first`` .. first+count-1 (the
        guest numbers from 1 at each ``chatty``: the test's numbering is
        the marker before them)."""
        self.type_on(drv, inst, 'batch-%06d' % first)
        self.driver = drv
        client = self.shell(self.connect_console(inst))
        client.send_line('chatty %d' % count)
        client.read_until(b'SEQ %06d' % count, timeout=120)
        client.close()
        return self.wait_on(drv, inst, b'SEQ %06d' % count,
                            count=1)

    def assertContinuous(self, output, batches):
        """Each ``batch-N`` marker once, in order, each followed by its
        SEQ lines 1..count once each: nothing lost or doubled."""
        self.assertNoDuplicates(output, *['batch-%06d' % b
                                          for b, _ in batches])
        positions = [output.index(b'\nbatch-%06d' % b) for b, _ in batches]
        self.assertEqual(sorted(positions), positions)
        ends = positions[1:] + [len(output)]
        for (_batch, count), start, end in zip(batches, positions, ends):
            seqs = [int(s) for s in re.findall(SEQ, output[start:end])]
            self.assertEqual(list(range(1, count + 1)), seqs)

    def tcp_ports(self, drv, inst):
        live = drv._parse_domain(drv.host.get_domain(inst))
        return [(d.listen_host, d.listen_port, d.log is not None)
                for d in live.char_devices
                if d.root_name == 'serial' and d.type == 'tcp']

    def held(self, addr):
        return {p for a, p in serial.ALLOCATED_PORTS if a == addr}


class NewToNewTestCase(ResizeTestCase):
    def test_resize_then_confirm(self):
        inst = self.boot_on(self.a, self.make_instance(ports='1'))
        self.wait_on(self.a, inst, base.BANNER)
        self.chatter(self.a, inst, 1, 200)
        a_ports = self.held(self.env['HOSTA_ADDR'])
        self.assertEqual(1, len(a_ports))
        new = self.move(inst, self.a, self.b, ports=2)
        # The new flavor's two ports, on B, the first with virtlogd's log.
        ports = self.tcp_ports(self.b, new)
        self.assertEqual([(self.env['HOSTB_ADDR'], True),
                          (self.env['HOSTB_ADDR'], False)],
                         [(h, log) for h, _p, log in ports])
        # A holds its port until the confirm.
        self.assertEqual(a_ports, self.held(self.env['HOSTA_ADDR']))
        self.wait_on(self.b, new, base.BANNER, count=2)
        self.chatter(self.b, new, 2, 50)
        output = self.output(self.b, new)
        self.assertContinuous(output, [(1, 200), (2, 50)])
        self.a.confirm_migration(None, inst, False)
        self.assertEqual(set(), self.held(self.env['HOSTA_ADDR']))
        self.assertFalse(self.a.instance_exists(inst))
        self.assertFalse(os.path.exists(self.a.instance_dir(inst) +
                                        '_resize'))
        self.type_on(self.b, new, 'after-confirm')

    def test_resize_then_revert(self):
        inst = self.boot_on(self.a, self.make_instance(ports='1'))
        self.wait_on(self.a, inst, base.BANNER)
        self.chatter(self.a, inst, 1, 120)
        a_ports = self.tcp_ports(self.a, inst)
        new = self.move(inst, self.a, self.b, ports=2)
        self.wait_on(self.b, new, base.BANNER, count=2)
        self.chatter(self.b, new, 2, 80)
        self.revert(inst, new, self.a, self.b)
        # Its old ports, and none held on B any more.
        self.assertEqual(a_ports, self.tcp_ports(self.a, inst))
        self.assertEqual(set(), self.held(self.env['HOSTB_ADDR']))
        self.assertFalse(os.path.exists(self.b.instance_dir(inst)))
        self.wait_on(self.a, inst, base.BANNER, count=3)
        self.chatter(self.a, inst, 3, 30)
        self.assertContinuous(self.output(self.a, inst),
                              [(1, 120), (2, 80), (3, 30)])


class ToAndFromOldTestCase(ResizeTestCase):
    """Host B is below the virtlogd gate (an N host, make_old): there the
    guest gets the older devices, tcp ports that log nothing and a pty
    drained into console.log at each read. Its console output there is
    the log chain that arrived from A (this guest writes on ttyS0 only,
    the first tcp port), and it goes on to A again with the guest."""

    def setUp(self):
        super().setUp()
        self.make_old(self.b)

    def chatty_on_a(self):
        inst = self.boot_on(self.a, self.make_instance(ports='1'))
        self.wait_on(self.a, inst, base.BANNER)
        self.chatter(self.a, inst, 1, 100)
        return inst, self.output(self.a, inst)

    def on_the_n_host(self, new, before):
        """B's devices and console output while the guest runs there;
        ``before`` is A's last read of its output."""
        # The new flavor's two tcp ports on B, neither logged (+ a pty).
        self.assertEqual([(self.env['HOSTB_ADDR'], False)] * 2,
                         [(h, log) for h, _p, log
                          in self.tcp_ports(self.b, new)])
        self.assertEqual(2, len(self.held(self.env['HOSTB_ADDR'])))
        # The history that arrived: A's output (the shell's prompt may
        # have reached A's log after that last read), once.
        output = self.output(self.b, new)
        self.assertIn(before, output)
        self.assertEqual(1, len(re.findall(base.BANNER, output)))
        self.assertContinuous(output, [(1, 100)])
        self.type_on(self.b, new, 'on-the-n-host')  # interactive there
        # An N host's tcp console logs nothing: the chain is unchanged.
        self.assertEqual(output, self.output(self.b, new))

    def test_to_the_n_host_confirm_then_back_confirm(self):
        inst, before = self.chatty_on_a()
        new = self.move(inst, self.a, self.b, ports=2)
        self.on_the_n_host(new, before)
        self.a.confirm_migration(None, inst, False)
        self.assertEqual(set(), self.held(self.env['HOSTA_ADDR']))
        self.assertFalse(self.a.instance_exists(inst))
        # Cold migration back to the N+1 host: virtlogd's log again,
        # appended to the chain B kept.
        back = self.move(new, self.b, self.a, ports=1)
        self.assertEqual([(self.env['HOSTA_ADDR'], True)],
                         [(h, log) for h, _p, log
                          in self.tcp_ports(self.a, back)])
        self.b.confirm_migration(None, new, False)
        self.assertEqual(set(), self.held(self.env['HOSTB_ADDR']))
        self.assertFalse(self.b.instance_exists(new))
        self.assertFalse(os.path.exists(self.b.instance_dir(new) +
                                        '_resize'))
        # A's first boot and this one (B's went to its unlogged port).
        self.wait_on(self.a, back, base.BANNER, count=2)
        self.chatter(self.a, back, 2, 40)
        output = self.output(self.a, back)
        self.assertIn(before, output)
        self.assertContinuous(output, [(1, 100), (2, 40)])
        self.assertEqual(2, len(re.findall(base.BANNER, output)))

    def test_to_the_n_host_then_revert(self):
        inst, before = self.chatty_on_a()
        a_ports = self.tcp_ports(self.a, inst)
        new = self.move(inst, self.a, self.b, ports=2)
        self.on_the_n_host(new, before)
        self.revert(inst, new, self.a, self.b)
        # Its old port, logged by virtlogd; none held on B any more.
        self.assertEqual(a_ports, self.tcp_ports(self.a, inst))
        self.assertEqual([True], [log for _h, _p, log in a_ports])
        self.assertEqual(set(), self.held(self.env['HOSTB_ADDR']))
        self.assertFalse(os.path.exists(self.b.instance_dir(inst)))
        self.wait_on(self.a, inst, base.BANNER, count=2)
        self.chatter(self.a, inst, 2, 40)
        output = self.output(self.a, inst)
        self.assertIn(before, output)
        self.assertContinuous(output, [(1, 100), (2, 40)])
        self.assertEqual(2, len(re.findall(base.BANNER, output)))


class DiskTestCase(ResizeTestCase):
    """A server booted from a qcow2 disk: the disk moves over the remote
    file system transport (ssh), its content intact."""

    PATTERN = '0x5a'

    def disk_instance(self, drv):
        """An instance whose overlay disk (ours, on ``drv``) holds a
        pattern at offset 0 before its first boot."""
        image = os.path.join(self.instances_path, 'image.raw')
        if not os.path.exists(image):
            subprocess.run(['qemu-img', 'create', '-f', 'raw', image, '1M'],
                           check=True, capture_output=True)
        inst = self.make_instance(ports='1')
        inst.image_meta = objects.ImageMeta(name='blank-disk',
                                            disk_path=image)
        os.makedirs(drv.instance_dir(inst), mode=0o700)
        disk = drv.disk_path(inst)
        subprocess.run(['qemu-img', 'create', '-f', 'qcow2', '-F', 'raw',
                        '-b', image, disk], check=True, capture_output=True)
        subprocess.run(['qemu-io', '-f', 'qcow2', '-c',
                        'write -P %s 0 64k' % self.PATTERN, disk],
                       check=True, capture_output=True)
        return inst

    def assertPattern(self, path):
        out = subprocess.run(
            ['qemu-io', '-U', '-r', '-f', 'qcow2', '-c',
             'read -P %s 0 64k' % self.PATTERN, path],
            capture_output=True, text=True)
        self.assertEqual(0, out.returncode, out.stdout + out.stderr)
        self.assertNotIn('Pattern verification failed', out.stdout)

    def test_disk_moves_and_comes_back(self):
        inst = self.boot_on(self.a, self.disk_instance(self.a))
        new = self.move(inst, self.a, self.b, ports=2)
        self.assertPattern(self.b.disk_path(new))
        self.assertEqual(2, len(self.tcp_ports(self.b, new)))
        self.revert(inst, new, self.a, self.b)
        self.assertPattern(self.a.disk_path(inst))
        self.assertFalse(os.path.exists(self.b.instance_dir(inst)))

    def test_ssh_refused_leaves_the_server_running_on_its_host(self):
        inst = self.boot_on(self.a, self.disk_instance(self.a))
        ports = self.tcp_ports(self.a, inst)
        data = self.b.prepare_migration(None, inst, inst.image_meta, False)
        # Nothing listens for ssh there.
        self.a._conf.set_override('remote_filesystem_ssh_port', 1,
                                  'libvirt')
        e = self.assertRaises(exception.ResizeError,
                              self.a.migrate_disk_and_power_off, None,
                              inst, data, False)
        self.assertIn(self.env['HOSTB_ADDR'], e.message)
        self.assertIn('refused', e.message.lower())
        self.assertTrue(self.a.is_running(inst))
        self.assertEqual(ports, self.tcp_ports(self.a, inst))
        self.assertPattern(self.a.disk_path(inst))
        self.assertFalse(os.path.exists(self.a.instance_dir(inst) +
                                        '_resize'))
        self.b.revert_migration_at_destination(None, inst, None, False)
        self.assertFalse(os.path.exists(self.b.instance_dir(inst)))


class ThroughAPITestCase(test_multihost.MultiHostTestCase):
    """The actions as users and operators send them (openstacksdk), over
    RabbitMQ: nova-all on host A, nova-compute on host B."""

    def migrations(self, server):
        status, body = self.a.request(
            'GET', '/os-migrations?instance_uuid=%s' % server.id,
            token=test_multihost.ADMIN_TOKEN, version='2.23')
        self.assertEqual(200, status, body)
        return [(m['migration_type'], m['status'], m['source_compute'],
                 m['dest_compute']) for m in body['migrations']]

    def assertOnce(self, output, marks):
        positions = []
        for mark in marks:
            self.assertEqual(1, output.count(mark + '\n'),
                             '%s: %s' % (mark, output[-800:]))
            positions.append(output.index(mark + '\n'))
        self.assertEqual(sorted(positions), positions)

    def test_resize_revert_then_migrate_confirm(self):
        self.start_b()
        server = self.boot()
        first = self.host_of(server)
        other = {'host-a': 'host-b', 'host-b': 'host-a'}[first]
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        console, _ = self.console(server)
        console.run('echo before-resize')
        console.close()

        # To m1.serial2 (two serial ports): the scheduler's other host.
        self.conn.compute.resize_server(server, '2')
        server = self.wait_status(server, 'VERIFY_RESIZE')
        self.assertEqual(other, self.host_of(server))
        self.assertEqual('2', server.flavor['id'])
        # The source keeps its port until the confirm or revert.
        self.assertPortCounts({first: 1, other: 2})
        self.wait_output(server, 'before-resize\n')
        console, _ = self.console(server)
        console.run('echo while-resized')
        console.close()
        self.wait_output(server, 'while-resized\n')

        self.conn.compute.revert_server_resize(server)
        server = self.wait_status(server, 'ACTIVE')
        self.assertEqual(first, self.host_of(server))
        self.assertEqual('1', server.flavor['id'])
        self.assertPortCounts({first: 1, other: 0})
        console, _ = self.console(server)
        console.run('echo after-revert')
        console.close()
        output = self.wait_output(server, 'after-revert\n')
        self.assertOnce(output, ['before-resize', 'while-resized',
                                 'after-revert'])

        # Cold migration (admins), then confirm.
        self.admin.compute.migrate_server(server)
        server = self.wait_status(server, 'VERIFY_RESIZE')
        self.assertEqual(other, self.host_of(server))
        self.conn.compute.confirm_server_resize(server)
        server = self.wait_status(server, 'ACTIVE')
        self.assertPortCounts({first: 0, other: 1})
        console, _ = self.console(server)
        console.run('echo after-confirm')
        console.close()
        output = self.wait_output(server, 'after-confirm\n')
        self.assertOnce(output, ['before-resize', 'while-resized',
                                 'after-revert', 'after-confirm'])
        self.assertEqual(
            [('migration', 'confirmed', first, other),
             ('resize', 'reverted', first, other)],
            self.migrations(server))

    def test_errors_are_clear(self):
        server = self.boot()  # host B not up: the only host
        status, body = self.a.request(
            'POST', '/servers/%s/action' % server.id,
            {'resize': {'flavorRef': '1'}})
        self.assertEqual(400, status, body)
        status, body = self.a.request(
            'POST', '/servers/%s/action' % server.id,
            {'resize': {'flavorRef': 'no-such-flavor'}})
        self.assertEqual(400, status, body)
        status, body = self.a.request(
            'POST', '/servers/%s/action' % server.id, {'migrate': None})
        self.assertEqual(403, status, body)
        status, body = self.a.request(
            'POST', '/servers/%s/action' % server.id, {'migrate': None},
            token=test_multihost.ADMIN_TOKEN)
        self.assertEqual(400, status, body)
        self.assertIn('allow_resize_to_same_host', str(body))
        status, body = self.a.request(
            'POST', '/servers/%s/action' % server.id,
            {'confirmResize': None})
        self.assertEqual(409, status, body)
        self.assertEqual('ACTIVE', self.wait_status(server, 'ACTIVE').status)
