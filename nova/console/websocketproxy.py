"""nova-serialproxy: a user's websocket to a guest's tcp serial port.

A browser (or any websocket client) opens ``[serial_console] base_url`` with
``?token=...`` (or a ``token`` cookie). For each connection the proxy

1. refuses the Origin header unless its host is the host of
   ``[serial_console] base_url`` or is listed in ``[console]
   allowed_origins`` (never the client's own Host header: a DNS-rebinding
   page controls that one), and its scheme matches the proxy's (``http`` or
   ``ws`` for a ``ws://`` base_url, ``https`` or ``wss`` for ``wss://``).
   Behind a TLS-terminating proxy listed in ``[console] trusted_proxies``
   the scheme in its ``X-Forwarded-Proto`` header stands for the Origin's;
   from any other peer that header is ignored. A request *without* Origin
   is allowed: browsers always send one with a websocket request, so a
   missing Origin cannot come from a hostile page (cross-site websocket
   hijacking needs a browser), and command-line clients often send none;
2. asks the token store (``nova.console.tokens``, injected) for the
   token's connect info;
3. asks ``nova.console.api.API.validate_console_port`` (the instance from
   the database, its compute host over the injected compute RPC client)
   whether that host:port is still the instance's serial port (a reboot,
   rebuild or migration moves it, and the old token must not reach
   whatever listens there now);
4. connects to the port and copies bytes both ways in binary frames.

That is the plain serial console: a ``serial`` token without the
``history`` and ``after`` query parameters, bytes both ways and nothing
else. With either parameter (validated before the upgrade: HTTP 400
naming it), or with a ``serial-readonly`` token, the client's output is
its instance's console log instead, from a hub shared by every such
client of the instance (``nova.console.viewers``): a text frame
``{"nova_console": {"mode": ..., "instance_uuid": ..., "history_bytes":
N}}``, the history, ``{"nova_console": {"live": true}}``, live output,
and ``{"nova_console": {"gap": true}}`` where bytes may be missing. A
``serial`` token's input still goes to the guest's port (whose own output
is dropped: it reaches the log too); a read-only viewer's input is
dropped and the guest's port is never opened for it. One interactive
session per guest port in this process: another one is closed with
4409. Hub close codes: 4000 (console moved or gone), 4008 (client too
slow), 4429 (too many viewers). In every mode a client that takes no
byte of its pending output for ``SEND_TIMEOUT`` seconds is closed with
4008.

``Sec-WebSocket-Protocol`` is parsed as RFC 6455's comma-separated token
list: ``binary`` is selected wherever it stands; a list without it gets
``400`` naming the problem (this proxy speaks binary frames only).

Checks run after the websocket handshake, in ``new_websocket_client``, so
a refusal reaches the client as a websocket close frame with a code and a
short reason a browser can show (``CloseEvent.reason``), never a traceback:

* 1008 ``REFUSED_TOKEN`` for every token problem (none given, malformed,
  unknown, expired, issued for another console type, or its port no longer
  the instance's): byte for byte the same, so a client never learns whether
  a token ever existed;
* 1008 ``REFUSED_ORIGIN`` for a refused Origin (checked before the token,
  so a hostile page cannot probe tokens);
* 1011 ``UNREACHABLE`` when the guest's port does not answer, 1011
  ``INTERNAL_ERROR`` when the token store or the console port check
  fails;
* 1001 ``SHUTTING_DOWN`` for open sessions when the proxy stops.

Why each refusal happened goes only to the log, with the client address and
``token sha256:<first 8 hex digits>`` instead of the token, which is never
logged (websockify's own request logging is redacted too).

Threads and descriptors. Nothing here calls ``select()``, which fails on
descriptors >= 1024. One serving thread accepts connections and reads
their HTTP upgrade requests with an epoll selector (``nova.console.
acceptor``: handshake deadline, per-client and total caps, eviction of the
oldest pending handshake), so an idle or slow connection costs a
descriptor, not a thread. The alternative, a bounded pool of threads each
reading one request, lets idle clients fill the pool and lock users out,
or needs a thread per idle client. Each complete request gets a thread,
which answers it and, for a websocket, runs the session: websockify's
request handler and framing, with its ``do_proxy`` copy loop replaced by
one on ``poll()`` that also stops reading a side while the other cannot
take more. So the threads are bounded by ``[serial_console]
max_connections``. One process, not websockify's process per connection,
which would copy the token store's database connections and the RPC
client into every child; so the token store and the console API are
called from several threads at once. At start the soft open-files limit
is raised to the hard one, and ``max_connections`` is lowered (with a
warning) to what that limit can hold. The server is websockify's
``WebSocketProxy`` with only its serving loop (``start_server``) replaced:
:meth:`SerialProxy.start_server` says why.

What the proxy talks to is given to it (:func:`make_server`): the token
store and the compute RPC client, which its console API
(``nova.console.api``) uses with the instance read from the database.
Nothing is imported by name, and no compute API is built here.

TLS is not served here (the project has no certificate options): for a
``wss://`` base_url terminate TLS in front of the proxy.

A request without ``Upgrade: websocket`` is the web terminal's:
``nova.console.web`` answers a ``GET`` or ``HEAD`` of its fixed files
from ``[serial_console] web_root`` (404 for any other path, 405 for other
methods), through the same acceptor, one request per connection.
"""

