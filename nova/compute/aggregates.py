"""Host aggregates, as Nova's: a name, hosts and metadata.

The ``availability_zone`` metadata key puts the aggregate's hosts in
that zone (``nova.compute.availability_zones`` reads it). As in Nova a
host is in one zone only: adding it to an aggregate of another zone, or
giving an aggregate a zone some of its hosts are not in, is refused;
and no aggregate is in ``[DEFAULT] internal_service_availability_zone``.

Every function takes the caller's RequestContext (the REST API checked
the policy) and returns aggregate dicts: ``id``, ``uuid``, ``name``,
``availability_zone`` (None when unset), ``hosts`` (list),
``metadata`` (dict), ``created_at``, ``updated_at``. Errors:
AggregateNotFound, AggregateHostNotFound, ComputeHostNotFound (404);
AggregateNameExists, AggregateHostExists, AggregateZoneConflict (409);
InvalidAggregateAction (400).
"""

import uuid as uuid_lib

from nova.compute import availability_zones as az
from nova.db import api as db
from nova import exception

AZ_KEY = az.AZ_METADATA_KEY
COMPUTE_TOPIC = 'compute'


def _out(aggregate):
    if aggregate is None:
        return None
    return dict(aggregate,
                availability_zone=aggregate['metadata'].get(AZ_KEY))


def _get(aggregate_id):
    aggregate = db.aggregate_get(aggregate_id) if isinstance(
        aggregate_id, int) else None
    if aggregate is None:
        raise exception.AggregateNotFound(aggregate_id=aggregate_id)
    return aggregate


def _check_zone(aggregate_id, zone, conf, action):
    if zone is not None and zone == (
            conf.internal_service_availability_zone):
        raise exception.InvalidAggregateAction(
            action=action, aggregate_id=aggregate_id,
            reason='Aggregates cannot be in the internal availability '
                   'zone %s' % zone)


def _other_zones(host, aggregate_id):
    """Zones ``host`` is in through aggregates other than this one."""
    return {a['metadata'][AZ_KEY] for a in db.aggregate_list()
            if a['id'] != aggregate_id and host in a['hosts'] and
            AZ_KEY in a['metadata']}


def _check_hosts_in_zone(aggregate, zone, action):
    """400 if giving ``aggregate`` the zone ``zone`` would put one of
    its hosts in two zones."""
    if zone is None:
        return
    for host in aggregate['hosts']:
        others = _other_zones(host, aggregate['id']) - {zone}
        if others:
            raise exception.InvalidAggregateAction(
                action=action, aggregate_id=aggregate['id'],
                reason='host %s is in availability zone %s, and a host '
                       'is in one zone only' % (host, sorted(others)[0]))


def aggregate_list(ctx):
    return [_out(a) for a in db.aggregate_list()]


def aggregate_get(ctx, aggregate_id):
    return _out(_get(aggregate_id))


def aggregate_create(ctx, name, availability_zone, conf):
    _check_zone('(new)', availability_zone, conf, 'create')
    metadata = ({AZ_KEY: availability_zone}
                if availability_zone is not None else {})
    return _out(db.aggregate_create(
        {'uuid': str(uuid_lib.uuid4()), 'name': name}, metadata))


def aggregate_update(ctx, aggregate_id, values, conf):
    """``values``: ``name`` and/or ``availability_zone`` (None removes
    the zone)."""
    aggregate = _get(aggregate_id)
    if 'availability_zone' in values:
        zone = values['availability_zone']
        _check_zone(aggregate_id, zone, conf, 'update aggregate')
        _check_hosts_in_zone(aggregate, zone, 'update aggregate')
        db.aggregate_metadata_set(aggregate['id'], {AZ_KEY: zone})
    if 'name' in values:
        aggregate = db.aggregate_update(aggregate['id'],
                                        {'name': values['name']})
    return _out(db.aggregate_get(aggregate_id) or aggregate)


def aggregate_delete(ctx, aggregate_id):
    if not db.aggregate_delete(_get(aggregate_id)['id']):
        raise exception.AggregateNotFound(aggregate_id=aggregate_id)


def add_host(ctx, aggregate_id, host, conf):
    aggregate = _get(aggregate_id)
    if not any(s['host'] == host and s['topic'] == COMPUTE_TOPIC
               for s in db.service_list()):
        raise exception.ComputeHostNotFound(host=host)
    zone = aggregate['metadata'].get(AZ_KEY)
    if zone is not None:
        others = _other_zones(host, aggregate['id']) - {zone}
        if others:
            raise exception.AggregateZoneConflict(
                host=host, aggregate_id=aggregate_id,
                zone=sorted(others)[0])
    return _out(db.aggregate_host_add(aggregate['id'], host))


def remove_host(ctx, aggregate_id, host):
    return _out(db.aggregate_host_remove(_get(aggregate_id)['id'], host))


def set_metadata(ctx, aggregate_id, metadata, conf):
    """Set each key; a None value deletes it (as Nova)."""
    aggregate = _get(aggregate_id)
    if AZ_KEY in metadata:
        zone = metadata[AZ_KEY]
        _check_zone(aggregate_id, zone, conf, 'set_metadata')
        _check_hosts_in_zone(aggregate, zone, 'set_metadata')
    return _out(db.aggregate_metadata_set(aggregate['id'], metadata))
