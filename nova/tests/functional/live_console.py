"""A websocket client of nova-serialproxy's live console protocol.

The protocol (doc/source/admin/serial-console.rst, the history modes):
the console URL's ``token`` plus ``history=N`` (bytes of history wanted)
and ``after=B`` (base64url of the last bytes the client saw) make the
proxy send

* a text frame first: ``{"nova_console": {"mode": "interactive" |
  "read-only", "instance_uuid": ..., "history_bytes": N}}``;
* binary frames: the console's bytes, history first;
* the text frame ``{"nova_console": {"live": true}}`` once, where the
  history ends;
* the text frame ``{"nova_console": {"gap": true}}`` where bytes may be
  missing;
* a close frame with a code (4000 the console moved, 4008 too slow, 4409
  an interactive session is already open, 4429 too many viewers).

A background thread reads every frame as it comes (so a slow test never
makes the proxy drop this client for falling behind) and keeps them in
order; the test waits on what it needs with a deadline. Used by the
functional tests.
"""

import base64
import json
import re
import threading
import time
import urllib.parse

import websocket

CLOSE_MOVED = 4000
CLOSE_TOO_SLOW = 4008
CLOSE_BUSY = 4409
CLOSE_TOO_MANY = 4429
# No close frame came: the connection just ended (RFC 6455's 1006).
CLOSE_ABNORMAL = 1006

AFTER_MAX = 1024
PROMPT = b'nova-guest# '


class ProtocolError(AssertionError):
    """The proxy sent something the protocol does not allow."""


