"""In-process RPC: nova-all's calls on one host, with no broker.

oslo.messaging's own in-process driver polls its queues every 50 ms, so
each call waited up to 50 ms for nothing (tools/bench_rpc.py measures
it). Here a call runs the endpoint's method in the caller's thread and a
cast on a small thread pool. Everything else is as on a broker, so what
works here works on RabbitMQ:

* context, arguments and result go through the caller's and the
  server's serializers (``nova.rpc.RequestContextSerializer``) and JSON:
  versioned objects arrive as new objects, checked field by field;
* a message carries a version; the client refuses one above its
  ``version_cap`` (``RPCVersionCapError``), and the server refuses one
  that no endpoint's ``target`` serves (``UnsupportedVersion``, which the
  caller gets as a ``RemoteError``, as from oslo.messaging);
* errors cross as oslo.messaging delivers them: ``nova.exception`` errors
  as themselves, anything else as ``RemoteError``.
"""

from concurrent import futures
import threading

from oslo_log import log as logging
import oslo_messaging
from oslo_messaging import _utils as messaging_utils
from oslo_messaging.rpc import dispatcher
from oslo_serialization import jsonutils

from nova import exception

LOG = logging.getLogger(__name__)

# As oslo.messaging's executor_thread_pool_size: casts are the instance
# actions now, and a long one (a build, a migration) holds its worker.
CAST_WORKERS = 64


def _wire(value):
    """``value`` as the other side of a broker would see it.

    A string, number, boolean or None is that already: skipping the
    round trip saves a copy of a console log per console call.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return jsonutils.loads(jsonutils.dumps(value))


def _remote(error):
    """``error`` as the caller gets it across a broker."""
    if isinstance(error, exception.NovaException):
        return error
    if isinstance(error, oslo_messaging.RemoteError):
        return error
    return oslo_messaging.RemoteError(type(error).__name__, str(error))


class Router:
    """The servers of this process, by (topic, server)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._servers = {}
        self._casts = futures.ThreadPoolExecutor(
            max_workers=CAST_WORKERS, thread_name_prefix='nova-rpc-cast')

    def add(self, topic, server, rpc_server):
        with self._lock:
            self._servers[(topic, server)] = rpc_server

    def remove(self, topic, server):
        with self._lock:
            self._servers.pop((topic, server), None)

    def _find(self, topic, server):
        with self._lock:
            if server is not None:
                found = self._servers.get((topic, server))
            else:  # any server of the topic, as a shared queue gives
                found = next((s for (t, _s), s in self._servers.items()
                              if t == topic), None)
        if found is None:
            raise oslo_messaging.MessagingTimeout(
                'No %s service%s runs in this process' % (
                    topic, '' if server is None else ' for ' + server))
        return found

    def dispatch(self, serializer, topic, server, version, ctxt, method,
                 kwargs):
        """Deliver a call; its result as the caller's serializer gives
        it back."""
        rpc_server = self._find(topic, server)
        wire_ctxt = _wire(serializer.serialize_context(ctxt))
        wire_args = {name: _wire(serializer.serialize_entity(ctxt, value))
                     for name, value in kwargs.items()}
        try:
            result = rpc_server.handle(wire_ctxt, version, method,
                                       wire_args)
        except Exception as e:
            raise _remote(e)
        return serializer.deserialize_entity(ctxt, result)

    def cast(self, serializer, topic, server, version, ctxt, method,
             kwargs):
        def run():
            try:
                self.dispatch(serializer, topic, server, version, ctxt,
                              method, kwargs)
            except Exception:
                LOG.exception('Cast %s to %s failed', method, topic)
        self._casts.submit(run)

    def cleanup(self):
        self._casts.shutdown(wait=True)


class Server:
    """oslo.messaging's RPCServer calls, for the in-process router."""

    def __init__(self, router, topic, server, endpoints, serializer):
        self._router = router
        self._key = (topic, server)
        self._endpoints = endpoints
        self._serializer = serializer

    def start(self):
        self._router.add(*self._key, self)

    def stop(self):
        self._router.remove(*self._key)

    def wait(self):
        pass  # calls run in their callers' threads

    def _method(self, version, method):
        """As oslo.messaging's RPCDispatcher picks it: the first endpoint
        whose target serves ``version`` and has a public ``method``."""
        compatible = False
        for endpoint in self._endpoints:
            target = getattr(endpoint, 'target', None)
            if target is not None and not (
                    target.namespace is None and
                    messaging_utils.version_is_compatible(target.version,
                                                          version)):
                continue
            compatible = True
            func = getattr(endpoint, method, None)
            if func is not None and not method.startswith('_'):
                return func
        if compatible:
            raise dispatcher.NoSuchMethod(method)
        raise dispatcher.UnsupportedVersion(version, method=method)

    def handle(self, wire_ctxt, version, method, wire_args):
        """Run one message (its wire form); the result's wire form."""
        func = self._method(version, method)
        ctxt = self._serializer.deserialize_context(wire_ctxt)
        args = {name: self._serializer.deserialize_entity(ctxt, value)
                for name, value in wire_args.items()}
        return _wire(self._serializer.serialize_entity(
            ctxt, func(ctxt, **args)))


class Client:
    """oslo.messaging's RPCClient calls, for the in-process router."""

    def __init__(self, router, topic, version, serializer, server=None,
                 version_cap=None):
        self._router = router
        self._topic = topic
        self._version = version
        self._serializer = serializer
        self._server = server
        self.version_cap = version_cap

    def prepare(self, server=None, version=None, **ignored):
        # Time-outs and retries concern a broker; there is none.
        return Client(self._router, self._topic,
                      version if version is not None else self._version,
                      self._serializer,
                      server if server is not None else self._server,
                      self.version_cap)

    def can_send_version(self, version=None):
        """Whether ``version`` (default: this client's) is within the
        cap."""
        return messaging_utils.version_is_compatible(
            self.version_cap, version or self._version)

    def _check_cap(self):
        if not self.can_send_version():
            raise oslo_messaging.RPCVersionCapError(
                version=self._version, version_cap=self.version_cap)

    def call(self, ctxt, method, **kwargs):
        self._check_cap()
        return self._router.dispatch(self._serializer, self._topic,
                                     self._server, self._version, ctxt,
                                     method, kwargs)

    def cast(self, ctxt, method, **kwargs):
        self._check_cap()
        self._router.cast(self._serializer, self._topic, self._server,
                          self._version, ctxt, method, kwargs)
