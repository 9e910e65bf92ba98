import os
import stat

import fixtures
from oslo_concurrency import processutils

import nova.conf
from nova import test
from nova.virt.libvirt import console_log
from nova.tests.unit.virt.libvirt import test_remotefs
from nova.virt.libvirt import log_transfer
from nova.virt.libvirt import remotefs

UUID = 'a3c5e1f0-1111-4c3e-9a55-0f1d2a3b4c5d'


class LogTransferBase(test.TestCase):
    """An instance folder with a log; the destination's folder is here
    too, reached through a fake ssh that runs remotefs's scripts locally
    (test_remotefs.LocalPeer)."""

    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.instances_path, 'src', UUID)
        self.dest_root = os.path.join(self.instances_path, 'dest')
        os.makedirs(self.src)
        os.makedirs(self.dest_root)
        self.log = os.path.join(self.src, 'console.log')
        self.flags(remote_filesystem_allowed_paths=[self.dest_root],
                   group='libvirt')
        self.peer = test_remotefs.LocalPeer()
        self.useFixture(self._patch_execute(self.peer))

    @staticmethod
    def _patch_execute(side_effect):
        return fixtures.MockPatchObject(processutils, 'execute',
                                        side_effect=side_effect)

    def _write(self, suffix, data):
        with open(self.log + suffix, 'wb') as f:
            f.write(data)

    def _dest(self, name='console.log'):
        return os.path.join(self.dest_root, UUID, name)

    def _copy(self, as_backups, max_size=100, max_backups=3):
        return log_transfer.copy_console_log(
            UUID, self.log, '192.0.2.2', as_backups=as_backups,
            max_size=max_size, max_backups=max_backups, conf=nova.conf.CONF,
            dest_dir=os.path.join(self.dest_root, UUID))

    def _spy_copy_to(self):
        """The staged files remotefs is handed: [(path, mode, data)]."""
        staged = []
        real = remotefs.RemoteFilesystem.copy_to

        def spy(fs, host, local_path, remote_path):
            for name in sorted(os.listdir(local_path)):
                path = os.path.join(local_path, name)
                with open(path, 'rb') as f:
                    staged.append((path, stat.S_IMODE(os.lstat(path).st_mode),
                                   f.read()))
            return real(fs, host, local_path, remote_path)

        self.useFixture(fixtures.MockPatchObject(
            remotefs.RemoteFilesystem, 'copy_to', spy))
        return staged


