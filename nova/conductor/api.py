"""What the compute API asks of the conductor: ``ComputeTaskAPI``.

The compute API looks an instance up, checks its state, puts it in the
action's task_state and hands the action to the conductor here; it never
runs or waits for the action itself. Build, reboot, rebuild and delete
are casts (the client gets 202 at once); a live migration is a short
call that returns once its pre-checks passed and the migration started.

``instance`` is the instance as the compute API has it (a database row
or an ``Instance``): only its uuid crosses RPC, the conductor reads the
rest from the database it owns.
"""

from nova.conductor import rpcapi


def _uuid(instance):
    if isinstance(instance, dict):
        return instance['uuid']
    return instance.uuid


class ComputeTaskAPI:
    def __init__(self, conf):
        self.conductor_compute_rpcapi = rpcapi.ComputeTaskAPI(conf)

    def build_instances(self, ctxt, instance):
        """Build ``instance`` (task_state spawning) on its host."""
        self.conductor_compute_rpcapi.build_instances(ctxt, _uuid(instance))

    def reboot_instance(self, ctxt, instance, reboot_type):
        """``reboot_type``: 'SOFT' or 'HARD' (task_state rebooting or
        rebooting_hard)."""
        self.conductor_compute_rpcapi.reboot_instance(
            ctxt, _uuid(instance), reboot_type)

    def rebuild_instance(self, ctxt, instance, image):
        """Rebuild from ``image`` (a dict with its 'id'; task_state
        rebuilding, the row already names the image)."""
        self.conductor_compute_rpcapi.rebuild_instance(
            ctxt, _uuid(instance), image['id'])

    def delete_instance(self, ctxt, instance):
        """Destroy the guest, then forget the instance (task_state
        deleting)."""
        self.conductor_compute_rpcapi.delete_instance(ctxt, _uuid(instance))

    def live_migrate_instance(self, ctxt, instance, host, block_migration,
                              force=True, disk_over_commit=None):
        """Live migrate an ACTIVE instance to ``host`` (None: the
        scheduler picks).

        :param block_migration: True, False or 'auto'.
        :raises: the pre-checks' errors (NoValidHost,
            ComputeHostNotFound, ComputeServiceUnavailable,
            MigrationPreCheckError: 400; InstanceInvalidState,
            InstanceHostUnavailable: 409), ServiceUnavailable (503) when
            no conductor answers.
        """
        kwargs = {}
        if disk_over_commit is not None:
            kwargs['disk_over_commit'] = disk_over_commit
        return self.conductor_compute_rpcapi.live_migrate_instance(
            ctxt, _uuid(instance), host, block_migration, force=force,
            **kwargs)

    # -- shv: shelve (nova.conductor.shelve)

    def shelve_instance(self, ctxt, instance, image_id):
        """Save the disk into the queued image ``image_id``, stop the
        guest, offload by ``[DEFAULT] shelved_offload_time`` (task_state
        shelving)."""
        self.conductor_compute_rpcapi.shelve_instance(
            ctxt, _uuid(instance), image_id)

    def shelve_offload_instance(self, ctxt, instance):
        """Destroy a shelved guest on its host (task_state
        shelving_offloading)."""
        self.conductor_compute_rpcapi.shelve_offload_instance(
            ctxt, _uuid(instance))

    def unshelve_instance(self, ctxt, instance):
        """Start it again, or boot it on a host the scheduler picks
        (task_state unshelving)."""
        self.conductor_compute_rpcapi.unshelve_instance(ctxt,
                                                        _uuid(instance))

    # -- resize: cold migration and resize (nova.conductor.migrate) --------

    def migrate_server(self, ctxt, instance, flavor_id=None):
        """Start the cold migration (``flavor_id`` None) or resize of an
        instance in resize_prep; a short call.

        :raises: NoValidHost, FlavorNotFound (400), InstanceInvalidState
            (409), ServiceUnavailable (503); the instance is then as it
            was.
        """
        return self.conductor_compute_rpcapi.migrate_server(
            ctxt, _uuid(instance), flavor_id)

    def confirm_resize(self, ctxt, instance):
        self.conductor_compute_rpcapi.confirm_resize(ctxt, _uuid(instance))

    def revert_resize(self, ctxt, instance):
        self.conductor_compute_rpcapi.revert_resize(ctxt, _uuid(instance))

    def stop_instance(self, ctxt, instance):
        """Power the guest off (task_state powering-off; os-stop)."""
        self.conductor_compute_rpcapi.stop_instance(ctxt, _uuid(instance))

    def start_instance(self, ctxt, instance):
        """Boot the stopped guest (task_state powering-on; os-start)."""
        self.conductor_compute_rpcapi.start_instance(ctxt, _uuid(instance))
