"""remotefs: each method over both transports, against a fake peer.

The fake peer is this machine: an ``ssh ... -- HOST SCRIPT`` runs SCRIPT
with sh here (with the stdin/stdout the real ssh would get), an
``rsync -e ssh ... HOST:PATH`` runs rsync locally on PATH. So the shell
scripts and rsync options RemoteFilesystem sends are the ones tested;
only the network is fake. Errors are fed as the stderr the real ssh,
coreutils and rsync print.
"""

import os
import stat

import fixtures
from oslo_concurrency import processutils

from nova.cmd import remotefs_guard
import nova.conf
from nova import test
from nova.virt.libvirt import remotefs

HOST = '192.0.2.2'
# remove_dir takes instance folders only.
U1 = '3f2a9c1e-8b7d-4e6f-a5c4-2d1b0e9f8a7c'
_real_execute = processutils.execute


class LocalPeer:
    def __init__(self):
        self.calls = []
        self.fail = None  # (exit code, stderr) for the next command

    def __call__(self, *argv, **kw):
        self.calls.append(argv)
        if self.fail:
            code, err = self.fail
            self.fail = None
            raise processutils.ProcessExecutionError(
                exit_code=code, stderr=err, cmd=' '.join(argv))
        if argv[0] == 'ssh':
            assert argv[-3] == '--', argv
            return _real_execute('sh', '-c', argv[-1], **kw)
        assert argv[0] == 'rsync', argv
        cut = argv.index('-e')
        args = list(argv[:cut]) + list(argv[cut + 2:])
        # HOST:/path (or [v6]:/path) is /path here.
        local = ['/' + a.split(':/', 1)[1] if ':/' in a and
                 not a.startswith('/') else a for a in args]
        return _real_execute(*local, **kw)


class RemoteFSBase(test.TestCase):
    transport = 'ssh'

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.instances_path, 'peer')
        self.local = os.path.join(self.instances_path, 'local')
        os.mkdir(self.root)
        os.mkdir(self.local)
        self.flags(remote_filesystem_transport=self.transport,
                   remote_filesystem_allowed_paths=[self.root],
                   group='libvirt')
        self.peer = LocalPeer()
        self.useFixture(fixtures.MockPatch(
            'oslo_concurrency.processutils.execute', side_effect=self.peer))
        self.fs = remotefs.RemoteFilesystem(nova.conf.CONF)

    def write(self, path, data=b'data', mode=0o644):
        with open(path, 'wb') as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def assertRefused(self, what, call, *args):
        e = self.assertRaises(remotefs.RemoteFSError, call, *args)
        self.assertIn(HOST, str(e))
        self.assertIn(what, str(e))
        return e


class CheckTestCase(RemoteFSBase):
    """Refused before anything runs."""

    def test_outside_the_allowed_paths(self):
        for path in ('/etc', os.path.join(self.instances_path, 'x'),
                     self.root):
            self.assertRefused('not below an allowed path',
                               self.fs.remove_dir, HOST, path)
        self.assertEqual([], self.peer.calls)

    def test_relative_dotdot_and_odd_characters(self):
        for path in ('relative/x', self.root + '/a/../../etc',
                     self.root + '/a b', self.root + "/a'b",
                     self.root + '/$(id)', self.root + '/a/'):
            self.assertRefused('must be absolute', self.fs.create_dir,
                               HOST, path)
        self.assertRefused('not absolute',
                           self.fs.copy_from, HOST, self.root + '/x', 'rel')
        self.assertEqual([], self.peer.calls)

    def test_host_that_is_an_option(self):
        e = self.assertRaises(remotefs.RemoteFSError, self.fs.create_dir,
                              '-oProxyCommand=id', self.root + '/x')
        self.assertIn('not a host name or address', str(e))
        self.assertEqual([], self.peer.calls)

    def test_default_root_is_instances_path(self):
        self.flags(remote_filesystem_allowed_paths=[], group='libvirt')
        fs = remotefs.RemoteFilesystem(nova.conf.CONF)
        fs.create_dir(HOST, os.path.join(self.instances_path, 'u1'))
        self.assertTrue(os.path.isdir(
            os.path.join(self.instances_path, 'u1')))


