"""Picking a compute host: filters on the hosts' last reports, then the
host with the most free serial ports (memory breaks ties).

The reports are up to ``report_interval`` seconds old, so a host may turn
out full after all; its build then fails with the driver's clear error.
"""

from nova.db import api as db
from nova import exception
from nova import servicegroup
from nova.virt import hardware

MIB = 1024 * 1024


def _why_not(service, conf, ram_mb, ports):
    """Why ``service`` cannot take the server; None when it can."""
    if service['disabled']:
        return 'disabled'
    if not servicegroup.is_up(service, conf):
        return 'down'
    report = service['report'] or {}
    if not report:
        return 'not reported yet'
    if report.get('memory_mb_free', 0) < ram_mb:
        return 'only %d MiB free RAM' % report.get('memory_mb_free', 0)
    if ports and report.get('serial_console_enabled'):
        if report.get('serial_ports_free', 0) < ports:
            return 'only %d free serial ports' % report.get(
                'serial_ports_free', 0)
    return None


def select_host(conf, flavor, image, exclude=()):
    """The host for a server of ``flavor`` (an Instance's Flavor) and
    ``image`` (its ImageMeta); NoValidHost names why each host failed."""
    ports = hardware.get_number_of_serial_ports(flavor, image)
    candidates, refused = [], []
    for service in db.service_list():
        if service['host'] in exclude:
            continue
        why = _why_not(service, conf, flavor.memory_mb, ports)
        if why:
            refused.append('%s: %s' % (service['host'], why))
        else:
            candidates.append(service)
    if not candidates:
        raise exception.NoValidHost(reason=(
            'Hosts considered: %s.' % '; '.join(refused) if refused else
            'No compute service has reported.'))
    best = max(candidates, key=lambda s: (
        s['report'].get('serial_ports_free', 0),
        s['report'].get('memory_mb_free', 0), s['host']))
    return best['host']
