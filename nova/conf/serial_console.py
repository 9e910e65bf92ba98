from oslo_config import cfg
from oslo_config import types

from nova.conf import base

DEFAULT_PORT_RANGE = '10000:20000'


class PortRange(types.String):
    """``MIN:MAX`` with 1 <= MIN <= MAX <= 65535, parsed to ``(MIN, MAX)``."""

    def __init__(self):
        super().__init__(type_name='port range')

    def __call__(self, value):
        if isinstance(value, tuple):
            return value
        value = super().__call__(value)
        start, sep, end = value.partition(':')
        try:
            start, end = int(start), int(end)
        except ValueError:
            start = end = None
        if not sep or start is None or not 1 <= start <= end <= 65535:
            raise ValueError(
                "invalid port range %r: expected MIN:MAX with "
                "1 <= MIN <= MAX <= 65535, e.g. %r"
                % (value, DEFAULT_PORT_RANGE))
        return start, end

    def _formatter(self, value):
        if isinstance(value, tuple):
            return '%d:%d' % value
        return value


serial_opt_group = cfg.OptGroup(
    'serial_console',
    title='The serial console feature',
    help="""
The serial console gives interactive access to a guest's serial port over a
websocket (nova-serialproxy). With libvirt >= 1.3.3 and QEMU >= 2.6.0 the
same port is also logged by virtlogd, so os-getConsoleOutput keeps working.
""")

