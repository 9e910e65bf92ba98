"""In-process RPC: oslo.messaging's fake driver, woken on send.

nova-all on one host runs the API, the conductor and the compute
service in one process with ``transport_url = fake://`` and no broker.
Its messages go through oslo.messaging as they do on RabbitMQ: the same
RPCClient (version cap, ``timeout``), RPCServer and dispatcher (version
refusal, ``NoSuchMethod``), worker threads and serializer
(``nova.rpc.RequestContextSerializer``). Only the driver, the part that
moves a message, differs: :class:`LocalDriver`, a small subclass of
oslo.messaging's in-process driver that changes three things, each so
that what works here works on a broker too:

* its listeners sleep on a condition that a send to their topic wakes,
  instead of polling their queues every 50 ms (each call waited for the
  poll: ``tools/bench/bench_rpc.py``);
* a message, its context and its reply cross as JSON, and an error as a
  broker sends it (``serialize_remote_exception``): ``nova.exception``
  errors and builtins come back as themselves, anything else as
  ``RemoteError``; the fake driver hands over the objects themselves;
* a message to a topic or server that no server ever listened on is
  dropped, as RabbitMQ drops a message no queue is bound for: a call
  then ends with ``MessagingTimeout`` after its ``timeout``, as there.

Its queues belong to the transport (the fake driver's are shared by the
whole process), so two configurations never see each other's messages.
"""

import queue
import threading
import time

from oslo_log import log as logging
import oslo_messaging
from oslo_messaging._drivers import base
from oslo_messaging._drivers import common
from oslo_messaging._drivers import impl_fake
from oslo_serialization import jsonutils

LOG = logging.getLogger(__name__)


def _wire(value):
    """``value`` as the other end of a broker gets it (JSON).

    A string, number, boolean or None comes back as it is: skipping the
    round trip saves copying a console log twice per console call.
    """
    if value is None or type(value) in (str, int, float, bool):
        return value
    return jsonutils.loads(jsonutils.dumps(value))


class _IncomingMessage(impl_fake.FakeIncomingMessage):
    def reply(self, reply=None, failure=None):
        if self._reply_q:
            if failure:
                # As the AMQP drivers send it: class, module, message and
                # the remote traceback, as JSON.
                failure = common.serialize_remote_exception(failure)
            self._reply_q.put((_wire(reply), failure))


