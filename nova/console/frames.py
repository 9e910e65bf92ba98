"""nova-serialproxy's websocket frames: input bounded, output queued.

Both sit on websockify's websocket (websockify.websocket): websockify
alone would buffer an unfinished client message, or a frame as long as
its header claims, without limit (SessionSocket bounds both), and has no
call for a text frame (FrameWriter queues one through its send buffer).
The close codes and reasons a client sees for its frames are here too.
"""

import errno
import json
import socket
import time

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

# RFC 6455 7.1.1: after its close frame the proxy half-closes and reads
# (discarding data frames) until the client's close frame or end of
# stream, so a client that answers the close gets the code and reason,
# not a reset. A client that does neither is cut after this many seconds
# or bytes: it never holds a thread or a connection slot longer (well
# under the proxy's STOP_GRACE, so a stop is not held up either).
CLOSE_WAIT_TIMEOUT = 2
CLOSE_WAIT_BYTES = 1024 * 1024

# Bytes one read from a client's socket (or the guest's port) takes at
# most. websockify reads 4 KiB at a time: a 64 KiB frame took 16 reads,
# each a turn of the copy loop and a copy of the whole unfinished frame.
# A read this size holds a few frames; it is the only input held past
# max_message. Reads grow to it while they come back full and shrink
# while they do not (next_read_size). Less is read while replies wait
# for the client (down to MIN_READ_BYTES): each byte read may queue a
# byte of reply (pings), so a client that pings and never reads cannot
# make one read queue more than READ_BYTES.
READ_BYTES = 256 * 1024
MIN_READ_BYTES = 4096


