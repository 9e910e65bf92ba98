"""The conductor's helpers: the driver's Instance from the rows, the
hosts' serial port facts recorded, and the live migration it runs.

The compute hosts never touch the database: the conductor reads the
rows, sends what the driver needs, and records what the hosts report.
"""

import threading

from oslo_log import log as logging

from nova.api.openstack import common as api_common
from nova.compute import live_migration
from nova.compute import task_states
from nova.compute import vm_states
from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.objects import compute_node
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler
from nova import servicegroup

LOG = logging.getLogger(__name__)

# Hosts a build tries when the chosen one has no free serial port after
# all (ports bound by another program, or a guest defined behind Nova's
# back): Nova's default [scheduler] max_attempts.
MAX_BUILD_ATTEMPTS = 3


def record_ports(host, facts):
    """Record the serial port facts ``host`` returned after an action,
    so the scheduler sees its ports now, not at its next report."""
    if not host or not isinstance(facts, dict):
        return  # a host that sends none: its next report will tell
    # A plain dict from the host: checked with the heartbeat's types (a
    # wrong one would break every scheduling that reads it).
    try:
        facts = compute_node.ComputeNode(host=host, **{
            k: v for k, v in facts.items() if k in db.SERIAL_PORT_KEYS})
    except (ValueError, TypeError) as e:
        LOG.warning('The serial port facts of host %s are not recorded: '
                    '%s', host, e)
        return
    facts = {k: v for k, v in facts.items() if k != 'host'}
    try:
        db.service_update_ports(host, facts)
    except Exception:
        LOG.exception('Could not record the serial ports of host %s', host)


def refresh_ports(compute_rpcapi, ctx, host, instance):
    """Ask ``host`` for its serial port facts and record them; for an
    action that returned none (a live migration, a failure after the
    guest was destroyed). Never raises: the next report will tell."""
    if not host:
        return
    try:
        facts = compute_rpcapi.get_serial_port_facts(ctx, host, instance)
    except Exception as e:
        LOG.warning('Serial ports of host %s not refreshed after an '
                    'action on %s: %s', host, instance.uuid,
                    exception.fault_message(e))
        return
    record_ports(host, facts)


def instance_for(server, host=None, image=None, boot=False):
    """The driver's Instance for ``server`` (on ``host``, by default its
    own).

    ``boot`` requires the flavor and the image (``image`` overrides the
    server's); without it missing rows are tolerated, so a server whose
    image is gone can still be deleted or migrated.
    """
    flavor = db.flavor_get(server['flavor_id'])
    image = image or db.image_get(server['image_id'])
    if boot and flavor is None:
        raise exception.FlavorNotFound(flavor_id=server['flavor_id'])
    if boot and image is None:
        raise exception.ImageNotFound(image_id=server['image_id'])
    instance = objects.Instance(uuid=server['uuid'],
                                host=host or server.get('host'))
    if flavor is not None:
        instance.flavor = objects.Flavor(
            name=flavor['name'], memory_mb=flavor['ram'],
            vcpus=flavor['vcpus'], extra_specs=dict(flavor['extra_specs']))
    if image is not None:
        instance.image_meta = objects.ImageMeta(
            id=image['id'], name=image['name'],
            kernel_path=image['kernel_path'],
            ramdisk_path=image['ramdisk_path'],
            disk_path=image['disk_path'], disk_format=image['disk_format'],
            properties=dict(image['properties']))
    return instance


def bad_input(field, detail):
    return exception.ValidationError(field=field, detail=detail)