class _Wakeups:
    """The transport's one lock, and a condition on it per topic.

    A send wakes the listeners of its topic only: with one condition for
    all, every message (a console call to the compute service, an
    outcome cast to the conductor) woke every listener of the process,
    each of which took the lock and the interpreter's lock to find
    nothing for it. Conditions on one lock keep what a listener sees
    under it consistent with every send.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self._by_topic = {}

    def condition(self, topic):
        with self.lock:
            cond = self._by_topic.get(topic)
            if cond is None:
                cond = self._by_topic[topic] = threading.Condition(
                    self.lock)
            return cond

    def notify(self, topic):
        """Wake the listeners of ``topic``; the caller holds ``lock``."""
        cond = self._by_topic.get(topic)
        if cond is not None:
            cond.notify_all()


class _Exchange(impl_fake.FakeExchange):
    def __init__(self, name, wakeup):
        super().__init__(name)
        self._wakeup = wakeup

    def _routable(self, topic, server, fanout):
        """Whether a listener declared a queue this message goes to."""
        with self._queues_lock:
            if server is not None and not fanout:
                return (topic, server) in self._server_queues
            queues = self._server_queues if fanout else self._topic_queues
            return any(t == topic for t, _name in queues)

    def deliver_message(self, topic, ctxt, message, server=None,
                        fanout=False, reply_q=None):
        if not self._routable(topic, server, fanout):
            LOG.debug('No server of topic %s%s in this process: message '
                      'dropped, as a broker drops it', topic,
                      '' if server is None else ' on ' + server)
            return
        with self._wakeup.lock:
            super().deliver_message(topic, ctxt, message, server=server,
                                    fanout=fanout, reply_q=reply_q)
            self._wakeup.notify(topic)


class _Exchanges(impl_fake.FakeExchangeManager):
    """The exchanges of one transport (the fake driver's are a class
    attribute: one set for the whole process)."""

    def __init__(self, default_exchange, wakeup):
        super().__init__(default_exchange)
        self._exchanges = {}
        self._exchanges_lock = threading.Lock()
        self._wakeup = wakeup

    def get_exchange(self, name):
        name = name or self._default_exchange
        with self._exchanges_lock:
            exchange = self._exchanges.get(name)
            if exchange is None:
                exchange = self._exchanges[name] = _Exchange(name,
                                                             self._wakeup)
            return exchange

    def cleanup(self):
        with self._exchanges_lock:
            self._exchanges.clear()


class _Listener(impl_fake.FakeListener):
    def __init__(self, exchanges, targets, wakeup):
        # Every target of a listener has the same topic.
        self._wakeup = wakeup.condition(targets[0].topic)
        super().__init__(exchanges, targets)

    def _take(self):
        for target in self._targets:
            exchange = self._exchange_manager.get_exchange(target.exchange)
            ctxt, message, reply_q, requeue = exchange.poll(target,
                                                            self._pool)
            if message is not None:
                return _IncomingMessage(ctxt, message, reply_q, requeue)
        return None

    @base.batch_poll_helper
    def poll(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wakeup:
            while not self._stopped.is_set():
                message = self._take()
                if message is not None:
                    return message
                left = None
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                # Woken by a send (or stop), not by a clock.
                self._wakeup.wait(left)
        return None

    def stop(self):
        with self._wakeup:
            self._stopped.set()
            self._wakeup.notify_all()


class LocalDriver(impl_fake.FakeDriver):
    """oslo.messaging's fake driver with the changes above; made by
    ``nova.rpc.get_transport`` for ``fake://``."""

    def __init__(self, conf, url, default_exchange=None,
                 allowed_remote_exmods=None):
        super().__init__(conf, url, default_exchange,
                         allowed_remote_exmods)
        self._wakeup = _Wakeups()
        self._exchange_manager = _Exchanges(default_exchange, self._wakeup)

    def send(self, target, ctxt, message, wait_for_reply=None, timeout=None,
             call_monitor_timeout=None, retry=None, transport_options=None):
        """Deliver ``message``; with ``wait_for_reply``, its result.

        :raises oslo_messaging.MessagingTimeout: no reply within
            ``timeout`` seconds (the RPC client's, by default
            ``[DEFAULT] rpc_response_timeout``).
        :raises Exception: the server's error, rebuilt as from a broker.
        """
        exchange = self._exchange_manager.get_exchange(target.exchange)
        reply_q = queue.Queue() if wait_for_reply else None
        exchange.deliver_message(target.topic, _wire(ctxt), _wire(message),
                                 server=target.server, fanout=target.fanout,
                                 reply_q=reply_q)
        if not wait_for_reply:
            return None
        try:
            reply, failure = reply_q.get(timeout=timeout)
        except queue.Empty:
            raise oslo_messaging.MessagingTimeout(
                'No reply on topic %s within %s s' % (target.topic, timeout))
        if failure:
            raise common.deserialize_remote_exception(
                failure, self._allowed_remote_exmods)
        return reply

    def listen(self, target, batch_size, batch_timeout):
        exchange = target.exchange or self._default_exchange
        listener = _Listener(
            self._exchange_manager,
            [oslo_messaging.Target(topic=target.topic, server=target.server,
                                   exchange=exchange),
             oslo_messaging.Target(topic=target.topic, exchange=exchange)],
            self._wakeup)
        return base.PollStyleListenerAdapter(listener, batch_size,
                                             batch_timeout)
