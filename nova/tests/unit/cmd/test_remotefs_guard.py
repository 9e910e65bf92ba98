"""nova-remotefs-guard: the sshd forced command that lets a peer run
remotefs's scripts, below the allowed paths, and nothing else."""

import io
import os
from unittest import mock

from nova.cmd import remotefs_guard as guard
from nova import test

ROOT = '/var/lib/nova/instances'
ROOTS = {ROOT, '/srv/other'}
U1 = '3f2a9c1e-8b7d-4e6f-a5c4-2d1b0e9f8a7c'
D1 = ROOT + '/' + U1


def script(name, **values):
    text = guard.SCRIPTS[name]
    for key, value in values.items():
        text = text.replace('{%s}' % key, value)
    return guard.PRELUDE + text


GOOD = {
    'create_dir': script('create_dir', C='%s %s' % (ROOT, D1)),
    'remove_dir': script('remove_dir', C='%s %s' % (ROOT, D1), P=D1),
    'check_target': script('check_target', C='%s %s' % (ROOT, D1),
                           F=D1, P=D1 + '/disk'),
    'list': script('list', C='%s %s' % (ROOT, D1), P=D1),
    'put': script('put', C='%s %s' % (ROOT, D1), M='600',
                  T=D1 + '/.console.log.remotefs-0123456789ab',
                  P=D1 + '/console.log'),
    'get': script('get', C='%s %s %s' % (ROOT, D1, D1 + '/disk'),
                  P=D1 + '/disk'),
    'check_chain': script('check_chain', C=ROOT),
}


