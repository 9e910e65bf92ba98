"""A shelved guest's console log: read at the offload, written back at
the unshelve (nova.virt.libvirt.shelve_log), and the object it travels
in (nova.objects.shelve)."""

import base64
import os
import zlib

from nova import exception
from nova.objects import shelve as shelve_obj
from nova import test
from nova.virt.libvirt import console_log
from nova.virt.libvirt import shelve_log

UUID = 'a3c5e1f0-1111-4c3e-9a55-0f1d2a3b4c5d'


class ShelveLogTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.instances_path, UUID)
        os.makedirs(self.dir, 0o700)
        os.chmod(self.instances_path, 0o755)

    def _write(self, name, data):
        with open(os.path.join(self.dir, name), 'wb') as f:
            f.write(data)

    def _chain(self):
        # virtlogd's: .1 oldest, .0, then console.log.
        self._write('console.log.1', b'first boot\n')
        self._write('console.log.0', b'second boot\n')
        self._write('console.log', b'third boot\n')

    def test_read_keeps_the_chain_oldest_first(self):
        self._chain()
        log = shelve_log.read_log(self.dir, 1000, virtlogd=True)
        self.assertEqual([('console.log.1', b'first boot\n'),
                          ('console.log.0', b'second boot\n'),
                          ('console.log', b'third boot\n')], log.contents())
        self.assertFalse(log.truncated)
        self.assertTrue(log.virtlogd)

    def test_read_keeps_the_newest_bytes_within_the_bound(self):
        self._chain()
        log = shelve_log.read_log(self.dir, 15, virtlogd=True)
        self.assertEqual(b'boot\nthird boot\n'[-15:], log.history())
        self.assertEqual(['console.log.0', 'console.log'], log.files)
        self.assertTrue(log.truncated)
        self.assertEqual(4 * 2 * 1024 * 1024, shelve_log.bound(
            2 * 1024 * 1024, 3))

    def test_no_log_is_none(self):
        self.assertIsNone(shelve_log.read_log(self.dir, 100, True))

    def test_a_planted_link_is_refused_not_followed(self):
        secret = os.path.join(self.instances_path, 'secret')
        with open(secret, 'wb') as f:
            f.write(b'host secret')
        self._write('console.log', b'mine\n')
        os.symlink(secret, os.path.join(self.dir, 'console.log.0'))
        e = self.assertRaises(exception.InstanceFileUnsafe,
                              shelve_log.read_log, self.dir, 100, True)
        self.assertNotIn('host secret', str(e))

    def test_written_back_as_backups_recut_to_this_host(self):
        history = b''.join(b'line %03d\n' % i for i in range(30))  # 270 B
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log.0', history[:100]),
             ('console.log', history[100:])])
        names = shelve_log.write_log(self.dir, log, True, max_size=64,
                                     max_backups=3)
        self.assertEqual(['console.log.0', 'console.log.1',
                          'console.log.2'], names)
        for name in names:
            self.assertLessEqual(
                os.path.getsize(os.path.join(self.dir, name)), 64)
            self.assertEqual(0o600, os.stat(
                os.path.join(self.dir, name)).st_mode & 0o777)
        # Then the new boot writes console.log: the reader returns the
        # newest history followed by it, nothing twice.
        self._write('console.log', b'new boot\n')
        out = console_log.read_log_tail(os.path.join(self.dir,
                                                     'console.log'), 10000)
        self.assertEqual(history[-192:] + b'new boot\n', out)

    def test_written_back_unchanged_without_virtlogd(self):
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log', b'old host log\n')], virtlogd=False)
        self.assertEqual(['console.log'], shelve_log.write_log(
            self.dir, log, False, 64, 3))
        with open(os.path.join(self.dir, 'console.log'), 'rb') as f:
            self.assertEqual(b'old host log\n', f.read())

    def test_write_never_opens_what_is_there(self):
        target = os.path.join(self.instances_path, 'target')
        with open(target, 'wb') as f:
            f.write(b'untouched')
        os.symlink(target, os.path.join(self.dir, 'console.log.0'))
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log', b'x' * 10)])
        self.assertRaises(exception.InstanceFileUnsafe,
                          shelve_log.write_log, self.dir, log, True, 64, 3)
        with open(target, 'rb') as f:
            self.assertEqual(b'untouched', f.read())

    def test_clear_dir_moves_a_left_folder_aside(self):
        self._write('console.log', b'stale')
        shelve_log.clear_dir(self.dir)
        self.assertFalse(os.path.exists(self.dir))
        self.assertEqual(1, len([n for n in os.listdir(self.instances_path)
                                 if n.startswith(UUID + '.orphaned-')]))


class ShelvedConsoleLogTestCase(test.TestCase):
    def test_round_trip(self):
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log.0', b'\x1b[0mold'), ('console.log', b'new')])
        self.assertEqual(b'\x1b[0moldnew', log.history())
        self.assertEqual(10, log.total)

    def test_bad_names_and_sizes_are_refused(self):
        for files in (['../etc/passwd'], ['console.log', 'console.log'],
                      ['disk'], ['console.log.01'], 'console.log'):
            self.assertRaises(ValueError, shelve_obj.ShelvedConsoleLog,
                              files=files)
        for sizes in ([-1], [True], [shelve_obj.MAX_LOG_BYTES + 1], 'x'):
            self.assertRaises(ValueError, shelve_obj.ShelvedConsoleLog,
                              sizes=sizes)

    def test_data_that_does_not_match_its_sizes(self):
        def forged(blob, sizes, names=('console.log',)):
            return shelve_obj.ShelvedConsoleLog(
                files=list(names), sizes=sizes,
                data=base64.b64encode(zlib.compress(blob)).decode())
        # A bomb: a small message that inflates far past what it says.
        bomb = forged(b'\0' * (50 * 1024 * 1024), [10])
        self.assertRaises(shelve_obj.BadConsoleLog, bomb.contents)
        self.assertRaises(shelve_obj.BadConsoleLog,
                          forged(b'abc', [5]).contents)
        self.assertRaises(shelve_obj.BadConsoleLog,
                          forged(b'abc', [3], names=()).contents)
        broken = forged(b'abc', [3])
        broken.data = '!!not base64'
        self.assertRaises(shelve_obj.BadConsoleLog, broken.contents)
