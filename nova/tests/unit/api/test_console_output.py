import re
from unittest import mock

import hypothesis
from hypothesis import strategies as st

from nova.api.openstack.compute import console_output
from nova import exception
from nova import test
from nova.tests.unit.api import base

LOG = b'one\ntwo\nthree\n'
ABSENT = object()


class ConsoleOutputAPITestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()

    def get_output(self, length=ABSENT, data=LOG, server_id=None, **kw):
        server_id = server_id or self.server['uuid']
        self.compute.console_output[self.server['uuid']] = data
        args = {} if length is ABSENT else {'length': length}
        return self.action(server_id, {'os-getConsoleOutput': args}, **kw)

    def assertOutput(self, expected, response):
        self.assertStatus(200, response)
        self.assertEqual({'output': expected}, self.json(response))

    def test_everything(self):
        for length in (ABSENT, None, -1, '-1', '-01'):
            self.assertOutput('one\ntwo\nthree\n', self.get_output(length))

    def test_zero_is_nothing(self):
        for length in (0, '0', '-0', '000'):
            self.assertOutput('', self.get_output(length))

    def test_last_lines_with_trailing_newline(self):
        for length, expected in ((1, 'three\n'), (2, 'two\nthree\n'),
                                 (3, 'one\ntwo\nthree\n'),
                                 (4, 'one\ntwo\nthree\n'),
                                 ('2', 'two\nthree\n'),
                                 (10 ** 30, 'one\ntwo\nthree\n')):
            self.assertOutput(expected, self.get_output(length))
        self.assertOutput('b\n', self.get_output(1, data=b'a\nb\n'))

    def test_last_lines_without_trailing_newline(self):
        data = b'one\ntwo\nthree'
        self.assertOutput('three', self.get_output(1, data=data))
        self.assertOutput('two\nthree', self.get_output(2, data=data))
        self.assertOutput('one\ntwo\nthree', self.get_output(5, data=data))

    def test_empty_lines_count(self):
        self.assertOutput('\n', self.get_output(1, data=b'a\n\n'))
        self.assertOutput('\n\n', self.get_output(2, data=b'a\n\n\n'))
        self.assertOutput('\n', self.get_output(1, data=b'\n'))
        self.assertOutput('', self.get_output(3, data=b''))

    def test_utf8_is_kept(self):
        data = 'héllo ✓\nñ 日本\n'.encode('utf-8')
        self.assertOutput('héllo ✓\nñ 日本\n', self.get_output(data=data))
        self.assertOutput('ñ 日本\n', self.get_output(1, data=data))

    def test_invalid_utf8_is_replaced(self):
        self.assertOutput('a\ufffdb\n', self.get_output(data=b'a\xffb\n'))

    def test_control_characters_removed(self):
        data = b'a\x00b\x07c\x1b[0m\r\nd\te\x0bf\x0cg\x1fh\x7f\n'
        self.assertOutput('abc[0m\nd\tefgh\x7f\n', self.get_output(data=data))
        # \r\n line ends become \n and count as one line end.
        self.assertOutput('y\r\n'.replace('\r', ''),
                          self.get_output(1, data=b'x\r\ny\r\n'))

    def test_length_reaches_the_compute_api_as_tail_length(self):
        # So the compute host cuts the lines (RPC API 2.1) and only they
        # cross RPC; every line is None.
        for length, tail_length in ((ABSENT, None), (None, None),
                                    (-1, None), ('-1', None), (0, 0),
                                    ('2', 2), (7, 7)):
            self.get_output(length)
            self.assertEqual(tail_length,
                             self.compute.console_tail_lengths[-1], length)

    def test_bad_length_is_400_naming_length(self):
        for length in (True, False, 1.5, 1.0, -2, -100, 'abc', '1.5', '-2',
                       '', ' 1', '1 ', '1\n', '+1', '0x10', '１', [], {},
                       '9' * 5000):
            response = self.get_output(length)
            self.assertFault(response, 400, 'badRequest', 'length')
        self.assertNotIn('get_console_output',
                         [call[0] for call in self.compute.calls])

    def test_other_schema_errors(self):
        for body, field in (
                ({'os-getConsoleOutput': None}, 'os-getConsoleOutput'),
                ({'os-getConsoleOutput': []}, 'os-getConsoleOutput'),
                ({'os-getConsoleOutput': {'lines': 1}},
                 'os-getConsoleOutput.lines')):
            self.assertFault(self.action(self.server['uuid'], body), 400,
                             'badRequest', 'field/attribute %s:' % field)

    def test_compute_errors(self):
        building = self.compute.add_server(status='BUILD')
        response = self.action(building['uuid'], {'os-getConsoleOutput': {}})
        self.assertFault(response, 409, 'conflictingRequest', 'not ready')

        no_log = self.compute.add_server()
        response = self.action(no_log['uuid'], {'os-getConsoleOutput': {}})
        self.assertFault(response, 404, 'itemNotFound', 'no console log')

        for server_id in ('nope', self.compute.add_server(
                project_id='other')['uuid']):
            self.assertFault(self.get_output(server_id=server_id), 404,
                             'itemNotFound', server_id)

        self.compute.fail['get_console_output'] = (
            exception.ConsoleLogUnreadable(
                path='/var/lib/nova/instances/x/console.log',
                reason='Permission denied'))
        response = self.get_output()
        self.assertFault(response, 500, 'computeFault',
                         'console log cannot be read', 'request id')
        self.assertNotIn('/var/lib/nova', response.text)

        # A planted link: a clear conflict naming the file, never a 500.
        self.compute.fail['get_console_output'] = (
            exception.InstanceFileUnsafe(
                path='/var/lib/nova/instances/x/console.log',
                reason='a symbolic link; not following it'))
        self.assertFault(self.get_output(), 409, 'conflictingRequest',
                         'Refusing to use /var/lib/nova/instances/x/'
                         'console.log: a symbolic link')

        self.compute.fail['get_console_output'] = NotImplementedError()
        self.assertFault(self.get_output(), 501, 'notImplemented')

    def test_available_at_every_version(self):
        for version in ('2.1', '2.5', '2.6'):
            self.assertOutput('three\n', self.get_output(1, version=version))


