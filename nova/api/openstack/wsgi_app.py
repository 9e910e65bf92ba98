"""The compute API as a WSGI application for any WSGI server.

``nova.wsgi.osapi_compute:application`` (gunicorn, uWSGI, mod_wsgi) is
made here, as nova-api makes its own: the configuration is read, logging
set up, the message broker's reply queue opened and the application
built once per process that imports it.

The configuration files come from the environment, as Nova's:

- ``OS_NOVA_CONFIG_DIR``: their folder (default ``/etc/nova``);
- ``OS_NOVA_CONFIG_FILES``: their names, ``;``-separated, relative to
  that folder unless absolute (default ``nova.conf``); later files win.

It is the API of a split deployment: ``[DEFAULT] transport_url`` must
name the broker that nova-conductor and the compute hosts use. Any error
raises ``RuntimeError`` with the reason, which the WSGI server reports
when it fails to load the application.
"""

import atexit
import os
import sys

from oslo_config import cfg

from nova.api.openstack.compute import app
from nova.api.openstack.compute import auth
from nova.cmd import common
import nova.conf
from nova import exception

CONFIG_DIR_ENV = 'OS_NOVA_CONFIG_DIR'
CONFIG_FILES_ENV = 'OS_NOVA_CONFIG_FILES'
DEFAULT_CONFIG_DIR = '/etc/nova'
DEFAULT_CONFIG_FILES = ('nova.conf',)


def config_files(environ=None):
    """The configuration files named by ``environ`` (default
    ``os.environ``), as paths, in order."""
    environ = os.environ if environ is None else environ
    folder = environ.get(CONFIG_DIR_ENV, '').strip() or DEFAULT_CONFIG_DIR
    names = [name.strip() for name in
             environ.get(CONFIG_FILES_ENV, '').split(';') if name.strip()]
    return [os.path.join(folder, name)
            for name in names or DEFAULT_CONFIG_FILES]


def load_app(conf, compute_api=None):
    """``(application, compute_api)`` on the parsed ``conf``: the reply
    queue of the short calls (consoles, live migration pre-checks) is
    made now, not in a user's first request. ``compute_api`` defaults to
    a ``nova.compute.api.API``.

    :raises RuntimeError: an option the application reads has an invalid
        value (named), or noauth2 is asked for off loopback
        (auth.check_listen); said before the broker is waited for.
    """
    try:
        # Under a WSGI server too: osapi_compute_listen must name the
        # address the server binds.
        auth.check_listen(conf, conf.osapi_compute_listen)
    except exception.NoAuthOffLoopback as e:
        raise RuntimeError(e.message) from None
    except (cfg.Error, ValueError) as e:
        raise RuntimeError('invalid configuration: %s' % e) from None
    if compute_api is None:
        from nova.compute import api as compute
        compute_api = compute.API()
    # oslo.config checks a value when it is first read, not at parsing:
    # building the application reads the API's options.
    try:
        application = app.build_app(compute_api, conf)
    except (cfg.Error, ValueError) as e:
        raise RuntimeError('invalid configuration: %s' % e) from None
    common.connect_rpc(conf)
    return application, compute_api


def init_application(prog='nova-api', environ=None):
    """The WSGI application, for the configuration files of
    ``environ``. :raises RuntimeError: a file is missing or unreadable,
    the configuration (or a value in it) is invalid, or no broker is
    configured."""
    argv = [prog]
    for path in config_files(environ):
        argv += ['--config-file', path]
    try:
        common.load_config(argv, prog)
    except cfg.Error as e:
        # Said on stderr too, which the WSGI server keeps in its error log.
        print('%s: %s' % (prog, e), file=sys.stderr)
        raise RuntimeError('%s: unusable configuration (files %s): %s'
                           % (prog, ', '.join(argv[2::2]), e))
    common.setup_logging(nova.conf.CONF)
    if not common.require_broker(prog):
        raise RuntimeError('%s: [DEFAULT] transport_url names no message '
                           'broker' % prog)
    application, compute_api = load_app(nova.conf.CONF)
    # New actions are refused while the worker exits; the accepted ones
    # are the conductor's already.
    atexit.register(compute_api.shutdown)
    return application
