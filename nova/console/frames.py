"""nova-serialproxy's websocket frames: input bounded, output queued.

Both sit on websockify's websocket (websockify.websocket): websockify
alone would buffer an unfinished client message, or a frame as long as
its header claims, without limit (SessionSocket bounds both), and has no
call for a text frame (FrameWriter queues one through its send buffer).
The close codes and reasons a client sees for its frames are here too.
"""

import json

from websockify import websocket as ws_frames
from websockify import websockifyserver

# RFC 6455 5.5: a control frame (ping, pong, close) carries 125 at most.
MAX_CONTROL_BYTES = 125
BAD_CONTROL = 'Control frame over %d bytes' % MAX_CONTROL_BYTES
# A client message (all its fragments) or frame over [serial_console]
# max_message_bytes is refused with 1009 and this reason (its %d).
TOO_BIG = 'Message too big: over %d bytes'
INTERNAL_ERROR = 'Internal error'

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011

# Seconds a close frame may take to a client that stopped reading or is
# flooding: not the proxy's SEND_TIMEOUT.
CLOSE_SEND_TIMEOUT = 5


def declared(buf):
    """(opcode, payload length) of the frame header starting ``buf``, or
    None while the header is incomplete."""
    if len(buf) < 2:
        return None
    opcode, length = buf[0] & 0x0f, buf[1] & 0x7f
    if length == 126:
        if len(buf) < 4:
            return None
        length = int.from_bytes(buf[2:4], 'big')
    elif length == 127:
        if len(buf) < 10:
            return None
        length = int.from_bytes(buf[2:10], 'big')
    return opcode, length


class SessionSocket(websockifyserver.CompatibleWebSocket):
    """websockify's server-side websocket, with its input bounded.

    websockify alone would buffer an unfinished message, or a frame as
    long as its header claims, without limit. Here a frame is refused on
    its header when its declared length, or the total of the message it
    continues, is over ``max_message`` bytes (1009 ``TOO_BIG``), or it
    is a control frame over ``MAX_CONTROL_BYTES`` (1002): so websockify
    never holds more than ``max_message`` (plus one 4 KiB read) of a
    message. For a viewer (``drop_data``) every data
    frame, text too (websockify alone answers text with 1003), is dropped
    as soon as it is decoded: only ``dropped`` counts its bytes.
    """

    drop_data = False
    dropped = 0
    max_message = 256 * 1024  # set from the option for each session
    _message = 0  # bytes so far of the message being received
    _in_message = False

    def _refuse(self, code, reason):
        # The client is flooding or broken: its close frame gets a short
        # time, not SEND_TIMEOUT.
        self.socket.settimeout(CLOSE_SEND_TIMEOUT)
        raise websockifyserver.WebSockifyRequestHandler.CClose(code, reason)

    def _decode_hybi(self, buf):
        header = declared(buf)
        if header is None:
            return None
        opcode, length = header
        if opcode & 0x8:
            if length > MAX_CONTROL_BYTES:
                self._refuse(CLOSE_PROTOCOL_ERROR, BAD_CONTROL)
        else:
            before = self._message if opcode == 0x0 else 0
            if before + length > self.max_message:
                self._refuse(CLOSE_TOO_BIG, TOO_BIG % self.max_message)
        frame = super()._decode_hybi(buf)
        if frame is None or opcode & 0x8:
            return frame
        # A complete data frame: account for its message.
        orphan = opcode == 0x0 and not self._in_message
        self._in_message = not frame['fin']
        self._message = before + length if self._in_message else 0
        if self.drop_data and not orphan:
            # Each one a whole empty message: websockify keeps nothing.
            # (A continuation of nothing is left for websockify's 1002.)
            self.dropped += length
            frame.update(opcode=0x2, fin=True, payload=b'')
        return frame


class FrameWriter:
    """Frames to the client through websockify's websocket, never waiting.

    websockify offers no call for a text frame; its ``_sendmsg`` appends
    one whole frame to the websocket's send buffer (behind any pong or
    close reply queued there, so frames never interleave) and sends what
    the non-blocking socket takes; ``flush`` sends more when ``poll()``
    says the socket takes it.
    """

    def __init__(self, ws):
        self._ws = ws
        # Bytes the socket took so far: progress, however slow.
        self.sent = 0

    @property
    def pending(self):
        """Bytes queued and not yet sent."""
        return len(self._ws._send_buffer)

    def _send(self, opcode, payload):
        before = self.pending
        try:
            self._ws._sendmsg(opcode, payload)
        except ws_frames.WebSocketWantWriteError:
            pass
        # A server's frame: unmasked, a 2, 4 or 10 byte header.
        size = len(payload)
        header = 2 if size < 126 else 4 if size < 65536 else 10
        self.sent += before + header + size - self.pending

    def binary(self, data):
        self._send(0x2, data)

    def text(self, message):
        self._send(0x1, json.dumps({'nova_console': message}).encode())

    def discard(self):
        """Forget what is queued (for a client that will not take it)."""
        self._ws._send_buffer = b''

    def flush(self):
        before = self.pending
        try:
            self._ws._flush()
        except ws_frames.WebSocketWantWriteError:
            pass
        self.sent += before - self.pending