class LastLinesTestCase(test.TestCase):
    @hypothesis.settings(max_examples=60, deadline=None, database=None)
    @hypothesis.given(
        lines=st.lists(st.text(st.characters(exclude_characters='\n'),
                               max_size=5), max_size=8),
        trailing_newline=st.booleans(),
        length=st.integers(min_value=1, max_value=12))
    def test_last_n_lines(self, lines, trailing_newline, length):
        # 'a\n' is one line with a newline, not 'a' and an empty line.
        hypothesis.assume(trailing_newline or len(lines) < 2 or lines[-1])
        text = '\n'.join(lines) + ('\n' if trailing_newline and lines
                                   else '')
        result = console_output.last_lines(text, length)
        self.assertTrue(text.endswith(result))
        if not lines:
            self.assertEqual('', result)
            return
        expected = '\n'.join(lines[-length:])
        if trailing_newline:
            expected += '\n'
        self.assertEqual(expected, result)

    def test_parse_length(self):
        self.assertEqual(console_output.ALL_LINES,
                         console_output.parse_length(None))
        self.assertEqual(console_output.ALL_LINES,
                         console_output.parse_length('-1'))
        self.assertEqual(7, console_output.parse_length('007'))
        self.assertRaises(ValueError, console_output.parse_length, -2)


class OneReadTestCase(base.APITestCase):
    def test_server_read_once_and_handed_on(self):
        server = self.compute.add_server()
        self.compute.console_output[server['uuid']] = LOG
        response = self.action(server['uuid'], {'os-getConsoleOutput': {}})
        self.assertEqual(200, response.status_int, response.body)
        reads = [call for call in self.compute.calls if call[0] == 'get']
        self.assertEqual([('get', server['uuid'])], reads)
        self.assertEqual(server['uuid'],
                         self.compute.console_servers[-1]['uuid'])


def _old_output_text(data, length):
    """What the API answered before: the whole log decoded, filtered by
    a regular expression, then cut to ``length`` lines."""
    text = re.sub('[\x00-\x08\x0b-\x1f]', '',
                  data.decode('utf-8', errors='replace'))
    return console_output.last_lines(text, length)


# Bytes a log is made of, weighted towards what changes the answer: line
# ends, control characters, UTF-8 lead and continuation bytes.
_LOG_BYTES = st.binary(max_size=200) | st.lists(
    st.sampled_from([b'\n', b'\r', b'\r\n', b'\x00', b'\x1b', b'\x7f',
                     b'\t', b'a', b'\xc3', b'\xa9', b'\xe2\x82',
                     b'\xac', b'\xf0\x9f\x98\x80', b'\xff', b'\n\n']),
    max_size=60).map(b''.join)


class OutputTextTestCase(test.TestCase):
    @hypothesis.settings(max_examples=400, deadline=None, database=None)
    @hypothesis.given(data=_LOG_BYTES,
                      length=st.integers(min_value=-1, max_value=12))
    @hypothesis.example(data=b'\n\x00', length=1)
    def test_same_text_as_before(self, data, length):
        self.assertEqual(_old_output_text(data, length),
                         console_output.output_text(data, length))

    @hypothesis.settings(max_examples=200, deadline=None, database=None)
    @hypothesis.given(text=st.text(max_size=80))
    def test_filter_same_as_regex_on_any_text(self, text):
        # Lone surrogates included (the character by character path).
        self.assertEqual(re.sub('[\x00-\x08\x0b-\x1f]', '', text),
                         console_output.remove_control_characters(text))

    def test_only_what_is_returned_is_decoded_and_filtered(self):
        data = b''.join(b'line %05d\x1b[0m\r\n' % i for i in range(8000))
        self.assertGreater(len(data), 100 * 1024)
        with mock.patch.object(
                console_output, 'remove_control_characters',
                wraps=console_output.remove_control_characters) as filt:
            self.assertEqual('line 07999[0m\n',
                             console_output.output_text(data, 1))
        (text,), _ = filt.call_args
        self.assertEqual('line 07999\x1b[0m\r\n', text)

    def test_str_from_a_host(self):
        self.assertEqual('b\n', console_output.output_text('a\n\x07b\r\n',
                                                           1))

    def test_last_line_of_control_characters_alone(self):
        # Found by test_same_text_as_before: once its control characters
        # are gone the last line is empty, and the text ends with the
        # newline before it, as when the whole log was filtered first.
        for data, expected in ((b'\n\x00', '\n'), (b'a\nb\n\r', 'b\n'),
                               (b'a\nb\r\n\x1b', 'b\n')):
            self.assertEqual(expected, console_output.output_text(data, 1))
            self.assertEqual(expected, _old_output_text(data, 1))