class CheckTestCase(test.TestCase):
    def assertRefused(self, command, why='', allow_rsync=False):
        e = self.assertRaises(guard.Refused, guard.check, command, ROOTS,
                              allow_rsync)
        self.assertIn(why, str(e))

    def test_remotefs_scripts_within_the_roots_run_with_sh(self):
        for name, command in GOOD.items():
            self.assertEqual(['/bin/sh', '-c', command],
                             guard.check(command, ROOTS), name)
        self.assertEqual(['true'], guard.check('true', ROOTS))

    def test_anything_else_is_refused(self):
        for command in ('', 'id', 'sh', '/bin/sh -i', 'true; id',
                        'true\nid', 'bash -c true', guard.PRELUDE,
                        guard.PRELUDE + 'id\n',
                        GOOD['get'] + 'id\n', GOOD['get'] + ' ',
                        'id\n' + GOOD['get'],
                        GOOD['get'].replace('set -e', 'set +e'),
                        'scp -t /root/.ssh/authorized_keys',
                        'rsync --server -stpe.LsfxCIvu . /etc/'):
            self.assertRefused(command, 'not a command of nova')

    def test_a_login_without_command_nul_or_huge_is_refused(self):
        self.assertRefused(None, 'without a command')
        self.assertRefused(GOOD['get'].replace('disk', 'di\0sk'), 'NUL')
        self.assertRefused(GOOD['get'] + '#' * guard.MAX_COMMAND,
                           'too long')

    def test_paths_outside_the_roots_are_refused(self):
        for chain, path in (
                ('/etc /etc/shadow', '/etc/shadow'),
                ('/ /etc', '/etc'),
                ('/var/lib/nova /var/lib/nova/instances',
                 '/var/lib/nova/instances'),
                (ROOT + '/ ' + D1, D1)):
            self.assertRefused(script('get', C=chain, P=path),
                               'not an allowed path')

    def test_chains_that_skip_or_leave_a_folder_are_refused(self):
        for chain, path in (
                ('%s /etc/shadow' % ROOT, '/etc/shadow'),
                ('%s %s/a/b' % (ROOT, ROOT), ROOT + '/a/b'),
                ('%s %s/../x' % (ROOT, ROOT), ROOT + '/../x'),
                ('%s %s/.' % (ROOT, ROOT), ROOT + '/.'),
                ('%s %s' % (ROOT, ROOT), ROOT),
                ('%s %s//x' % (ROOT, ROOT), ROOT + '//x')):
            self.assertRefused(script('get', C=chain, P=path))

    def test_the_target_must_end_the_chain(self):
        self.assertRefused(script('get', C='%s %s' % (ROOT, D1),
                                  P='/etc/shadow'), 'end of its folder')
        self.assertRefused(script('list', C=ROOT, P=ROOT),
                           'allowed path itself')
        self.assertRefused(script('create_dir', C=ROOT),
                           'allowed path itself')
        # One path repeated in a script: all the same or no match.
        self.assertRefused(GOOD['remove_dir'].replace(
            'rm -rf --one-file-system -- ' + D1,
            'rm -rf --one-file-system -- /'))

    def test_remove_dir_takes_instance_folders_only(self):
        for folder in ('_base', '_snapshots', 'not-a-uuid',
                       U1 + '_resize/x'):
            path = ROOT + '/' + folder
            chain = ' '.join([ROOT] + [
                ROOT + '/' + '/'.join(folder.split('/')[:i + 1])
                for i in range(folder.count('/') + 1)])
            self.assertRefused(script('remove_dir', C=chain, P=path))
        resize = D1 + '_resize'
        self.assertEqual(['/bin/sh', '-c', script(
            'remove_dir', C='%s %s' % (ROOT, resize), P=resize)][2],
            guard.check(script('remove_dir', C='%s %s' % (ROOT, resize),
                               P=resize), ROOTS)[2])

    def test_put_writes_only_in_its_folder(self):
        base = dict(C='%s %s' % (ROOT, D1), M='600',
                    T=D1 + '/.console.log.remotefs-0123456789ab',
                    P=D1 + '/console.log')
        for change in ({'P': '/etc/passwd'}, {'P': ROOT + '/x'},
                       {'T': '/tmp/.console.log.remotefs-0123456789ab'},
                       {'T': D1 + '/.other.remotefs-0123456789ab'},
                       {'T': D1 + '/.console.log.remotefs-xyz'},
                       {'M': '4755'}, {'M': 'u+s'}):
            self.assertRefused(script('put', **dict(base, **change)))

    def test_shell_syntax_never_passes_as_a_path(self):
        for evil in (D1 + '/$(id)', D1 + '/`id`', D1 + '/a;id',
                     D1 + '/a b', D1 + "/'x'", D1 + '/a\nid', D1 + '/*',
                     D1 + '/a|id', D1 + '/a&&id', D1 + '/~'):
            self.assertRefused(script('get', C='%s %s %s' % (
                ROOT, D1, evil), P=evil))

    def test_rsync_only_when_allowed_and_only_its_server(self):
        self.assertRefused('rsync --server -stpe.LsfxCIvu')
        for command in ('rsync --server -stpe.LsfxCIvu',
                        'rsync --server --sender -stpe.LsfxCIvu'):
            self.assertEqual(command.split(' '), guard.check(
                command, ROOTS, allow_rsync=True))
        for command in ('rsync --server -stpe.LsfxCIvu . /etc',
                        'rsync --daemon', 'rsync --server -e;id',
                        'rsync --server --rsh=id -s'):
            self.assertRefused(command, allow_rsync=True)


class MainTestCase(test.TestCase):
    def run_main(self, command, *args):
        env = {} if command is None else {'SSH_ORIGINAL_COMMAND': command}
        err = io.StringIO()
        with mock.patch.dict(os.environ, env, clear=True), \
                mock.patch('sys.stderr', err), \
                mock.patch('os.execvp') as execvp:
            code = guard.main(['--allowed-path', ROOT] + list(args))
        return code, err.getvalue(), execvp

    def test_refused_says_why_on_stderr_and_runs_nothing(self):
        for command in (None, 'id', 'cat /etc/shadow'):
            code, err, execvp = self.run_main(command)
            self.assertEqual(guard.REFUSED, code)
            self.assertTrue(err.startswith(
                'remotefs: refused by nova-remotefs-guard: '), err)
            execvp.assert_not_called()

    def test_accepted_is_run(self):
        _code, err, execvp = self.run_main(GOOD['get'])
        execvp.assert_called_once_with(
            '/bin/sh', ['/bin/sh', '-c', GOOD['get']])
        self.assertEqual('', err)

    def test_bad_allowed_paths_are_refused_at_start(self):
        for root in ('/', 'relative', '/a/../b', '/a/'):
            with mock.patch('sys.stderr', io.StringIO()):
                self.assertRaises(SystemExit, guard.main,
                                  ['--allowed-path', root])
