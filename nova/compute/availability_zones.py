"""Availability zones of the compute hosts, as Nova defines them.

In Nova a compute host is in the ``availability_zone`` of a host aggregate
it belongs to, else in ``[DEFAULT] default_availability_zone``; services
other than nova-compute are shown in
``[DEFAULT] internal_service_availability_zone`` (Nova's
``nova/availability_zones.py``). This is the one place that answers "which
zone is this host in", so the API's views, the scheduler and
``/os-availability-zone`` agree.
"""

import nova.conf
from nova.db import api as db
from nova import servicegroup

CONF = nova.conf.CONF
COMPUTE_TOPIC = 'compute'


def _conf(conf):
    return conf or CONF


# The aggregate metadata key that puts the aggregate's hosts in a zone.
AZ_METADATA_KEY = 'availability_zone'


def _zone_of(zones, conf):
    # The aggregates API keeps a host in one zone; a database written
    # otherwise shows every zone joined, as Nova does.
    return ','.join(zones) if zones else _conf(conf).default_availability_zone


def get_host_availability_zone(ctx, host, conf=None):
    """The zone name (str) of compute ``host``: the ``availability_zone``
    metadata of a host aggregate holding it, else the default zone
    (also for ``host`` None or unknown, as Nova shows for an unscheduled
    instance).
    """
    if not host:
        return _conf(conf).default_availability_zone
    return _zone_of(db.aggregate_metadata_by_host(host, AZ_METADATA_KEY),
                    conf)


def get_service_availability_zone(ctx, service, conf=None):
    """The zone (str) shown for ``service``, a row of ``services`` (a dict
    with ``host`` and ``topic``): its host's zone for nova-compute, the
    internal zone for any other service."""
    if service.get('topic') == COMPUTE_TOPIC:
        return get_host_availability_zone(ctx, service['host'], conf)
    return _conf(conf).internal_service_availability_zone


def get_availability_zones(ctx, conf=None):
    """``(available, unavailable)``: sorted lists of zone names. A zone is
    available when at least one enabled compute service in it is up, as
    in Nova's ``GET /os-availability-zone``."""
    conf = _conf(conf)
    available, seen = set(), set()
    host_zones = db.aggregate_hosts_by_metadata(AZ_METADATA_KEY)
    for service in db.service_list():
        if service.get('topic') != COMPUTE_TOPIC:
            continue
        zone = _zone_of(host_zones.get(service['host']), conf)
        seen.add(zone)
        if not service['disabled'] and servicegroup.is_up(service, conf):
            available.add(zone)
    return sorted(available), sorted(seen - available)
