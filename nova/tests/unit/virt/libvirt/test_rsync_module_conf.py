"""The documented rsync daemon module takes console logs and nothing else.

serial-console.rst ("Setting up the rsync daemon") is what operators copy;
a module without these settings lets any holder of one host's password
read every guest's disk, replace it, delete instance files and chmod the
instances folder. The live behaviour is in the functional
RsyncDaemonLoginTestCase (tools/two-hosts.sh writes the same settings).
"""

import os
import re

from nova import test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))))
UUID_GLOB = '-'.join('[0-9a-f]' * n for n in (8, 4, 4, 4, 12))


def _documented_conf():
    with open(os.path.join(ROOT, 'doc/source/admin/serial-console.rst')) as f:
        text = f.read()
    start = text.index('and ``/etc/rsyncd.conf``')
    block = text[start:text.index('Every source host then needs', start)]
    return {m.group(1).strip().lower(): m.group(2).strip() for m in
            re.finditer(r'^\s+([a-z ]+?)\s*=\s*(.*)$', block, re.M)}


class RsyncModuleConfTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.conf = _documented_conf()

    def test_module_cannot_be_read(self):
        self.assertEqual('yes', self.conf.get('write only'))

    def test_module_takes_console_logs_only(self):
        # No folder inside an instance folder (one named console.log
        # would replace the guest's log), exactly the folder and the names
        # log_transfer sends, then everything else refused. Order matters:
        # the first rule that matches wins.
        self.assertEqual(
            ['- /*/*/',
             '+ /%s' % UUID_GLOB,
             '+ /%s/console.log' % UUID_GLOB,
             '+ /%s/console.log.[0-9]' % UUID_GLOB,
             '+ /%s/console.log.[1-9][0-9]' % UUID_GLOB,
             '- *'],
            re.findall(r'[-+] \S+', self.conf.get('filter', '')))

    def test_every_option_but_the_copys_refused(self):
        refused = self.conf.get('refuse options', '').split()
        self.assertEqual('*', refused[0])
        self.assertEqual({'!recursive', '!times', '!timeout'},
                         set(refused[1:]))

    def test_modes_forced(self):
        self.assertEqual('D700,F600', self.conf.get('incoming chmod'))

    def test_connections_are_bounded(self):
        self.assertGreater(int(self.conf.get('timeout', 0)), 0)
        self.assertGreater(int(self.conf.get('max connections', 0)), 0)
        self.assertIn('lock file', self.conf)

    def test_confined(self):
        self.assertEqual('yes', self.conf.get('use chroot'))
        self.assertEqual('yes', self.conf.get('munge symlinks'))
        self.assertEqual('*', self.conf.get('hosts deny'))
        self.assertNotIn('/', self.conf.get('hosts allow'))
