"""nova-serialproxy's history modes: a console's log, live, to a client.

A session with a read-only token, or with ``history``/``after`` in its
URL, shows the instance's console log from a hub (nova.console.viewers):
its history first, then live output, with the text frames the module
docstring of nova.console.websocketproxy lists. An interactive one sends
the client's bytes to the guest's tcp port (whose own output is read
and dropped: the same bytes reach the log); a viewer's are dropped.
"""

import select
import socket
import time

from oslo_log import log as logging
from websockify import websocket as ws_frames

from nova.console import frames
from nova.console import viewers

LOG = logging.getLogger(__name__)

# Bytes of frames a history-mode session queues in its websocket before
# it stops taking from its hub: the rest waits in the hub's queue, where
# the backlog cap counts it.
OUT_HIGH_WATER = 64 * 1024
# Bytes queued for the client past which its input is not read: more than
# a take from the hub (OUT_HIGH_WATER) on top of a full queue, or a whole
# history; only replies to its own pings get there.
IN_STOP_PENDING = 4 * OUT_HIGH_WATER

# A client that takes no byte of its pending output for the handler's
# send timeout (SEND_TIMEOUT) is closed with 4008 and this reason.
STALLED = 'Too slow: read nothing for %s s'
# The loop wakes at least this often to check its deadlines.
POLL_MS = 1000

_POLL_IN = select.POLLIN | select.POLLHUP | select.POLLERR


