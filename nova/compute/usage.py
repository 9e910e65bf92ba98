"""os-simple-tenant-usage: what each project's servers used over a
period, as Nova's (microversions before 2.40: no paging).

A server counts for the hours it ran inside the period: from
``launched_at`` (or the period's start, if later) to its
``terminated_at`` (or the period's end, if later or still running);
a server never launched counts nothing. Its flavor's vCPUs, RAM (MB)
and disk (root + ephemeral GB) times those hours make the project's
totals. Deleted servers count too: their row is gone (hard delete), but
the delete kept their usage record (nova.db.api.usage_list).
"""

import collections
import datetime

from nova.db import api as db
from nova.policies import simple_tenant_usage as policies

UTC = datetime.timezone.utc


def hours_for(usage, start, stop):
    """Hours (a float) ``usage`` ran within [start, stop]; 0 when it
    never launched or ran entirely outside (Nova's _hours_for)."""
    launched = usage.get('launched_at')
    terminated = usage.get('terminated_at')
    if launched is None:
        return 0
    if terminated is not None and terminated < start:
        return 0
    if launched > stop:
        return 0
    begin = max(launched, start)
    end = min(stop, terminated) if terminated is not None else stop
    return (end - begin).total_seconds() / 3600.0


def _naive(value):
    """A UTC datetime without its zone (Nova shows them so)."""
    return None if value is None else value.astimezone(UTC).replace(
        tzinfo=None)


def _server_usage(usage, start, stop, now):
    flavor = usage.get('flavor') or {}
    info = {
        'instance_id': usage['uuid'],
        'name': usage['name'],
        'tenant_id': usage['project_id'],
        'hours': hours_for(usage, start, stop),
        'flavor': flavor.get('name', ''),
        'memory_mb': int(flavor.get('ram') or 0),
        'local_gb': int(flavor.get('disk') or 0) + int(
            flavor.get('ephemeral_gb') or 0),
        'vcpus': int(flavor.get('vcpus') or 0),
        'started_at': _naive(usage['launched_at']),
        'ended_at': _naive(usage.get('terminated_at')),
    }
    if info['ended_at'] is not None:
        info['state'] = 'terminated'
        uptime = usage['terminated_at'] - usage['launched_at']
    else:
        info['state'] = usage.get('vm_state') or ''
        uptime = now - usage['launched_at']
    info['uptime'] = int(uptime.total_seconds())
    return info


def tenant_usages(ctx, start, stop, detailed, project_id=None):
    """Each project's usage over [start, stop] (aware UTC datetimes),
    a list of dicts in the order their first server was created:
    ``tenant_id``, ``total_hours``, ``total_vcpus_usage``,
    ``total_memory_mb_usage``, ``total_local_gb_usage``, ``start``,
    ``stop`` (naive UTC datetimes) and, when ``detailed``,
    ``server_usages`` (one dict per server, Nova's keys). Only
    ``project_id``'s when given.

    Callers check the policy (list: admins; show: the project or an
    admin).
    """
    now = db.utcnow()
    found = collections.OrderedDict()
    for usage in db.usage_list(start, stop, project_id=project_id):
        info = _server_usage(usage, start, stop, now)
        summary = found.get(info['tenant_id'])
        if summary is None:
            summary = found[info['tenant_id']] = {
                'tenant_id': info['tenant_id'],
                'total_local_gb_usage': 0, 'total_vcpus_usage': 0,
                'total_memory_mb_usage': 0, 'total_hours': 0,
                'start': _naive(start), 'stop': _naive(stop)}
            if detailed:
                summary['server_usages'] = []
        hours = info['hours']
        summary['total_local_gb_usage'] += info['local_gb'] * hours
        summary['total_vcpus_usage'] += info['vcpus'] * hours
        summary['total_memory_mb_usage'] += info['memory_mb'] * hours
        summary['total_hours'] += hours
        if detailed:
            summary['server_usages'].append(info)
    return list(found.values())


def list_usages(ctx, start, stop, detailed):
    """Every project's usage (admins: ``...:list``)."""
    ctx.can(policies.LIST)
    return tenant_usages(ctx, start, stop, detailed)


def show_usage(ctx, project_id, start, stop):
    """One project's usage, detailed; {} when it used nothing (the
    project itself or an admin: ``...:show``)."""
    ctx.can(policies.SHOW, {'project_id': project_id,
                            'user_id': ctx.user_id})
    found = tenant_usages(ctx, start, stop, True, project_id=project_id)
    return found[0] if found else {}