class LiveMigrationTask:
    """A live migration as the conductor runs it until the source
    compute drives it (``nova.conductor.live_migrate``, the lm part).

    ``execute()`` is the short part, answered to the API: destination
    chosen or checked, its ports claimed, task_state MIGRATING, both
    hosts' pre-checks. The moving part then runs on a thread of the
    conductor, never of the API.
    """

    def __init__(self, ctxt, conf, compute_rpcapi, instance_uuid, host,
                 block_migration):
        self.ctxt = ctxt
        self.conf = conf
        self.compute_rpcapi = compute_rpcapi
        self.uuid = instance_uuid
        self.host = host
        self.block_migration = block_migration

    def _invalid_state(self, action='live migrate'):
        server = db.instance_get(self.uuid)
        if server is None:
            return exception.InstanceNotFound(instance_id=self.uuid)
        # As the compute API names it: the status the user sees.
        state = api_common.status_of(server)
        if server['task_state']:
            state = '%s (%s)' % (state, server['task_state'])
        return exception.InstanceInvalidState(
            action=action, instance_uuid=self.uuid, state=state)

    def _destination(self, server):
        """The migration target: ``host`` checked, or one picked."""
        if self.host is None:
            instance = instance_for(server)
            try:
                return scheduler.select_host(
                    self.conf, instance.flavor, instance.image_meta,
                    exclude=(server['host'],))
            except exception.Invalid as e:
                raise exception.NoValidHost(reason=e.message)
        host = self.host
        service = db.service_get_by_host(host)
        if service is None:
            raise exception.ComputeHostNotFound(host=host)
        if not servicegroup.is_up(service, self.conf):
            raise exception.ComputeServiceUnavailable(host=host)
        if host == server['host']:
            raise exception.MigrationPreCheckError(
                reason='server %s is already on host %s' % (
                    self.uuid, host))
        return host

    def execute(self):
        server = db.instance_get(self.uuid)
        if server is None:
            raise exception.InstanceNotFound(instance_id=self.uuid)
        # Choosing the destination and claiming its ports happen under
        # one lock, as for a build: two requests never count one port.
        with scheduler.CLAIMS_LOCK:
            dest = self._destination(server)
            updated = db.instance_update(
                self.uuid, {'task_state': task_states.MIGRATING},
                expected_vm_state=vm_states.ACTIVE, expected_task_state=None)
            if updated is None:
                raise self._invalid_state()
            scheduler.claim_migration(self.uuid, dest)
        instance = instance_for(updated)
        try:
            data = live_migration.check(
                self.ctxt, instance,
                self.compute_rpcapi.host(updated['host']),
                self.compute_rpcapi.host(dest),
                (None if self.block_migration == 'auto' else
                 self.block_migration))
        except Exception as e:
            db.instance_update(self.uuid, {'task_state': None},
                               expected_task_state=task_states.MIGRATING)
            scheduler.end_migration(self.uuid)
            if isinstance(e, exception.MigrationError):
                # The host's reason, not its message: that already has
                # a "Migration ... error: " label of its own.
                raise exception.MigrationPreCheckError(
                    reason=e.kwargs.get('reason', e.message)) from e
            raise
        LOG.info('Live migrating server %s from %s to %s', self.uuid,
                 updated['host'], dest)
        threading.Thread(target=self._run, args=(dest, data),
                         name='nova-live-migration-%s' % self.uuid,
                         daemon=True).start()

    def _run(self, dest, migrate_data):
        try:
            self._migrate(dest, migrate_data)
        except Exception:
            LOG.exception('Live migration of server %s to %s failed',
                          self.uuid, dest)
        finally:
            # The hosts' facts are recorded by now: the claim on the
            # destination ends.
            scheduler.end_migration(self.uuid)

    def _migrate(self, dest, migrate_data):
        """Success: ACTIVE on ``dest``, console tokens (naming the
        source's port) revoked. Failure: ACTIVE on the source."""
        uuid = self.uuid
        ctx = self.ctxt
        current = db.instance_get(uuid)
        if current is None or (current['task_state'] !=
                               task_states.MIGRATING):
            LOG.info('Live migration of %s not run: superseded', uuid)
            return
        source = current['host']
        instance = instance_for(current)
        try:
            live_migration.migrate(
                ctx, instance, self.compute_rpcapi.host(source),
                self.compute_rpcapi.host(dest), migrate_data)
        except Exception as e:
            # Either side may have taken or freed ports (the
            # destination's rollback frees those it acquired).
            for host in (source, dest):
                refresh_ports(self.compute_rpcapi, ctx, host, instance)
            LOG.error('Live migration of server %s from %s to %s '
                      'failed; it stays on %s: %s', uuid, source, dest,
                      source, exception.fault_message(e))
            scheduler.end_migration(uuid)
            db.instance_update(uuid, {'task_state': None},
                               expected_task_state=task_states.MIGRATING)
            return
        # The guest is on ``dest`` now, whatever request came since.
        db.instance_update(uuid, {'host': dest})
        for host in (source, dest):
            refresh_ports(self.compute_rpcapi, ctx, host, instance)
        tokens.delete_for_instance(uuid)
        scheduler.end_migration(uuid)
        db.instance_update(uuid, {'task_state': None},
                           expected_task_state=task_states.MIGRATING)
        LOG.info('Live migrated server %s from %s to %s', uuid, source,
                 dest)
