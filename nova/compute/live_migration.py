"""The live-migration conversation between two compute hosts.

``source`` and ``dest`` are drivers, or hosts reached over RPC
(``nova.compute.rpcapi.RemoteHost``), which take the same calls. As in
Nova, the pre-checks run first and their errors reach the caller before
anything moves; then the destination makes room, the source migrates,
and the destination keeps what it got or, on failure, is rolled back.
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def check(context, instance, source, dest, block_migration=None):
    """Both hosts' pre-checks; returns the migrate data.

    ``block_migration`` is True, False or None ("auto").
    """
    data = dest.check_can_live_migrate_destination(context, instance)
    data.block_migration = block_migration
    return source.check_can_live_migrate_source(context, instance, data)


def migrate(context, instance, source, dest, data):
    """Move ``instance``; on failure roll the destination back and raise.

    The guest then keeps running on the source.
    """
    data = dest.pre_live_migration(context, instance, data)
    try:
        source.live_migration(context, instance, data.connect_uri, data)
    except Exception:
        LOG.exception('Live migration of %s to %s failed; rolling back the '
                      'destination', instance.uuid, dest.host_name)
        try:
            dest.rollback_live_migration_at_destination(context, instance,
                                                        data)
        except Exception:
            LOG.exception('Rollback of %s on %s failed', instance.uuid,
                          dest.host_name)
        raise
    dest.post_live_migration_at_destination(context, instance, data)
    instance.host = dest.host_name
    return data


def live_migrate(context, instance, source, dest, block_migration=None):
    """:func:`check`, then :func:`migrate`."""
    data = check(context, instance, source, dest, block_migration)
    return migrate(context, instance, source, dest, data)