import hashlib
import http.cookies
import io
import logging as std_logging
import re
import select
import socket
import threading
import time
import traceback
import urllib.parse

from oslo_log import log as logging
from websockify import websocket as ws_frames
from websockify import websocketproxy

from nova.console import acceptor
from nova.console import api as console_api
from nova.console import frames
from nova.console import history_session
from nova.console import logtext
from nova.console import type as ctype
from nova.console import viewers
from nova.console import web
from nova import context
from nova import exception
from nova import utils

LOG = logging.getLogger(__name__)

CONSOLE_TYPE = 'serial'

# Seconds a write to the client may wait before it is taken for gone: the
# reply to its request, and each frame of a session.
SEND_TIMEOUT = 60
# Seconds to wait for the guest's tcp serial port to accept.
CONNECT_TIMEOUT = 10
# Connections the kernel queues for accept() (capped by somaxconn).
LISTEN_BACKLOG = socket.SOMAXCONN
# How often the serving loop looks at the stop flag.
POLL_INTERVAL = 0.2
# Seconds open sessions get to close cleanly when the proxy stops.
STOP_GRACE = 5

# What clients see. Short enough for a close frame (123 bytes at most).
REFUSED_TOKEN = ('Invalid or expired console token; '
                 'request a new console URL')
REFUSED_ORIGIN = 'Origin not allowed'
UNREACHABLE = 'The serial console cannot be reached'
SHUTTING_DOWN = 'nova-serialproxy is shutting down'

BUSY_PORT = ('An interactive session is already open on this console; '
             'open a read-only viewer to watch it')

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_BUSY_PORT = 4409
# Protocol errors, oversized messages and internal errors: see frames.

SUBPROTOCOL = 'binary'

_SECURE_SCHEMES = ('https', 'wss')
_PLAIN_SCHEMES = ('http', 'ws')


def _name_pattern(name):
    # A query parameter's name may come percent-encoded (parse_qs decodes
    # it): match each letter as itself or as its %XX.
    return ''.join('(?:%s|%%%02x)' % (c, ord(c)) for c in name)


# Values never logged: the token (query or cookie), and ``after``, which is
# console output the user saw.
_SECRET_NAMES = '|'.join(map(_name_pattern, ('token', 'after')))
_SECRET_IN_TEXT = re.compile(r'((?:%s)=)[^&;\s\'"]+' % _SECRET_NAMES, re.I)
# RFC 7230 token, which RFC 6455 uses for sub-protocol names.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# Characters of a request line, path or header kept in a log line.
LOGGED_REQUEST = 400
_POLL_IN = select.POLLIN | select.POLLHUP | select.POLLERR
# Messages for the guest passed to one sendmsg() (the kernel takes 1024
# at most; a read of tiny frames holds many more).
_SEND_PIECES = 64


def _redact(text):
    """``text`` with any ``token=VALUE`` (query or cookie) and
    ``after=VALUE`` masked, however their names are percent-encoded."""
    return _SECRET_IN_TEXT.sub(r'\1***', text)


def token_id(token):
    """How logs name a token: a prefix of its SHA-256, never the token."""
    if not token:
        return 'none'
    digest = hashlib.sha256(token.encode('utf-8', 'replace')).hexdigest()
    return 'sha256:' + digest[:8]


def _hostname(value):
    """Lower-case host of ``host[:port]`` or ``scheme://host[:port]...``."""
    value = (value or '').strip()
    if '://' not in value:
        value = '//' + value
    try:
        return urllib.parse.urlsplit(value).hostname
    except ValueError:
        return None


def parse_subprotocols(values):
    """Names in ``Sec-WebSocket-Protocol`` header values, in order.

    RFC 6455 makes the header a comma-separated list of tokens with
    optional spaces and tabs (and empty elements, which are skipped).
    Raises ValueError naming the first element that is not a token.
    """
    names = []
    for value in values:
        for element in value.split(','):
            element = element.strip(' \t')
            if not element:
                continue
            if not _TOKEN.match(element):
                raise ValueError('%r is not a sub-protocol name'
                                 % element[:60])
            names.append(element)
    return names


