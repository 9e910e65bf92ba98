import os
import shutil
import stat

import fixtures
from oslo_concurrency import processutils

import nova.conf
from nova import test
from nova.virt.libvirt import console_log
from nova.virt.libvirt import log_transfer

UUID = 'a3c5e1f0-1111-4c3e-9a55-0f1d2a3b4c5d'


class FakeRsync:
    """Stands in for ``rsync SRC... rsync://host:port/module/uuid/``."""

    def __init__(self, dest_root):
        self.dest_root = dest_root
        self.calls = []

    def __call__(self, *argv, **kw):
        self.calls.append(argv)
        sources = argv[argv.index('--') + 1:-1]
        uuid = argv[-1].rstrip('/').split('/')[-1]
        dest = os.path.join(self.dest_root, uuid)
        os.makedirs(dest, exist_ok=True)
        for src in sources:
            shutil.copy(src, dest)
        return '', ''


class LogTransferBase(test.TestCase):
    """An instance folder with a log, a fake rsync, a password file."""

    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.instances_path, 'src', UUID)
        self.dest_root = os.path.join(self.instances_path, 'dest')
        os.makedirs(self.src)
        self.log = os.path.join(self.src, 'console.log')
        self.rsync = FakeRsync(self.dest_root)
        self.useFixture(self._patch_execute(self.rsync))
        self.secrets = os.path.join(self.instances_path, 'secrets')
        os.mkdir(self.secrets, 0o700)
        self._password('192.0.2.2')
        self.flags(console_log_rsync_password_file=os.path.join(
            self.secrets, '%(dest)s.password'), group='libvirt')

    def _password(self, addr, mode=0o600):
        path = os.path.join(self.secrets, '%s.password' % addr)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, 'w') as f:
            f.write('pw-of-%s\n' % addr)
        os.chmod(path, mode)
        return path

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
            max_size=max_size, max_backups=max_backups, conf=nova.conf.CONF)


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
        argv = self.rsync.calls[0]
        self.assertEqual(
            'rsync://nova@192.0.2.2:873/nova-instances/%s/' % UUID, argv[-1])
        self.assertIn('--timeout=60', argv)

    def test_logs_in_with_the_destinations_password_file(self):
        self._write('', b'c')
        self._copy(as_backups=False)
        argv = self.rsync.calls[0]
        self.assertIn('--password-file=%s' % os.path.join(
            self.secrets, '192.0.2.2.password'), argv)
        self.assertTrue(argv[-1].startswith('rsync://nova@192.0.2.2:'))
        # Nothing but regular files, whatever the staging folder held.
        for flag in ('--no-links', '--no-devices', '--no-specials'):
            self.assertIn(flag, argv[:argv.index('--')])
        self.assertNotIn('pw-of', ' '.join(argv))  # never on a command line

    def test_user_is_configurable(self):
        self._write('', b'c')
        self.flags(console_log_rsync_user='copier', group='libvirt')
        self._copy(as_backups=False)
        self.assertTrue(
            self.rsync.calls[0][-1].startswith('rsync://copier@192.0.2.2:'))

    def test_no_password_file_no_copy(self):
        self._write('', b'c')
        self.flags(console_log_rsync_password_file=None, group='libvirt')
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              False)
        self.assertIn('console_log_rsync_password_file is not set', str(e))
        self.assertEqual([], self.rsync.calls)

    def test_password_file_of_another_host_is_missing(self):
        self._write('', b'c')
        e = self.assertRaises(
            log_transfer.LogTransferFailed, log_transfer.copy_console_log,
            UUID, self.log, '192.0.2.3', as_backups=False, max_size=100,
            max_backups=3, conf=nova.conf.CONF)
        self.assertIn('192.0.2.3.password', str(e))
        self.assertEqual([], self.rsync.calls)

    def test_password_file_readable_by_others_is_refused(self):
        self._write('', b'c')
        self._password('192.0.2.2', mode=0o644)
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              False)
        self.assertIn('readable by nobody else', str(e))
        self.assertEqual([], self.rsync.calls)

    def test_password_file_that_is_a_link_is_refused(self):
        self._write('', b'c')
        path = os.path.join(self.secrets, '192.0.2.2.password')
        os.rename(path, path + '.real')
        os.symlink(path + '.real', path)
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              False)
        self.assertIn('not a regular file', str(e))
        self.assertEqual([], self.rsync.calls)

    def test_staged_files_are_private(self):
        self._write('', b'c')
        modes = []

        def spy(*argv, **kw):
            sources = argv[argv.index('--') + 1:-1]
            modes.extend(stat.S_IMODE(os.lstat(s).st_mode)
                         for s in sources)
            return self.rsync(*argv, **kw)

        self.useFixture(self._patch_execute(spy))
        self._copy(as_backups=True)
        self.assertEqual([0o600], modes)

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
        self.assertEqual([], self.rsync.calls)

    def test_hard_link_is_not_sent(self):
        secret = os.path.join(self.instances_path, 'secret')
        with open(secret, 'w') as f:
            f.write('not for the other host')
        os.link(secret, self.log)
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              False)
        self.assertIn('hard links', str(e))
        self.assertEqual([], self.rsync.calls)

    def test_nothing_to_copy(self):
        self.assertEqual([], self._copy(as_backups=True))
        self.assertEqual([], self.rsync.calls)

    def test_rsync_failure_names_cause(self):
        self._write('', b'x')
        error = processutils.ProcessExecutionError(
            exit_code=10, stderr='rsync: failed to connect to 192.0.2.2: '
                                 'Connection refused (111)')
        self.useFixture(self._patch_execute(error))
        e = self.assertRaises(log_transfer.LogTransferFailed, self._copy,
                              False)
        self.assertIn(UUID, str(e))
        self.assertIn('Connection refused', str(e))
        self.assertEqual(['console.log'], os.listdir(self.src))

    def test_ipv6_url(self):
        self.assertEqual('rsync://[2001:db8::2]:873/m/u/',
                         log_transfer._rsync_url('2001:db8::2', 873, 'm',
                                                 'u'))

    def test_chain_exists(self):
        self.assertFalse(log_transfer.log_chain_exists(self.log))
        self._write('.0', b'x')
        self.assertTrue(log_transfer.log_chain_exists(self.log))
