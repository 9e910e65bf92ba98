"""oslo.messaging set-up: one transport per configuration, and contexts.

``[DEFAULT] transport_url`` picks the transport. Its default here is
``fake://``, oslo.messaging's in-process transport: nova-all on one host
then needs no broker, and its messages are still checked to be JSON as on
a real broker. ``rabbit://user:password@host:5672/`` spreads the services
over hosts.

Only ``nova.exception`` errors cross RPC as themselves; the compute
service turns any other error into ``ComputeHostError`` first, so a remote
traceback never reaches a client.
"""

import dataclasses
import threading
import warnings

# oslo.messaging imports oslo.service, which imports eventlet; we use
# neither (threads only), so its deprecation notice is only noise.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
import oslo_messaging  # noqa: E402
from oslo_messaging import opts as messaging_opts  # noqa: E402

from nova import context as nova_context  # noqa: E402

EXCHANGE = 'nova'
IN_PROCESS_URL = 'fake://'
ALLOWED_EXMODS = ['nova.exception']

_transports = {}
_transports_lock = threading.Lock()


def register_opts(conf):
    """oslo.messaging's [DEFAULT] options, with the in-process default."""
    for group, opts in messaging_opts.list_opts():
        if group is None:  # [DEFAULT]
            conf.register_opts(opts)
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
    servers (the in-process one works only when shared)."""
    with _transports_lock:
        transport = _transports.get(id(conf))
        if transport is None:
            register_opts(conf)
            transport = oslo_messaging.get_rpc_transport(
                conf, allowed_remote_exmods=ALLOWED_EXMODS)
            _transports[id(conf)] = transport
        return transport


def cleanup(conf):
    with _transports_lock:
        transport = _transports.pop(id(conf), None)
    if transport is not None:
        transport.cleanup()


class ContextSerializer(oslo_messaging.NoOpSerializer):
    """RequestContext <-> a dict of its fields."""

    def serialize_context(self, ctxt):
        if isinstance(ctxt, nova_context.RequestContext):
            return dataclasses.asdict(ctxt)
        return dict(ctxt or {})

    def deserialize_context(self, ctxt):
        if not ctxt:
            return nova_context.get_admin_context()
        fields = {f.name for f in dataclasses.fields(
            nova_context.RequestContext)}
        values = {k: v for k, v in ctxt.items() if k in fields}
        values['roles'] = tuple(values.get('roles') or ())
        return nova_context.RequestContext(**values)


def get_client(conf, topic, version):
    target = oslo_messaging.Target(topic=topic, version=version)
    return oslo_messaging.get_rpc_client(
        get_transport(conf), target, serializer=ContextSerializer())


def get_server(conf, topic, server, endpoints):
    """An RPC server on ``topic`` (and ``topic.server``), in threads."""
    target = oslo_messaging.Target(topic=topic, server=server)
    return oslo_messaging.get_rpc_server(
        get_transport(conf), target, endpoints, executor='threading',
        serializer=ContextSerializer())
