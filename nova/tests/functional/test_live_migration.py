"""Live migration between two real libvirt hosts on this machine.

Host A is this machine's libvirtd/virtlogd; host B runs in its own network
and mount namespaces (tools/two-hosts.sh). Each host has its own driver,
configuration, instances folder and sshd (the remote file system the
console log goes over). "N" is a host below the
virtlogd gate, made by forcing the gate on that host's driver only.
"""

import os
import re
import shutil
import socket
import stat
import subprocess
import time
import uuid as uuid_lib

import fixtures
import testtools.content

from nova.cmd import remotefs_guard
from nova.console import serial
import nova.conf
from nova import exception
from nova.tests.functional import base
from nova.tests.functional import multihost
from nova.virt.libvirt import console_log
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import host as libvirt_host
from nova.virt.libvirt import log_transfer
from nova.virt.libvirt import remotefs


class _Rig:
    env = None

    @classmethod
    def ensure(cls):
        if cls.env is None:
            cls.env = multihost.two_hosts()
        return cls.env


class LiveMigrationTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        env = _Rig.ensure()
        self.env = env
        self.a = self._driver('a', env['HOSTA_URI'], env['HOSTA_ADDR'],
                              env['HOSTA_INSTANCES'],
                              env['HOSTB_TO_HOSTA_URI'],
                              '/etc/libvirt/virtlogd.conf')
        self.b = self._driver('b', env['HOSTB_URI'], env['HOSTB_ADDR'],
                              env['HOSTB_INSTANCES'], env['HOSTB_URI'],
                              os.path.join(env['HOSTB_ROOT'], 'etc',
                                           'libvirt', 'virtlogd.conf'))
        self.driver = self.a  # base helpers read from the host it runs on

    def _driver(self, rig_host, uri, addr, instances, connect_uri,
                virtlogd):
        conf = nova.conf.new_conf()
        conf([], project='nova', default_config_files=[])
        remotefs_opts = multihost.remotefs_conf(self.env, rig_host)
        for key, value, group in (
                ('host', 'host-' + rig_host, None),
                ('instances_path', instances, None),
                ('virt_type', self.stack.virt_type, 'libvirt'),
                ('connection_uri', uri, 'libvirt'),
                ('live_migration_inbound_addr', addr, 'libvirt'),
                ('live_migration_connect_uri', connect_uri, 'libvirt'),
                ('virtlogd_conf', virtlogd, 'libvirt'),
                *[(k, v, 'libvirt') for k, v in remotefs_opts.items()],
                ('enabled', True, 'serial_console'),
                ('proxyclient_address', addr, 'serial_console'),
                ('port_range', '%d:%d' % (self.port_start,
                                          self.port_start + 19),
                 'serial_console')):
            conf.set_override(key, value, group=group)
        drv = libvirt_driver.LibvirtDriver(conf=conf)
        self.addCleanup(drv.host.close)
        return drv

    def make_old(self, drv):
        """Host ``drv`` fails the virtlogd gate from now on."""
        self.useFixture(fixtures.MockPatchObject(
            drv.host, 'has_min_version', return_value=False))
        self.assertFalse(drv.uses_virtlogd())

    def boot_on(self, drv, inst=None):
        inst = inst or self.make_instance()
        self.addCleanup(self._destroy_everywhere, inst)
        drv.spawn(None, inst, inst.image_meta)
        inst.host = drv.host_name
        return inst

    def _destroy_everywhere(self, inst):
        for drv in (self.a, self.b):
            try:
                drv.destroy(None, inst)
            except Exception as e:
                self.addDetail('destroy-error-%s' % drv.host_name,
                               testtools.content.text_content(str(e)))

    def migrate(self, inst, source, dest):
        multihost.live_migrate_drivers(inst, source, dest)
        self.assertEqual(dest.host_name, inst.host)
        self.assertFalse(source.instance_exists(inst))
        self.assertTrue(dest.is_running(inst))

    def output(self, drv, inst):
        return drv.get_console_output(None, inst)

    def wait_on(self, drv, inst, pattern, count=1):
        self.driver = drv
        return self.wait_for_output(inst, pattern, count=count)

    def type_on(self, drv, inst, text):
        """Run ``echo text`` on the guest's serial console on host ``drv``."""
        self.driver = drv
        client = self.shell(self.connect_console(inst))
        self.assertEqual(text.encode() + b'\n', client.run('echo %s' % text))
        client.close()

    def assertNoDuplicates(self, output, *markers):
        for marker in markers:
            self.assertEqual(1, len(re.findall(
                rb'\n' + re.escape(marker.encode()) + rb'\r?\n', output)),
                '%s appears %d times' % (marker, output.count(
                    marker.encode())))

    def log_files(self, drv, inst):
        log = drv.console_log_path(inst)
        names = [log] + ['%s.%d' % (log, i) for i in range(8)]
        return [n for n in names if os.path.exists(n)]


