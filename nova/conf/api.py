import ipaddress

from oslo_config import cfg
from oslo_config import types

from nova.conf import base

api_group = cfg.OptGroup('api', title='Compute API options')

api_opts = [
    cfg.StrOpt(
        'auth_strategy',
        default='noauth2',
        choices=(('noauth2', 'no authentication: the X-Auth-Token header '
                             '"user:project" names the caller (test and '
                             'single-host use only)'),
                 ('keystone', 'keystonemiddleware auth_token validates '
                              'tokens; configure [keystone_authtoken]')),
        help='How the compute API authenticates its callers.'),
    cfg.IntOpt(
        'request_header_timeout',
        default=30,
        min=1,
        help="""
Seconds a client of the compute API has to send a complete request head
(request line and headers), counted from the connection, or on a
keep-alive connection from the end of the previous response.

A connection that misses it is closed, with a 408 response when part of a
head had arrived; the body of a request is not counted. This stops clients
that trickle a header line every few seconds from holding connections, and
also bounds how long an idle keep-alive connection stays open.

Possible values:

* Any positive number of seconds. Clients on slow links need a few
  seconds; 30 leaves ample room.

Related options:

* ``[api] max_connections``, ``[api] max_connections_per_client``,
  ``[api] request_body_timeout``
"""),
    cfg.IntOpt(
        'request_body_timeout',
        default=60,
        min=1,
        help="""
Seconds a client of the compute API has to send a request's body, counted
from the end of its head (the blank line after the headers).

A connection that misses it is closed with a 408 response in JSON. Bodies
of the compute API are small (at most 2 MiB), so this bounds only clients
that send a body a few bytes at a time to hold a connection: such a
connection is never idle, so no idle timeout closes it.

Possible values:

* Any positive number of seconds. 60 leaves room for the largest body
  (user data) over a slow link.

Related options:

* ``[api] request_header_timeout`` (the head before it),
  ``[api] max_connections``
"""),
    cfg.IntOpt(
        'max_connections_per_client',
        default=100,
        min=0,
        help="""
Most connections to the compute API open at once from one client address.

A new connection from an address that already holds this many is closed at
once, without a response; other addresses are not affected. Clients are
told apart by their IP address as the API sees it: behind a load balancer
or reverse proxy every request comes from the proxy's address.

Possible values:

* 0: no limit per address (use it behind a load balancer or reverse
  proxy, which should enforce its own limit).
* A positive number, below ``[api] max_connections``.

Related options:

* ``[api] max_connections``, ``[api] request_header_timeout``
"""),
    cfg.IntOpt(
        'max_connections',
        default=1000,
        min=1,
        help="""
Most connections to the compute API open at once, from all clients.

When a new connection arrives at the limit, the API closes the connection
that has waited longest without sending a complete request head (a slow or
idle client, or an idle keep-alive connection) to make room; failing that,
one that is still sending a request body, then one whose client has not
read all of its response. Connections whose requests are being served are
never closed for this. Only when every connection is
being served is the new one closed at once. So clients that hold
connections open without finishing a request cannot lock out others.

nova-api and nova-all raise their open-file soft limit to the hard limit
at start; keep this well below that limit (``LimitNOFILE`` in a systemd
unit), which the rest of the process shares.

Possible values:

* A positive number of connections.

Related options:

* ``[api] max_connections_per_client``, ``[api] request_header_timeout``
"""),
]

wsgi_opts = [
    cfg.HostAddressOpt(
        'osapi_compute_listen',
        default='127.0.0.1',
        help='Address on which the compute API listens.'),
    cfg.PortOpt(
        'osapi_compute_listen_port',
        default=8774,
        help='Port on which the compute API listens.'),
]

consoleauth_group = cfg.OptGroup('consoleauth', title='Console tokens')

consoleauth_opts = [
    cfg.IntOpt(
        'token_ttl',
        default=600,
        min=1,
        help="""
Seconds a console URL's token stays valid. Tokens are stored only as
SHA-256 hashes; an expired one is refused by nova-serialproxy.
"""),
]


class IPNetwork(types.String):
    """An IP address or CIDR (``192.0.2.0/24``, ``2001:db8::1``)."""

    def __init__(self):
        super().__init__(type_name='IP address or CIDR')

    def __call__(self, value):
        value = super().__call__(value).strip()
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError('%r is not an IP address or CIDR, e.g. '
                             '192.0.2.10 or 198.51.100.0/24' % value)
        return value


# -- srv
api_opts.append(cfg.BoolOpt(
    'enable_instance_password',
    default=True,
    help="""
Return an ``adminPass`` in the response to a server create or rebuild, as
Nova does: the caller's own ``adminPass``, or a random one when the request
has none.

This cloud never sets that password inside the guest (there is no guest
agent and no config drive), as Nova's libvirt driver by default does not
either; the password is not stored. Clients such as tempest expect the
field when this is on.

Possible values:

* True (Nova's default): the field is in the create and rebuild responses.
* False: it is not; a request's ``adminPass`` is still accepted.
"""))


console_group = cfg.OptGroup('console', title='Console proxy options')

console_opts = [
    cfg.ListOpt(
        'allowed_origins',
        default=[],
        help="""
Extra host names allowed in the Origin header of websocket connections to
nova-serialproxy, besides the host of ``[serial_console] base_url``. A
browser page served from another host (a dashboard) must be listed here.
The Host header a client sends is never trusted for this.

Possible values:

* A list of host names or URLs (only their host counts), e.g.
  ``dashboard.example.org``.

Related options:

* ``[serial_console] base_url``: its host and scheme.
"""),
    cfg.ListOpt(
        'trusted_proxies',
        default=[],
        item_type=IPNetwork(),
        help="""
Addresses of TLS-terminating proxies or load balancers in front of
nova-serialproxy (IP addresses or CIDRs). From these peers the proxy takes
the scheme of the client's connection from the ``X-Forwarded-Proto`` header
for its Origin check, and does not count their connections per client. From
any other peer that header is ignored, so clients cannot forge it. When the
header holds a list, its last element (what the nearest proxy added) counts.
haproxy: ``http-request set-header X-Forwarded-Proto https if { ssl_fc }``.

Possible values:

* A list like ``192.0.2.10, 198.51.100.0/24, 2001:db8::/64``. Empty (the
  default): no peer is trusted.

Related options:

* ``[serial_console] base_url``: ``wss://...`` behind the TLS proxy.
* ``[serial_console] max_connections_per_client``.
"""),
]


def register_opts(conf):
    conf.register_opts(wsgi_opts)
    for group, opts in ((api_group, api_opts),
                        (consoleauth_group, consoleauth_opts),
                        (console_group, console_opts)):
        fresh = base.fresh_group(group)
        conf.register_group(fresh)
        conf.register_opts(opts, group=fresh)


def list_opts():
    return {'DEFAULT': wsgi_opts, api_group: api_opts,
            consoleauth_group: consoleauth_opts,
            console_group: console_opts}
