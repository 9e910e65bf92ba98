"""One libvirt connection per compute host, opened lazily, reopened if lost.

libvirtd restarts (package upgrades, crashes) must not need a nova-compute
restart: every call goes through :meth:`Host.get_connection`, which checks
the connection is alive and reopens it when it is not.
"""

import threading

import libvirt
from oslo_log import log as logging

from nova import exception

LOG = logging.getLogger(__name__)

# Errors that mean the connection is gone, not that a call was wrong: an
# unusable connection object, or a system/internal error of the RPC layer
# (libvirtd restarted or died under us).
_CONNECTION_INVALID = (libvirt.VIR_ERR_NO_CONNECT,
                       libvirt.VIR_ERR_INVALID_CONN)
_TRANSPORT_ERRORS = (libvirt.VIR_ERR_SYSTEM_ERROR,
                     libvirt.VIR_ERR_INTERNAL_ERROR)
_TRANSPORT_DOMAINS = (libvirt.VIR_FROM_REMOTE, libvirt.VIR_FROM_RPC)


def version_to_tuple(number):
    """libvirt's 1003003 -> (1, 3, 3)."""
    return (number // 1000000, number // 1000 % 1000, number % 1000)


def version_to_int(version):
    major, minor, micro = (tuple(version) + (0, 0))[:3]
    return major * 1000000 + minor * 1000 + micro


def _ignore_libvirt_error(ctxt, err):
    """libvirt prints every error to stderr; we raise and log them instead."""


libvirt.registerErrorHandler(_ignore_libvirt_error, None)


def is_connection_lost(err):
    code = err.get_error_code()
    return code in _CONNECTION_INVALID or (
        code in _TRANSPORT_ERRORS and
        err.get_error_domain() in _TRANSPORT_DOMAINS)


class Host:
    def __init__(self, uri):
        self._uri = uri
        self._conn = None
        self._lock = threading.Lock()

    @property
    def uri(self):
        return self._uri

    def _open(self):
        LOG.debug('Connecting to libvirt: %s', self._uri)
        try:
            return libvirt.open(self._uri)
        except libvirt.libvirtError as e:
            raise exception.HypervisorUnavailable(
                uri=self._uri, reason=e.get_error_message())

    @staticmethod
    def _alive(conn):
        # isAlive() asks the client library, not libvirtd: no round trip on
        # every call. A connection whose peer went away is noticed at the
        # first call that fails, and reopened at the next get_connection().
        try:
            return bool(conn.isAlive())
        except libvirt.libvirtError as e:
            if is_connection_lost(e):
                return False
            raise

    def get_connection(self):
        # A live connection is handed out without the lock: every driver
        # call asks for it, and on a busy API (32 console calls at once)
        # they queued on the lock for a check that takes no round trip.
        # The lock is for replacing a lost one, whose check comes again.
        conn = self._conn
        if conn is not None:
            try:
                if conn.isAlive():
                    return conn
            except libvirt.libvirtError:
                pass
        with self._lock:
            if self._conn is not None and not self._alive(self._conn):
                LOG.warning('Connection to libvirt at %s lost; reconnecting',
                            self._uri)
                try:
                    self._conn.close()
                except libvirt.libvirtError:
                    pass  # already broken; the new connection is what counts
                self._conn = None
            if self._conn is None:
                self._conn = self._open()
            return self._conn

    def close(self):
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    def get_lib_version(self):
        return version_to_tuple(self.get_connection().getLibVersion())

    def get_hv_version(self):
        return version_to_tuple(self.get_connection().getVersion())

    def has_min_version(self, lv_ver=None, hv_ver=None, hv_type=None):
        """True when libvirt, and the hypervisor, are at least as given.

        ``hv_type`` (e.g. ``'QEMU'``) restricts the check to that
        hypervisor: any other one fails it.
        """
        conn = self.get_connection()
        if lv_ver is not None and (
                conn.getLibVersion() < version_to_int(lv_ver)):
            return False
        if hv_type is not None and conn.getType() != hv_type:
            return False
        if hv_ver is not None and (
                conn.getVersion() < version_to_int(hv_ver)):
            return False
        return True

    def get_domain(self, instance):
        """The libvirt domain of ``instance``, or InstanceNotFound."""
        try:
            return self.get_connection().lookupByUUIDString(instance.uuid)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceNotFound(instance_id=instance.uuid)
            raise

    def list_domains(self):
        """Every domain on this host, running or not."""
        return self.get_connection().listAllDomains(0)


# libvirt's own defaults for virtlogd.conf (docs: virtlogd.conf).
VIRTLOGD_DEFAULT_MAX_SIZE = 2 * 1024 * 1024
VIRTLOGD_DEFAULT_MAX_BACKUPS = 3


def read_virtlogd_limits(path):
    """(max_size, max_backups) from virtlogd.conf, libvirt's defaults if unset.

    The file is libvirt's ``key = value`` format with ``#`` comments; an
    unreadable file means the defaults apply, as they do for virtlogd.
    """
    limits = {'max_size': VIRTLOGD_DEFAULT_MAX_SIZE,
              'max_backups': VIRTLOGD_DEFAULT_MAX_BACKUPS}
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError as e:
        LOG.debug('Cannot read %s (%s); virtlogd defaults apply', path, e)
        lines = []
    for line in lines:
        key, sep, value = line.split('#', 1)[0].partition('=')
        key = key.strip()
        if sep and key in limits:
            try:
                limits[key] = int(value.strip())
            except ValueError:
                LOG.warning('Ignoring %s = %r in %s: not a number', key,
                            value.strip(), path)
    return limits['max_size'], limits['max_backups']