class NewToNewTestCase(LiveMigrationTestCase):
    def test_log_and_console_follow_the_guest(self):
        inst = self.boot_on(self.a)
        self.wait_on(self.a, inst, base.BANNER)
        self.type_on(self.a, inst, 'before-move')
        self.migrate(inst, self.a, self.b)
        live = self.b._parse_domain(self.b.host.get_domain(inst))
        tcp = live.char_devices[0]
        self.assertEqual((self.env['HOSTB_ADDR'], True),
                         (tcp.listen_host, tcp.log is not None))
        self.assertTrue(tcp.log.file.startswith(self.env['HOSTB_INSTANCES']))
        self.type_on(self.b, inst, 'after-move')
        output = self.wait_on(self.b, inst, rb'\nafter-move\r?\n')
        self.assertIn(b'NOVA-GUEST-BANNER', output)
        self.assertLess(output.index(b'\nbefore-move'),
                        output.index(b'\nafter-move'))
        self.assertNoDuplicates(output, 'before-move', 'after-move')
        # The source cleaned up: no ports, no files left behind.
        self.assertFalse(os.path.exists(self.a.instance_dir(inst)))
        self.assertFalse(any(addr == self.env['HOSTA_ADDR']
                             for addr, _ in serial.ALLOCATED_PORTS))

    def test_back_and_forth_twice_loses_nothing(self):
        inst = self.boot_on(self.a)
        self.wait_on(self.a, inst, base.BANNER)
        hops = [(self.a, self.b), (self.b, self.a), (self.a, self.b),
                (self.b, self.a)]
        markers = ['stay-0']
        self.type_on(self.a, inst, 'stay-0')
        for number, (source, dest) in enumerate(hops, 1):
            self.migrate(inst, source, dest)
            markers.append('stay-%d' % number)
            self.type_on(dest, inst, markers[-1])
        output = self.wait_on(self.a, inst, rb'\nstay-4\r?\n')
        positions = [output.index(b'\n' + m.encode()) for m in markers]
        self.assertEqual(sorted(positions), positions)
        self.assertNoDuplicates(output, *markers)
        self.assertIn(b'NOVA-GUEST-BANNER', output)
        # Disk use stays within what virtlogd promises on that host.
        max_size, max_backups = libvirt_host.read_virtlogd_limits(
            '/etc/libvirt/virtlogd.conf')
        files = self.log_files(self.a, inst)
        self.assertLessEqual(len(files), max_backups + 1)
        for name in files:
            self.assertLessEqual(os.path.getsize(name), max_size)


