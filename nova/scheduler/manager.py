"""Picking a compute host: filters on the hosts' last reports, then the
host with the most free serial ports (memory breaks ties).

Free serial ports are the host's last measurement (its heartbeat, or the
facts it returned when an action ended, whichever was measured last)
minus the claims not in it yet: the ports of the instances being built,
rebuilt or rebooted there that the measurement did not count. Choosing
a host and creating the instance that claims its ports happen under
``CLAIMS_LOCK``, so two builds never count the same free port.

The hints Nova's DifferentHostFilter and SameHostFilter read are
honoured (:func:`hint_hosts`): ``different_host`` keeps a new server off
the hosts of the servers it names, ``same_host`` puts it on one of them.
Other hints are ignored, as Nova ignores hints no enabled filter reads.
A requested availability zone keeps the hosts of that zone only.

Memory is still read from the last report, up to ``report_interval``
seconds old; a host may turn out full after all, and its build then
fails with the driver's clear error.
"""

import threading
import uuid as uuid_lib

from nova.compute import availability_zones
from nova.compute import task_states
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova import servicegroup
from nova.virt import hardware

MIB = 1024 * 1024

# Held from choosing a host until the instance row that claims its ports
# exists (or the instance's host changed): the API's threads share it.
CLAIMS_LOCK = threading.RLock()

# Task states in which a instance's guest is (re)created, taking ports.
_CLAIMING = (task_states.SPAWNING, task_states.REBOOTING,
             task_states.REBOOTING_HARD, task_states.REBUILDING)

# {instance uuid: destination host} of the live migrations this process
# runs (the instance row names only the source). While MIGRATING the
# destination's ports are a claim there. Changed under CLAIMS_LOCK.
_MIGRATING_TO = {}


def claim_migration(uuid, dest):
    """Count ``uuid``'s ports as claimed on ``dest`` until
    :func:`end_migration`; hold CLAIMS_LOCK from choosing ``dest``."""
    with CLAIMS_LOCK:
        _MIGRATING_TO[uuid] = dest


def end_migration(uuid):
    with CLAIMS_LOCK:
        _MIGRATING_TO.pop(uuid, None)


def _ports_of(instance):
    """Serial ports a instance's guest takes, from its flavor and image."""
    # The flavor the instance was created with, even if deleted since.
    flavor = db.instance_flavor(instance)
    if flavor is None:
        return 0  # its build fails on the missing row
    # The image as the instance keeps it since its create or rebuild
    # (Glance's or the local catalog's: hw_serial_port_count may ask
    # for ports); an instance made before copies were kept: the local
    # catalog's image (no call to Glance under CLAIMS_LOCK).
    image = (db.instance_image(instance) or
             db.image_get(instance['image_id']))
    properties = dict(image['properties']) if image else {}
    try:
        return hardware.get_number_of_serial_ports(
            objects.Flavor(extra_specs=dict(flavor['extra_specs'])),
            objects.ImageMeta(properties=properties))
    except exception.Invalid:
        return 0  # its build fails on the same check


def _claims(reports):
    """{host: ports claimed by instances its report does not count yet}.

    A report without ``serial_port_holders`` (an older compute service)
    cannot say whom it counted: then only builds are claims.
    """
    claims = {}
    for instance in db.instance_get_all(task_states=_CLAIMING):
        report = reports.get(instance['host'])
        if report is None:
            continue
        holders = report.get('serial_port_holders')
        if holders is None:
            if instance['task_state'] != task_states.SPAWNING:
                continue
        elif instance['uuid'] in holders:
            continue
        claims[instance['host']] = (claims.get(instance['host'], 0) +
                                    _ports_of(instance))
    for instance in db.instance_get_all(task_states=(task_states.MIGRATING,)):
        dest = _MIGRATING_TO.get(instance['uuid'])
        report = reports.get(dest)
        if report is None:
            continue
        if instance['uuid'] in (report.get('serial_port_holders') or ()):
            continue  # the destination's measurement counts it
        claims[dest] = claims.get(dest, 0) + _ports_of(instance)
    return claims


