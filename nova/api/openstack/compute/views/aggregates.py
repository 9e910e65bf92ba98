"""Aggregate bodies, shaped like Nova's before microversion 2.41."""


def _time(value):
    # Nova shows aggregate times as naive UTC ISO 8601.
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat()


def aggregate(agg, with_members=True):
    """POST /os-aggregates answers without ``hosts`` and ``metadata``,
    as Nova."""
    body = {
        'id': agg['id'],
        'name': agg['name'],
        'availability_zone': agg['availability_zone'],
        'created_at': _time(agg['created_at']),
        'updated_at': _time(agg['updated_at']),
        'deleted': False,
        'deleted_at': None,
    }
    if with_members:
        body['hosts'] = list(agg['hosts'])
        body['metadata'] = dict(agg['metadata'])
    return body
