"""Live migration between two real libvirt hosts on this machine.

Host A is this machine's libvirtd/virtlogd; host B runs in its own network
and mount namespaces (tools/two-hosts.sh). Each host has its own driver,
configuration, instances folder and rsync daemon. "N" is a host below the
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

from nova.console import serial
import nova.conf
from nova import exception
from nova.tests.functional import base
from nova.tests.functional import multihost
from nova.virt.libvirt import console_log
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import host as libvirt_host
from nova.virt.libvirt import log_transfer


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
        self.a = self._driver('host-a', env['HOSTA_URI'], env['HOSTA_ADDR'],
                              env['HOSTA_INSTANCES'],
                              env['HOSTB_TO_HOSTA_URI'],
                              '/etc/libvirt/virtlogd.conf')
        self.b = self._driver('host-b', env['HOSTB_URI'], env['HOSTB_ADDR'],
                              env['HOSTB_INSTANCES'], env['HOSTB_URI'],
                              os.path.join(env['HOSTB_ROOT'], 'etc',
                                           'libvirt', 'virtlogd.conf'))
        self.driver = self.a  # base helpers read from the host it runs on

    def _driver(self, name, uri, addr, instances, connect_uri, virtlogd):
        conf = nova.conf.new_conf()
        conf([], project='nova', default_config_files=[])
        for key, value, group in (
                ('host', name, None),
                ('instances_path', instances, None),
                ('virt_type', self.stack.virt_type, 'libvirt'),
                ('connection_uri', uri, 'libvirt'),
                ('live_migration_inbound_addr', addr, 'libvirt'),
                ('live_migration_connect_uri', connect_uri, 'libvirt'),
                ('virtlogd_conf', virtlogd, 'libvirt'),
                ('console_log_rsync_user', self.env['RSYNC_USER'],
                 'libvirt'),
                ('console_log_rsync_password_file',
                 self.env['RSYNC_PASSWORD_FILE'], 'libvirt'),
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
    """A copy that fails never stops the migration; the log stays put."""

    def _migrate_with_broken_copy(self, cause, **overrides):
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
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt.driver'))
        self.migrate(inst, self.a, self.b)
        self.assertIn('Console log of %s was not copied' % inst.uuid,
                      logs.output)
        self.assertIn(cause, logs.output)
        # Nothing lost: the log stays on the source for the operator.
        kept = console_log.read_log_tail(self.a.console_log_path(inst))
        self.assertIn(before[-50000:], kept)
        self.type_on(self.b, inst, 'works-anyway')

    def test_transport_down(self):
        self._migrate_with_broken_copy('Connection refused',
                                       console_log_rsync_port=1)

    def test_disk_full(self):
        self._migrate_with_broken_copy(
            'No space left on device',
            console_log_rsync_module='nova-instances-full')

    def test_permission_denied(self):
        self._migrate_with_broken_copy(
            'read only', console_log_rsync_module='nova-instances-readonly')


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


class _RsyncDaemonTestCase(LiveMigrationTestCase):
    """No guest is needed: rsync clients talk to host B's real daemon."""

    def setUp(self):
        super().setUp()
        self.uuid = str(uuid_lib.uuid4())
        self.src = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                self.uuid)
        os.mkdir(self.src, 0o700)
        self.file = os.path.join(self.src, 'console.log')
        with open(self.file, 'wb') as f:
            f.write(b'the log of %s\n' % self.uuid.encode())
        self.dest = os.path.join(self.env['HOSTB_INSTANCES'], self.uuid)
        self.addCleanup(shutil.rmtree, self.dest, ignore_errors=True)


