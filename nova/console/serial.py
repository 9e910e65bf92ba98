"""tcp ports for guest serial consoles, from ``[serial_console] port_range``.

Allocations live in this process. A port is handed out only when nothing
here holds it and a bind test on the address succeeds, so a port another
process listens on is skipped. Guests keep their ports across a
nova-compute restart; the driver calls :func:`reserve_port` for each of
them at start-up so the same port is never handed out twice.
"""

import errno
import socket

from oslo_concurrency import lockutils
from oslo_log import log as logging

import nova.conf
from nova import exception

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

ALLOCATED_PORTS = set()  # {(host, port)}
_LOCK = 'serial-console-ports'


def _bind_test(host, port):
    """Raise SocketPortInUseException unless ``host:port`` is free now."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRNOTAVAIL:
            # Not an address of this network namespace (a compute service
            # driving another host's libvirt): nothing to test here, and
            # QEMU names the port if it is taken after all.
            LOG.debug('Cannot bind-test %s:%d: %s', host, port, e.strerror)
            return
        raise exception.SocketPortInUseException(
            host=host, port=port, error=e.strerror or e)
    finally:
        sock.close()


@lockutils.synchronized(_LOCK)
def acquire_port(host, port_range=None):
    """Allocate a free tcp port on ``host`` from ``port_range``.

    ``port_range`` is ``(MIN, MAX)``, by default the configured
    ``[serial_console] port_range``.
    """
    start, end = port_range or CONF.serial_console.port_range
    for port in range(start, end + 1):
        if (host, port) in ALLOCATED_PORTS:
            continue
        try:
            _bind_test(host, port)
        except exception.SocketPortInUseException as e:
            LOG.debug('Skipping serial port: %s', e)
            continue
        ALLOCATED_PORTS.add((host, port))
        return port
    raise exception.SocketPortRangeExhaustedException(
        host=host, port_range='%d:%d' % (start, end))


@lockutils.synchronized(_LOCK)
def reserve_port(host, port):
    """Mark ``host:port`` as taken by a guest that already listens on it.

    Returns False when it was already taken here: two guests claiming one
    port is worth a warning from the caller, not a crash.
    """
    if (host, port) in ALLOCATED_PORTS:
        return False
    ALLOCATED_PORTS.add((host, port))
    return True


@lockutils.synchronized(_LOCK)
def release_port(host, port):
    """Give ``host:port`` back; releasing a free port is harmless."""
    ALLOCATED_PORTS.discard((host, port))


@lockutils.synchronized(_LOCK)
def count_allocated(host, port_range):
    """How many ports of ``port_range`` on ``host`` guests hold here."""
    start, end = port_range
    return sum(1 for h, port in ALLOCATED_PORTS
               if h == host and start <= port <= end)
