"""In-process RPC: nova-all's calls on one host, with no broker.

oslo.messaging's own in-process driver polls its queues every 50 ms, so
each call waited up to 50 ms for nothing (tools/bench_rpc.py measures
it). Here a call runs the endpoint's method in the caller's thread and a
cast on a small thread pool. Context, arguments and results still go
through JSON, as over a broker, so what works here works on RabbitMQ;
errors cross as oslo.messaging delivers them: ``nova.exception`` errors as
themselves, anything else as ``RemoteError``.
"""

from concurrent import futures
import threading

from oslo_log import log as logging
import oslo_messaging
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


class Router:
    """The endpoints served in this process, by (topic, server)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._endpoints = {}
        self._casts = futures.ThreadPoolExecutor(
            max_workers=CAST_WORKERS, thread_name_prefix='nova-rpc-cast')

    def add(self, topic, server, endpoints):
        with self._lock:
            self._endpoints[(topic, server)] = endpoints

    def remove(self, topic, server):
        with self._lock:
            self._endpoints.pop((topic, server), None)

    def _find(self, topic, server, method):
        with self._lock:
            if server is not None:
                found = self._endpoints.get((topic, server))
            else:  # any server of the topic, as a shared queue gives
                found = next((e for (t, _s), e in self._endpoints.items()
                              if t == topic), None)
        if found is None:
            raise oslo_messaging.MessagingTimeout(
                'No %s service%s runs in this process' % (
                    topic, '' if server is None else ' for ' + server))
        for endpoint in found:
            func = getattr(endpoint, method, None)
            if func is not None and not method.startswith('_'):
                return func
        raise oslo_messaging.NoSuchMethod(method)

    def dispatch(self, serializer, topic, server, ctxt, method, kwargs):
        func = self._find(topic, server, method)
        ctxt = serializer.deserialize_context(
            _wire(serializer.serialize_context(ctxt)))
        try:
            return _wire(func(ctxt, **_wire(kwargs)))
        except exception.NovaException:
            raise
        except Exception as e:
            raise oslo_messaging.RemoteError(type(e).__name__, str(e))

    def cast(self, serializer, topic, server, ctxt, method, kwargs):
        def run():
            try:
                self.dispatch(serializer, topic, server, ctxt, method,
                              kwargs)
            except Exception:
                LOG.exception('Cast %s to %s failed', method, topic)
        self._casts.submit(run)

    def cleanup(self):
        self._casts.shutdown(wait=True)


class Server:
    """oslo.messaging's RPCServer calls, for the in-process router."""

    def __init__(self, router, topic, server, endpoints):
        self._router = router
        self._key = (topic, server)
        self._endpoints = endpoints

    def start(self):
        self._router.add(*self._key, self._endpoints)

    def stop(self):
        self._router.remove(*self._key)

    def wait(self):
        pass  # calls run in their callers' threads


class Client:
    """oslo.messaging's RPCClient calls, for the in-process router."""

    def __init__(self, router, topic, serializer, server=None):
        self._router = router
        self._topic = topic
        self._serializer = serializer
        self._server = server

    def prepare(self, server=None, **ignored):
        # Time-outs and retries concern a broker; there is none.
        return Client(self._router, self._topic, self._serializer,
                      server if server is not None else self._server)

    def call(self, ctxt, method, **kwargs):
        return self._router.dispatch(self._serializer, self._topic,
                                     self._server, ctxt, method, kwargs)

    def cast(self, ctxt, method, **kwargs):
        self._router.cast(self._serializer, self._topic, self._server, ctxt,
                          method, kwargs)
