"""Client text made safe for log lines (nova.console.logtext)."""

from nova.console import logtext
from nova import test


class TestSafe(test.TestCase):
    def test_printable_text_is_kept(self):
        self.assertEqual('bye: going away', logtext.safe('bye: going away'))

    def test_control_and_separator_characters_are_escaped(self):
        self.assertEqual(
            'a\\x0aB\\x0d\\x1b[2J\\x00\\u2028\\x85\\\\x0a',
            logtext.safe('a\nB\r\x1b[2J\x00\u2028\x85\\x0a'))

    def test_long_text_is_cut(self):
        self.assertEqual('x' * 10 + '...', logtext.safe('x' * 11, 10))
        self.assertEqual('x' * 10, logtext.safe('x' * 10, 10))

    def test_bytes_and_other_values(self):
        self.assertEqual('caf\u00e9\ufffd\\x0a',
                         logtext.safe(b'caf\xc3\xa9\xff\n'))
        self.assertEqual('1000', logtext.safe(1000))
