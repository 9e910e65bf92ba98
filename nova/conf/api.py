from oslo_config import cfg

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

database_group = cfg.OptGroup('database', title='Database options')

database_opts = [
    cfg.StrOpt(
        'connection',
        default='sqlite:////var/lib/nova/nova.sqlite',
        secret=True,
        help="""
SQLAlchemy URL of the database holding servers, flavors, images and
console tokens. The default SQLite file suits one host; use e.g.
``mysql+pymysql://nova:PASSWORD@db/nova`` for several API workers.
"""),
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

console_group = cfg.OptGroup('console', title='Console proxy options')

console_opts = [
    cfg.ListOpt(
        'allowed_origins',
        default=[],
        help="""
Extra host names allowed in the Origin header of websocket connections to
nova-serialproxy, besides the proxy's own host. A browser page served from
another host (a dashboard) must be listed here.
"""),
]


def register_opts(conf):
    conf.register_opts(wsgi_opts)
    for group, opts in ((api_group, api_opts),
                        (database_group, database_opts),
                        (consoleauth_group, consoleauth_opts),
                        (console_group, console_opts)):
        fresh = base.fresh_group(group)
        conf.register_group(fresh)
        conf.register_opts(opts, group=fresh)


def list_opts():
    return {'DEFAULT': wsgi_opts, api_group: api_opts,
            database_group: database_opts,
            consoleauth_group: consoleauth_opts,
            console_group: console_opts}
