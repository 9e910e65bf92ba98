"""Entry point for oslo-config-generator (namespace ``nova.conf``)."""

from nova import conf


def list_opts():
    grouped = {}
    for module in conf._MODULES:
        for group, opts in module.list_opts().items():
            grouped.setdefault(group, []).extend(opts)
    return list(grouped.items())
