"""Whether a compute service is up, from its last heartbeat.

As Nova's database driver: up when it reported within
``service_down_time`` seconds, was not stopped cleanly since, and is not
forced down.
"""

from nova.db import api as db
from nova import exception


def seconds_since_report(service, now=None):
    if service['updated_at'] is None:
        return None
    return ((now or db.utcnow()) - service['updated_at']).total_seconds()


def is_up(service, conf, now=None):
    if service['stopped'] or service['forced_down']:
        return False
    age = seconds_since_report(service, now)
    return age is not None and age <= conf.service_down_time


def down_reason(service, conf, now=None):
    """Why ``service`` is down, for a message; None when it is up."""
    if is_up(service, conf, now):
        return None
    if service['forced_down']:
        return 'is forced down'
    if service['stopped']:
        return 'was stopped'
    age = seconds_since_report(service, now)
    if age is None:
        return 'has never reported'
    return 'has not reported for %d s (service_down_time is %d s)' % (
        age, conf.service_down_time)


def check_instance_host(instance, conf):
    """The service of ``instance``'s host (a row of
    ``db.service_get_by_host``), which must be up to be asked anything.

    :param instance: the instance's row (``uuid`` and ``host``).
    :raises nova.exception.InstanceHostUnavailable: no host, a host
        that never registered, or one that is down (the reason says
        which; the API answers 409).
    """
    host = instance['host']
    service = db.service_get_by_host(host) if host else None
    return check_service_of(instance, service, conf)


def check_service_of(instance, service, conf):
    """check_instance_host on ``service``, the service row of
    ``instance``'s host already read (None: no host, or not known);
    only its ``stopped``, ``forced_down`` and ``updated_at`` are used."""
    host = instance['host']
    if service is None:
        raise exception.InstanceHostUnavailable(
            instance_uuid=instance['uuid'], host=host,
            reason='is not known')
    reason = down_reason(service, conf)
    if reason:
        raise exception.InstanceHostUnavailable(
            instance_uuid=instance['uuid'], host=host, reason=reason)
    return service
