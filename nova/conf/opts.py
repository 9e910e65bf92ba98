"""Entry points for oslo-config-generator (namespace ``nova.conf``)."""

from oslo_config import cfg
from oslo_middleware import sizelimit

from nova import conf
import nova.privsep


def list_opts():
    grouped = {}
    for module in conf._MODULES:
        for group, opts in module.list_opts().items():
            grouped.setdefault(group, []).extend(opts)
    # oslo.privsep's options of nova-compute's privsep context.
    for group, opts in nova.privsep.list_opts():
        grouped.setdefault(group, []).extend(opts)
    return list(grouped.items())


# The body limit the compute API has always taken; oslo.middleware's own
# default (112 KiB) would refuse bodies accepted before. An operator may
# lower it in [oslo_middleware].
MAX_REQUEST_BODY_BYTES = 1024 * 1024


def set_lib_defaults():
    """Nova's defaults for the options of the libraries it uses.

    Called by the compute API before it reads them, and by
    oslo-config-generator (entry point ``oslo.config.opts.defaults``)
    so the sample shows the defaults in force.
    """
    cfg.set_defaults(sizelimit.OPTS,
                     max_request_body_size=MAX_REQUEST_BODY_BYTES)
