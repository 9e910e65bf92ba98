"""nova-compute as the unprivileged user ``nova`` on the real stack.

nova-all (and so nova-compute) runs with uid/gid ``nova``
(nova.tests.functional.unprivileged); virtlogd writes the console log
root's and 0600, so console output reads it through the privsep daemon.
Before nova.privsep, console output failed here ("Permission denied").
"""

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

import websocket

from nova import test
from nova.tests.functional import base
from nova.tests.functional import services
from nova.tests.functional import test_api
from nova.tests.functional import unprivileged
from nova.virt.libvirt import console_log


class _Unprivileged(test_api.APITestCase):
    SERVICES = unprivileged.NovaServices

    def assertRunsAsNova(self):
        uid = self.services.user.pw_uid
        self.assertNotEqual(0, uid)
        self.assertEqual([uid] * 4, self.services.uid_of_nova_all())

    def log_files(self, server):
        folder = os.path.join(self.services.workdir, 'instances', server.id)
        return folder, sorted(n for n in os.listdir(folder)
                              if n.startswith('console.log'))

    def assertRootOnly(self, path):
        """As virtlogd makes it: nova itself cannot read it."""
        st = os.lstat(path)
        self.assertEqual((0, 0o600), (st.st_uid, stat.S_IMODE(st.st_mode)))
        proc = unprivileged.run_as_nova(['cat', path])
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('Permission denied', proc.stderr)


class ConsolesTestCase(_Unprivileged):
    """The real-hypervisor console tests of test_api, nova-all as nova."""

    def test_console_output_and_serial_console_together(self):
        self.assertRunsAsNova()
        test_api.ServerLifecycleTestCase.\
            test_console_output_and_serial_console_together(self)
        server = next(self.conn.compute.servers())
        folder, names = self.log_files(server)
        self.assertEqual(['console.log'], names)
        self.assertRootOnly(os.path.join(folder, 'console.log'))
        st = os.lstat(folder)
        self.assertEqual((self.services.user.pw_uid, 0o700),
                         (st.st_uid, stat.S_IMODE(st.st_mode)))

    def test_hard_reboot_rebuild_delete(self):
        self.assertRunsAsNova()
        test_api.ServerLifecycleTestCase.test_hard_reboot_rebuild_delete(
            self)


class RotatedLogTestCase(_Unprivileged):
    """Console output across virtlogd's rotated, root-only files."""

    MAX_SIZE = 32 * 1024
    MAX_BACKUPS = 3

    def setUp(self):
        super().setUp()
        # virtlogd applies it at once, to logs already open too.
        base.set_virtlogd(self.MAX_SIZE, self.MAX_BACKUPS)
        self.addCleanup(base.set_virtlogd, base.VIRTLOGD_DEFAULT_MAX_SIZE,
                        base.VIRTLOGD_DEFAULT_MAX_BACKUPS)

    def test_output_across_rotated_files(self):
        self.assertRunsAsNova()
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        console = self.shell(self.remote_console_url(server))
        lines = 2000  # 64 bytes a line: about 4 max_size worth
        console.run('chatty %d' % lines, timeout=300)
        output = self.wait_output(server, 'SEQ %06d' % lines, timeout=300)

        folder, names = self.log_files(server)
        self.assertIn('console.log.0', names)
        for name in names:
            self.assertRootOnly(os.path.join(folder, name))
        numbers = [int(n) for n in re.findall(r'SEQ (\d{6}) ', output)]
        # More than the newest file holds: the backups were read too.
        self.assertGreater(len(numbers) * 64, self.MAX_SIZE)
        # In order, nothing missing, ending with the newest line.
        self.assertEqual(list(range(numbers[0], numbers[0] + len(numbers))),
                         numbers)
        self.assertEqual(lines, numbers[-1])


_COPY_SCRIPT = '''
import sys
import nova.conf
from nova.virt.libvirt import log_transfer
CONF = nova.conf.CONF
CONF(['--config-file', sys.argv[1]], project='nova')
uuid, log, dest, dest_dir = sys.argv[2:6]
print(' '.join(log_transfer.copy_console_log(
    uuid, log, dest, as_backups=True, max_size=4096, max_backups=3,
    conf=CONF, dest_dir=dest_dir)))
'''

_SSHD_CONFIG = '''ListenAddress 127.0.0.1
Port %(port)d
HostKey %(dir)s/host_key
PidFile %(dir)s/sshd.pid
AuthorizedKeysFile %(dir)s/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers root
DisableForwarding yes
PermitTTY no
UseDNS no
LoginGraceTime 10
'''


