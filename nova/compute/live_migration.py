"""The live-migration conversation between two compute hosts' drivers.

In Nova the compute manager runs this over RPC, each call on its host;
here the two drivers are called directly, in the same order, so the
protocol is the same one the RPC layer will carry.
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def live_migrate(context, instance, source, dest):
    """Move ``instance`` from driver ``source`` to driver ``dest``.

    Returns the migrate data. On failure the destination is rolled back,
    the guest keeps running on the source, and the error is raised.
    """
    data = dest.check_can_live_migrate_destination(context, instance)
    data = source.check_can_live_migrate_source(context, instance, data)
    data = dest.pre_live_migration(context, instance, data)
    try:
        source.live_migration(context, instance, data.connect_uri, data)
    except Exception:
        LOG.exception('Live migration of %s to %s failed; rolling back the '
                      'destination', instance.uuid, dest.host_name)
        dest.rollback_live_migration_at_destination(context, instance, data)
        raise
    dest.post_live_migration_at_destination(context, instance, data)
    instance.host = dest.host_name
    return data
