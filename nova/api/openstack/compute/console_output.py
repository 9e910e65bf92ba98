"""The text of os-getConsoleOutput, from the bytes the driver read.

Three fixes over upstream Nova: the log is decoded as UTF-8 (with
replacement), so a guest's UTF-8 output arrives intact; ``length`` -1
means everything; and a trailing newline ends the last line rather than
starting an empty one, so ``"a\\nb\\n"`` with length 1 is ``"b\\n"``.
Control characters other than tab and newline are removed, as Nova does
(\\r included).
"""

import re

ALL_LINES = -1
_CONTROL_CHARACTERS = re.compile('[\x00-\x08\x0b-\x1f]')


def parse_length(value):
    """``length`` as an int, ALL_LINES for everything; ValueError if bad.

    The schema has already limited it to null, an int >= -1 or a string
    of digits with an optional minus.
    """
    if value is None:
        return ALL_LINES
    try:
        length = int(value)
    except ValueError:
        raise ValueError('the number has too many digits')
    if length < ALL_LINES:
        raise ValueError('%r is less than the minimum of -1' % (value,))
    return length


def to_text(data):
    if isinstance(data, bytes):
        data = data.decode('utf-8', errors='replace')
    return _CONTROL_CHARACTERS.sub('', data)


def last_lines(text, length):
    if length == ALL_LINES:
        return text
    if length == 0:
        return ''
    ends_with_newline = text.endswith('\n')
    if ends_with_newline:
        text = text[:-1]
    lines = text.split('\n')[-length:]
    return '\n'.join(lines) + ('\n' if ends_with_newline else '')