class SshOptionsTestCase(RemoteFSBase):
    def test_strict_batch_and_timeouts(self):
        self.flags(remote_filesystem_ssh_user='nova',
                   remote_filesystem_ssh_port=2222,
                   remote_filesystem_ssh_identity_file='/k/id',
                   remote_filesystem_ssh_known_hosts_file='/k/known',
                   remote_filesystem_connect_timeout=9, group='libvirt')
        self.fs.create_dir(HOST, self.root + '/u')
        argv = self.peer.calls[0]
        text = ' '.join(argv)
        for opt in ('BatchMode=yes', 'StrictHostKeyChecking=yes',
                    'ConnectTimeout=9', 'ServerAliveInterval=3',
                    'ServerAliveCountMax=3', 'IdentitiesOnly=yes',
                    'UserKnownHostsFile=/k/known',
                    'GlobalKnownHostsFile=/dev/null',
                    'PasswordAuthentication=no', 'ClearAllForwardings=yes'):
            self.assertIn(opt, argv)
        self.assertIn('-p 2222', text)
        self.assertIn('-l nova', text)
        self.assertIn('-i /k/id', text)
        self.assertEqual(['--', HOST], list(argv[-3:-1]))


class _MethodsMixin:
    def test_create_dir(self):
        path = self.root + '/u1/sub'
        self.fs.create_dir(HOST, path)
        self.fs.create_dir(HOST, path)  # again: fine
        self.assertEqual(0o700, stat.S_IMODE(os.stat(path).st_mode))

    def test_create_dir_refuses_a_link_on_the_way(self):
        target = os.path.join(self.instances_path, 'elsewhere')
        os.mkdir(target)
        os.symlink(target, self.root + '/u1')
        self.assertRefused('symbolic link', self.fs.create_dir, HOST,
                           self.root + '/u1/sub')
        self.assertEqual([], os.listdir(target))

    def test_create_dir_over_a_file(self):
        self.write(self.root + '/u1')
        self.assertRaises(remotefs.RemoteFSError, self.fs.create_dir, HOST,
                          self.root + '/u1')

    def test_remove_dir_does_not_follow_links_inside(self):
        keep = self.write(os.path.join(self.instances_path, 'keep'))
        os.makedirs(self.root + '/%s/sub' % U1)
        os.symlink(os.path.dirname(keep), self.root + '/%s/sub/link' % U1)
        self.fs.remove_dir(HOST, self.root + '/' + U1)
        self.assertFalse(os.path.lexists(self.root + '/' + U1))
        self.assertTrue(os.path.exists(keep))
        self.fs.remove_dir(HOST, self.root + '/' + U1)  # gone: fine

    def test_remove_dir_refuses_a_link(self):
        os.mkdir(self.root + '/real')
        os.symlink(self.root + '/real', self.root + '/' + U1)
        self.assertRefused('symbolic link', self.fs.remove_dir, HOST,
                           self.root + '/' + U1)
        self.assertTrue(os.path.isdir(self.root + '/real'))

    def test_remove_dir_takes_instance_folders_only(self):
        # Never the image cache, the snapshots, or a folder inside one.
        for name in ('_base', '_snapshots', 'u1', U1 + '/sub',
                     U1.upper(), U1 + '.orphaned-1', U1 + '_resize/x'):
            os.makedirs(os.path.join(self.root, name), exist_ok=True)
            self.assertRefused('not an instance folder', self.fs.remove_dir,
                               HOST, os.path.join(self.root, name))
            self.assertTrue(os.path.isdir(os.path.join(self.root, name)))
        self.assertEqual([], self.peer.calls)
        # (<uuid>_resize was made above, with x in it.)
        self.fs.remove_dir(HOST, self.root + '/%s_resize' % U1)
        self.assertFalse(os.path.exists(self.root + '/%s_resize' % U1))

    def test_copy_to_a_file(self):
        src = self.write(self.local + '/disk', b'x' * 300000, 0o640)
        os.mkdir(self.root + '/u1')
        self.assertEqual(['disk'], self.fs.copy_to(HOST, src,
                                                   self.root + '/u1/d'))
        self.assertEqual(b'x' * 300000, self.read(self.root + '/u1/d'))
        self.assertEqual(0o640,
                         stat.S_IMODE(os.stat(self.root + '/u1/d').st_mode))
        self.assertEqual(['d'], os.listdir(self.root + '/u1'))

    def test_copy_to_replaces_a_link_never_writes_through_it(self):
        victim = self.write(os.path.join(self.instances_path, 'victim'),
                            b'keep')
        os.mkdir(self.root + '/u1')
        os.symlink(victim, self.root + '/u1/d')
        self.fs.copy_to(HOST, self.write(self.local + '/d', b'new'),
                        self.root + '/u1/d')
        self.assertEqual(b'keep', self.read(victim))
        self.assertFalse(os.path.islink(self.root + '/u1/d'))
        self.assertEqual(b'new', self.read(self.root + '/u1/d'))

    def test_copy_to_a_folder_sends_regular_files_only(self):
        self.write(self.local + '/disk', b'd')
        self.write(self.local + '/console.log', b'l', 0o600)
        os.symlink('/etc/passwd', self.local + '/link')
        os.mkfifo(self.local + '/fifo')
        os.mkdir(self.local + '/subdir')
        names = self.fs.copy_to(HOST, self.local, self.root + '/u1')
        self.assertEqual(['console.log', 'disk'], names)
        self.assertEqual(['console.log', 'disk'],
                         sorted(os.listdir(self.root + '/u1')))
        self.assertEqual(0o600, stat.S_IMODE(
            os.stat(self.root + '/u1/console.log').st_mode))

    def test_copy_to_refuses_a_local_link(self):
        os.symlink('/etc/passwd', self.local + '/link')
        self.assertRefused('not a regular file', self.fs.copy_to, HOST,
                           self.local + '/link', self.root + '/x')

    def test_copy_to_refuses_a_link_in_the_remote_folder(self):
        os.symlink(self.instances_path, self.root + '/u1')
        self.assertRefused('symbolic link', self.fs.copy_to, HOST,
                           self.write(self.local + '/d'),
                           self.root + '/u1/d')
        self.assertFalse(os.path.exists(self.instances_path + '/d'))

    def test_copy_from_a_file(self):
        self.write(self.root + '/d', b'remote', 0o600)
        self.assertEqual(['got'], self.fs.copy_from(
            HOST, self.root + '/d', self.local + '/got'))
        self.assertEqual(b'remote', self.read(self.local + '/got'))

    def test_copy_from_a_folder(self):
        os.mkdir(self.root + '/u1')
        self.write(self.root + '/u1/disk', b'd' * 100000)
        self.write(self.root + '/u1/console.log.0', b'l')
        os.symlink('/etc/passwd', self.root + '/u1/link')
        os.mkdir(self.root + '/u1/sub')
        names = self.fs.copy_from(HOST, self.root + '/u1',
                                  self.local + '/u1')
        self.assertEqual(['console.log.0', 'disk'], sorted(names))
        self.assertEqual(['console.log.0', 'disk'],
                         sorted(os.listdir(self.local + '/u1')))
        self.assertEqual(b'd' * 100000, self.read(self.local + '/u1/disk'))

    def test_copy_from_refuses_a_remote_link(self):
        os.symlink('/etc/passwd', self.root + '/d')
        self.assertRefused('symbolic link', self.fs.copy_from, HOST,
                           self.root + '/d', self.local + '/d')
        self.assertFalse(os.path.lexists(self.local + '/d'))

    def test_copy_from_a_missing_file(self):
        self.assertRefused('missing', self.fs.copy_from, HOST,
                           self.root + '/nothing', self.local + '/d')


