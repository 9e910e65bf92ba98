"""Server actions as the API's workers run them: state, then RPC.

Each action is recorded on the server row only if the server is still in
the task the action started in: a newer request that took the server over
(a delete, a hard reboot during a soft one) is never undone. Actions on
one server are serialized by a per-server lock in this process; the
compute host runs them (``nova.compute.manager``) and never touches the
database.
"""

import functools

from oslo_concurrency import lockutils
from oslo_log import log as logging

from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import live_migrate
from nova.console import tokens
from nova import context
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler

LOG = logging.getLogger(__name__)

# Hosts a build tries when the chosen one has no free serial port after
# all (ports bound by another program, or a guest defined behind Nova's
# back): Nova's default [scheduler] max_attempts.
MAX_BUILD_ATTEMPTS = 3


def _record_ports(host, facts):
    """Record the serial port facts ``host`` returned after an action,
    so the scheduler sees its ports now, not at its next report."""
    if not host or not isinstance(facts, dict):
        return  # a host that sends none: its next report will tell
    try:
        db.service_update_ports(host, facts)
    except Exception:
        LOG.exception('Could not record the serial ports of host %s', host)


def _refresh_ports(compute_rpcapi, ctx, host, instance):
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
    _record_ports(host, facts)


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


class ServerTasks:
    def __init__(self, compute_rpcapi):
        self.compute_rpcapi = compute_rpcapi

    @staticmethod
    def _lock(uuid):
        return lockutils.lock('nova-server-task-%s' % uuid)

    def recover_interrupted_tasks(self, hosts=None, delete=None):
        """Servers left in a task by a stopped API process.

        Deletes are run again, by ``delete(server)`` (e.g. on the API's
        workers: a down host must not hold up the start) or here; live
        migrations are settled by asking the hosts where the guest is
        (nova.conductor.live_migrate.recover_live_migrations, on a thread
        of its own); other tasks end in ERROR. ``hosts`` limits this to
        servers of those hosts.
        """
        migrating = []
        for server in db.instance_get_all():
            task = server['task_state']
            if task is None or (hosts is not None and
                                server['host'] not in hosts):
                continue
            if task == task_states.MIGRATING:
                migrating.append(server['uuid'])
                continue
            if task == task_states.DELETING:
                try:
                    (delete or functools.partial(self.terminate, None))(
                        server)
                except Exception:
                    pass  # recorded on the server and logged
                continue
            LOG.warning('Server %s was %s when the API process stopped',
                        server['uuid'], task)
            values = {'vm_state': vm_states.ERROR, 'task_state': None,
                      'fault': 'Interrupted by a restart of the compute '
                               'API while %s' % task}
            db.instance_update(server['uuid'], values,
                               expected_task_state=task)
            tokens.delete_for_instance(server['uuid'])
        if migrating:
            live_migrate.recover_live_migrations(
                context.get_admin_context(), self.compute_rpcapi,
                self.compute_rpcapi.conf, uuids=migrating)

    # -- recording outcomes ---------------------------------------------------

    def _record_failure(self, uuid, task, action, exc):
        """Log ``exc``; show only its message as the server's fault."""
        if isinstance(exc, exception.NovaException):
            LOG.error('%s of server %s failed: %s', action, uuid,
                      exc.message)
        else:
            LOG.exception('%s of server %s failed', action, uuid)
        try:
            done = db.instance_update(
                uuid, {'vm_state': vm_states.ERROR, 'task_state': None,
                       'fault': exception.fault_message(exc)},
                expected_task_state=task)
        except Exception:
            LOG.exception('Could not set server %s to ERROR', uuid)
            return
        if done is None:
            LOG.info('Failure of %s not recorded: server %s was deleted or '
                     'taken over by another request', action, uuid)

    def _run(self, server, task, action, work, done_values,
             revoke_tokens=False):
        """Run ``work(current_server)`` as ``action`` in task ``task``.

        Skipped when the server is gone or another task took it over.
        Exceptions are recorded on the server and raised again.
        """
        uuid = server['uuid']
        with self._lock(uuid):
            current = db.instance_get(uuid)
            if current is None:
                LOG.info('Server %s is gone: %s not run', uuid, action)
                return
            started = current['task_state']
            if started not in (task, None):
                LOG.info('%s of server %s not run: superseded by %s',
                         action, uuid, started)
                return
            try:
                work(current)
            except Exception as e:
                self._record_failure(uuid, started, action, e)
                raise
            finally:
                if revoke_tokens:
                    # Tokens issued while this ran may name the old port.
                    tokens.delete_for_instance(uuid)
            values = dict(done_values, task_state=None, fault=None)
            if db.instance_update(uuid, values,
                                  expected_task_state=started) is None:
                LOG.info('%s of server %s done, but the server was taken '
                         'over meanwhile', action, uuid)

    # -- actions --------------------------------------------------------------

    def build(self, ctx, server):
        def spawn(current):
            host, tried = current['host'], []
            while True:
                try:
                    facts = self.compute_rpcapi.build_and_run_instance(
                        ctx, host, instance_for(current, host=host,
                                                boot=True))
                    _record_ports(host, facts)
                    return
                except exception.SocketPortRangeExhaustedException as e:
                    tried.append(host)
                    host = self._reschedule(current, tried, e)
        self._run(server, task_states.SPAWNING, 'Build', spawn,
                  {'vm_state': vm_states.ACTIVE})

    def _reschedule(self, server, tried, error):
        """Another host for a build that found no free serial port on
        the hosts ``tried``; raises ``error`` when there is none (or
        MAX_BUILD_ATTEMPTS were made, or the server was taken over)."""
        if len(tried) >= MAX_BUILD_ATTEMPTS:
            raise error
        instance = instance_for(server, boot=True)
        with scheduler.CLAIMS_LOCK:  # the claim moves with the server
            try:
                host = scheduler.select_host(
                    self.compute_rpcapi.conf, instance.flavor,
                    instance.image_meta, exclude=tried)
            except exception.NoValidHost:
                raise error
            if db.instance_update(
                    server['uuid'], {'host': host},
                    expected_task_state=task_states.SPAWNING) is None:
                raise error
        LOG.warning('Build of server %s: %s; rescheduled to host %s',
                    server['uuid'], error.message, host)
        return host

    def reboot(self, ctx, server, reboot_type):
        def reboot(current):
            instance = instance_for(current, boot=True)
            try:
                facts = self.compute_rpcapi.reboot_instance(
                    ctx, current['host'], instance, reboot_type)
            except Exception:
                # A hard reboot fails after the destroy: ports freed.
                _refresh_ports(self.compute_rpcapi, ctx, current['host'],
                               instance)
                raise
            _record_ports(current['host'], facts)
        self._run(server, task_states.REBOOT_TASK_STATES[reboot_type],
                  '%s reboot' % reboot_type.capitalize(), reboot,
                  {'vm_state': vm_states.ACTIVE}, revoke_tokens=True)

    def rebuild(self, ctx, server, image):
        def rebuild(current):
            instance = instance_for(current, image=image, boot=True)
            try:
                facts = self.compute_rpcapi.rebuild_instance(
                    ctx, current['host'], instance)
            except Exception:
                _refresh_ports(self.compute_rpcapi, ctx, current['host'],
                               instance)
                raise
            _record_ports(current['host'], facts)
        self._run(server, task_states.REBUILDING, 'Rebuild', rebuild,
                  {'vm_state': vm_states.ACTIVE, 'image_id': image['id']},
                  revoke_tokens=True)

    def terminate(self, ctx, server):
        """Destroy the guest (disks and log too), then forget the server."""
        uuid = server['uuid']
        with self._lock(uuid):
            current = db.instance_get(uuid) or server
            try:
                if current['host']:
                    # Recorded before the server goes: from then on the
                    # scheduler counts its ports free.
                    _record_ports(current['host'],
                                  self.compute_rpcapi.terminate_instance(
                                      ctx, current['host'],
                                      instance_for(current)))
            except Exception as e:
                self._record_failure(uuid, current['task_state'], 'Delete',
                                     e)
                raise
            db.instance_delete(uuid)  # its console tokens go with it
            LOG.info('Deleted server %s', uuid)