def free_serial_ports(report, claimed=0):
    """Free serial ports of a host: its report's, less ``claimed``."""
    return max(0, report.get('serial_ports_free', 0) - claimed)


def _why_not(service, conf, ram_mb, ports, claimed):
    """Why ``service`` cannot take the instance; None when it can."""
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
        free = free_serial_ports(report, claimed)
        if free < ports:
            return 'only %d free serial ports' % free
    return None


HINTS = ('different_host', 'same_host')


def hint_hosts(ctx, hints):
    """``{'different_host': hosts, 'same_host': hosts}`` for the hints
    given (lists of server uuids; a hint not given is left out).

    Only servers the caller may see count (any for admins), so a hint
    tells nothing about other projects; an unknown or unscheduled server
    is on no host, as in Nova's filters. ValidationError for a value
    that is not a uuid.
    """
    hosts = {}
    for hint in HINTS:
        if hint not in (hints or {}):
            continue
        found = set()
        for value in hints[hint]:
            try:
                uuid_lib.UUID(value)
            except (TypeError, ValueError, AttributeError):
                raise exception.ValidationError(
                    field='os:scheduler_hints.%s' % hint,
                    detail='%r is not a server uuid' % str(value)[:40])
            server = db.instance_get(value.lower())
            if server is None or not server['host']:
                continue
            if ctx.is_admin or server['project_id'] == ctx.project_id:
                found.add(server['host'])
        hosts[hint] = found
    return hosts


def _why_not_placed(ctx, conf, host, hints, zone, force_host):
    """Why the request's hints, zone or host rule ``host`` out."""
    if force_host is not None and host != force_host:
        return 'not the requested host %s' % force_host
    if host in hints.get('different_host', ()):
        return 'a server in different_host runs here'
    if 'same_host' in hints and host not in hints['same_host']:
        return 'no server in same_host runs here'
    if zone is not None:
        host_zone = availability_zones.get_host_availability_zone(
            ctx, host, conf)
        if host_zone != zone:
            return 'in availability zone %s, not %s' % (host_zone, zone)
    return None


def select_host(conf, flavor, image, exclude=(), only=None,
                excluded_why='excluded', hints=None, zone=None,
                force_host=None, ctx=None):
    """The host for a instance of ``flavor`` (an Instance's Flavor) and
    ``image`` (its ImageMeta); NoValidHost names why each host failed,
    the hosts in ``exclude`` as ``excluded_why``. ``only``: consider
    that host alone (a live migration's named destination).

    ``hints`` is :func:`hint_hosts`'s answer, ``zone`` an availability
    zone and ``force_host`` a host an admin named; ``ctx`` is the
    caller's RequestContext (for the zones).

    A caller that creates the instance on the host must hold
    ``CLAIMS_LOCK`` from before this call until the instance exists.
    """
    hints = hints or {}
    ports = hardware.get_number_of_serial_ports(flavor, image)
    everyone = db.service_list()
    if only is not None:
        everyone = [s for s in everyone if s['host'] == only]
    services = [s for s in everyone if s['host'] not in exclude]
    claims = _claims({s['host']: s['report'] or {} for s in services})
    candidates = []
    # A host left out is named too: "no compute service" would be
    # untrue when the only one is, say, the server's own.
    refused = ['%s: %s' % (s['host'], excluded_why) for s in everyone
               if s['host'] in exclude]
    for service in services:
        why = (_why_not_placed(ctx, conf, service['host'], hints, zone,
                               force_host) or
               _why_not(service, conf, flavor.memory_mb, ports,
                        claims.get(service['host'], 0)))
        if why:
            refused.append('%s: %s' % (service['host'], why))
        else:
            candidates.append(service)
    if not candidates:
        raise exception.NoValidHost(reason=(
            'Hosts considered: %s.' % '; '.join(refused) if refused else
            'No compute service has reported.'))
    best = max(candidates, key=lambda s: (
        free_serial_ports(s['report'], claims.get(s['host'], 0)),
        s['report'].get('memory_mb_free', 0), s['host']))
    return best['host']