def next_read_size(current, asked, got):
    """Bytes to ask of the next read: twice as many after a read that
    filled what it asked (a bulk transfer), down to MIN_READ_BYTES after
    one that took less than a quarter (keystrokes). A read allocates what
    it asks for: 256 KiB for each keystroke would cost more than the
    keystroke."""
    if got >= asked:
        return min(READ_BYTES, max(current, asked) * 2)
    if got < asked // 4:
        return max(MIN_READ_BYTES, current // 2)
    return current


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
    never holds more than ``max_message`` (plus one read, ``READ_BYTES``)
    of a message. For a viewer (``drop_data``) every data
    frame, text too (websockify alone answers text with 1003), is dropped
    as soon as it is decoded: only ``dropped`` counts its bytes.
    """

    drop_data = False
    dropped = 0
    _read_size = MIN_READ_BYTES
    max_message = 256 * 1024  # set from the option for each session
    _message = 0  # bytes so far of the message being received
    _in_message = False

    # (code, reason) of the close frame sent, once one is.
    sent_close_frame = None

    def shutdown(self, how, code=1000, reason=None):
        if not self._sent_close:
            self.sent_close_frame = (code, reason)
        return super().shutdown(how, code, reason)

    def recvmsg(self):
        # A close handshake that ended while frames read with the close
        # were answered leaves the socket closed: the session's end (None,
        # as websockify's recvmsg after a close), not a wait for input.
        try:
            return super().recvmsg()
        except ws_frames.WebSocketWantReadError:
            if self.socket is None:
                return None
            raise

    def _refuse(self, code, reason):
        # The client is flooding or broken: its close frame gets a short
        # time, not SEND_TIMEOUT.
        self.socket.settimeout(CLOSE_SEND_TIMEOUT)
        raise websockifyserver.WebSockifyRequestHandler.CClose(code, reason)

    def finish_close(self):
        """End the connection after ``shutdown()`` queued our close frame.

        Sends what is queued (the close frame last) within the socket's
        timeout in all (``CLOSE_SEND_TIMEOUT`` on a non-blocking socket);
        then, unless the client's close frame came already, half-closes
        and reads until the client's close frame or end of stream,
        discarding everything else, for at most
        ``CLOSE_WAIT_TIMEOUT`` seconds and ``CLOSE_WAIT_BYTES`` bytes.
        Closes the socket in every case. Raises ``OSError`` (a timeout
        included) when the close frame cannot be sent.
        """
        if self.socket is None:
            return  # the close handshake ended and closed it
        # A client taking a byte now and then cannot stretch the sending
        # past one timeout in all.
        deadline = time.monotonic() + (self.socket.gettimeout() or
                                       CLOSE_SEND_TIMEOUT)
        try:
            while self._send_buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout('close frame not taken')
                self.socket.settimeout(remaining)
                try:
                    self._flush()
                except ws_frames.WebSocketWantWriteError:
                    pass  # a partial send: more of it
            if self.socket is None or self._received_close or any(
                    f['opcode'] == 0x8 for f in self._recv_queue):
                return
            self.socket.shutdown(socket.SHUT_WR)
            self._await_close_reply()
        finally:
            if self.socket is not None:
                self._close()

    def _await_close_reply(self):
        # Frames are skipped on their headers: no payload is kept.
        buf = bytes(self._recv_buffer)
        skip = 0
        budget = CLOSE_WAIT_BYTES
        deadline = time.monotonic() + CLOSE_WAIT_TIMEOUT
        while True:
            while True:
                if skip:
                    taken = min(skip, len(buf))
                    buf, skip = buf[taken:], skip - taken
                    if skip:
                        break
                header = declared(buf)
                if header is None:
                    break
                opcode, length = header
                if opcode == 0x8:
                    self._received_close = True
                    return
                marker = buf[1] & 0x7f
                size = ((10 if marker == 127 else 4 if marker == 126
                         else 2) + (4 if buf[1] & 0x80 else 0))
                if len(buf) < size:
                    break
                buf, skip = buf[size:], length
            remaining = deadline - time.monotonic()
            if remaining <= 0 or budget <= 0:
                return
            self.socket.settimeout(remaining)
            try:
                data = self.socket.recv(min(budget, READ_BYTES))
            except OSError:
                return  # the timeout, or a reset
            if not data:
                return
            budget -= len(data)
            buf += data

    def _recv(self):
        # websockify's, with larger reads than its 4 KiB: see READ_BYTES.
        size = max(MIN_READ_BYTES, min(self._read_size, READ_BYTES -
                                       len(self._send_buffer)))
        try:
            data = self.socket.recv(size)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise ws_frames.WebSocketWantReadError
            raise
        if not data:
            return False
        self._read_size = next_read_size(self._read_size, size, len(data))
        self._recv_buffer += data
        return True

    def _recv_frames(self):
        """websockify's, decoding each frame where it lies in the buffer:
        websockify copies what follows a frame once per frame, which is
        quadratic in the frames one read holds."""
        if not self._recv():
            # The client's end of stream, as websockify handles it.
            if self.close_code is None:
                self.close_code = 1006
                self.close_reason = 'Connection closed abnormally'
                self._sent_close = self._received_close = True
            self._close()
            return False
        buf = self._recv_buffer
        view = memoryview(buf)
        pos = 0
        while True:
            frame = self._decode_hybi(view[pos:])
            if frame is None:
                break
            pos += frame['length']
            if isinstance(frame['payload'], memoryview):
                # An unmasked frame (refused later): no view kept.
                frame['payload'] = bytes(frame['payload'])
            self._recv_queue.append(frame)
        if pos:
            self._recv_buffer = buf[pos:]
        return True

    def _decode_hybi(self, buf):
        # websockify's decoding, with the limits checked on the header
        # (before the payload is there) and the header read once.
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
        masked = bool(buf[1] & 0x80)
        marker = buf[1] & 0x7f
        start = 10 if marker == 127 else 4 if marker == 126 else 2
        end = start + (4 if masked else 0) + length
        if len(buf) < end:
            return None
        if masked:
            payload = self._unmask(buf[end - length:end],
                                   bytes(buf[start:start + 4]))
        else:
            payload = buf[start:end]
        frame = {'fin': bool(buf[0] & 0x80), 'opcode': opcode,
                 'masked': masked, 'length': end, 'payload': payload}
        if opcode & 0x8:
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

    def _sendmsg(self, opcode, msg):
        # A binary frame with nothing queued before it goes out with its
        # header in one sendmsg(), not joined to it first (a copy of the
        # payload); only what the socket does not take is queued.
        if opcode != 0x2 or self._send_buffer or self.client:
            return super()._sendmsg(opcode, msg)
        size = len(msg)
        if size < 126:
            header = bytes((0x82, size))
        elif size < 65536:
            header = b'\x82\x7e' + size.to_bytes(2, 'big')
        else:
            header = b'\x82\x7f' + size.to_bytes(8, 'big')
        try:
            sent = self.socket.sendmsg((header, msg))
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            sent = 0
        if sent < len(header) + size:
            if sent < len(header):
                self._send_buffer = header[sent:] + msg
            else:
                self._send_buffer = msg[sent - len(header):]
            raise ws_frames.WebSocketWantWriteError

    def _send(self, data):
        # websockify's: queue, then send what the socket takes.
        queued = self._send_buffer
        self._send_buffer = b''.join((queued, data)) if queued else data
        self._flush()

    def _flush(self):
        # websockify's, without copying what is left after each partial
        # send (a view of it instead: quadratic in a large frame's sends).
        if not self._send_buffer:
            return
        if self.socket is None:
            # Closed by the close handshake while frames read with the
            # close (a ping) were still being answered: nobody to send to.
            self._send_buffer = b''
            return
        try:
            sent = self.socket.send(self._send_buffer)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise ws_frames.WebSocketWantWriteError
            raise
        if sent < len(self._send_buffer):
            self._send_buffer = memoryview(self._send_buffer)[sent:]
            raise ws_frames.WebSocketWantWriteError
        self._send_buffer = b''
        # websockify's end: a close sent and received closes the socket.
        if self._received_close and self._sent_close:
            self._close()


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