serial_opts = [
    cfg.BoolOpt(
        'enabled',
        default=False,
        help="""
Give guests tcp serial ports for interactive access.

When the host's libvirt and QEMU are new enough (libvirt >= 1.3.3,
QEMU >= 2.6.0) and virtlogd runs, the first serial port is also logged to the
instance's console.log, so console output and the serial console work at
once. On older hosts enabling this turns off the console log of new guests.
"""),
    cfg.Opt(
        'port_range',
        type=PortRange(),
        default=DEFAULT_PORT_RANGE,
        help="""
Range of tcp ports, ``MIN:MAX`` inclusive, from which each guest serial port
gets its own port on ``proxyclient_address``.

Size it for (guests per host) x (serial ports per guest). Ports another
process already uses are skipped. When the range is exhausted new guests
with serial ports fail to boot with a clear error.
"""),
    cfg.URIOpt(
        'base_url',
        default='ws://127.0.0.1:6083/',
        help="""
Public URL of nova-serialproxy handed to clients, to which ``?token=...`` is
appended. Set it to the proxy's address as users reach it, e.g.
``wss://console.example.org:6083/`` behind TLS.
"""),
    cfg.StrOpt(
        'proxyclient_address',
        default='127.0.0.1',
        help="""
Address on this compute host that the guests' tcp serial ports listen on,
and that nova-serialproxy connects to. Use an address the proxy can reach
but guests' users cannot.
"""),
    cfg.HostAddressOpt(
        'serialproxy_host',
        default='0.0.0.0',
        help='Address on which nova-serialproxy listens for websockets.'),
    cfg.PortOpt(
        'serialproxy_port',
        default=6083,
        help='Port on which nova-serialproxy listens for websockets.'),
    cfg.IntOpt(
        'handshake_timeout',
        default=10,
        min=1,
        help="""
Seconds a client of nova-serialproxy has, from the moment its connection is
accepted, to send its whole HTTP upgrade request. A deadline, not a per-read
timeout: a client sending a byte at a time is cut off too (HTTP 408).

Possible values:

* An integer >= 1. Browsers send the request at once; raise it only for
  clients on very slow links.

Related options:

* ``max_connections``, ``max_connections_per_client``: connections still
  in their handshake are the first dropped when a cap is reached.
"""),
    cfg.IntOpt(
        'max_connections',
        default=1024,
        min=1,
        help="""
Connections nova-serialproxy holds at once, in total: open console sessions
plus connections still sending their HTTP upgrade request. When it is
reached a new connection takes the place of the oldest one still in its
handshake; when every connection is an open session the new one gets HTTP
503. Each session uses up to three file descriptors (client, guest, and
the wake-up of its log stream with ``history``); the proxy raises its open
files limit (``ulimit -n``) to the hard limit at start, and serves fewer
connections, with a warning, when that limit cannot hold this many (at
most (limit - 256) / 3).

Possible values:

* An integer >= 1: at least the number of console sessions users open at
  the same time, with room for clients connecting.

Related options:

* ``max_connections_per_client``, ``handshake_timeout``.
"""),
    cfg.IntOpt(
        'max_connections_per_client',
        default=128,
        min=1,
        help="""
Connections nova-serialproxy holds at once from one client IP address
(sessions and handshakes). When it is reached a new connection from that
address takes the place of its oldest one still in its handshake; when all
its connections are open sessions the new one gets HTTP 503. Addresses in
``[console] trusted_proxies`` are not limited by this (a load balancer
carries many users): limit clients on the load balancer.

Possible values:

* An integer >= 1. Users behind one NAT address share it.

Related options:

* ``max_connections``: the total, which applies to every address.
* ``[console] trusted_proxies``.
"""),
    cfg.StrOpt(
        'web_root',
        default='/usr/share/nova/serial-console-web',
        help="""
Folder from which nova-serialproxy serves the web serial terminal: a plain
HTTP GET (no websocket upgrade) of ``/`` or ``/console.html`` on the proxy's
address gets a page that opens the console of the ``token`` in its own
query, e.g. ``http://proxy:6083/console.html?token=...``.

Only these files are ever served from it, relative to this folder:
``console.html``, ``console.js``, ``console.css`` and, under
``vendor/node_modules/@xterm/``, xterm.js's ``xterm/lib/xterm.js``,
``xterm/css/xterm.css`` and ``addon-fit/lib/addon-fit.js``. Any other path
gets 404; no folder is listed; a symbolic link anywhere below this folder
is never followed (404). ``tools/install-web-console.sh --web-root DIR``
fills it (``tools/setup-host.sh`` runs it for the default): the pages from
``nova/console/static`` and xterm.js with ``npm ci`` from the committed
package-lock.json. Re-run it after an upgrade of Nova.

Possible values:

* An absolute path to a folder readable by nova-serialproxy. When it does
  not exist or lacks a file, requests for that file get 404 and the
  websocket console works as before.

Related options:

* ``base_url``: the page is reached at the same host and port; its
  scheme (``ws``/``wss``) decides ``http``/``https``.
* ``[console] allowed_origins``: the page's websocket carries the page's
  Origin, which must be the host of ``base_url`` or listed there.
"""),
    cfg.IntOpt(
        'max_viewers_per_instance',
        default=64,
        min=1,
        help="""
Read-only console viewers (``serial-readonly`` console URLs) that one
nova-serialproxy process serves at once for one instance. One more gets
websocket close code 4429 "Too many viewers" right after the handshake.
All viewers of an instance share one stream from its compute host, so a
viewer costs the proxy a connection, a thread and its backlog, and costs
the compute host nothing more.

Possible values:

* An integer >= 1.

Related options:

* ``max_viewers``: the proxy's total.
* ``max_connections``: every viewer is also a connection.
"""),
    cfg.IntOpt(
        'max_viewers',
        default=512,
        min=1,
        help="""
Read-only console viewers one nova-serialproxy process serves at once, for
all instances together. One more gets websocket close code 4429 "Too many
viewers". Interactive sessions (with or without history) are not counted:
each guest serial port has at most one, per proxy process.

Possible values:

* An integer >= 1, at most ``max_connections`` to be of use.

Related options:

* ``max_viewers_per_instance``, ``max_connections``.
"""),
    cfg.IntOpt(
        'viewer_backlog_bytes',
        default=1024 * 1024,
        min=256 * 1024,
        help="""
Bytes of console output that may wait in nova-serialproxy for one client
of a console's log stream (a read-only viewer, or an interactive session
opened with ``history``) because the client reads more slowly than the
guest writes. Past it the client is closed with websocket close code 4008
"Too slow: fell more than N bytes behind"; the other clients of the
console go on. The proxy never waits for a slow client. The waiting bytes
are shared between clients of the same console, so memory is about this
much per watched instance at worst, not per client.

Possible values:

* An integer >= 262144 (256 KiB): a client's history (up to 100 KiB)
  counts too. Raise it for clients on slow links watching chatty guests.

Related options:

* ``max_viewers_per_instance``, ``max_viewers``.
"""),
    cfg.IntOpt(
        'max_message_bytes',
        default=256 * 1024,
        min=4096,
        help="""
Bytes one websocket message from a console client may carry (every
fragment of it together, and any single frame). nova-serialproxy holds a
message in memory until its last fragment arrives, so this bounds what
one client can make the proxy hold: about this much per open session at
worst (``max_connections`` times it in all). A frame is refused from its
header, before its bytes are read; the client is closed with websocket
close code 1009 "Message too big: over N bytes". Applies to every kind of
session: plain serial, with history, and read-only viewers (whose input
is dropped as it arrives, but still may not exceed this per message).
The web console sends a paste in pieces well below the minimum.

Possible values:

* An integer >= 4096. Keystrokes are a few bytes; raise it only for
  command-line clients that send large pastes as one message.

Related options:

* ``max_connections``.
"""),
]