class NewToOldTestCase(LiveMigrationTestCase):
    def test_log_copied_and_console_interactive(self):
        self.make_old(self.b)
        inst = self.boot_on(self.a)
        self.wait_on(self.a, inst, base.BANNER)
        self.type_on(self.a, inst, 'on-new-host')
        before = self.output(self.a, inst)
        self.migrate(inst, self.a, self.b)
        live = self.b._parse_domain(self.b.host.get_domain(inst))
        self.assertEqual([('tcp', None)], [(d.type, d.log)
                                           for d in live.char_devices
                                           if d.root_name == 'serial'])
        # The copied log, unchanged, is what console output returns there.
        self.assertEqual(before, self.output(self.b, inst))
        self.type_on(self.b, inst, 'on-old-host')  # still interactive
        self.assertEqual(before, self.output(self.b, inst))


class OldToNewTestCase(LiveMigrationTestCase):
    def test_guest_keeps_config_until_hard_reboot(self):
        self.make_old(self.a)
        inst = self.boot_on(self.a)
        self.type_on(self.a, inst, 'on-old-host')
        self.migrate(inst, self.a, self.b)
        live = self.b._parse_domain(self.b.host.get_domain(inst))
        serials = [(d.type, d.log is None) for d in live.char_devices
                   if d.root_name == 'serial']
        self.assertEqual([('tcp', True), ('pty', True)], serials)
        self.type_on(self.b, inst, 'still-interactive')
        self.b.reboot(None, inst, reboot_type='HARD')
        live = self.b._parse_domain(self.b.host.get_domain(inst))
        self.assertIsNotNone(live.char_devices[0].log)
        self.wait_on(self.b, inst, base.BANNER)


class FailedCopyTestCase(LiveMigrationTestCase):
    """A copy that fails never stops the migration; the log stays put.

    Each cause is real: host B's sshd at a port nothing listens on, a
    login it refuses, a host key that is not B's, and B's 64 KiB and
    read-only file systems (tools/two-hosts.sh) as the destination
    folder the copy writes to.
    """

    def _migrate_with_broken_copy(self, cause, dest_root=None, **overrides):
        inst = self.boot_on(self.a)
        self.driver = self.a
        client = self.shell(self.connect_console(inst))
        client.send_line('chatty 1500')  # ~97 KiB: more than the full disk
        client.read_until(rb'SEQ 001500', timeout=120)
        client.close()
        self.wait_on(self.a, inst, rb'SEQ 001500')
        before = self.output(self.a, inst)
        for key, value in overrides.items():
            self.a._conf.set_override(key, value, 'libvirt')
        if dest_root:
            # The destination's folder for the log is on that file system.
            self.a._conf.set_override(
                'remote_filesystem_allowed_paths',
                self.env['REMOTEFS_ALLOWED_PATHS'] + ',' + dest_root,
                'libvirt')
            real = log_transfer.copy_console_log

            def to_dest_root(*args, **kw):
                kw['dest_dir'] = os.path.join(dest_root, inst.uuid)
                self.addCleanup(shutil.rmtree, kw['dest_dir'],
                                ignore_errors=True)
                return real(*args, **kw)
            self.useFixture(fixtures.MockPatchObject(
                log_transfer, 'copy_console_log', to_dest_root))
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt.driver'))
        self.migrate(inst, self.a, self.b)
        self.assertIn('Console log of %s was not copied to %s' % (
            inst.uuid, self.env['HOSTB_ADDR']), logs.output)
        self.assertIn('on %s failed: %s' % (self.env['HOSTB_ADDR'], cause),
                      logs.output)
        # Nothing lost: the log stays on the source for the operator.
        kept = console_log.read_log_tail(self.a.console_log_path(inst))
        self.assertIn(before[-50000:], kept)
        self.type_on(self.b, inst, 'works-anyway')

    def test_transport_down(self):
        # A port nothing listens on: the shared sshd keeps running.
        self._migrate_with_broken_copy('connection refused',
                                       remote_filesystem_ssh_port=1)

    def test_key_refused(self):
        self._migrate_with_broken_copy(
            'authentication refused',
            remote_filesystem_ssh_identity_file=_new_key(self))

    def test_host_key_mismatch(self):
        self._migrate_with_broken_copy(
            'host key mismatch',
            remote_filesystem_ssh_known_hosts_file=_impostor_known_hosts(
                self))

    def test_disk_full(self):
        self._migrate_with_broken_copy(
            'disk full', dest_root=self.env['HOSTB_FULL_DIR'])

    def test_permission_denied(self):
        self._migrate_with_broken_copy(
            'permission denied', dest_root=self.env['HOSTB_READONLY_DIR'])


