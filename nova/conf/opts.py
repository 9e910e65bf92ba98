"""Entry point for oslo-config-generator (namespace ``nova.conf``)."""

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