class SshMethodsTestCase(_MethodsMixin, RemoteFSBase):
    transport = 'ssh'

    def test_copy_from_replaces_a_local_link(self):
        victim = self.write(os.path.join(self.instances_path, 'victim'),
                            b'keep')
        os.symlink(victim, self.local + '/d')
        self.write(self.root + '/d', b'remote')
        self.fs.copy_from(HOST, self.root + '/d', self.local + '/d')
        self.assertEqual(b'keep', self.read(victim))
        self.assertEqual(b'remote', self.read(self.local + '/d'))


class GuardedPeer(LocalPeer):
    """A peer whose key has nova-remotefs-guard as forced command:
    every script remotefs sends must pass it."""

    def __init__(self, roots):
        super().__init__()
        self.roots = roots

    def __call__(self, *argv, **kw):
        if argv[0] == 'ssh' and not self.fail:
            try:
                remotefs_guard.check(argv[-1], self.roots)
            except remotefs_guard.Refused as e:
                raise AssertionError('the guard refused a script of '
                                     'remotefs: %s\n%s' % (e, argv[-1]))
        return super().__call__(*argv, **kw)


class GuardedSshMethodsTestCase(_MethodsMixin, RemoteFSBase):
    """Every script of the ssh transport is one the guard lets run."""
    transport = 'ssh'

    def setUp(self):
        super().setUp()
        self.peer = GuardedPeer({self.root})
        self.useFixture(fixtures.MockPatch(
            'oslo_concurrency.processutils.execute', side_effect=self.peer))