class RsyncDaemonLoginTestCase(_RsyncDaemonTestCase):
    """The module a log copy writes to takes only the project's login."""

    def rsync(self, *args, user=None, password_file=None):
        url = 'rsync://%s%s/%s/%s/' % (
            '%s@' % user if user else '', self.env['HOSTB_ADDR'],
            self.env['RSYNC_MODULE'], self.uuid)
        argv = ['rsync', '--contimeout=10', '--timeout=10']
        if password_file:
            argv.append('--password-file=%s' % password_file)
        env = {k: v for k, v in os.environ.items() if k != 'RSYNC_PASSWORD'}
        return subprocess.run(argv + list(args) + [url],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, env=env, timeout=60)

    def assertRefused(self, proc, why):
        self.assertNotEqual(0, proc.returncode, proc.stderr)
        self.assertIn(why, proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dest,
                                                     'console.log')))

    def test_anonymous_write_is_refused(self):
        self.assertRefused(self.rsync(self.file), 'auth failed')

    def test_wrong_password_is_refused(self):
        wrong = os.path.join(self.src, 'wrong')
        fd = os.open(wrong, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b'not-the-password\n')
        os.close(fd)
        self.assertRefused(self.rsync(self.file, user='nova',
                                      password_file=wrong), 'auth failed')

    def test_another_hosts_password_is_refused(self):
        # Per-host credentials: host A's password does not open host B.
        self.assertRefused(
            self.rsync(self.file, user='nova',
                       password_file=self.env['HOSTA_RSYNC_PASSWORD_FILE']),
            'auth failed')

    def test_links_are_refused_even_with_the_login(self):
        os.symlink('/etc/shadow', os.path.join(self.src, 'console.log.0'))
        proc = self.rsync('--links', os.path.join(self.src, 'console.log.0'),
                          user='nova',
                          password_file=self.env['HOSTB_RSYNC_PASSWORD_FILE'])
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('refuse --links', proc.stderr)
        self.assertFalse(os.path.lexists(os.path.join(self.dest,
                                                      'console.log.0')))

    def test_project_credentials_are_accepted(self):
        sent = log_transfer.copy_console_log(
            self.uuid, self.file, self.env['HOSTB_ADDR'], as_backups=False,
            max_size=1024, max_backups=3, conf=self.a._conf)
        self.assertEqual(['console.log'], sent)
        copy = os.path.join(self.dest, 'console.log')
        self.assertEqual(0o600, stat.S_IMODE(os.lstat(copy).st_mode))
        with open(copy, 'rb') as f:
            self.assertEqual(b'the log of %s\n' % self.uuid.encode(),
                             f.read())

    def test_copy_without_a_password_file_is_not_tried(self):
        self.a._conf.set_override('console_log_rsync_password_file', None,
                                  'libvirt')
        e = self.assertRaises(
            log_transfer.LogTransferFailed, log_transfer.copy_console_log,
            self.uuid, self.file, self.env['HOSTB_ADDR'], as_backups=False,
            max_size=1024, max_backups=3, conf=self.a._conf)
        self.assertIn('console_log_rsync_password_file is not set', str(e))
        self.assertFalse(os.path.exists(self.dest))


