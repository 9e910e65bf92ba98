"""nova.privsep: the context and the console entrypoints.

The entrypoints run in the test's process (nova.test.PrivsepFixture), as
in Nova's tests; ForkedDaemonTestCase runs them in a real privsep daemon
holding only the context's capability.
"""

import errno
import fcntl
import logging
import os
import socket
import stat
import sys

import fixtures
from oslo_privsep import capabilities
from oslo_privsep import priv_context

from nova import exception
import nova.privsep
from nova.privsep import console as privsep_console
from nova import test
from nova.tests.unit.privsep import libvirt_state
from nova.virt.libvirt import console_follow
from nova.virt.libvirt import console_log
from nova.virt.libvirt import instance_files
from nova.virt.libvirt import log_transfer

UUID = '5f0c2a8e-3b1d-4c6a-9e7f-1a2b3c4d5e6f'
# A uid no account uses: the folder's owner, as nova's would be.
OTHER_UID = 64123
# Another local user, not the service's.
NOBODY = 65534


def write_root_only(path, data):
    """As virtlogd writes the log: root's, 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.chown(path, 0, 0)


class ContextTestCase(test.TestCase):
    def test_one_capability_read_and_search(self):
        ctx = nova.privsep.console_pctxt
        self.assertEqual([capabilities.CAP_DAC_READ_SEARCH],
                         ctx.conf.capabilities)
        # Nothing that writes, changes owners or modes, or is root.
        for cap in ('CAP_DAC_OVERRIDE', 'CAP_CHOWN', 'CAP_FOWNER',
                    'CAP_SYS_ADMIN', 'CAP_SETUID'):
            self.assertNotIn(getattr(capabilities, cap),
                             ctx.conf.capabilities)

    def test_helper_command_names_the_context(self):
        cmd = nova.privsep.console_pctxt.helper_command('/tmp/x/privsep.sock')
        self.assertEqual(['--privsep_context',
                          'nova.privsep.console_pctxt',
                          '--privsep_sock_path', '/tmp/x/privsep.sock'],
                         cmd[-4:])

    def test_helper_command_option(self):
        self.flags(helper_command='sudo /usr/local/libexec/nova-privsep',
                   group='nova_console_privsep')
        self.assertEqual(
            ['sudo', '/usr/local/libexec/nova-privsep',
             '--privsep_context', 'nova.privsep.console_pctxt',
             '--privsep_sock_path', '/s'],
            nova.privsep.console_pctxt.helper_command('/s'))

    def test_entrypoints_belong_to_the_context(self):
        for func in (privsep_console.read_log_tail,
                     privsep_console.read_log_piece,
                     privsep_console.drain_pty):
            self.assertTrue(
                nova.privsep.console_pctxt.is_entrypoint(func))

    def test_root_calls_in_process_others_through_the_daemon(self):
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=0))
        self.assertTrue(nova.privsep.in_process())
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=123))
        self.assertFalse(nova.privsep.in_process())

    def test_start_note(self):
        log = self.useFixture(fixtures.FakeLogger(name='t'))
        logger = logging.getLogger('t')
        geteuid = self.useFixture(fixtures.MockPatch(
            'os.geteuid', return_value=0)).mock
        nova.privsep.log_start(logger)
        self.assertIn('Running as root', log.output)
        geteuid.return_value = 4242
        nova.privsep.log_start(logger)
        self.assertIn('uid 4242 with no [nova_console_privsep] '
                      'helper_command', log.output)
        self.flags(helper_command='sudo /h', group='nova_console_privsep')
        nova.privsep.log_start(logger)
        self.assertIn("privsep daemon started by 'sudo /h'", log.output)

    def test_options_listed(self):
        [(group, opts)] = nova.privsep.list_opts()
        self.assertEqual('nova_console_privsep', group)
        self.assertIn('helper_command', [o.name for o in opts])


class _FolderBase(test.TestCase):
    """An instances folder and an instance folder of uid OTHER_UID (the
    unprivileged service), holding a root-only log."""

    owner = OTHER_UID

    def setUp(self):
        super().setUp()
        self.instances = os.path.join(self.instances_path, 'instances')
        os.mkdir(self.instances, 0o755)
        self.folder = os.path.join(self.instances, UUID)
        os.mkdir(self.folder, 0o700)
        for path in (self.instances, self.folder):
            os.chown(path, self.owner, self.owner)
        self.log = os.path.join(self.folder, 'console.log')


class ReadLogTailTestCase(_FolderBase):
    def read(self, max_bytes=1000, owner=None):
        return privsep_console.read_log_tail(
            self.folder, self.owner if owner is None else owner, max_bytes)

    def test_root_only_rotated_log_of_the_service(self):
        write_root_only(self.log + '.1', b'oldest\n')
        write_root_only(self.log + '.0', b'older\n')
        write_root_only(self.log, b'newest\n')
        self.assertEqual(b'oldest\nolder\nnewest\n', self.read())
        self.assertEqual(b'newest\n', self.read(max_bytes=7))

    def test_no_folder_or_no_log_is_empty(self):
        self.assertEqual(b'', self.read())
        os.rmdir(self.folder)
        self.assertEqual(b'', self.read())

    def test_folder_of_another_user_is_refused(self):
        write_root_only(self.log, b'x\n')
        e = self.assertRaises(exception.InstanceFileUnsafe, self.read,
                              owner=OTHER_UID + 1)
        self.assertIn('owned by uid %d' % OTHER_UID, str(e))

    def test_folder_writable_by_others_is_refused(self):
        os.chmod(self.folder, 0o777)
        self.assertRaises(exception.InstanceFileUnsafe, self.read)

    def test_symlinked_log_is_not_followed(self):
        secret = os.path.join(self.instances_path, 'secret')
        write_root_only(secret, b'host secret\n')
        os.symlink(secret, self.log)
        e = self.assertRaises(exception.InstanceFileUnsafe, self.read)
        self.assertNotIn('host secret', str(e))

    def test_hard_linked_backup_is_refused(self):
        secret = os.path.join(self.instances_path, 'secret')
        write_root_only(secret, b'host secret\n')
        os.link(secret, self.log + '.0')
        write_root_only(self.log, b'x' * 10)
        self.assertRaises(exception.InstanceFileUnsafe, self.read)

    def test_folder_swapped_for_a_link_is_refused(self):
        elsewhere = os.path.join(self.instances_path, 'elsewhere')
        os.mkdir(elsewhere, 0o700)
        os.chown(elsewhere, self.owner, self.owner)
        write_root_only(os.path.join(elsewhere, 'console.log'), b'no\n')
        os.rmdir(self.folder)
        os.symlink(elsewhere, self.folder)
        self.assertRaises(exception.InstanceFileUnsafe, self.read)

    def test_only_instance_folders(self):
        for bad in ('relative/%s' % UUID, '/etc', '/tmp/../etc/%s' % UUID,
                    self.instances, None):
            self.assertRaises((ValueError, exception.InvalidUUID),
                              privsep_console.read_log_tail, bad,
                              self.owner, 10)

    def test_bad_sizes_and_owners(self):
        for max_bytes in (-1, True, 1.5, privsep_console.MAX_PIECE + 1):
            self.assertRaises(ValueError, self.read, max_bytes=max_bytes)
        for owner in (-1, '0', True):
            self.assertRaises(ValueError, privsep_console.read_log_tail,
                              self.folder, owner, 10)


class SudoCallerTestCase(_FolderBase):
    """In the daemon sudo started, ``owner`` (the caller's word) must be
    the uid that ran sudo: not root's or another user's folders."""

    def setUp(self):
        super().setUp()
        main = type(sys)('__main__')
        main.__spec__ = type('Spec', (), {'name': 'oslo_privsep.daemon'})
        self.useFixture(fixtures.MockPatchObject(sys, 'modules', dict(
            sys.modules, __main__=main)))
        self.useFixture(fixtures.EnvironmentVariable('SUDO_UID',
                                                     str(OTHER_UID)))
        write_root_only(self.log, b'nova\'s guest\n')

    def test_the_callers_folders_only(self):
        self.assertEqual(b'nova\'s guest\n', privsep_console.read_log_tail(
            self.folder, OTHER_UID, 100))
        roots = os.path.join(self.instances_path, 'roots')
        os.mkdir(roots, 0o755)
        folder = os.path.join(roots, UUID)
        os.mkdir(folder, 0o700)
        write_root_only(os.path.join(folder, 'console.log'), b'secret\n')
        for call in (
                lambda: privsep_console.read_log_tail(folder, 0, 100),
                lambda: privsep_console.read_log_piece(
                    folder, 0, 'console.log', 0, 100),
                lambda: privsep_console.open_log_file(
                    folder, 0, 'console.log',
                    privsep_console.FD_SOCKET_PREFIX + '0' * 32)):
            e = self.assertRaises(ValueError, call)
            self.assertIn('owner must be the uid that started this daemon '
                          '(%d), not 0' % OTHER_UID, str(e))

    def test_not_the_daemon_or_not_sudo(self):
        self.useFixture(fixtures.EnvironmentVariable('SUDO_UID'))
        self.assertIsNone(privsep_console._caller_uid())
        self.useFixture(fixtures.EnvironmentVariable('SUDO_UID', '0'))
        self.assertEqual(0, privsep_console._caller_uid())
        self.useFixture(fixtures.MockPatchObject(sys, 'modules', dict(
            sys.modules, __main__=type(sys)('__main__'))))
        self.assertIsNone(privsep_console._caller_uid())


class ReadLogPieceTestCase(_FolderBase):
    def piece(self, name='console.log', offset=0, length=100):
        return privsep_console.read_log_piece(self.folder, self.owner, name,
                                              offset, length)

    def test_piece_size_and_identity(self):
        write_root_only(self.log + '.0', b'0123456789')
        data, size, ident = self.piece('console.log.0', 3, 4)
        st = os.lstat(self.log + '.0')
        self.assertEqual((b'3456', 10, (st.st_dev, st.st_ino)),
                         (data, size, tuple(ident)))
        self.assertEqual(b'', self.piece('console.log.0', 0, 0)[0])

    def test_only_log_names(self):
        write_root_only(os.path.join(self.folder, 'disk'), b'disk')
        for name in ('disk', '../console.log', 'console.log.x',
                     '/etc/shadow', 'console.log/'):
            self.assertRaises(ValueError, self.piece, name)

    def test_missing_file(self):
        self.assertRaises(FileNotFoundError, self.piece)

    def test_link_fifo_hard_link_refused(self):
        secret = os.path.join(self.instances_path, 'secret')
        write_root_only(secret, b'host secret\n')
        os.symlink(secret, self.log)
        os.link(secret, self.log + '.0')
        os.mkfifo(self.log + '.1')
        for name in ('console.log', 'console.log.0', 'console.log.1'):
            e = self.assertRaises(exception.InstanceFileUnsafe, self.piece,
                                  name)
            self.assertNotIn('host secret', str(e))

    def test_length_capped(self):
        self.assertRaises(ValueError, self.piece,
                          length=privsep_console.MAX_PIECE + 1)
        self.assertRaises(ValueError, self.piece, offset=-1)


class LogTransferPiecesTestCase(_FolderBase):
    """log_transfer reads through read_log_piece, a piece at a time."""

    owner = 0  # the test's own service: log_transfer passes its euid

    def test_file_replaced_between_pieces_is_refused(self):
        write_root_only(self.log, b'a' * 30)
        self.useFixture(fixtures.MockPatchObject(log_transfer, '_CHUNK', 10))
        real = privsep_console.read_log_piece
        calls = []

        def piece(*args):
            calls.append(args)
            if len(calls) == 2:
                # Someone swaps the file after the first piece.
                os.rename(self.log, self.log + '.gone')
                write_root_only(self.log, b'b' * 30)
            return real(*args)

        self.useFixture(fixtures.MockPatchObject(
            privsep_console, 'read_log_piece', side_effect=piece))
        out = []

        class Out:
            write = out.append

        e = self.assertRaises(log_transfer.LogTransferFailed,
                              log_transfer._copy_whole, self.log, Out())
        self.assertIn('replaced while being copied', str(e))


class _DenyingOs:
    """os, but console_log may not open log files itself: as for an
    unprivileged nova-compute and virtlogd's root-only files."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def open(name, flags, *args, dir_fd=None, **kw):
        if dir_fd is not None and name.startswith('console.log'):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return os.open(name, flags, *args, dir_fd=dir_fd, **kw)


class OpenLogFdTestCase(_FolderBase):
    """A descriptor opened by the daemon, passed over a unix socket."""

    def setUp(self):
        super().setUp()
        # The service is OTHER_UID, as nova would be.
        self.useFixture(fixtures.MockPatch('os.geteuid',
                                           return_value=OTHER_UID))
        self.dir_fd = instance_files.open_dir(self.folder)
        self.addCleanup(os.close, self.dir_fd)

    def test_descriptor_of_the_file(self):
        write_root_only(self.log, b'root only\n')
        fd = privsep_console.open_log_fd(self.log, self.dir_fd)
        self.addCleanup(os.close, fd)
        self.assertEqual(b'root only\n', os.pread(fd, 100, 0))
        st = os.lstat(self.log)
        self.assertEqual((st.st_dev, st.st_ino),
                         (os.fstat(fd).st_dev, os.fstat(fd).st_ino))
        self.assertEqual(os.O_RDONLY,
                         fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE)

    def test_missing_file_is_none(self):
        self.assertIsNone(privsep_console.open_log_fd(self.log + '.0',
                                                      self.dir_fd))

    def test_link_and_hard_link_refused(self):
        secret = os.path.join(self.instances_path, 'secret')
        write_root_only(secret, b'host secret\n')
        os.symlink(secret, self.log)
        os.link(secret, self.log + '.0')
        for name in (self.log, self.log + '.0'):
            self.assertRaises(exception.InstanceFileUnsafe,
                              privsep_console.open_log_fd, name,
                              self.dir_fd)

    def test_folder_swapped_since_the_caller_opened_it(self):
        write_root_only(self.log, b'x')
        os.rename(self.folder, self.folder + '.old')
        os.mkdir(self.folder, 0o700)
        os.chown(self.folder, self.owner, self.owner)
        write_root_only(self.log, b'other')
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              privsep_console.open_log_fd, self.log,
                              self.dir_fd)
        self.assertIn('replaced while being read', str(e))

    def _squat(self, send_fd):
        """open_log_file, after a local user (uid NOBODY) saw the
        listener's abstract name (in /proc/net/unix, readable by all)
        and connected first, sending a descriptor of its own if
        ``send_fd``."""
        real = privsep_console.open_log_file

        def squatted(folder, owner, name, sock_name):
            with open('/proc/net/unix') as f:
                self.assertIn('@' + sock_name, f.read())
            pid = os.fork()
            if pid == 0:
                try:
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect('\0' + sock_name)
                        if send_fd:
                            fd = os.open('/dev/null', os.O_RDONLY)
                            socket.send_fds(s, [b'F'], [fd])
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            return real(folder, owner, name, sock_name)
        self.useFixture(fixtures.MockPatchObject(
            privsep_console, 'open_log_file', squatted))

    def test_another_user_connecting_first_is_ignored(self):
        write_root_only(self.log, b'root only\n')
        for send_fd in (False, True):
            self._squat(send_fd)
            fd = privsep_console.open_log_fd(self.log, self.dir_fd)
            self.addCleanup(os.close, fd)
            self.assertEqual(b'root only\n', os.pread(fd, 100, 0))
            st = os.lstat(self.log)
            self.assertEqual((st.st_dev, st.st_ino),
                             (os.fstat(fd).st_dev, os.fstat(fd).st_ino))

    def test_only_our_socket_names(self):
        write_root_only(self.log, b'x')
        for bad in ('x', '/tmp/sock', privsep_console.FD_SOCKET_PREFIX):
            self.assertRaises(ValueError, privsep_console.open_log_file,
                              self.folder, OTHER_UID, 'console.log', bad)