def _new_key(test):
    """A fresh ed25519 key no host accepts."""
    path = os.path.join(test.useFixture(fixtures.TempDir()).path, 'id')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f',
                    path], check=True, stdin=subprocess.DEVNULL)
    return path


def _impostor_known_hosts(test):
    """A known_hosts that gives host B's address host A's key."""
    env = test.env
    path = os.path.join(test.useFixture(fixtures.TempDir()).path, 'kh')
    with open(env['HOSTA_SSH_HOST_KEY']) as f:
        key = ' '.join(f.read().split()[:2])
    with open(path, 'w') as f:
        f.write('[%s]:%s %s\n' % (env['HOSTB_ADDR'], env['SSH_PORT'], key))
    return path


class RollbackTestCase(LiveMigrationTestCase):
    def test_failed_migration_leaves_guest_on_source(self):
        inst = self.boot_on(self.a)
        self.wait_on(self.a, inst, base.BANNER)
        self.b._conf.set_override('live_migration_connect_uri',
                                  'qemu+unix:///system?socket=/nonexistent',
                                  'libvirt')
        self.assertRaises(exception.MigrationError,
                          multihost.live_migrate_drivers, inst, self.a,
                          self.b)
        self.assertTrue(self.a.is_running(inst))
        self.assertFalse(self.b.instance_exists(inst))
        self.assertFalse(any(addr == self.env['HOSTB_ADDR']
                             for addr, _ in serial.ALLOCATED_PORTS))
        self.type_on(self.a, inst, 'still-here')


class _SshTestCase(LiveMigrationTestCase):
    """No guest is needed: host A's remotefs and ssh clients talk to host
    B's real sshd."""

    def setUp(self):
        super().setUp()
        self.uuid = str(uuid_lib.uuid4())
        self.src = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                self.uuid)
        os.mkdir(self.src, 0o700)
        self.file = os.path.join(self.src, 'console.log')
        with open(self.file, 'wb') as f:
            f.write(b'the log of %s\n' % self.uuid.encode())
        os.chmod(self.file, 0o600)
        self.dest = os.path.join(self.env['HOSTB_INSTANCES'], self.uuid)
        self.addCleanup(shutil.rmtree, self.dest, ignore_errors=True)

    def remotefs(self, **overrides):
        for key, value in overrides.items():
            self.a._conf.set_override(key, value, 'libvirt')
        return remotefs.RemoteFilesystem(self.a._conf)

    def assertRefused(self, cause, fs):
        e = self.assertRaises(remotefs.RemoteFSError, fs.copy_to,
                              self.env['HOSTB_ADDR'], self.src, self.dest)
        self.assertIn('on %s failed: %s' % (self.env['HOSTB_ADDR'], cause),
                      str(e))
        self.assertFalse(os.path.exists(self.dest))
        return e

    def ssh(self, *args, identity=None):
        return subprocess.run(
            ['ssh', '-T', '-o', 'BatchMode=yes',
             '-o', 'StrictHostKeyChecking=yes',
             '-o', 'UserKnownHostsFile=' + self.env['SSH_KNOWN_HOSTS'],
             '-o', 'ConnectTimeout=10', '-o', 'IdentitiesOnly=yes',
             '-i', identity or self.env['HOSTA_SSH_IDENTITY'],
             '-p', self.env['SSH_PORT'], '-l', self.env['SSH_USER'],
             *args],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)