class SerialProxyRequestHandler(web.StaticFilesMixin,
                                history_session.HistorySessionMixin,
                                websocketproxy.ProxyRequestHandler):
    """One websocket connection: checks, then a ``poll()`` copy loop.

    Built with the request ``head`` the acceptor already read: ``rfile``
    reads it from memory, the socket holds only what follows.
    """

    server_version = 'nova-serialproxy'
    SocketClass = frames.SessionSocket
    # The history modes' query parameters, set by handle_upgrade.
    history = None
    after = None
    # StreamRequestHandler puts this timeout on the socket in setup(): it
    # bounds writing the reply; new_websocket_client keeps it for frames.
    timeout = SEND_TIMEOUT

    def __init__(self, request, client_address, server, head=b''):
        self._head = head
        super().__init__(request, client_address, server)

    def setup(self):
        super().setup()
        self.rfile.close()
        self.rfile = io.BytesIO(self._head)

    def version_string(self):
        # The Server header: no websockify or Python versions.
        return self.server_version

    # websockify logs each connection and its path (with ?token=) through
    # log_message, http.server bad requests (their request line) through
    # log_error: both redacted.
    def log_message(self, format, *args):
        # websockify's messages start with the client address already.
        # (its path, like any client text, escaped and cut first.)
        LOG.debug(logtext.safe(_redact(format % args), LOGGED_REQUEST))

    def log_error(self, format, *args):
        # A bad request is the client's doing and any client can send
        # them at will: each at debug level, one line a minute at info.
        client = self.client_address[0]
        text = logtext.safe(_redact(format % args), LOGGED_REQUEST)
        LOG.debug('%s: %s', client, text)
        self.server.acceptor.log_limited(
            'bad-request', 'refusing bad HTTP requests (latest from %s: %s)',
            client, text, level=std_logging.INFO)

    def handle_upgrade(self):
        # websockify splits the header on commas without trimming and
        # wants the chosen name among the pieces: give it the one name.
        try:
            offered = parse_subprotocols(
                self.headers.get_all('Sec-WebSocket-Protocol') or ())
        except ValueError as e:
            return self.send_error(
                400, 'Bad Sec-WebSocket-Protocol header',
                'Bad Sec-WebSocket-Protocol header: %s' % e)
        del self.headers['Sec-WebSocket-Protocol']
        if offered:
            if SUBPROTOCOL not in offered:
                return self.send_error(
                    400, 'Unsupported sub-protocol',
                    'nova-serialproxy speaks the %r sub-protocol only; '
                    'offered: %s' % (SUBPROTOCOL, ', '.join(offered)))
            self.headers['Sec-WebSocket-Protocol'] = SUBPROTOCOL
        try:
            self.history, self.after = self._console_params()
        except ValueError as e:
            return self.send_error(400, 'Bad %s parameter' % e.args[0],
                                   e.args[1])
        super().handle_upgrade()

    def send_close(self, code=1000, reason=''):
        # websockify's sends the close frame and returns: the socket was
        # then closed under a client answering it (RFC 6455 7.1.1), which
        # got a reset instead of the code and reason.
        try:
            self.request.shutdown(socket.SHUT_RDWR, code, reason)
        except ws_frames.WebSocketWantWriteError:
            pass  # queued: finish_close sends it
        self.request.finish_close()

    def _console_params(self):
        """``history`` and ``after`` from the query (None when absent).

        Raises ValueError(name, why) for a bad or repeated one.
        """
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                      keep_blank_values=True)
        found = {}
        for name, parse in (('history', viewers.parse_history),
                            ('after', viewers.parse_after)):
            values = query.get(name)
            if not values:
                found[name] = None
                continue
            if len(values) > 1:
                raise ValueError(name, 'the %s parameter is given more than '
                                 'once' % name)
            try:
                found[name] = parse(values[0])
            except ValueError as e:
                raise ValueError(name, str(e))
        return found['history'], found['after']

    def _token(self):
        query = urllib.parse.urlsplit(self.path).query
        values = urllib.parse.parse_qs(query).get('token')
        if values and values[0]:
            return values[0]
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load('; '.join(self.headers.get_all('Cookie') or ()))
        except http.cookies.CookieError:
            return None
        morsel = cookies.get('token')
        return morsel.value if morsel is not None and morsel.value else None

    def _forwarded_scheme(self):
        """X-Forwarded-Proto from a trusted proxy, else None."""
        lines = self.headers.get_all('X-Forwarded-Proto')
        if not lines:
            return None
        peer = self.client_address[0]
        trusted = acceptor.parse_networks(
            self.server.conf.console.trusted_proxies)
        if not acceptor.address_in(peer, trusted):
            LOG.debug('%s: ignored X-Forwarded-Proto: not from [console] '
                      'trusted_proxies', peer)
            return None
        # A proxy may append its value to the client's header (one line,
        # commas) or add a line of its own after the client's: either
        # way only the last element of all the lines is the trusted
        # proxy's; anything before it may be the client's forgery.
        elements = [element for line in lines for element in line.split(',')]
        scheme = elements[-1].strip().lower()
        return scheme if scheme in _SECURE_SCHEMES + _PLAIN_SCHEMES else None

    def _origin_refusal(self):
        """None when the Origin header is acceptable, else why not."""
        origin = self.headers.get('Origin')
        if origin is None:
            return None
        try:
            parts = urllib.parse.urlsplit(origin.strip())
            origin_host = parts.hostname
        except ValueError:
            origin_host = None
        if not origin_host:
            return 'Origin %r names no host' % origin[:200]
        conf = self.server.conf
        base_url = conf.serial_console.base_url
        allowed = {_hostname(entry) for entry in conf.console.allowed_origins}
        allowed.add(_hostname(base_url))
        if origin_host not in allowed:
            return ('Origin host %r is neither the host of [serial_console] '
                    'base_url nor in [console] allowed_origins'
                    % origin_host)
        proxy_scheme = urllib.parse.urlsplit(base_url).scheme.lower()
        expected = (_SECURE_SCHEMES if proxy_scheme in _SECURE_SCHEMES
                    else _PLAIN_SCHEMES)
        forwarded = self._forwarded_scheme()
        scheme = forwarded or parts.scheme.lower()
        if scheme not in expected:
            return ('%s scheme %r does not match the proxy\'s %r '
                    '([serial_console] base_url)'
                    % ('X-Forwarded-Proto' if forwarded else 'Origin',
                       scheme, proxy_scheme))
        return None

    def _token_refusal(self, level, why, *args):
        """Log why; what to raise: the same for every token problem."""
        LOG.log(level, '%s: refused: invalid token: ' + why,
                self.client_address[0], *args)
        return self.CClose(CLOSE_POLICY_VIOLATION, REFUSED_TOKEN)

    def _internal_error(self, what, token, exc):
        """Log the traceback (token masked); what to raise."""
        text = ''.join(traceback.format_exception(exc))
        if token:
            text = text.replace(token, '***')
        LOG.error('%s: refused: %s failed (token %s):\n%s',
                  self.client_address[0], what, token_id(token), text)
        return self.CClose(frames.CLOSE_INTERNAL_ERROR,
                           frames.INTERNAL_ERROR)

    def _connect_info(self, token):
        """The token's connect info, or a refusal."""
        tid = token_id(token)
        info_log = std_logging.INFO
        if token is None:
            raise self._token_refusal(
                info_log, 'none given (no token query parameter or cookie)')
        try:
            info = self.server.token_store.validate(token)
        except exception.InvalidToken as e:
            # The store gives one message for malformed, unknown and
            # expired tokens; pass on any detail it keeps for logs.
            detail = str(e.kwargs.get('reason') or '').replace(token, '***')
            raise self._token_refusal(
                info_log, '%s is malformed, unknown or expired%s', tid,
                ' (%s)' % logtext.safe(detail) if detail else '')
        except Exception as e:
            raise self._internal_error('token validation', token, e)
        if info.console_type not in ctype.SERIAL_TYPES:
            raise self._token_refusal(
                std_logging.WARNING,
                '%s is for a %r console of instance %s, not a serial console',
                tid, info.console_type, info.instance_uuid)
        try:
            current = self.server.consoles.validate_console_port(
                context.get_admin_context(), info.instance_uuid, info.host,
                info.port, info.console_type)
        except exception.InstanceNotFound:
            current = False
        except Exception as e:
            raise self._internal_error('the console port check', token, e)
        if current is not True:
            raise self._token_refusal(
                info_log, '%s names %s:%s, no longer a serial port of '
                'instance %s (rebooted, rebuilt, migrated or deleted since '
                'the token was issued)', tid, info.host, info.port,
                info.instance_uuid)
        return info

    def new_websocket_client(self):
        client = self.client_address[0]
        token = self._token()
        why = self._origin_refusal()
        if why:
            LOG.warning('%s: refused: bad origin: %s (token %s)', client,
                        logtext.safe(why, LOGGED_REQUEST), token_id(token))
            raise self.CClose(CLOSE_POLICY_VIOLATION, REFUSED_ORIGIN)
        info = self._connect_info(token)
        self.request.max_message = (
            self.server.conf.serial_console.max_message_bytes)
        if self.server.stopping:
            raise self.CClose(CLOSE_GOING_AWAY, SHUTTING_DOWN)
        if info.console_type == ctype.READ_ONLY:
            # A viewer never reaches the guest's port: its output comes
            # from the console log, and what it sends is dropped.
            self.request.drop_data = True
            LOG.info('%s: viewer of instance %s (token %s)', client,
                     info.instance_uuid, token_id(token))
            try:
                return self._watch(info, None)
            except self.CClose as e:
                raise self._ended(info, e)
        # A guest's tcp port serves one client at a time (QEMU leaves a
        # second one waiting, unanswered): refuse it here, at once. Keyed
        # by instance too: a port freed by one guest and given to another
        # is another console, even while a session to the first lingers.
        port = (info.instance_uuid, info.host, str(info.port))
        if not self.server.claim_port(port):
            LOG.info('%s: refused: an interactive session to serial port '
                     '%s:%s of instance %s is already open in this proxy '
                     '(token %s)', client, info.host, info.port,
                     info.instance_uuid, token_id(token))
            raise self.CClose(CLOSE_BUSY_PORT, BUSY_PORT)
        try:
            self._interactive(info, token)
        finally:
            self.server.release_port(port)

    def _ended(self, info, e):
        """Log a session's end; the close to send (1001 at shutdown)."""
        if self.server.stopping:
            e = self.CClose(CLOSE_GOING_AWAY, SHUTTING_DOWN)
        # The reason may be the client's own (its close frame's): escaped.
        LOG.info('%s: session to instance %s ended: close code %s %s',
                 self.client_address[0], info.instance_uuid, e.args[0],
                 logtext.safe(e.args[1]) if len(e.args) > 1 and e.args[1]
                 else '')
        return e

    def _interactive(self, info, token):
        client = self.client_address[0]
        try:
            target = socket.create_connection(
                (info.host, int(info.port)), timeout=CONNECT_TIMEOUT)
        except (OSError, ValueError) as e:
            LOG.warning('%s: cannot reach serial port %s:%s of instance %s: '
                        '%s', client, info.host, info.port,
                        info.instance_uuid, e)
            raise self.CClose(frames.CLOSE_INTERNAL_ERROR, UNREACHABLE)
        LOG.info('%s: connected to serial port %s:%s of instance %s '
                 '(token %s)', client, info.host, info.port,
                 info.instance_uuid, token_id(token))
        try:
            target.setblocking(False)
            target.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # The client socket keeps SEND_TIMEOUT: a client that stops
            # reading ends its session instead of holding this thread.
            self.connection.setsockopt(socket.IPPROTO_TCP,
                                       socket.TCP_NODELAY, 1)
            self.server.track_target(target)
            if self.history is None and self.after is None:
                self.do_proxy(target)
            else:
                self._watch(info, target)
        except self.CClose as e:
            raise self._ended(info, e)
        finally:
            self.server.untrack_target(target)
            try:
                target.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            target.close()

    def do_proxy(self, target):
        """Copy between the websocket and ``target`` until either ends.

        websockify's framing (``frames.SessionSocket``: bounded input,
        large reads) on a non-blocking client socket and ``poll()``, as
        the history modes run (``history_session``); ``target`` is
        non-blocking. What one side sends is passed on at once (no poll
        round in between: a keystroke's round trip is two wake-ups). A
        side is read only while what it sent before has been passed on,
        so neither a flooding guest nor a flooding client grows the
        queues; a client that takes no byte for ``timeout`` seconds is
        closed with 4008. Ends by raising ``CClose``.
        """
        close_timeout = self.timeout
        self.connection.setblocking(False)
        try:
            self._copy(target)
        except self.CClose as e:
            if (self._dropped_output or e.args[0] in (
                    viewers.CLOSE_TOO_SLOW, frames.CLOSE_TOO_BIG,
                    frames.CLOSE_PROTOCOL_ERROR)):
                close_timeout = frames.CLOSE_SEND_TIMEOUT
            raise
        finally:
            # Blocking again (bounded) for websockify's close frame,
            # unless the client's close handshake already closed it.
            if self.connection.fileno() != -1:
                self.connection.settimeout(close_timeout)

    def _copy(self, target):
        out = frames.FrameWriter(self.request)
        tqueue = []  # client bytes for the guest
        poller = select.poll()
        cfd, tfd = self.connection.fileno(), target.fileno()
        # Moves on whenever a byte reaches the client (or none waits).
        stall_deadline = time.monotonic() + self.timeout
        sent = 0
        target_open = True
        t_registered = False
        guest_read = frames.MIN_READ_BYTES
        while True:
            now = time.monotonic()
            if not out.pending or out.sent != sent:
                sent = out.sent
                stall_deadline = now + self.timeout
            elif now >= stall_deadline:
                LOG.info('%s: serial session read nothing for %s s; '
                         'closing it', self.client_address[0],
                         self.timeout)
                self._drop_output(out)
                raise self.CClose(viewers.CLOSE_TOO_SLOW,
                                  history_session.STALLED % self.timeout)
            if not target_open and not out.pending:
                # The guest side closed and what it said first is sent.
                raise self.CClose(1000, 'Target closed')
            # Output past OUT_HIGH_WATER: the guest waits (one read over
            # it at most); input waits for the guest to take the last, and
            # past IN_STOP_PENDING (pongs to a client that never reads).
            listen = (target_open and not tqueue and
                      out.pending < history_session.IN_STOP_PENDING)
            poller.register(cfd, (select.POLLIN if listen else 0) |
                            (select.POLLOUT if out.pending else 0))
            # Not registered at all while nothing is wanted of the guest:
            # its hang-up must not wake the loop (nor be read) until the
            # client took the output.
            wanted = target_open and (
                (select.POLLOUT if tqueue else 0) |
                (select.POLLIN if out.pending < history_session.OUT_HIGH_WATER
                 else 0))
            if wanted:
                poller.register(tfd, wanted)
            elif t_registered:
                poller.unregister(tfd)
            t_registered = bool(wanted)
            events = dict(poller.poll(history_session.POLL_MS))
            cev, tev = events.get(cfd, 0), events.get(tfd, 0)
            if (cev | tev) & select.POLLNVAL:
                raise self.CClose(frames.CLOSE_INTERNAL_ERROR,
                                  frames.INTERNAL_ERROR)

            if cev & select.POLLOUT:
                out.flush()

            if cev & _POLL_IN:
                bufs, closed = self._recv_client()
                if bufs:
                    tqueue.extend(bufs)
                    self._send_to_target(target, tqueue)
                if closed:
                    self._flush_to_target(target, tqueue)
                    raise self.CClose(closed['code'], closed['reason'])

            if tev & select.POLLOUT and tqueue:
                self._send_to_target(target, tqueue)

            if tev & _POLL_IN:
                # Up to READ_BYTES, sent as one frame (websockify read
                # 64 KiB: a send, and a wake-up of the client, each).
                try:
                    buf = target.recv(guest_read)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    buf = b''
                if buf:
                    guest_read = frames.next_read_size(
                        guest_read, guest_read, len(buf))
                    out.binary(buf)  # sends what the socket takes now
                else:
                    target_open = False

    @staticmethod
    def _send_to_target(target, tqueue):
        """Send what ``target`` takes now, in order (one system call)."""
        if not tqueue:
            return
        try:
            sent = target.sendmsg(tqueue[:_SEND_PIECES])
        except (BlockingIOError, InterruptedError):
            return
        while sent:
            if sent < len(tqueue[0]):
                tqueue[0] = tqueue[0][sent:]
                return
            sent -= len(tqueue.pop(0))
        # Empty messages (a client may send them) are taken as they are.
        while tqueue and not tqueue[0]:
            tqueue.pop(0)

    @staticmethod
    def _flush_to_target(target, tqueue):
        """Best effort, bounded: the client is gone, the guest may be
        slow."""
        poller = select.poll()
        poller.register(target.fileno(), select.POLLOUT)
        while tqueue and poller.poll(1000):
            try:
                SerialProxyRequestHandler._send_to_target(target, tqueue)
            except OSError:
                return