class HistorySessionMixin:
    """The history modes of SerialProxyRequestHandler.

    Uses the handler's ``history``, ``after`` (parsed query parameters),
    ``timeout`` (its send timeout), ``server.hubs``, ``request`` (a
    frames.SessionSocket), ``buffer_size``, ``_send_to_target`` and
    ``_flush_to_target``.
    """

    def _watch(self, info, target):
        """A history mode: output from the instance's hub, input to
        ``target`` (interactive) or dropped (viewer, ``target`` None).

        Ends by raising ``CClose``.
        """
        read_only = target is None
        history = self.history
        if history is None:
            history = viewers.MAX_CONSOLE_BYTES
        try:
            # Keyed by where the token leads too: a token issued after a
            # move never joins the hub of the guest's old host.
            sub = self.server.hubs.subscribe(
                info.instance_uuid, read_only, history, self.after,
                target=(info.host, info.port))
        except viewers.TooManyViewers as e:
            LOG.info('%s: refused a viewer of instance %s: %s',
                     self.client_address[0], info.instance_uuid, e)
            raise self.CClose(viewers.CLOSE_TOO_MANY, viewers.TOO_MANY)
        # Non-blocking while the session runs, so neither a frame to a
        # slow client nor a reply to its ping holds up the loop; blocking
        # again (bounded) for the close frame websockify sends after.
        close_timeout = self.timeout
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection.setblocking(False)
        try:
            self._hub_loop(sub, info, target)
        except self.CClose as e:
            if e.args[0] in (viewers.CLOSE_TOO_SLOW, frames.CLOSE_TOO_BIG,
                             frames.CLOSE_PROTOCOL_ERROR):
                close_timeout = frames.CLOSE_SEND_TIMEOUT
            if self._dropped_output:
                close_timeout = frames.CLOSE_SEND_TIMEOUT
            raise
        finally:
            sub.close()
            # websockify closes the socket once the close handshake is
            # done (the client's ordinary end): nothing more to send then.
            if self.connection.fileno() != -1:
                self.connection.settimeout(close_timeout)

    def _hub_loop(self, sub, info, target):
        mode = 'read-only' if target is None else 'interactive'
        out = frames.FrameWriter(self.request)
        tqueue = []  # client bytes for the guest
        poller = select.poll()
        cfd, sfd = self.connection.fileno(), sub.fileno()
        tfd = target.fileno() if target is not None else None
        # The socket is non-blocking here, so its send timeout does not
        # bound a client that stops reading: this deadline does. It moves
        # on whenever a byte reaches the socket (or nothing is queued).
        stall_deadline = time.monotonic() + self.timeout
        end_deadline = None
        sent = 0
        try:
            while True:
                now = time.monotonic()
                end = sub.done()
                if end and (sub.drop_now or not out.pending):
                    raise self.CClose(*end)
                # The hub's end is known before done() says so: the rest
                # (queued here or in the hub) gets a short while to drain,
                # not for ever.
                ended = sub.end
                if ended and end_deadline is None:
                    end_deadline = now + frames.CLOSE_SEND_TIMEOUT
                if ended and now >= end_deadline:
                    self._drop_output(out)
                    raise self.CClose(*ended)
                if not out.pending or out.sent != sent:
                    # Nothing waits, or the client took some: on time.
                    sent = out.sent
                    stall_deadline = now + self.timeout
                elif now >= stall_deadline:
                    LOG.info('%s: %s session to instance %s read nothing '
                             'for %s s; closing it',
                             self.client_address[0], mode,
                             info.instance_uuid, self.timeout)
                    self._drop_output(out)
                    raise self.CClose(viewers.CLOSE_TOO_SLOW,
                                      STALLED % self.timeout)
                room = out.pending < OUT_HIGH_WATER
                if room:
                    # Cleared first: a chunk queued after take() wakes us.
                    sub.clear()
                    for item in sub.take(OUT_HIGH_WATER):
                        self._frame(out, item, info, mode)
                # Input waits while the output queue is longer than
                # console output alone makes it: a client that pings and
                # never reads would grow it with pongs.
                listen = not tqueue and out.pending < IN_STOP_PENDING
                poller.register(cfd, (select.POLLIN if listen else 0) |
                                (select.POLLOUT if out.pending else 0))
                poller.register(sfd, select.POLLIN if room else 0)
                if tfd is not None:
                    # The guest's output is read and dropped: the same
                    # bytes reach the log, and come back through the hub.
                    poller.register(tfd, select.POLLIN | (
                        select.POLLOUT if tqueue else 0))
                events = dict(poller.poll(POLL_MS))
                if any(ev & select.POLLNVAL for ev in events.values()):
                    raise self.CClose(frames.CLOSE_INTERNAL_ERROR,
                                      frames.INTERNAL_ERROR)
                cev, tev = events.get(cfd, 0), events.get(tfd, 0)

                if cev & select.POLLOUT:
                    out.flush()

                if cev & _POLL_IN:
                    bufs, closed = self._recv_client()
                    if target is not None:
                        tqueue.extend(bufs)
                    if closed:
                        if tqueue:
                            self._flush_to_target(target, tqueue)
                        raise self.CClose(closed['code'], closed['reason'])

                if tev & select.POLLOUT and tqueue:
                    self._send_to_target(target, tqueue)

                if tev & _POLL_IN:
                    try:
                        buf = target.recv(self.buffer_size)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        buf = b''
                    if not buf:
                        raise self.CClose(1000, 'Target closed')
        finally:
            if self.request.dropped:
                LOG.debug('%s: viewer of instance %s sent %d bytes; '
                          'dropped', self.client_address[0],
                          info.instance_uuid, self.request.dropped)

    _dropped_output = False

    def _drop_output(self, out):
        # Output the client did not take in time: dropped, so the close
        # frame is all that is left to send (with CLOSE_SEND_TIMEOUT).
        out.discard()
        self._dropped_output = True

    @staticmethod
    def _frame(out, item, info, mode):
        if isinstance(item, bytes):
            out.binary(item)
        elif item == viewers.GAP:
            out.text({'gap': True})
        else:
            _, size, pieces = item
            out.text({'mode': mode, 'instance_uuid': info.instance_uuid,
                      'history_bytes': size})
            for piece in pieces:
                if piece == viewers.GAP:
                    out.text({'gap': True})
                else:
                    out.binary(piece)
            out.text({'live': True})

    def _recv_client(self):
        """``recv_frames`` on the non-blocking socket: (bufs, closed).

        A pong or close reply that does not fit in the socket now stays
        queued whole in the websocket's send buffer (after the frames
        before it), and the poll loop flushes it.
        """
        ws = self.request
        bufs = []
        while True:
            try:
                buf = ws.recvmsg()
            except ws_frames.WebSocketWantReadError:
                break
            except ws_frames.WebSocketWantWriteError:
                # websockify would make the next pong() resend this one
                # reply: it is already queued, so forget it.
                ws._previous_sendmsg = None
                if ws._received_close:
                    buf = None
                elif ws.pending():
                    continue
                else:
                    break
            if buf is None:
                return bufs, {'code': ws.close_code,
                              'reason': ws.close_reason}
            if ws.sent_close_frame:
                break
            bufs.append(buf)
            if not ws.pending():
                break
        if ws.sent_close_frame:
            # websockify refused a frame itself (unmasked, unknown opcode,
            # bad close): its close frame is sent, and the session ends
            # here (what followed the bad frame is dropped), or it would
            # wait for the client's reply without end.
            code, reason = ws.sent_close_frame
            return bufs, {'code': code, 'reason': reason}
        return bufs, False
