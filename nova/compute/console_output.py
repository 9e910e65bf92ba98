"""The newest lines of a console log, cut on the raw bytes.

A compute host of RPC API 2.1 cuts the log to the lines asked
(``tail_length``) before sending it, so only those cross RPC; the API
cuts a 2.0 host's whole answer with the same function, so both give the
same bytes. Lines end at b'\\n', and a final newline ends the last line
rather than starting an empty one: ``b"a\\nb\\n"`` with 1 line is
``b"b\\n"`` (and so is ``b"a\\nb\\n\\r"``: see tail). Cutting the
bytes at b'\\n' and then decoding them (UTF-8, with replacement) gives
what decoding and then cutting the text does: the byte 0x0a is never
part of a multi-byte UTF-8 sequence.
"""

from nova import exception

# The control characters the API removes from the text (all of C0 but
# tab and newline): a UTF-8 byte below 0x20 is always one of them.
CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0b, 0x20))


def check_tail_length(value):
    """``value``: None (every line) or an int >= 0 (a count of lines).

    :raises nova.exception.Invalid: naming ``tail_length``.
    """
    if value is not None and (isinstance(value, bool) or
                              not isinstance(value, int) or value < 0):
        raise exception.Invalid(
            reason='tail_length must be a whole number of lines >= 0 or '
                   'null, not %r' % (value,))
    return value


def tail(data, tail_length):
    """The last ``tail_length`` lines of ``data`` (bytes); every line
    when ``tail_length`` is None.

    What follows the last b'\\n' counts as a line only when something
    of it is left once the API removed the control characters: so
    cutting the bytes and then removing them gives the text that
    removing them from the whole log and then cutting it gives
    (``b"a\\n\\x00"`` with 1 line is ``b"a\\n\\x00"``, whose text
    is ``"a\\n"``).
    """
    if tail_length is None:
        return data
    if tail_length == 0:
        return b''
    last = data.rfind(b'\n')
    if last >= 0 and not data[last + 1:].translate(None, CONTROL_BYTES):
        body = data[:last]
    else:
        body = data
    # The start of the tail_length-th line from the end.
    start = len(body)
    for _ in range(tail_length):
        start = body.rfind(b'\n', 0, start)
        if start < 0:
            return data
    return data[start + 1:]