class LogCopyTestCase(base.FunctionalTestCase):
    """The log copy of a live migration, as nova: virtlogd's root-only
    log of a real guest goes over ssh, with nova's own key, to a real
    sshd (on 127.0.0.1, as the destination's would be on the migration
    network)."""

    def setUp(self):
        super().setUp()
        self.user = unprivileged.ensure_nova_user()
        self.work = tempfile.mkdtemp(prefix='nova-logcopy-')
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.dest = os.path.join(self.work, 'dest')
        os.mkdir(self.dest, 0o755)
        # The destination's sshd: a root folder with no world-writable
        # folder above it (sshd's StrictModes refuses /tmp's).
        sshd_dir = tempfile.mkdtemp(prefix='nova-logcopy-sshd-', dir='/run')
        self.addCleanup(shutil.rmtree, sshd_dir, ignore_errors=True)
        # nova's own: its key, known_hosts, config.
        self.mine = os.path.join(self.work, 'nova')
        os.mkdir(self.mine, 0o700)
        key = os.path.join(self.mine, 'id_ed25519')
        for path in (key, os.path.join(sshd_dir, 'host_key')):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '',
                            '-f', path], check=True,
                           stdin=subprocess.DEVNULL)
        with open(key + '.pub') as f:
            pub = f.read()
        with open(os.open(os.path.join(sshd_dir, 'authorized_keys'),
                          os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write('restrict ' + pub)
        port = test.free_port_block(1)
        with open(os.path.join(sshd_dir, 'sshd_config'), 'w') as f:
            f.write(_SSHD_CONFIG % {'port': port, 'dir': sshd_dir})
        os.makedirs('/run/sshd', exist_ok=True)
        self.sshd = subprocess.Popen(
            ['/usr/sbin/sshd', '-D', '-e', '-f',
             os.path.join(sshd_dir, 'sshd_config')],
            stderr=subprocess.PIPE)
        self.addCleanup(services.stop_process, self.sshd)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.sshd.poll():
                    self.fail('sshd not listening: %s'
                              % self.sshd.stderr.read(4000))
                time.sleep(0.1)
        known = os.path.join(self.mine, 'known_hosts')
        with open(os.path.join(sshd_dir, 'host_key.pub')) as f:
            host_key = ' '.join(f.read().split()[:2])
        with open(known, 'w') as f:
            f.write('[127.0.0.1]:%d %s\n' % (port, host_key))
        self.conf_file = os.path.join(self.mine, 'nova.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[libvirt]\nremote_filesystem_ssh_port = %d\n'
                    'remote_filesystem_ssh_user = root\n'
                    'remote_filesystem_ssh_identity_file = %s\n'
                    'remote_filesystem_ssh_known_hosts_file = %s\n'
                    'remote_filesystem_allowed_paths = %s\n'
                    '[nova_console_privsep]\nhelper_command = sudo %s\n'
                    % (port, key, known, self.dest, unprivileged.HELPER))
        for path in (self.work, self.mine, key, key + '.pub', known,
                     self.conf_file):
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def test_root_only_rotated_log_is_copied(self):
        base.set_virtlogd(4096, 3)
        self.addCleanup(base.set_virtlogd, base.VIRTLOGD_DEFAULT_MAX_SIZE,
                        base.VIRTLOGD_DEFAULT_MAX_BACKUPS)
        inst = self.boot()
        self.wait_for_output(inst, rb'NOVA-GUEST-BANNER')
        # The guest left (as after a migration): its folder and log stay.
        self.driver.destroy(None, inst, destroy_disks=False)
        folder = self.driver.instance_dir(inst)
        log = self.driver.console_log_path(inst)
        # What the destination must get: the newest max_size * max_backups.
        expected = console_log.read_log_tail(log, 3 * 4096)
        # The service's folders are nova's; virtlogd's files stay root's.
        for path in (self.instances_path, folder):
            os.chown(path, self.user.pw_uid, self.user.pw_gid)
        names = sorted(n for n in os.listdir(folder)
                       if n.startswith('console.log'))
        self.assertIn('console.log.0', names)
        for name in names:
            st = os.lstat(os.path.join(folder, name))
            self.assertEqual((0, 0o600),
                             (st.st_uid, stat.S_IMODE(st.st_mode)))
        os.mkdir(os.path.join(self.dest, inst.uuid), 0o700)

        proc = unprivileged.run_as_nova(
            [sys.executable, '-c', _COPY_SCRIPT, self.conf_file, inst.uuid,
             log, '127.0.0.1', os.path.join(self.dest, inst.uuid)])
        self.assertEqual(0, proc.returncode, proc.stderr[-3000:])
        sent = proc.stdout.split()
        self.assertIn('console.log.0', sent)
        copied = b''
        for name in sorted(sent, reverse=True):  # .2 .1 .0: oldest first
            with open(os.path.join(self.dest, inst.uuid, name), 'rb') as f:
                copied += f.read()
        self.assertEqual(expected, copied)
        self.assertIn(b'NOVA-GUEST-BANNER', copied)


class LiveConsoleTestCase(_Unprivileged):
    """A read-only viewer with history: the follower in nova-compute holds
    virtlogd's root-only files through descriptors the privsep daemon
    opened, and is woken by appends it may not watch itself."""

    def recv_until(self, ws, needle, got, timeout=120):
        deadline = time.monotonic() + timeout
        while needle not in got:
            if time.monotonic() > deadline:
                self.fail('%r not seen by the viewer: %r'
                          % (needle, got[-500:]))
            data = ws.recv()
            got += data if isinstance(data, bytes) else data.encode()
        return got

    def test_viewer_history_then_live_output(self):
        self.assertRunsAsNova()
        server = self.boot()
        self.wait_output(server, 'NOVA-GUEST-BANNER')
        status, body = self.services.request(
            'POST', '/servers/%s/console-viewers' % server.id,
            {'console_viewer': {}})
        self.assertEqual(200, status, body)
        ws = websocket.create_connection(
            body['console_viewer']['url'] + '&history=65536', timeout=30)
        self.addCleanup(ws.close)
        got = self.recv_until(ws, b'NOVA-GUEST-BANNER', b'')
        shell = self.shell(self.remote_console_url(server))
        shell.run('echo live-$((6*7))')
        self.recv_until(ws, b'live-42', got)