class SerialProxy(websocketproxy.WebSocketProxy):
    """websockify's proxy, served as the module docstring says."""

    def __init__(self, conf, compute_rpcapi, token_store, consoles=None):
        self.conf = conf
        self.token_store = token_store
        if consoles is None:
            consoles = console_api.API(compute_rpcapi, conf)
        self.consoles = consoles
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stop_reason = None
        self._lsock = None
        self._acceptor = None
        self._budget = None
        self._clients = {}
        self._targets = set()
        self._ports = set()
        self.hubs = viewers.Hubs(self.consoles, self.viewer_limits)
        super().__init__(
            RequestHandlerClass=SerialProxyRequestHandler,
            listen_host=conf.serial_console.serialproxy_host,
            listen_port=conf.serial_console.serialproxy_port,
            web='', file_only=True, record='', daemon=False,
            run_once=False, verbose=False, traffic=False,
            ssl_only=False, ssl_target=False, heartbeat=None)
        # No TLS here: this makes websockify refuse a TLS client hello
        # should anything reach its handshake code.
        self.cert = ''

    @staticmethod
    def get_logger():
        return std_logging.getLogger(__name__)

    def msg(self, *args, **kwargs):
        # Only websockify's start-up summary comes here: it describes
        # options this proxy does not use (web root, TLS, daemon), and
        # listen() logs the address.
        pass

    @property
    def stopping(self):
        return self._stop.is_set()

    @property
    def server_address(self):
        """(host, port) actually listened on, once ``listen`` ran."""
        return self._lsock.getsockname()[:2] if self._lsock else None

    @property
    def acceptor(self):
        """The ``nova.console.acceptor.Acceptor``, once ``listen`` ran."""
        return self._acceptor

    def listen(self):
        """Bind the listening socket (before serving, to learn the port).

        Also raises the open-files limit (see the module docstring).
        """
        if self._lsock is None:
            open_files = utils.raise_open_files_limit()
            self._budget = acceptor.connection_budget(open_files)
            self._lsock = self.socket(self.listen_host, self.listen_port,
                                      prefer_ipv6=self.prefer_ipv6)
            # websockify listens with a backlog of 100: a burst of clients
            # overflowing it waits a second per SYN retry.
            self._lsock.listen(LISTEN_BACKLOG)
            self._lsock.setblocking(False)
            self._acceptor = acceptor.Acceptor(
                self._lsock, self.limits, self._start_client)
            opts = self.conf.serial_console
            LOG.info('nova-serialproxy listening on %s:%d; '
                     '[serial_console] base_url %s; open files limit %s',
                     *self.server_address, opts.base_url, open_files)
            if self._budget and opts.max_connections > self._budget:
                LOG.warning('[serial_console] max_connections %d is more '
                            'than the open files limit (%s) can hold: %d '
                            'connections will be served',
                            opts.max_connections, open_files, self._budget)
        return self.server_address

    def limits(self):
        """What the acceptor enforces, read at each connection."""
        opts = self.conf.serial_console
        total = opts.max_connections
        if self._budget:
            total = min(total, self._budget)
        try:
            trusted = acceptor.parse_networks(
                self.conf.console.trusted_proxies)
        except ValueError:
            trusted = []
        return (opts.handshake_timeout, total,
                opts.max_connections_per_client, trusted)

    def viewer_limits(self):
        """What the hubs enforce, read at each subscription."""
        opts = self.conf.serial_console
        return (opts.max_viewers_per_instance, opts.max_viewers,
                opts.viewer_backlog_bytes)

    def claim_port(self, port):
        """Whether ``port`` ((instance uuid, host, port)) had no
        interactive session; it is then this caller's until
        ``release_port``."""
        with self._lock:
            if port in self._ports:
                return False
            self._ports.add(port)
            return True

    def release_port(self, port):
        with self._lock:
            self._ports.discard(port)

    def request_stop(self, reason='stop requested'):
        """Make ``start_server`` return soon. Safe from a signal handler."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self._stop.set()

    def track_target(self, sock):
        with self._lock:
            self._targets.add(sock)
            stopping = self.stopping
        if stopping:
            self._shutdown(sock)

    def untrack_target(self, sock):
        with self._lock:
            self._targets.discard(sock)

    @staticmethod
    def _shutdown(sock):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def start_server(self):
        """Serve until ``request_stop``; then close every session.

        Replaces websockify's ``WebSockifyServer.start_server`` (0.13)
        whole, the narrowest point there is: every step of it that breaks
        a guarantee is in its body, with no hook to override apart
        (``test_proxy_server_loop`` fails on each):

        * it installs SIGINT/SIGTERM/SIGCHLD handlers: ValueError in
          nova-all, which serves from a thread, and nova-serialproxy's
          own handlers replaced; its only stop is ``Terminate`` raised by
          them in its loop, which another thread cannot ask for;
        * it forks a process per connection, copying the database and
          RPC connections into each (``run_once`` serves in-process but
          returns after the first websocket);
        * it waits with ``select()``, on the listening socket and, in
          ``do_handshake``, on each client: ValueError past descriptor
          1024;
        * ``do_handshake`` waits up to 3 s for a client's first bytes and
          then for its whole TLS handshake in the accepting loop, with no
          cap on connections: in one process a few silent clients hold up
          everyone.

        So connections are accepted and their requests read by the
        acceptor (epoll, deadline, caps, TLS refused at its first byte),
        and each complete request is served in a thread by websockify's
        request handler, as websockify's loop would in its child process.
        """
        self.listen()
        self.started()
        try:
            while not self._stop.is_set():
                try:
                    self._acceptor.serve_once(POLL_INTERVAL)
                except Exception:
                    # One connection's surprise must not end the service.
                    LOG.exception('nova-serialproxy: error serving '
                                  'connections; going on')
                    self._stop.wait(POLL_INTERVAL)
        finally:
            LOG.info('nova-serialproxy stopping (%s)',
                     self._stop_reason or 'error')
            self._acceptor.close()
            self._lsock.close()
            self._close_sessions()

    def started(self):
        LOG.debug('Serving websockets: handshakes in the serving thread, '
                  'one thread per complete request')

    def _start_client(self, sock, peer, head):
        """The acceptor's hand-off: serve ``head`` on ``sock`` in a new
        thread. ``peer`` is accept()'s: the client may have reset the
        socket since, and getpeername() would fail."""
        if self.stopping:
            sock.close()
            self._acceptor.release(peer[0])
            return
        handler_id = self.handler_id
        self.handler_id += 1
        thread = threading.Thread(
            target=self._serve_client,
            args=(sock, peer, head, handler_id),
            name='serialproxy-%d' % handler_id, daemon=True)
        with self._lock:
            self._clients[thread] = sock
        try:
            thread.start()
        except RuntimeError as e:
            # Out of threads (the process's or the system's limit): this
            # connection is dropped, the proxy and its sessions go on, and
            # an unstarted thread must not stay to be joined at shutdown.
            with self._lock:
                self._clients.pop(thread, None)
            sock.close()
            self._acceptor.release(peer[0])
            self._acceptor.log_limited(
                'threads', 'cannot start a thread for a connection from %s '
                '(%s); dropping it. Lower [serial_console] max_connections '
                'or raise the thread limit', peer[0], e)

    def _serve_client(self, sock, peer, head, handler_id):
        address = peer[0]
        try:
            self.RequestHandlerClass(sock, (address, peer[1], False), self,
                                     head=head)
        except OSError as e:
            # The client went away or the session was cut at shutdown:
            # any client can do this at will, so rate-limited.
            self._acceptor.client_gone(address, e)
        except Exception:
            LOG.exception('%s: unexpected error in connection %d',
                          address, handler_id)
        finally:
            with self._lock:
                self._clients.pop(threading.current_thread(), None)
            self._shutdown(sock)
            sock.close()
            self._acceptor.release(address)

    def _close_sessions(self):
        # Closing the guest side makes do_proxy flush what it holds and
        # close the websocket with a close frame (1001).
        with self._lock:
            targets = list(self._targets)
        for sock in targets:
            self._shutdown(sock)
        self.hubs.close_all(CLOSE_GOING_AWAY, SHUTTING_DOWN)
        if not self._join_clients(STOP_GRACE):
            # Still in the checks: cut them off.
            with self._lock:
                clients = list(self._clients.values())
            for sock in clients:
                self._shutdown(sock)
            self._join_clients(STOP_GRACE)

    def _join_clients(self, timeout):
        with self._lock:
            threads = list(self._clients)
        for thread in threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in threads)


def make_server(conf, compute_rpcapi, token_store, consoles=None):
    """A configured proxy; ``listen()`` binds, ``start_server()`` serves.

    :param conf: the configuration. Options are read from it
        (``[serial_console]`` serialproxy_host, serialproxy_port; base_url,
        handshake_timeout, max_connections, max_connections_per_client,
        max_message_bytes, max_viewers, max_viewers_per_instance,
        viewer_backlog_bytes and ``[console]`` allowed_origins,
        trusted_proxies at every connection).
    :param compute_rpcapi: a ``nova.compute.rpcapi.ComputeAPI``: the
        compute hosts are asked whether a token's port is still its
        instance's, and for the console log of the history modes.
    :param token_store: ``nova.console.tokens`` or an object with its
        ``validate(token)`` (ConnectInfo, or ``InvalidToken``).
    :param consoles: what the proxy asks about consoles; by default
        ``nova.console.api.API(compute_rpcapi, conf)``. A test's fake has
        its ``validate_console_port``, ``follow_console_log`` and
        ``end_console_follow``; ``compute_rpcapi`` is then unused.

    Nothing is imported, built or connected behind the caller's back:
    what the proxy talks to is what it is given.
    """
    return SerialProxy(conf, compute_rpcapi, token_store, consoles=consoles)