# Console followers: the compute host's side of live consoles. A follower
# reads one guest's console log as virtlogd appends to it, for the
# nova-serialproxy that streams it to viewers (its own list, so it merges
# apart from the proxy's options).
_follow_opts = [
    cfg.IntOpt(
        'max_console_followers',
        default=256,
        min=1,
        help="""
Console log followers one nova-compute service holds open at once, for all
its guests. nova-serialproxy opens one per guest being watched (however
many viewers watch it) and ends it when the last viewer leaves. Beyond
this number, opening one more is refused with HTTP 409 semantics ("too
many console followers on host X") until some end or expire.

Each follower holds 3 to 5 file descriptors of nova-compute (its instance
folder, an inotify descriptor, the log files it reads): make sure
nova-compute's open files limit (``LimitNOFILE`` of its systemd unit) has
room for 5 per follower on top of its other needs.

Possible values:

* An integer >= 1: at least the number of guests of this host that users
  watch live at the same time, times the number of nova-serialproxy
  processes that may watch one guest.

Related options:

* ``console_follower_idle_timeout``: how fast followers of a proxy that
  went away are freed.
"""),
    cfg.IntOpt(
        'console_follower_idle_timeout',
        default=60,
        min=1,
        help="""
Seconds after which a console follower that nobody read from is closed.
A live proxy reads far more often (it keeps a read waiting, see
``console_follow_max_wait``); this frees the followers of a proxy that
died or lost its connection to this host. The check runs on every
follower call to this host and on a timer (every half of this, at most
every 30 s) while followers are open, so it also runs when no call comes.
A proxy that reads a closed follower again is told it is unknown and opens
a new one. Stopping nova-compute closes every follower.

Possible values:

* An integer >= 1 (seconds). Keep it well above
  ``console_follow_max_wait`` plus the time a message takes through the
  broker, or busy followers of a slow link are closed under their proxy.

Related options:

* ``console_follow_max_wait``, ``max_console_followers``.
"""),
    cfg.FloatOpt(
        'console_follow_max_wait',
        default=10.0,
        min=0.0,
        help="""
Most seconds one follower read waits on this host for the guest to write
(a long poll: it answers at once when bytes arrive). A proxy asking for
longer gets this. It is also never more than half of
``[DEFAULT] rpc_response_timeout``, so the answer arrives before the
proxy's call times out.

Possible values:

* A number >= 0 (seconds). 0: reads never wait; they tell the proxy to
  pause 1 s (``retry_after``), so it polls each watched guest about once
  a second. Longer waits mean fewer messages for quiet guests and output
  shown sooner.

Related options:

* ``max_console_follow_waiters``: how many reads may wait at once.
* ``[DEFAULT] rpc_response_timeout``.
* ``console_follower_idle_timeout``: keep it well above this.
"""),
    cfg.IntOpt(
        'max_console_follow_waiters',
        default=16,
        min=0,
        help="""
Follower reads that may wait for output at once on this host. Every
waiting read holds one of the RPC server's worker threads for up to
``console_follow_max_wait`` seconds; reads beyond this number (and a read
of a follower another read holds) answer at once with whatever is there,
so the workers always have room for server actions. An empty answer of
this kind tells the proxy to pause 1 s before it asks again
(``retry_after``): each guest watched beyond this number costs about one
call a second, and output shown up to a second late; never a stuck
action, nor a proxy asking in a loop.

Possible values:

* An integer >= 0, below the RPC server's worker threads
  (``[DEFAULT] executor_thread_pool_size``, 64 by default), and at least
  the number of this host's guests usually watched live at once. 0: reads
  never wait, and every watched guest is polled about once a second.

Related options:

* ``console_follow_max_wait``.
"""),
]
serial_opts.extend(_follow_opts)


def register_opts(conf):
    group = base.fresh_group(serial_opt_group)
    conf.register_group(group)
    conf.register_opts(serial_opts, group=group)


def list_opts():
    return {serial_opt_group: serial_opts}
