"""Options of the services that talk over RPC: heartbeats and time-outs.

The message transport itself is oslo.messaging's ``[DEFAULT]
transport_url``; ``nova.rpc`` registers oslo.messaging's options and
makes the in-process ``fake://`` transport the default, so one host needs
no broker.
"""

from oslo_config import cfg

service_opts = [
    cfg.IntOpt(
        'report_interval',
        default=10,
        min=1,
        help="""
Seconds between two reports of a compute service to the API (its heartbeat).

Each report carries the host's capacity, its free serial ports and whether it
passed the virtlogd version gate (``GET /os-hypervisors/detail`` shows them).
Keep it well below ``service_down_time``.
"""),
    cfg.IntOpt(
        'service_down_time',
        default=60,
        min=1,
        help="""
Seconds without a report after which a compute service counts as down.

Requests for a server on a down host are answered at once with 409 and a
message naming the host, instead of waiting for an RPC time-out; the
scheduler does not pick down hosts. A service stopped cleanly reports itself
down straight away. Must be more than ``report_interval``.
"""),
    cfg.IntOpt(
        'long_rpc_timeout',
        default=1800,
        min=1,
        help="""
Seconds the API waits for a compute host's long operations: building,
rebooting, rebuilding and deleting a server, and the steps of a live
migration after its pre-checks.

Short calls (console output, serial console URLs, the live-migration
pre-checks that the API request waits for) use oslo.messaging's
``rpc_response_timeout``. A time-out of a build, reboot, rebuild or delete
sets the server to ERROR with a fault naming the host; one during a live
migration leaves the server ACTIVE on its source host (a time-out of the
checks answers the request with 409). The operation may still finish on
the host.
"""),
]


def register_opts(conf):
    conf.register_opts(service_opts)


def list_opts():
    return {'DEFAULT': service_opts}
