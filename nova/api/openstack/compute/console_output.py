"""The text of os-getConsoleOutput, from the bytes the driver read.

Three fixes over upstream Nova: the log is decoded as UTF-8 (with
replacement), so a guest's UTF-8 output arrives intact; ``length`` -1
means everything; and a trailing newline ends the last line rather than
starting an empty one, so ``"a\\nb\\n"`` with length 1 is ``"b\\n"``.
Control characters other than tab and newline are removed, as Nova does
(\\r included).
"""

from nova.compute import console_output as compute_console_output

ALL_LINES = -1
# Removed from the output: C0 control characters but tab and newline.
_CONTROL_BYTES = compute_console_output.CONTROL_BYTES
_CONTROL_TABLE = dict.fromkeys(_CONTROL_BYTES)


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


def remove_control_characters(text):
    """``text`` without its control characters but tab and newline.

    In linear time, at C speed: the text is encoded to UTF-8, in which
    a control character is always its own single byte and no byte of a
    multi-byte character is below 0x80, so deleting those bytes deletes
    exactly those characters. A str that UTF-8 cannot encode (a lone
    surrogate) is filtered character by character instead.
    """
    try:
        raw = text.encode('utf-8')
    except UnicodeEncodeError:
        return text.translate(_CONTROL_TABLE)
    return raw.translate(None, _CONTROL_BYTES).decode('utf-8')


def to_text(data):
    if isinstance(data, bytes):
        data = data.decode('utf-8', errors='replace')
    return remove_control_characters(data)


def output_text(data, length):
    """The ``output`` of os-getConsoleOutput: the last ``length`` lines
    (ALL_LINES: every line) of ``data``, the bytes a host answered (or
    a str), as text without control characters.

    The lines are cut first, on the bytes, and only what is returned is
    decoded and filtered: the same text as filtering the whole log and
    then cutting it (b'\\n' is never inside a UTF-8 sequence, and the
    filter keeps every newline), in time linear in the answer's size.
    """
    if isinstance(data, bytes):
        data = compute_console_output.tail(
            data, None if length == ALL_LINES else length)
        return to_text(data)
    return last_lines(to_text(data), length)


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
