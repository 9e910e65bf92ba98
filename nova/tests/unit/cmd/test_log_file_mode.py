"""The services' log files are private to their owner."""

import logging
import logging.handlers
import os
import stat

import fixtures
from oslo_log import log as oslo_logging

from nova.cmd import common
from nova import test


class LogFileModeTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.tmp, 'nova.log')
        oslo_logging.register_options(common.CONF)
        # The usual umask, which alone gives 0644 files.
        old_umask = os.umask(0o022)
        self.addCleanup(os.umask, old_umask)
        # oslo.log replaces the root logger's handlers: put them back.
        root = logging.getLogger()
        saved = (list(root.handlers), root.level)
        self.addCleanup(self._restore, root, saved)
        self.warnings = []
        self.useFixture(fixtures.MockPatchObject(
            common.LOG, 'warning',
            side_effect=lambda msg, *a: self.warnings.append(msg % a)))

    @staticmethod
    def _restore(root, saved):
        for handler in list(root.handlers):
            if handler not in saved[0]:
                root.removeHandler(handler)
                handler.close()
        for handler in saved[0]:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(saved[1])

    def mode(self, path=None):
        return stat.S_IMODE(os.stat(path or self.path).st_mode)

    def file_handler(self):
        handlers = [h for h in logging.getLogger().handlers
                    if isinstance(h, logging.FileHandler)]
        self.assertEqual(1, len(handlers))
        return handlers[0]

    def test_new_log_file_is_0600(self):
        self.flags(log_file=self.path, use_stderr=False)
        common.setup_logging(common.CONF)
        logging.getLogger('nova.test').warning('fault text')
        self.assertEqual(0o600, self.mode())
        self.assertEqual([], self.warnings)
        # The umask is the process's again.
        self.assertEqual(0o022, os.umask(0o022))

    def test_log_dir_and_file(self):
        self.flags(log_dir=self.tmp, log_file='nova-all.log',
                   use_stderr=False)
        common.setup_logging(common.CONF)
        self.assertEqual(0o600, self.mode(os.path.join(self.tmp,
                                                       'nova-all.log')))

    def test_existing_file_keeps_its_mode_with_a_warning(self):
        with open(self.path, 'w'):
            pass
        os.chmod(self.path, 0o640)
        self.flags(log_file=self.path, use_stderr=False)
        common.setup_logging(common.CONF)
        self.assertEqual(0o640, self.mode())
        self.assertEqual(1, len(self.warnings))
        self.assertIn(self.path, self.warnings[0])
        self.assertIn('0640', self.warnings[0])

    def test_existing_private_file_no_warning(self):
        fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        self.flags(log_file=self.path, use_stderr=False)
        common.setup_logging(common.CONF)
        self.assertEqual([], self.warnings)

    def test_file_after_rotation_is_0600(self):
        self.flags(log_file=self.path, use_stderr=False,
                   log_rotation_type='size', max_logfile_count=2)
        common.setup_logging(common.CONF)
        handler = self.file_handler()
        self.assertIsInstance(handler, logging.handlers.RotatingFileHandler)
        handler.doRollover()
        self.assertEqual(0o600, self.mode())
        self.assertEqual(0o600, self.mode(self.path + '.1'))

    def test_file_reopened_after_logrotate_is_0600(self):
        # oslo.log's handler without rotation reopens a moved file.
        self.flags(log_file=self.path, use_stderr=False)
        common.setup_logging(common.CONF)
        self.assertIsInstance(self.file_handler(),
                              logging.handlers.WatchedFileHandler)
        os.rename(self.path, self.path + '.old')
        logging.getLogger('nova.test').warning('after rotation')
        self.assertEqual(0o600, self.mode())