class RsyncMethodsTestCase(_MethodsMixin, RemoteFSBase):
    transport = 'rsync'

    def test_rsync_is_told_to_send_no_links(self):
        os.mkdir(self.root + '/u1')
        self.fs.copy_to(HOST, self.write(self.local + '/d'),
                        self.root + '/u1/d')
        argv = [c for c in self.peer.calls if c[0] == 'rsync'][0]
        for opt in ('--no-links', '--no-devices', '--no-specials'):
            self.assertIn(opt, argv)
        for opt in ('-a', '--archive', '--links', '--copy-links', '-L',
                    '--copy-unsafe-links', '-r', '--recursive'):
            self.assertNotIn(opt, argv)
        self.assertIn('%s:%s' % (HOST, self.root + '/u1/d'), argv)

    def test_silent_rsync_failure_is_explained_by_ssh(self):
        # rsync can end with code 11 and no message on a full disk; the
        # ssh copy that follows either lands the file or says why.
        os.mkdir(self.root + '/u1')
        orig = self.peer

        def rsync_fails(*argv, **kw):
            if argv[0] == 'rsync':
                raise processutils.ProcessExecutionError(exit_code=11,
                                                         stderr='')
            return orig(*argv, **kw)
        self.useFixture(fixtures.MockPatch(
            'oslo_concurrency.processutils.execute',
            side_effect=rsync_fails))
        self.fs.copy_to(HOST, self.write(self.local + '/d', b'ok'),
                        self.root + '/u1/d')
        self.assertEqual(b'ok', self.read(self.root + '/u1/d'))


class PeerListingTestCase(RemoteFSBase):
    """copy_from reads the peer's listing of what to fetch: a peer that
    answers something else gets an error naming it, never a
    traceback."""

    def test_malformed_listings(self):
        for out in ('', '\0', 'dir\0x name\0', 'dir\0644\0',
                    'file\0', 'file\0644 y\0', 'link\0',
                    'dir\0644 ../up\0', 'dir\0644 a/b\0'):
            self.useFixture(fixtures.MockPatchObject(
                self.fs, '_ssh', return_value=out))
            self.assertRefused('unexpected answer', self.fs.copy_from,
                               HOST, self.root + '/u1', self.local + '/u1')
        self.assertEqual([], os.listdir(self.local))


class ErrorsTestCase(RemoteFSBase):
    """Each cause, as the real ssh/coreutils/rsync print it."""

    CASES = (
        ('ssh: connect to host 192.0.2.2 port 22: Connection refused',
         255, 'connection refused'),
        ('root@192.0.2.2: Permission denied (publickey).', 255,
         'authentication refused'),
        ('@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\n'
         'Host key verification failed.', 255, 'host key mismatch'),
        ('No ED25519 host key is known for [192.0.2.2]:22 and you have '
         'requested strict checking.\nHost key verification failed.', 255,
         'host key unknown'),
        ('ssh: connect to host 192.0.2.2 port 22: Connection timed out',
         255, 'timed out'),
        ('Timeout, server 192.0.2.2 not responding.', 255, 'timed out'),
        ("dd: error writing '/p/x': No space left on device", 1,
         'disk full'),
        ('rsync: [receiver] write failed on "/p/x": No space left on '
         'device (28)', 11, 'disk full'),
        ("mkdir: cannot create directory '/p/x': Permission denied", 1,
         'permission denied'),
        ("dd: failed to open '/p/x': Read-only file system", 1,
         'permission denied'),
        ('kex_exchange_identification: Connection closed by remote host',
         255, 'connection closed by the peer'),
    )

    def test_each_cause(self):
        os.mkdir(self.root + '/u1')
        src = self.write(self.local + '/d')
        calls = (lambda: self.fs.create_dir(HOST, self.root + '/u2'),
                 lambda: self.fs.remove_dir(HOST, self.root + '/' + U1),
                 lambda: self.fs.copy_to(HOST, src, self.root + '/u1/d'),
                 lambda: self.fs.copy_from(HOST, self.root + '/u1',
                                           self.local + '/u1'))
        for stderr, code, cause in self.CASES:
            for call in calls:
                self.peer.fail = (code, stderr)
                e = self.assertRaises(remotefs.RemoteFSError, call)
                self.assertIn('on %s failed: %s' % (HOST, cause), str(e))
                self.assertIsInstance(e, remotefs.exception.NovaException)

    def test_unknown_cause_keeps_the_exit_code_and_message(self):
        self.peer.fail = (7, 'something odd\n')
        e = self.assertRaises(remotefs.RemoteFSError, self.fs.create_dir,
                              HOST, self.root + '/u')
        self.assertIn('exit code 7 (something odd)', str(e))

    def test_missing_ssh_binary(self):
        self.useFixture(fixtures.MockPatch(
            'oslo_concurrency.processutils.execute',
            side_effect=FileNotFoundError(2, 'No such file or directory')))
        self.assertRefused('cannot run ssh', self.fs.create_dir, HOST,
                           self.root + '/u')