class SshLoginTestCase(_SshTestCase):
    """Host B's sshd takes host A's compute key and nothing else."""

    def test_project_login_copies(self):
        names = self.remotefs().copy_to(self.env['HOSTB_ADDR'], self.src,
                                        self.dest)
        self.assertEqual(['console.log'], names)
        copy = os.path.join(self.dest, 'console.log')
        self.assertEqual(0o600, stat.S_IMODE(os.lstat(copy).st_mode))
        with open(copy, 'rb') as f:
            self.assertEqual(b'the log of %s\n' % self.uuid.encode(),
                             f.read())

    def test_no_key_is_refused(self):
        self.assertRefused('authentication refused', self.remotefs(
            remote_filesystem_ssh_identity_file='/dev/null'))

    def test_wrong_key_is_refused(self):
        self.assertRefused('authentication refused', self.remotefs(
            remote_filesystem_ssh_identity_file=_new_key(self)))

    def test_another_hosts_key_is_refused(self):
        # B's own compute key is for logging in to A, not to B.
        self.assertRefused('authentication refused', self.remotefs(
            remote_filesystem_ssh_identity_file=self.env[
                'HOSTB_SSH_IDENTITY']))

    def test_host_key_mismatch_is_refused(self):
        e = self.assertRefused('host key mismatch', self.remotefs(
            remote_filesystem_ssh_known_hosts_file=_impostor_known_hosts(
                self)))
        self.assertIn(self.env['HOSTB_ADDR'], str(e))

    def test_unknown_host_is_refused_not_learnt(self):
        empty = os.path.join(self.useFixture(fixtures.TempDir()).path, 'kh')
        open(empty, 'w').close()
        self.assertRefused('host key unknown', self.remotefs(
            remote_filesystem_ssh_known_hosts_file=empty))
        self.assertEqual(0, os.path.getsize(empty))

    def test_transport_down(self):
        self.assertRefused('connection refused', self.remotefs(
            remote_filesystem_ssh_port=1))

    def test_only_keys_are_offered(self):
        proc = self.ssh('-o', 'PreferredAuthentications=password,'
                        'keyboard-interactive', self.env['HOSTB_ADDR'],
                        'true')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn(b'Permission denied (publickey)', proc.stderr)

    def test_no_forwarding(self):
        proc = self.ssh('-W', '%s:%s' % (self.env['HOSTA_ADDR'],
                                         self.env['SSH_PORT']),
                        self.env['HOSTB_ADDR'])
        self.assertNotEqual(0, proc.returncode)
        self.assertIn(b'prohibited', proc.stderr)

    def test_the_key_runs_nothing_but_remotefs(self):
        # A5: a compromised compute host holds its key; sshd's forced
        # command (nova-remotefs-guard) runs only remotefs's scripts
        # below the allowed folders with it, never a command of its own.
        marker = os.path.join(self.env['HOSTB_INSTANCES'],
                              'pwned-' + self.uuid)
        outside = remotefs_guard.PRELUDE + remotefs_guard.SCRIPTS[
            'get'].replace('{C}', '/etc /etc/hostname').replace(
            '{P}', '/etc/hostname')
        for command in (['touch', marker], ['sh', '-c', 'touch ' + marker],
                        ['id'], [], [outside]):
            proc = self.ssh(self.env['HOSTB_ADDR'], *command)
            self.assertEqual(remotefs_guard.REFUSED, proc.returncode,
                             (command, proc.stderr))
            self.assertIn(b'remotefs: refused by nova-remotefs-guard',
                          proc.stderr)
            self.assertEqual(b'', proc.stdout)
        self.assertFalse(os.path.exists(marker))
        # remotefs itself still works with that key.
        self.assertEqual(['console.log'], self.remotefs().copy_to(
            self.env['HOSTB_ADDR'], self.src, self.dest))

    def test_no_rsync_daemon_listens(self):
        # No listener that takes writes without the ssh login remains.
        for addr in (self.env['HOSTA_ADDR'], self.env['HOSTB_ADDR']):
            self.assertRaises(ConnectionRefusedError,
                              socket.create_connection, (addr, 873), 10)


