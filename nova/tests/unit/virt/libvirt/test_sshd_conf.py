"""The documented sshd settings, and the rig's, take keys and nothing else.

deployment-multihost.rst ("Remote file system transport (ssh)") is what
operators copy; tools/two-hosts.sh writes the rig's sshd_config. Both
must refuse passwords, forwarding and terminals and bound the logins in
progress; the documented authorized_keys line must be restricted to the
source's address. The live behaviour is in the functional
SshLoginTestCase and SshPathsTestCase.
"""

import os
import re

import nova.conf
from nova import test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))))
DOC = os.path.join(ROOT, 'doc/source/admin/deployment-multihost.rst')
RIG = os.path.join(ROOT, 'tools/two-hosts.sh')


def _read(path):
    with open(path) as f:
        return f.read()


def _section(text):
    start = text.index('Remote file system transport (ssh)\n---')
    return text[start:text.index('\nThreat model\n', start)]


def _keywords(block):
    return {m.group(1).lower(): m.group(2).strip() for m in
            re.finditer(r'^\s*([A-Z][A-Za-z]+) +(\S.*)$', block, re.M)}


def _documented_sshd():
    section = _section(_read(DOC))
    start = section.index('ListenAddress')
    return _keywords(section[start:section.index('\n\n', start)])


def _rig_sshd():
    text = _read(RIG)
    start = text.index('ListenAddress $addr')
    block = text[start:text.index('\nEOF', start)]
    # The script's readonly values, as the shell expands them.
    for name, value in re.findall(r'\b(SSH_\w+)=(\d+)\b', text):
        block = block.replace('$' + name, value)
    return _keywords(block)


class SshdConfTestCase(test.TestCase):
    def _check(self, conf):
        self.assertEqual('no', conf['passwordauthentication'])
        self.assertEqual('no', conf['kbdinteractiveauthentication'])
        self.assertIn(conf['permitrootlogin'],
                      ('no', 'prohibit-password'))
        self.assertEqual('yes', conf['disableforwarding'])
        self.assertEqual('no', conf['permittty'])
        self.assertTrue(conf['allowusers'])
        self.assertNotIn('*', conf['allowusers'])
        start, rate, full = conf['maxstartups'].split(':')
        self.assertLess(int(start), int(full))
        self.assertGreater(int(conf['logingracetime']), 0)
        self.assertLessEqual(int(conf['logingracetime']), 60)

    def test_documented(self):
        self._check(_documented_sshd())

    def test_rig(self):
        conf = _rig_sshd()
        self._check(conf)
        self.assertEqual('no', conf['usepam'])
        self.assertEqual('no', conf['allowagentforwarding'])
        self.assertEqual('no', conf['permituserrc'])

    def test_documented_key_line_is_restricted(self):
        line = re.search(r'^\s+(restrict(?:[^\s"]|"[^"]*")* ssh-\S+ .*)$',
                         _section(_read(DOC)), re.M).group(1)
        self.assertIn('from="', line)
        # A5: the key runs nova-remotefs-guard only.
        self.assertIn(',command="/usr/bin/nova-remotefs-guard '
                      '--allowed-path ', line)

    def test_documented_options_exist(self):
        names = set(re.findall(r'^\s+(remote_filesystem_\w+) =',
                               _section(_read(DOC)), re.M))
        self.assertGreaterEqual(len(names), 6)
        known = {opt.name for opt in
                 nova.conf.libvirt.list_opts()[
                     nova.conf.libvirt.libvirt_group]}
        self.assertEqual(set(), names - known)
