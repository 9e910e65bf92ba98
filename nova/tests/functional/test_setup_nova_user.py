"""tools/setup-nova-user.sh, run again over what user nova left behind.

The script runs as root, again and again (tools/setup-host.sh, every
test process of the unprivileged tests); nova's folders are nova's
between two runs. ``NOVA_STATE_PATH`` points it at a folder of the test
instead of /var/lib/nova, so the host's own stays as it is.
"""

import os
import pwd
import subprocess
import sys
import tempfile

from nova import test
from nova.tests.functional import unprivileged


class SetupNovaUserTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.top = tempfile.mkdtemp(prefix='nova-setup-user-')
        self.addCleanup(subprocess.run, ['rm', '-rf', self.top])
        os.chmod(self.top, 0o755)
        self.state = os.path.join(self.top, 'state')
        # Creates the user if missing; keeps the host's privsep helper
        # as it is when there is one (no --python: see run_setup).
        proc = self.run_setup()
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.user = pwd.getpwnam(unprivileged.USER)
        subprocess.run(['rm', '-rf', self.state], check=True)

    def run_setup(self):
        argv = [unprivileged.SETUP_NOVA_USER]
        if not os.path.exists(unprivileged.HELPER):
            argv += ['--python', sys.executable]
        return subprocess.run(argv, capture_output=True, text=True,
                              env=dict(os.environ,
                                       NOVA_STATE_PATH=self.state))

    def assert_nova_dir(self, path):
        st = os.lstat(path)
        self.assertEqual((self.user.pw_uid, self.user.pw_gid, 0o40755),
                         (st.st_uid, st.st_gid, st.st_mode))

    def test_creates_and_keeps_novas_folders(self):
        for _ in range(2):
            proc = self.run_setup()
            self.assertEqual(0, proc.returncode, proc.stderr)
            self.assert_nova_dir(self.state)
            self.assert_nova_dir(os.path.join(self.state, 'instances'))

    def test_link_left_by_nova_is_not_followed(self):
        # nova owns its state folder: between two runs it may put a link
        # to a folder of root's (/etc, the helper's) where instances was.
        victim = os.path.join(self.top, 'roots')
        os.mkdir(victim, 0o700)
        os.mkdir(self.state, 0o755)
        os.chown(self.state, self.user.pw_uid, self.user.pw_gid)
        instances = os.path.join(self.state, 'instances')
        os.symlink(victim, instances)
        os.lchown(instances, self.user.pw_uid, self.user.pw_gid)
        proc = self.run_setup()
        self.assertEqual(1, proc.returncode)
        self.assertIn('%s is a symbolic link' % instances, proc.stderr)
        st = os.stat(victim)
        self.assertEqual((0, 0, 0o40700), (st.st_uid, st.st_gid,
                                           st.st_mode))
        # The state folder itself, a link, the same.
        os.remove(instances)
        os.rmdir(self.state)
        os.symlink(victim, self.state)
        proc = self.run_setup()
        self.assertEqual(1, proc.returncode)
        self.assertIn('not following it', proc.stderr)
        st = os.stat(victim)
        self.assertEqual((0, 0, 0o40700), (st.st_uid, st.st_gid,
                                           st.st_mode))

    def test_helper_imports_nothing_from_the_callers_folder(self):
        # sudo keeps nova's current folder and "python -m" looks there
        # first: an oslo_privsep/ planted in it must not run as root.
        plant = os.path.join(self.top, 'plant')
        os.makedirs(os.path.join(plant, 'oslo_privsep'))
        proof = os.path.join(self.top, 'ran-as-root')
        with open(os.path.join(plant, 'oslo_privsep', '__init__.py'),
                  'w') as f:
            f.write('open(%r, "w").close()\n' % proof)
        with open(os.path.join(plant, 'oslo_privsep', 'daemon.py'),
                  'w') as f:
            f.write('pass\n')
        subprocess.run(['chown', '-R', '%d:%d' % (self.user.pw_uid,
                                                  self.user.pw_gid), plant],
                       check=True)
        proc = unprivileged.run_as_nova([
            'sh', '-c', 'cd "$1" && exec sudo -n "$2" --privsep_context '
            'nova.privsep.console_pctxt --privsep_sock_path '
            '/tmp/tmpnobody0/privsep.sock', 'sh', plant,
            unprivileged.HELPER])
        self.assertFalse(os.path.exists(proof), proc.stderr)
        # It did start the real daemon, which found no socket there.
        self.assertIn('privsep', proc.stderr)