class SshPathsTestCase(_SshTestCase):
    """What host A's remotefs does on B: inside the allowed folders, never
    through a link."""

    def test_outside_the_instances_folders_is_refused(self):
        e = self.assertRaises(
            remotefs.RemoteFSError, self.remotefs().remove_dir,
            self.env['HOSTB_ADDR'], self.env['HOSTB_ROOT'])
        self.assertIn('not below an allowed path', str(e))
        self.assertTrue(os.path.isdir(self.env['HOSTB_ROOT']))

    def test_a_link_on_b_is_not_followed(self):
        outside = self.useFixture(fixtures.TempDir()).path
        os.symlink(outside, self.dest)
        fs = self.remotefs()
        for call in (lambda: fs.copy_to(self.env['HOSTB_ADDR'], self.file,
                                        self.dest + '/console.log'),
                     lambda: fs.copy_from(self.env['HOSTB_ADDR'], self.dest,
                                          self.src + '.back'),
                     lambda: fs.remove_dir(self.env['HOSTB_ADDR'],
                                           self.dest)):
            e = self.assertRaises(remotefs.RemoteFSError, call)
            self.assertIn('symbolic link', str(e))
        self.assertEqual([], os.listdir(outside))
        os.unlink(self.dest)

    def test_round_trip_with_both_transports(self):
        for transport in ('ssh', 'rsync'):
            back = self.src + '.' + transport
            fs = self.remotefs(remote_filesystem_transport=transport)
            fs.remove_dir(self.env['HOSTB_ADDR'], self.dest)
            fs.create_dir(self.env['HOSTB_ADDR'], self.dest)
            fs.copy_to(self.env['HOSTB_ADDR'], self.src, self.dest)
            self.assertEqual(['console.log'], fs.copy_from(
                self.env['HOSTB_ADDR'], self.dest, back))
            with open(os.path.join(back, 'console.log'), 'rb') as f:
                self.assertEqual(b'the log of %s\n' % self.uuid.encode(),
                                 f.read())
            fs.remove_dir(self.env['HOSTB_ADDR'], self.dest)
            self.assertFalse(os.path.exists(self.dest))

    def test_unauthenticated_connections_are_bounded(self):
        # MaxStartups 4:50:8: past 8 logins in progress every new one is
        # dropped, so silent clients cannot pile up; LoginGraceTime cuts
        # them, and the copy goes through once they are gone.
        held = []
        for _ in range(100):
            if len(held) == 8:
                break
            sock = socket.create_connection((self.env['HOSTB_ADDR'],
                                             int(self.env['SSH_PORT'])), 10)
            self.addCleanup(sock.close)
            sock.settimeout(10)
            try:
                banner = sock.recv(64)
            except ConnectionResetError:
                banner = b''
            # Between 4 and 8 sshd drops some at random: keep the rest.
            if banner.startswith(b'SSH-2.0-'):
                held.append(sock)
        self.assertEqual(8, len(held))
        self.assertRefused('connection closed by the peer', self.remotefs())
        # A silent client is cut by sshd itself (LoginGraceTime).
        held[0].settimeout(120)
        self.assertEqual(b'', held[0].recv(64))
        for sock in held:
            sock.close()
        for _ in range(50):
            try:
                self.remotefs().copy_to(self.env['HOSTB_ADDR'], self.src,
                                        self.dest)
                break
            except remotefs.RemoteFSError:
                time.sleep(0.2)
        else:
            self.remotefs().copy_to(self.env['HOSTB_ADDR'], self.src,
                                    self.dest)
        self.assertTrue(os.path.exists(os.path.join(self.dest,
                                                    'console.log')))