def live_url(url, history=None, after=None):
    """``url`` (a console URL with its token) with the history options.

    ``after``: bytes (the newest 1..1024 the client saw), sent base64url
    without padding.
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    if history is not None:
        query.append(('history', str(history)))
    if after is not None:
        query.append(('after', base64.urlsafe_b64encode(
            bytes(after)).rstrip(b'=').decode()))
    return urllib.parse.urlunsplit(parts._replace(
        query=urllib.parse.urlencode(query)))


class LiveConsole:
    """One websocket session; every frame kept, in order.

    ``data`` holds the console bytes of every binary frame; ``notices``
    the text frames after the first, each with the offset in ``data``
    where it came; ``hello`` the first text frame's ``nova_console``
    object (None in the plain serial mode, which sends no text).
    ``arrivals`` (when ``timestamps``) pairs each binary frame's end
    offset in ``data`` with the monotonic time it arrived.
    """

    def __init__(self, url, history=None, after=None, origin=None,
                 timeout=30, timestamps=False, name='console'):
        self.url = live_url(url, history, after)
        self.name = name
        self.ws = websocket.create_connection(
            self.url, timeout=timeout, origin=origin,
            subprotocols=['binary'])
        self._cond = threading.Condition()
        self._timestamps = timestamps
        self.data = bytearray()
        self.hello = None
        self.notices = []
        self.arrivals = []
        self.text_frames = 0
        self.close_code = None
        self.close_reason = None
        self.error = None
        self._reader = threading.Thread(target=self._read_loop,
                                        name='live-console-%s' % name,
                                        daemon=True)
        self._reader.start()

    # -- reading ----------------------------------------------------------

    def _read_loop(self):
        try:
            while True:
                try:
                    opcode, payload = self.ws.recv_data(control_frame=True)
                except websocket.WebSocketTimeoutException:
                    continue  # a quiet console: keep waiting
                now = time.monotonic()
                with self._cond:
                    if opcode == websocket.ABNF.OPCODE_CLOSE:
                        self._closed(payload)
                        return
                    if opcode == websocket.ABNF.OPCODE_TEXT:
                        self._text(payload)
                    elif opcode == websocket.ABNF.OPCODE_BINARY:
                        self.data += payload
                        if self._timestamps:
                            self.arrivals.append((len(self.data), now))
                    self._cond.notify_all()
        except (websocket.WebSocketException, OSError) as e:
            with self._cond:
                if self.close_code is None:
                    self.close_code = CLOSE_ABNORMAL
                    self.close_reason = '%s: %s' % (type(e).__name__, e)
        except ProtocolError as e:
            with self._cond:
                self.error = e
                self.close_code = CLOSE_ABNORMAL
        finally:
            with self._cond:
                self._cond.notify_all()

    def _closed(self, payload):
        if len(payload) >= 2:
            self.close_code = int.from_bytes(payload[:2], 'big')
            self.close_reason = bytes(payload[2:]).decode('utf-8',
                                                          'replace')
        else:
            self.close_code, self.close_reason = 1005, ''
        self._cond.notify_all()

    def _text(self, payload):
        if isinstance(payload, bytes):
            payload = payload.decode('utf-8')
        try:
            message = json.loads(payload)['nova_console']
        except (ValueError, KeyError, TypeError):
            raise ProtocolError('%s: text frame %r is not a nova_console '
                                'object' % (self.name, payload[:200]))
        self.text_frames += 1
        if self.hello is None:
            if self.data:
                raise ProtocolError('%s: console bytes before the first '
                                    'text frame' % self.name)
            if 'mode' not in message:
                raise ProtocolError('%s: first text frame has no mode: %r'
                                    % (self.name, message))
            self.hello = message
        else:
            self.notices.append((len(self.data), message))

    def wait(self, predicate, timeout, what):
        """Wait until ``predicate()`` (called under the lock) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.error:
                    raise self.error
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0 or (self.close_code is not None and
                                 not self._reader.is_alive()):
                    raise AssertionError(
                        '%s: %s: not within %d s (closed: %s %s); the end '
                        'of what came: %r' % (
                            self.name, what, timeout, self.close_code,
                            self.close_reason, bytes(self.data[-400:])))
                self._cond.wait(min(left, 1.0))

    def read_until(self, pattern, timeout=60, start=0):
        """The first match of ``pattern`` (bytes regex) in ``data`` at
        or after ``start``."""
        regex = re.compile(pattern)
        return self.wait(lambda: regex.search(self.data, start), timeout,
                         '%r' % regex.pattern)

    def wait_live(self, timeout=60):
        """The offset in ``data`` where the live output began."""
        return self.wait(lambda: self.live_offset(), timeout,
                         'the live notice')[0]

    def live_offset(self):
        """[offset] of the live notice, or None (a list: 0 is a valid
        offset)."""
        with self._cond:
            for offset, message in self.notices:
                if message.get('live'):
                    return [offset]
        return None

    def wait_closed(self, timeout=30):
        """(code, reason) of the close frame the proxy sent."""
        self.wait(lambda: self.close_code is not None, timeout,
                  'the close frame')
        self._reader.join(timeout)
        return self.close_code, self.close_reason

    def gaps(self):
        """Offsets in ``data`` of the gap notices."""
        with self._cond:
            return [o for o, m in self.notices if m.get('gap')]

    def snapshot(self):
        with self._cond:
            return bytes(self.data)

    def tail(self, size=AFTER_MAX):
        """The newest ``size`` bytes seen: what to send as ``after``."""
        with self._cond:
            return bytes(self.data[-size:])

    # -- writing ----------------------------------------------------------

    def send(self, data):
        """Console input: a binary frame."""
        self.ws.send_binary(bytes(data))

    def run(self, command, timeout=60):
        """Type ``command`` (interactive sessions); return its output.

        The end marker is typed split in two so the tty's echo of the
        typing does not match it.
        """
        marker = 'END-%d' % time.monotonic_ns()
        start = len(self.snapshot())
        self.send(("%s; echo '%s''%s'\r" % (
            command, marker[:4], marker[4:])).encode())
        match = self.read_until(re.compile(
            re.escape(command.encode()) + rb'[^\n]*\n(.*?)' +
            re.escape(marker.encode()), re.S), timeout, start)
        return match.group(1).replace(b'\r\n', b'\n')

    def wait_prompt(self, timeout=60):
        start = len(self.snapshot())
        self.send(b'\r')
        self.read_until(re.escape(PROMPT), timeout, start)
        return self

    def close(self):
        """Send a close frame, let the reader take the answer, shut the
        socket (the reader owns every recv: no second reader here)."""
        if self._reader.is_alive():
            try:
                self.ws.send_close()
            except (websocket.WebSocketException, OSError):
                pass
            self._reader.join(5)
        self.ws.shutdown()
        self._reader.join(5)


def numbers(pattern, data):
    """The integers of the first group of ``pattern`` in ``data``."""
    return [int(n) for n in re.findall(pattern, bytes(data))]
