"""What every nova-* service command does first."""

import contextlib
import logging as std_logging
import math
import os
import signal
import stat
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

import nova.conf

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def parse_args(argv, prog):
    """Load nova.conf options from ``argv`` and set up logging.

    Returns False, having said why on stderr, when the configuration is
    unusable; the command then exits with status 1.
    """
    try:
        load_config(argv, prog)
    except cfg.Error as e:
        print('%s: %s' % (prog, e), file=sys.stderr)
        return False
    setup_logging(CONF)
    return True


def load_config(argv, prog):
    """Parse ``argv``'s options into ``CONF`` and check every value.

    :raises oslo_config.cfg.Error: a missing or unreadable file, an
        unknown argument, or a value of the wrong type or out of range
        (its text names the option, the file and the value).
    """
    logging.register_options(CONF)
    CONF(argv[1:], project='nova', prog=prog)
    check_option_values(CONF)


def check_option_values(conf):
    """Read every registered option once, so that a value of the wrong
    type or out of its range stops the command at start with oslo.config's
    message (ConfigFileValueError, a cfg.Error naming the option, the
    file and the value) rather than as a traceback in the first thread
    that reads it, maybe long after start."""
    for name in list(conf):
        value = conf[name]
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for opt_name in list(value):
                value[opt_name]


# Owner only: the log holds fault texts, guest XML and host paths.
LOG_FILE_MODE = 0o600
# Seconds each start-up ping waits for a conductor (connect_rpc).
PING_TRY_SECONDS = 2
# Longest pause between two checks of stuck instance tasks ([conductor]
# stuck_task_timeout says how old a task must be).
STUCK_CHECK_SECONDS = 60


def setup_logging(conf):
    """oslo.log's setup, with log files the service creates kept private.

    A log file (``[DEFAULT] log_file``/``log_dir``) that does not exist
    yet is created mode 0600, and so is each new file after a rotation
    (``log_rotation_type``) or a reopen (``watch_log_file``). An existing
    file keeps its mode: an operator may have opened it to a group (a log
    shipper) on purpose; when group or others can read it, a warning says
    so once at start.
    """
    old_umask = os.umask(0o077)
    try:
        logging.setup(conf, 'nova')
    finally:
        os.umask(old_umask)
    for handler in std_logging.getLogger().handlers:
        if isinstance(handler, std_logging.FileHandler):
            _keep_private(handler)


def _keep_private(handler):
    """Make ``handler`` create its files LOG_FILE_MODE; warn when its
    current file is open to group or others."""
    def _open():
        # O_APPEND as mode 'a'; the mode applies only when it creates.
        fd = os.open(handler.baseFilename,
                     os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                     LOG_FILE_MODE)
        return open(fd, handler.mode, encoding=handler.encoding,
                    errors=handler.errors)
    handler._open = _open
    try:
        mode = stat.S_IMODE(os.stat(handler.baseFilename).st_mode)
    except OSError:
        return
    if mode & 0o077:
        LOG.warning('Log file %s is open to others than its owner '
                    '(mode %04o); it holds fault messages and guest '
                    'definitions: chmod 600 it unless that is intended',
                    handler.baseFilename, mode)


def require_broker(prog):
    """A separate service needs a real broker: ``fake://`` reaches only
    services in the same process (nova-all). False, said on stderr, when
    there is none configured."""
    from nova import rpc  # imports oslo.messaging: only for services
    if rpc.in_process(CONF):
        print('%s: [DEFAULT] transport_url is %s, which only reaches '
              'services in the same process; set it to the message broker '
              'of the deployment (rabbit://USER:PASSWORD@HOST:5672/), or '
              'run nova-all on a single host' % (prog, CONF.transport_url),
              file=sys.stderr)
        return False
    return True


class Conductor:
    """The conductor topic served in this process: compute services'
    heartbeats (ConductorManager) and the instance tasks
    (ComputeTaskManager). nova-conductor and nova-all run one; nova-api
    of a split deployment does not."""

    def __init__(self, conf):
        from nova.conductor import manager
        from nova.conductor import rpcapi
        from nova import rpc
        self._conf = conf
        self._stopping = threading.Event()
        self.task_manager = manager.ComputeTaskManager(conf)
        self._server = rpc.get_server(
            conf, rpcapi.TOPIC, conf.host,
            [manager.ConductorManager(
                on_host_up=self.task_manager.recover_host, conf=conf),
             self.task_manager])

    def start(self):
        self._server.start()
        self._checker = threading.Thread(
            target=self._check_loop, name='stuck-task-check', daemon=True)
        self._checker.start()
        return self

    def _check_loop(self):
        from nova import context
        timeout = self._conf.conductor.stuck_task_timeout
        if not timeout:
            return
        while not self._stopping.wait(min(timeout, STUCK_CHECK_SECONDS)):
            try:
                self.task_manager.check_stuck_tasks(
                    context.get_admin_context())
            except Exception:
                # The database or broker may be away for a while; the
                # next check tries again.
                LOG.exception('Check of stuck instance tasks failed')

    def stop(self):
        self._stopping.set()
        self._server.stop()

    def wait(self):
        self._server.wait()


def start_conductor(conf, recover=True):
    """Serve the conductor topic here; with ``recover``, then recover
    the instances a stopped conductor left in a task (asking their
    hosts: ComputeTaskManager.init_host)."""
    conductor = Conductor(conf).start()
    connect_rpc(conf)
    if recover:
        conductor.task_manager.init_host()
    return conductor


def connect_rpc(conf):
    """Set this process's reply queue up now, with a round trip.

    oslo.messaging makes it at a process's first call, and waits for the
    broker for ever there: better at start-up, said in the log, than in
    a user's request. False when no conductor answered (nova-conductor
    down).
    """
    from nova.conductor import rpcapi
    from nova import context
    from nova import rpc
    if rpc.in_process(conf):
        return True
    LOG.info('Connecting to the message broker')
    # Short tries, not one long wait: a ping sent before nova-conductor
    # declared its queue is dropped by the broker, never answered, and
    # one call would hold this process's start for the whole
    # rpc_response_timeout although the conductor came up a second later
    # (services started together, as an init system does).
    api = rpcapi.ConductorAPI(conf)
    ctx = context.get_admin_context()
    per_try = min(PING_TRY_SECONDS, conf.rpc_response_timeout)
    answered = False
    for _ in range(max(1, math.ceil(conf.rpc_response_timeout / per_try))):
        answered = api.ping(ctx, per_try)
        if answered:
            break
    if not answered:
        LOG.warning('No conductor answered within %d s (is '
                    'nova-conductor running?); going on',
                    conf.rpc_response_timeout)
    return answered


def stop_rpc_server(server):
    if server is not None:
        server.stop()
        server.wait()


@contextlib.contextmanager
def stop_on_signal():
    """Inside: a threading.Event that SIGTERM or SIGINT sets (the
    services' way to stop cleanly); on leaving, the handlers before are
    put back. Main thread only (signal.signal's rule)."""
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()

    previous = {sig: signal.signal(sig, stop)
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stopping
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
