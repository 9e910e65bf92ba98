"""oslo.messaging set-up: transports, the serializer, versioned clients.

``[DEFAULT] transport_url`` picks the transport. Its default here is
``fake://``, which means in-process: nova-all on one host then needs no
broker. Its messages go through oslo.messaging's client, server and
dispatcher as on a broker, and only the driver that moves them is
in-process (``nova.rpc_local.LocalDriver``): through JSON, with the
same time-outs and errors as on RabbitMQ.
``rabbit://user:password@host:5672/`` spreads the services over hosts.

Every message goes through :class:`RequestContextSerializer`: versioned
objects (``nova.objects``) and plain data cross, nothing else. Clients
carry an RPC API version and an optional cap (``[upgrade_levels]``);
servers refuse a version their endpoints' targets do not serve.

Only ``nova.exception`` errors cross RPC as themselves; the compute
service turns any other error into ``ComputeHostError`` first, so a remote
traceback never reaches a client.
"""

import importlib
import threading

import oslo_messaging
from oslo_messaging import opts as messaging_opts
from oslo_messaging import transport as messaging_transport

from nova import context as nova_context
from nova import exception
from nova import objects
from nova.objects import base as objects_base
from nova import rpc_local

EXCHANGE = 'nova'
IN_PROCESS_URL = 'fake://'
ALLOWED_EXMODS = ['nova.exception']

_transports = {}
_transports_lock = threading.Lock()


# Groups that oslo.messaging reads on every call and cast but registers
# on ``cfg.CONF`` only (as its own ConfFixture knows): module, list, group.
_PRIVATE_OPTS = (
    ('oslo_messaging._metrics.client', 'oslo_messaging_metrics',
     'oslo_messaging_metrics'),
    ('oslo_messaging._tracing.client', 'oslo_messaging_tracing',
     'oslo_messaging_tracing'),
)


def register_opts(conf):
    """oslo.messaging's options, with the in-process default.

    ``conf`` may be a ConfigOpts of its own (``nova.conf.new_conf``), not
    ``cfg.CONF``: it gets the metrics and tracing groups too, or no
    message could be sent on its transport.
    """
    for group, opts in messaging_opts.list_opts():
        if group is None:  # [DEFAULT]
            conf.register_opts(opts)
    for module, name, group in _PRIVATE_OPTS:
        try:
            opts = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue  # an oslo.messaging without it does not read it
        conf.register_opts(opts, group=group)
    conf.set_default('transport_url', IN_PROCESS_URL)
    conf.set_default('control_exchange', EXCHANGE)


def transport_url(conf):
    register_opts(conf)
    return oslo_messaging.TransportURL.parse(conf, conf.transport_url)


def in_process(conf):
    """Whether ``conf`` uses the in-process transport (one host only)."""
    return transport_url(conf).transport == 'fake'


def get_transport(conf):
    """The transport for ``conf``: made once, shared by its clients and
    servers (the in-process one works only when shared). In-process, its
    driver is ``nova.rpc_local.LocalDriver`` (oslo.messaging picks a
    driver by the URL's scheme from its installed plugins: ``fake``
    would be its own, polling one)."""
    with _transports_lock:
        transport = _transports.get(id(conf))
        if transport is None:
            register_opts(conf)
            if in_process(conf):
                transport = messaging_transport.RPCTransport(
                    rpc_local.LocalDriver(
                        conf, transport_url(conf),
                        default_exchange=conf.control_exchange,
                        allowed_remote_exmods=ALLOWED_EXMODS))
            else:
                transport = oslo_messaging.get_rpc_transport(
                    conf, allowed_remote_exmods=ALLOWED_EXMODS)
            _transports[id(conf)] = transport
        return transport


def cleanup(conf):
    with _transports_lock:
        transport = _transports.pop(id(conf), None)
    if transport is not None:
        transport.cleanup()


class RequestContextSerializer(oslo_messaging.Serializer):
    """The one serializer of Nova's RPC: the request context as a dict
    of its fields, and every argument and result through ``base`` (a
    ``NovaObjectSerializer``: versioned objects to primitives and back,
    anything else as it is), on a broker and in process alike."""

    def __init__(self, base=None):
        objects.register_all()
        self._base = base or objects_base.NovaObjectSerializer()

    def serialize_entity(self, ctxt, entity):
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt, entity):
        """``entity`` with its objects rebuilt.

        :raises nova.exception.MalformedRPCData: an object in it does
            not deserialize (another service's data is untrusted: its
            ValueError or oslo.versionedobjects' error must not pass for
            the transport's). A ``nova.exception`` error (InvalidUUID)
            passes as itself.
        """
        try:
            return self._base.deserialize_entity(ctxt, entity)
        except exception.NovaException:
            raise
        except Exception as e:
            raise exception.MalformedRPCData(
                reason='%s: %s' % (type(e).__name__, str(e)[:200]))

    def serialize_context(self, ctxt):
        if isinstance(ctxt, nova_context.RequestContext):
            return ctxt.to_dict()
        return dict(ctxt or {})

    def deserialize_context(self, ctxt):
        if not ctxt:
            return nova_context.get_admin_context()
        return nova_context.RequestContext.from_dict(ctxt)


def get_client(conf, topic, version, version_cap=None):
    """An RPC client of ``topic`` sending ``version`` by default.

    ``version_cap`` (e.g. ``[upgrade_levels] compute``), when not None,
    is the newest version it may send: ``client.can_send_version(v)``
    tells whether ``v`` is allowed, and a message above it raises
    ``oslo_messaging.RPCVersionCapError`` without being sent.
    """
    transport = get_transport(conf)
    target = oslo_messaging.Target(topic=topic, version=version)
    return oslo_messaging.get_rpc_client(
        transport, target, version_cap=version_cap,
        serializer=RequestContextSerializer())


def get_server(conf, topic, server, endpoints):
    """An RPC server on ``topic`` (and ``topic.server``), in threads.

    Each endpoint's ``target`` attribute gives the versions it serves:
    a message of a newer minor or another major version is refused
    with ``UnsupportedVersion`` (the caller gets it as a RemoteError).
    """
    transport = get_transport(conf)
    target = oslo_messaging.Target(topic=topic, server=server)
    return oslo_messaging.get_rpc_server(
        transport, target, endpoints, executor='threading',
        serializer=RequestContextSerializer())