class UnprivilegedFollowerTestCase(_FolderBase):
    """LogFollower and read_log_tail of a service that may not open the
    log files: console_log falls back to the daemon's descriptors."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch('os.geteuid',
                                           return_value=OTHER_UID))
        self.useFixture(fixtures.MockPatchObject(console_log, 'os',
                                                 _DenyingOs()))

    def test_history_then_appends_across_a_rotation(self):
        write_root_only(self.log + '.0', b'before ')
        write_root_only(self.log, b'history ')
        with console_follow.LogFollower(self.log, 1000) as follower:
            self.assertEqual(b'before history ', follower.read(timeout=5))
            with open(self.log, 'ab') as f:
                f.write(b'appended ')
            self.assertEqual(b'appended ', follower.read(timeout=5))
            os.rename(self.log + '.0', self.log + '.1')
            os.rename(self.log, self.log + '.0')
            write_root_only(self.log, b'rotated')
            got = b''
            for _ in range(10):
                got += follower.read(timeout=1)
                if got == b'rotated':
                    break
            self.assertEqual(b'rotated', got)

    def test_unsafe_file_still_refused(self):
        secret = os.path.join(self.instances_path, 'secret')
        write_root_only(secret, b'host secret\n')
        os.link(secret, self.log)
        dir_fd = instance_files.open_dir(self.folder)
        self.addCleanup(os.close, dir_fd)
        self.assertRaises(exception.InstanceFileUnsafe,
                          console_log.read_log_tail, self.log, 100,
                          dir_fd=dir_fd)

    def test_root_is_not_sent_to_the_daemon(self):
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=0))
        os.chown(self.folder, 0, 0)
        os.chown(self.instances, 0, 0)
        write_root_only(self.log, b'x')
        opener = self.useFixture(fixtures.MockPatchObject(
            privsep_console, 'open_log_fd')).mock
        self.assertRaises(exception.ConsoleLogUnreadable,
                          console_log.read_log_tail, self.log, 100)
        opener.assert_not_called()


class DrainPtyTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        self.master, self.pty = master, os.ttyname(slave)
        self.state = self.useFixture(libvirt_state.GuestPtys(self.pty))

    def test_reads_what_waits_and_never_blocks(self):
        os.write(self.master, b'guest says hello\n')
        self.assertIn(b'guest says hello',
                      privsep_console.drain_pty(self.pty, 1000))
        self.assertEqual(b'', privsep_console.drain_pty(self.pty, 1000))

    def test_at_most_max_bytes(self):
        os.write(self.master, b'x' * 100 + b'\n')
        self.assertEqual(10, len(privsep_console.drain_pty(self.pty, 10)))

    def test_only_ptys(self):
        for bad in ('/etc/shadow', '/dev/pts/../../etc/shadow',
                    '/dev/pts/ptmx', '/dev/sda', None):
            self.assertRaises(ValueError, privsep_console.drain_pty, bad,
                              10)

    def test_only_ptys_of_running_guests(self):
        # A terminal (someone's shell: what is typed, passwords too) is a
        # pty as well: not listed by libvirt as a guest's console, it is
        # refused and what waits on it stays there.
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        terminal = os.ttyname(slave)
        os.write(master, b'typed password\n')
        self.state.add(terminal, kind='tcp')
        e = self.assertRaises(ValueError, privsep_console.drain_pty,
                              terminal, 1000)
        self.assertIn('not the console of a running guest', str(e))
        os.set_blocking(slave, False)
        self.assertIn(b'typed password', os.read(slave, 100))

    def test_status_files_not_root_only_are_ignored(self):
        folder = self.state.folder
        for name in os.listdir(folder):
            os.chown(os.path.join(folder, name), OTHER_UID, OTHER_UID)
        self.assertRaises(ValueError, privsep_console.drain_pty, self.pty,
                          10)
        os.remove(os.path.join(folder, 'instance-0001.xml'))
        os.symlink('/nonexistent', os.path.join(folder, 'x.xml'))
        self.assertRaises(ValueError, privsep_console.drain_pty, self.pty,
                          10)


class ForkedDaemonTestCase(_FolderBase):
    """A real privsep daemon (oslo.privsep's fork method) holding only
    CAP_DAC_READ_SEARCH reads virtlogd's root-only log in a folder that
    is not root's; arguments, bytes and errors cross its socket."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail('this test starts a privsep daemon: it needs root')
        ctx = nova.privsep.console_pctxt
        ctx.set_client_mode(True)
        ctx.start(priv_context.Method.FORK)
        self.addCleanup(ctx.stop)

    def test_log_tail_piece_and_refusal(self):
        write_root_only(self.log + '.0', b'before rotation\n')
        write_root_only(self.log, b'after\n')
        self.assertEqual(b'before rotation\nafter\n',
                         privsep_console.read_log_tail(self.folder,
                                                       self.owner, 1000))
        data, size, _ident = privsep_console.read_log_piece(
            self.folder, self.owner, 'console.log.0', 7, 8)
        self.assertEqual((b'rotation', 16), (data, size))
        os.chmod(self.folder, 0o770)
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              privsep_console.read_log_tail, self.folder,
                              self.owner, 1000)
        self.assertIn('writable by group or others', str(e))

    def test_daemon_cannot_write(self):
        # Only read and search: the daemon's root may not create a file in
        # the service's 0700 folder (no CAP_DAC_OVERRIDE).
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.folder).st_mode))
        self.assertRaises(PermissionError, _daemon_create,
                          os.path.join(self.folder, 'planted'))
        self.assertFalse(os.path.exists(os.path.join(self.folder,
                                                     'planted')))


@nova.privsep.console_pctxt.entrypoint
def _daemon_create(path):
    """Test only: try to create a file as the daemon."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
