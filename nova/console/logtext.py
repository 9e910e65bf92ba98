"""Client-supplied text made safe for nova-serialproxy's log lines.

Anything a client sends (a close reason, a path, a header, an Origin, a
sub-protocol name...) may hold newlines or other control characters that
would forge log lines or terminal escapes, and may be long. ``safe``
escapes every character that is not printable and truncates.
"""

# Characters of client text kept in one log field; the rest is cut.
MAX_CHARS = 200


def _escape(char):
    code = ord(char)
    if code < 0x100:
        return '\\x%02x' % code
    if code < 0x10000:
        return '\\u%04x' % code
    return '\\U%08x' % code


def safe(text, limit=MAX_CHARS):
    """``text`` (str, bytes or anything else: str() of it) with control
    and other non-printable characters (newlines, ESC, U+2028...) and
    backslashes escaped, cut to ``limit`` characters (then ``...``)."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    elif not isinstance(text, str):
        text = str(text)
    cut = len(text) > limit
    text = text[:limit]
    text = ''.join(char if char.isprintable() and char != '\\'
                   else ('\\\\' if char == '\\' else _escape(char))
                   for char in text)
    return text + '...' if cut else text