class RsyncModuleTakesLogsOnlyTestCase(_RsyncDaemonTestCase):
    """Even with host B's password, the module takes console logs only.

    Every compute host holds every destination's password, so the login
    must not open more than the log copy needs: nothing read, no other
    name, no mode, no deletion, a bounded number of connections (rsync's
    ``timeout`` does not cut a silent or stopped peer: its keep-alives
    keep succeeding, so the bound is ``max connections``).
    """

    def setUp(self):
        super().setUp()
        self.password = self.env['HOSTB_RSYNC_PASSWORD_FILE']
        # The folder pre_live_migration makes, holding a guest's files.
        os.mkdir(self.dest, 0o700)
        for name in ('disk', 'console.log.0'):
            with open(os.path.join(self.dest, name), 'wb') as f:
                f.write(b'%s of the guest\n' % name.encode())

    def login(self, *args, url=None):
        url = url or 'rsync://nova@%s/%s/%s/' % (
            self.env['HOSTB_ADDR'], self.env['RSYNC_MODULE'], self.uuid)
        env = {k: v for k, v in os.environ.items() if k != 'RSYNC_PASSWORD'}
        return subprocess.run(
            ['rsync', '--contimeout=10', '--timeout=10',
             '--password-file=%s' % self.password] + list(args) + [url],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            env=env, timeout=60)

    def assertGuestFilesIntact(self):
        self.assertEqual(0o700, stat.S_IMODE(os.lstat(self.dest).st_mode))
        self.assertEqual(0o755, stat.S_IMODE(os.lstat(
            self.env['HOSTB_INSTANCES']).st_mode))
        for name in ('disk', 'console.log.0'):
            with open(os.path.join(self.dest, name), 'rb') as f:
                self.assertEqual(b'%s of the guest\n' % name.encode(),
                                 f.read())

    def test_nothing_can_be_read(self):
        got = os.path.join(self.src, 'got')
        url = 'rsync://nova@%s/%s/%s/disk' % (
            self.env['HOSTB_ADDR'], self.env['RSYNC_MODULE'], self.uuid)
        env = {k: v for k, v in os.environ.items() if k != 'RSYNC_PASSWORD'}
        proc = subprocess.run(
            ['rsync', '--contimeout=10', '--timeout=10',
             '--password-file=%s' % self.password, url, got],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            env=env, timeout=60)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('module is write only', proc.stderr)
        self.assertFalse(os.path.exists(got))
        # Nor listed (the listing's --dirs is refused first).
        proc = self.login(url=url.rsplit('/', 1)[0] + '/')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('refuse --dirs', proc.stderr)
        self.assertNotIn('disk', proc.stdout)

    def test_other_names_are_refused(self):
        for name in ('disk', 'libvirt.xml', 'console.logx', 'console.log.x',
                     'console.log.100', '.console.log.0'):
            path = os.path.join(self.src, name)
            with open(path, 'wb') as f:
                f.write(b'planted\n')
            proc = self.login(path)
            self.assertNotEqual(0, proc.returncode, name)
            self.assertIn('daemon refused to receive file "%s"' % name,
                          proc.stderr)
        self.assertGuestFilesIntact()
        self.assertEqual(['console.log.0', 'disk'],
                         sorted(os.listdir(self.dest)))
        # Nor outside an instance folder.
        proc = self.login(self.file, url='rsync://nova@%s/%s/' % (
            self.env['HOSTB_ADDR'], self.env['RSYNC_MODULE']))
        self.assertNotEqual(0, proc.returncode)
        self.assertFalse(os.path.exists(os.path.join(
            self.env['HOSTB_INSTANCES'], 'console.log')))

    def test_directories_named_like_logs_are_refused(self):
        # A folder named console.log (or console.log.N) would replace the
        # guest's log file, and virtlogd then refuses every later start.
        for name in ('console.log', 'console.log.3'):
            with open(os.path.join(self.dest, name), 'wb') as f:
                f.write(b'%s of the guest\n' % name.encode())
            planted = os.path.join(self.src, 'planted', name)
            os.makedirs(planted)
            for content in ([], ['console.log']):
                for inner in content:
                    with open(os.path.join(planted, inner), 'wb') as f:
                        f.write(b'planted\n')
                proc = self.login('--recursive', planted)
                self.assertNotEqual(0, proc.returncode, name)
                self.assertIn('daemon refused to receive directory "%s"'
                              % name, proc.stderr)
                path = os.path.join(self.dest, name)
                self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode), name)
                with open(path, 'rb') as f:
                    self.assertEqual(b'%s of the guest\n' % name.encode(),
                                     f.read())
        self.assertGuestFilesIntact()
        self.assertEqual(['console.log', 'console.log.0', 'console.log.3',
                          'disk'], sorted(os.listdir(self.dest)))

    def test_modes_cannot_be_set(self):
        os.chmod(self.src, 0o777)
        os.chmod(self.file, 0o4755)
        proc = self.login('--recursive', '--perms', self.src + '/')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('refuse --perms', proc.stderr)
        for flag in ('--owner', '--group', '--chown=1000:1000'):
            proc = self.login('--recursive', flag, self.src + '/')
            self.assertNotEqual(0, proc.returncode, flag)
            self.assertIn('refuse', proc.stderr)
        self.assertGuestFilesIntact()
        # --chmod without --perms has no effect: the folder keeps 0700,
        # the log lands 0600.
        os.unlink(os.path.join(self.dest, 'console.log.0'))
        proc = self.login('--recursive', '--chmod=D0777,F4777',
                          self.src + '/')
        self.assertNotIn('console.log"', proc.stderr)
        st = os.lstat(os.path.join(self.dest, 'console.log'))
        self.assertEqual(0o600, stat.S_IMODE(st.st_mode))
        self.assertEqual(0o700, stat.S_IMODE(os.lstat(self.dest).st_mode))

    def test_nothing_can_be_deleted(self):
        for flags in (['--delete'], ['--delete-after'],
                      ['--inplace'],
                      ['--backup', '--backup-dir=x'],
                      ['--link-dest=..'], ['--compare-dest=..']):
            proc = self.login('--recursive', *flags, self.src + '/')
            self.assertNotEqual(0, proc.returncode, flags)
            self.assertIn('refuse', proc.stderr)
        self.assertGuestFilesIntact()

    def test_project_copy_still_lands(self):
        sent = log_transfer.copy_console_log(
            self.uuid, self.file, self.env['HOSTB_ADDR'], as_backups=True,
            max_size=1024, max_backups=3, conf=self.a._conf)
        self.assertEqual(['console.log.0'], sent)
        copy = os.path.join(self.dest, 'console.log.0')
        self.assertEqual(0o600, stat.S_IMODE(os.lstat(copy).st_mode))
        with open(copy, 'rb') as f:
            self.assertEqual(b'the log of %s\n' % self.uuid.encode(),
                             f.read())

    def _name_module(self):
        sock = socket.create_connection((self.env['HOSTB_ADDR'],
                                         int(self.env['RSYNC_PORT'])),
                                        timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(b'@RSYNCD: 32.0 md5\n')
        f = sock.makefile('rb')
        f.readline()  # greeting
        sock.sendall(self.env['RSYNC_MODULE'].encode() + b'\n')
        return sock, f.readline()

    def test_connections_beyond_the_limit_are_refused(self):
        limit = int(self.env['RSYNC_MAX_CONNECTIONS'])
        held = [self._name_module() for _ in range(limit)]
        for _, answer in held:
            self.assertTrue(answer.startswith(b'@RSYNCD: AUTHREQD'),
                            answer)
        _, answer = self._name_module()
        self.assertIn(b'max connections (%d) reached' % limit, answer)
        e = self.assertRaises(
            log_transfer.LogTransferFailed, log_transfer.copy_console_log,
            self.uuid, self.file, self.env['HOSTB_ADDR'], as_backups=True,
            max_size=1024, max_backups=3, conf=self.a._conf)
        self.assertIn('max connections', str(e))
        for sock, _ in held:
            sock.close()
        # Freed as soon as the holders go.
        for _ in range(50):
            try:
                self.test_project_copy_still_lands()
                break
            except log_transfer.LogTransferFailed:
                time.sleep(0.2)
        else:
            self.test_project_copy_still_lands()