class LogTransferTestCase(LogTransferBase):
    def test_chain_is_oldest_first(self):
        self._write('', b'new')
        self._write('.0', b'mid')
        self._write('.1', b'old')
        fd = os.open(self.src, os.O_RDONLY | os.O_DIRECTORY)
        self.addCleanup(os.close, fd)
        self.assertEqual([self.log + '.1', self.log + '.0', self.log],
                         log_transfer.log_chain(self.log, fd))

    def test_unchanged_names(self):
        self._write('', b'c')
        self._write('.0', b'b')
        names = self._copy(as_backups=False)
        self.assertEqual(['console.log.0', 'console.log'], names)
        with open(self._dest()) as f:
            self.assertEqual('c', f.read())
        with open(self._dest('console.log.0')) as f:
            self.assertEqual('b', f.read())
        self.assertEqual({'ssh'}, {argv[0] for argv in self.peer.calls})

    def test_goes_over_remotefs_with_its_options(self):
        self._write('', b'c')
        self.flags(remote_filesystem_ssh_user='copier',
                   remote_filesystem_ssh_identity_file='/k/id',
                   remote_filesystem_ssh_known_hosts_file='/k/kh',
                   group='libvirt')
        self._copy(as_backups=False)
        for argv in self.peer.calls:
            self.assertEqual(['--', '192.0.2.2'], list(argv[-3:-1]))
            for opt in ('StrictHostKeyChecking=yes', 'BatchMode=yes',
                        'UserKnownHostsFile=/k/kh'):
                self.assertIn(opt, argv)
            self.assertIn('-l copier', ' '.join(argv))

    def test_rsync_transport(self):
        self.flags(remote_filesystem_transport='rsync', group='libvirt')
        self._write('', b'c')
        self._write('.0', b'b')
        self._copy(as_backups=False)
        with open(self._dest()) as f:
            self.assertEqual('c', f.read())
        rsync = [argv for argv in self.peer.calls if argv[0] == 'rsync']
        self.assertEqual(2, len(rsync))
        for argv in rsync:
            for flag in ('--no-links', '--no-devices', '--no-specials'):
                self.assertIn(flag, argv[:argv.index('--')])

    def test_default_destination_is_the_instances_path(self):
        self._write('', b'c')
        self.flags(remote_filesystem_allowed_paths=[], group='libvirt')
        log_transfer.copy_console_log(
            UUID, self.log, '192.0.2.2', as_backups=False, max_size=100,
            max_backups=3, conf=nova.conf.CONF)
        with open(os.path.join(self.instances_path, UUID,
                               'console.log')) as f:
            self.assertEqual('c', f.read())

    def test_destination_outside_the_allowed_paths_is_refused(self):
        self._write('', b'c')
        e = self.assertRaises(
            log_transfer.LogTransferFailed, log_transfer.copy_console_log,
            UUID, self.log, '192.0.2.2', as_backups=False, max_size=100,
            max_backups=3, conf=nova.conf.CONF, dest_dir='/etc/' + UUID)
        self.assertIn('192.0.2.2', str(e))
        self.assertIn('not below an allowed path', str(e))
        self.assertEqual([], self.peer.calls)

    def test_a_link_planted_at_the_destination_is_not_written_through(self):
        victim = os.path.join(self.instances_path, 'victim')
        with open(victim, 'wb') as f:
            f.write(b'keep')
        os.mkdir(os.path.join(self.dest_root, UUID))
        os.symlink(victim, self._dest('console.log.0'))
        self._write('', b'new')
        self._copy(as_backups=True)
        with open(victim, 'rb') as f:
            self.assertEqual(b'keep', f.read())
        self.assertFalse(os.path.islink(self._dest('console.log.0')))

    def test_staged_files_are_private(self):
        self._write('', b'c')
        staged = self._spy_copy_to()
        self._copy(as_backups=True)
        self.assertEqual([0o600], [mode for _p, mode, _d in staged])
        self.assertEqual(0o600, stat.S_IMODE(
            os.stat(self._dest('console.log.0')).st_mode))

    def test_as_backups_recut_to_destination_limits(self):
        history = b''.join(b'%04d\n' % i for i in range(100))  # 500 bytes
        self._write('.1', history[:150])
        self._write('.0', history[150:400])
        self._write('', history[400:])
        names = self._copy(as_backups=True, max_size=100, max_backups=3)
        self.assertEqual(['console.log.0', 'console.log.1', 'console.log.2'],
                         names)
        self.assertFalse(os.path.exists(self._dest()))  # virtlogd's file
        for name in names:
            self.assertEqual(100, os.path.getsize(self._dest(name)))
        # Oldest first, the copies are the newest 300 bytes of history...
        copied = b''
        for name in reversed(names):
            with open(self._dest(name), 'rb') as f:
                copied += f.read()
        self.assertEqual(history[-300:], copied)
        # ...and the destination's reader returns them before new output.
        with open(self._dest(), 'wb') as f:
            f.write(b'on the destination\n')
        self.assertEqual(history[-300:] + b'on the destination\n',
                         console_log.read_log_tail(self._dest(), 1000))

    def test_reads_a_chunk_at_a_time(self):
        # One pread() returns at most about 2 GiB and a legacy file
        # console may be larger than memory: files are read in chunks,
        # and a whole file is copied, never held whole.
        self.useFixture(fixtures.MockPatchObject(log_transfer, '_CHUNK', 7))
        asked = []
        real_pread = os.pread

        def pread(fd, length, offset):
            asked.append(length)
            return real_pread(fd, length, offset)

        self.useFixture(fixtures.MockPatch('os.pread', pread))
        history = b''.join(b'%04d\n' % i for i in range(100))
        self._write('.0', history[:250])
        self._write('', history[250:])
        self._copy(as_backups=False)
        with open(self._dest('console.log.0'), 'rb') as f:
            self.assertEqual(history[:250], f.read())
        with open(self._dest(), 'rb') as f:
            self.assertEqual(history[250:], f.read())
        self._copy(as_backups=True, max_size=100, max_backups=3)
        copied = b''
        for name in ('console.log.2', 'console.log.1', 'console.log.0'):
            with open(self._dest(name), 'rb') as f:
                copied += f.read()
        self.assertEqual(history[-300:], copied)
        self.assertTrue(asked)
        self.assertLessEqual(max(asked), 7)

    def test_as_backups_small_history_is_one_file(self):
        self._write('', b'boot messages\n')
        self.assertEqual(['console.log.0'],
                         self._copy(as_backups=True, max_size=1024))
        with open(self._dest('console.log.0'), 'rb') as f:
            self.assertEqual(b'boot messages\n', f.read())

    def test_staging_is_removed(self):
        self._write('', b'x')
        self._copy(as_backups=True)
        self.assertEqual(['console.log'], os.listdir(self.src))

    def test_symlink_is_not_followed(self):
        secret = os.path.join(self.instances_path, 'secret')
        with open(secret, 'w') as f:
            f.write('not for the other host')
        os.symlink(secret, self.log)
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt.log_transfer'))
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              False)
        self.assertIn('%s is not a regular file' % self.log, str(e))
        self.assertNotIn('not for the other host', str(e))
        self.assertIn('Refusing to copy %s' % self.log, logs.output)
        self.assertEqual([], self.peer.calls)

    def test_hard_link_is_not_sent(self):
        secret = os.path.join(self.instances_path, 'secret')
        with open(secret, 'w') as f:
            f.write('not for the other host')
        os.link(secret, self.log)
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              False)
        self.assertIn('hard links', str(e))
        self.assertEqual([], self.peer.calls)

    def test_nothing_to_copy(self):
        self.assertEqual([], self._copy(as_backups=True))
        self.assertEqual([], self.peer.calls)

    def test_transport_failure_names_host_and_cause(self):
        self._write('', b'x')
        error = processutils.ProcessExecutionError(
            exit_code=255, stderr='ssh: connect to host 192.0.2.2 port 22: '
                                  'Connection refused')
        self.useFixture(self._patch_execute(error))
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              False)
        self.assertIn(UUID, str(e))
        self.assertIn('on 192.0.2.2 failed: connection refused', str(e))
        self.assertEqual(['console.log'], os.listdir(self.src))

    def test_ipv6_destination(self):
        self.flags(remote_filesystem_transport='rsync', group='libvirt')
        self._write('', b'x')
        log_transfer.copy_console_log(
            UUID, self.log, '2001:db8::2', as_backups=False, max_size=100,
            max_backups=3, conf=nova.conf.CONF,
            dest_dir=os.path.join(self.dest_root, UUID))
        rsync = [argv for argv in self.peer.calls if argv[0] == 'rsync']
        self.assertEqual('[2001:db8::2]:%s' % self._dest(), rsync[0][-1])

    def test_chain_exists(self):
        self.assertFalse(log_transfer.log_chain_exists(self.log))
        self._write('.0', b'x')
        self.assertTrue(log_transfer.log_chain_exists(self.log))
