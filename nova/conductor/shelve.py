"""Shelve, offload and unshelve: the conductor's side.

The compute API puts the server in its task (shelving,
shelving_offloading, unshelving) and casts here; the conductor casts to
the host (compute RPC 2.4), which casts its outcome back
(``shelve_done``). As for the other actions, an outcome counts only
from the instance's host while it is still in the action's task.

* shelve (task shelving, from ACTIVE): the host stops the guest and
  saves its disk into the image the compute API made as the caller
  ("<name>-shelved"); SHELVED, its host kept. With ``[DEFAULT]
  shelved_offload_time`` = 0 the host offloads it in the same go;
  > 0: this conductor's periodic check offloads it once that old; -1:
  only shelveOffload does. A failed save leaves the server ACTIVE (its
  guest started again) with the image deleted, as Nova.
* offload (task shelving_offloading, from SHELVED): the host reads the
  guest's console log, destroys the guest (domain, serial ports,
  folder) and sends the log here; it is stored in the database
  (``shelved_instances``, at most virtlogd's ``max_size x (max_backups
  + 1)`` of that host), the host cleared: SHELVED_OFFLOADED. A log that
  cannot be read or stored never fails the offload: a warning, and the
  instance's fault says what was lost.
* unshelve (task unshelving): a SHELVED server is started again on its
  host. An offloaded one gets the host the scheduler picks (the serial
  port claims as for a build), which makes its disk from the saved
  image (as an overlay of the server's own image), writes the stored
  log back and boots it; then the saved image is deleted and the
  stored log forgotten: ACTIVE. A failure leaves it where it was
  (SHELVED_OFFLOADED, no host, the log and the image kept; or SHELVED)
  with the fault saying why.
"""

from oslo_log import log as logging

from nova.compute import instance_actions
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import tasks
from nova.db import api as db
from nova import exception
from nova import image as image_api
from nova.objects import shelve as shelve_obj
from nova.scheduler import manager as scheduler

LOG = logging.getLogger(__name__)

# Actions, as the compute host names them in its outcome.
SHELVE = 'shelve'
SHELVE_OFFLOAD = 'shelve_offload'
UNSHELVE = 'unshelve'

LABELS = {SHELVE: 'Shelve', SHELVE_OFFLOAD: 'Shelve offload',
          UNSHELVE: 'Unshelve'}
RECORDED_AS = {SHELVE: instance_actions.SHELVE,
               SHELVE_OFFLOAD: instance_actions.SHELVE_OFFLOAD,
               UNSHELVE: instance_actions.UNSHELVE}
TASKS = {SHELVE: (task_states.SHELVING,),
         SHELVE_OFFLOAD: (task_states.SHELVING_OFFLOADING,),
         UNSHELVE: (task_states.UNSHELVING,)}


def stored_log(record):
    """The ShelvedConsoleLog of a shelve record read ``with_log``, or
    None."""
    if not record or not record.get('log_files'):
        return None
    meta = record['log_files']
    data = record.get('log_data') or b''
    files, offset = [], 0
    for name, size in meta.get('files') or ():
        files.append((name, data[offset:offset + size]))
        offset += size
    return shelve_obj.ShelvedConsoleLog.from_files(
        files, truncated=bool(record.get('log_truncated')),
        virtlogd=bool(meta.get('virtlogd', True)))


def store_log(uuid, console_log):
    """Keep ``console_log`` (from a host: checked) in the shelve record.
    Returns None, or what was lost (the instance fault's note)."""
    if console_log is None:
        return None
    if not isinstance(console_log, shelve_obj.ShelvedConsoleLog):
        return 'its console log arrived as a %s, not a log: not kept' % (
            type(console_log).__name__)
    try:
        files = console_log.contents()
    except shelve_obj.BadConsoleLog as e:
        return 'its console log is not kept: %s' % e
    db.shelved_instance_set(
        uuid, log_files={'files': [[n, len(d)] for n, d in files],
                         'virtlogd': bool(console_log.virtlogd)},
        log_data=b''.join(d for _n, d in files),
        log_truncated=bool(console_log.truncated))
    LOG.info('Console log of shelved server %s kept: %d bytes in %d '
             'file(s)%s', uuid, console_log.total, len(files),
             ', its oldest bytes dropped' if console_log.truncated else '')
    return None


class ShelveTasks:
    """Mixed into ComputeTaskManager: its RPC endpoints for shelve (it
    brings _current, _cast, _cast_to_host, _landed, _fail, _outcome_of,
    compute_rpcapi, conf)."""

    def _delete_image(self, ctxt, image_id):
        if not image_id:
            return
        try:
            image_api.API(self.conf).delete(ctxt, image_id)
        except Exception as e:
            LOG.warning('Image %s of a shelved server not deleted: %s',
                        image_id, exception.fault_message(e))

    # -- from the compute API -------------------------------------------------

    def shelve_instance(self, ctxt, instance_uuid, image_id):
        task = task_states.SHELVING
        current = self._current(instance_uuid, task, SHELVE)
        if current is None:
            self._delete_image(ctxt, image_id)
            return
        db.shelved_instance_set(instance_uuid, image_id=image_id,
                                shelved_host=current['host'],
                                log_files=None, log_data=None,
                                log_truncated=False)
        offload = self.conf.shelved_offload_time == 0
        self._cast(ctxt, current, task, SHELVE,
                   lambda instance: self.compute_rpcapi.shelve_instance(
                       ctxt, current['host'], instance, image_id, offload))

    def shelve_offload_instance(self, ctxt, instance_uuid):
        self._cast_to_host(ctxt, instance_uuid,
                           task_states.SHELVING_OFFLOADING, SHELVE_OFFLOAD,
                           self.compute_rpcapi.shelve_offload_instance,
                           boot=False)

    def unshelve_instance(self, ctxt, instance_uuid):
        task = task_states.UNSHELVING
        current = self._current(instance_uuid, task, UNSHELVE)
        if current is None:
            return
        if current['vm_state'] == vm_states.SHELVED and current['host']:
            # Still on its host: started again there.
            self._cast(ctxt, current, task, UNSHELVE,
                       lambda instance: self.compute_rpcapi.
                       unshelve_instance(ctxt, current['host'], instance,
                                         None, None))
            return
        # The one read that needs the log's bytes: they go to the host.
        record = db.shelved_instance_get(instance_uuid, with_log=True) or {}
        try:
            instance = tasks.instance_for(current, boot=True, ctx=ctxt)
            snapshot_meta = None
            if record.get('image_id'):
                snapshot_meta = tasks.image_meta_for(
                    image_api.API(self.conf).get(ctxt, record['image_id']))
            console_log = stored_log(record)
            with scheduler.CLAIMS_LOCK:
                host = scheduler.select_host(
                    self.conf, instance.flavor, instance.image_meta,
                    ctx=ctxt)
                current = db.instance_update(
                    instance_uuid, {'host': host},
                    expected_task_state=task)
        except Exception as e:
            self._unshelve_failed(instance_uuid, current,
                                  exception.fault_message(e))
            return
        if current is None:
            LOG.info("Unshelve of server %s not run: taken over",
                     instance_uuid)
            return
        self._cast(ctxt, current, task, UNSHELVE,
                   lambda instance: self.compute_rpcapi.unshelve_instance(
                       ctxt, host, instance, snapshot_meta, console_log))

    def _unshelve_failed(self, uuid, current, fault, host=None):
        """Back to where it was before the unshelve, with ``fault``."""
        LOG.error('Unshelve of server %s failed: %s', uuid, fault)
        instance_actions.event_finish(uuid, instance_actions.UNSHELVE,
                                      host=host, fault=fault)
        values = {'task_state': None, 'fault': fault}
        if current is not None and current['vm_state'] == (
                vm_states.SHELVED_OFFLOADED):
            values['host'] = None
        db.instance_update(uuid, values,
                           expected_task_state=task_states.UNSHELVING)

    # -- the periodic offload ----------------------------------------------

    def _offload_expired(self, ctxt, now):
        """Offload the SHELVED servers shelved over ``[DEFAULT]
        shelved_offload_time`` seconds ago (> 0 only). Returns their
        uuids."""
        wait = self.conf.shelved_offload_time
        if wait <= 0:
            return []
        offloaded = []
        for server in db.instance_get_all():
            if (server['vm_state'] != vm_states.SHELVED or
                    server['task_state'] is not None):
                continue
            record = db.shelved_instance_get(server['uuid'])
            if record is None or (
                    now - record['shelved_at']).total_seconds() < wait:
                continue
            updated = db.instance_update(
                server['uuid'],
                {'task_state': task_states.SHELVING_OFFLOADING},
                expected_vm_state=vm_states.SHELVED,
                expected_task_state=None)
            if updated is None:
                continue
            LOG.info('Server %s shelved over %d s ago: offloading it',
                     server['uuid'], wait)
            instance_actions.action_start(ctxt, server['uuid'],
                                          instance_actions.SHELVE_OFFLOAD)
            self.shelve_offload_instance(ctxt, server['uuid'])
            offloaded.append(server['uuid'])
        return offloaded

    # -- from the compute hosts ----------------------------------------------

    def shelve_done(self, ctxt, host, instance_uuid, action, task_state,
                    serial_port_facts, fault=None, error=None, saved=None,
                    console_log=None, log_fault=None):
        """Record what ``host`` did of a shelve action.

        :param action: 'shelve', 'shelve_offload' or 'unshelve'.
        :param saved: for 'shelve': ``{'saved': bool (a disk was saved),
            'offloaded': bool (destroyed on the host too)}``.
        :param console_log: a ShelvedConsoleLog of an offloaded guest,
            or None.
        :param log_fault: why its log could not be read, or None.
        """
        label, current = self._outcome_of(host, instance_uuid, action,
                                          task_state, serial_port_facts,
                                          TASKS)
        if current is None:
            return
        if current['task_state'] != task_state:
            LOG.info('%s of server %s done, but the server was taken over '
                     'meanwhile', label, instance_uuid)
            self._landed(instance_uuid, task_state)
            return
        self._landed(instance_uuid, task_state)
        fault = tasks.checked_fault(fault, host, label)
        log_fault = tasks.checked_fault(log_fault, host, label)
        record = db.shelved_instance_get(instance_uuid) or {}
        instance_actions.event_finish(instance_uuid, RECORDED_AS[action],
                                      host=host, fault=fault)
        if fault is not None:
            LOG.error('%s of server %s failed on host %s: %s', label,
                      instance_uuid, host, fault)
        if action == SHELVE:
            self._shelved(ctxt, current, record, fault, saved or {},
                          console_log, log_fault)
        elif action == SHELVE_OFFLOAD:
            self._offloaded(current, fault, console_log, log_fault)
        else:
            self._unshelved(ctxt, current, record, fault, log_fault)

    def _shelved(self, ctxt, current, record, fault, saved, console_log,
                 log_fault):
        uuid = current['uuid']
        if fault is not None:
            # As Nova: the server stays ACTIVE (the host started it
            # again), its image is deleted.
            self._delete_image(ctxt, record.get('image_id'))
            db.shelved_instance_delete(uuid)
            db.instance_update(uuid, {
                'task_state': None, 'fault': fault,
                'power_state': power_state.RUNNING},
                expected_task_state=task_states.SHELVING)
            return
        if not saved.get('saved'):
            # No disk of its own (a kernel image): no image to keep.
            self._delete_image(ctxt, record.get('image_id'))
            db.shelved_instance_set(uuid, image_id=None)
        if saved.get('offloaded'):
            self._offloaded(current, None, console_log, log_fault,
                            task=task_states.SHELVING)
            return
        db.instance_update(uuid, {
            'vm_state': vm_states.SHELVED, 'task_state': None,
            'fault': None, 'power_state': power_state.SHUTDOWN},
            expected_task_state=task_states.SHELVING)

    def _offloaded(self, current, fault, console_log, log_fault,
                   task=task_states.SHELVING_OFFLOADING):
        uuid = current['uuid']
        if fault is not None:
            db.instance_update(uuid, {'task_state': None, 'fault': fault},
                               expected_task_state=task)
            return
        try:
            lost = log_fault or store_log(uuid, console_log)
        except Exception as e:  # the database refused it: never fatal
            LOG.exception('Console log of %s not stored', uuid)
            lost = 'its console log could not be stored: %s' % (
                exception.fault_message(e))
        if lost:
            LOG.warning('Server %s offloaded without its console log '
                        'history: %s', uuid, lost)
            lost = ('Offloaded; console log history before the shelve '
                    'lost: %s' % lost)[:exception.MAX_FAULT_LENGTH]
        db.instance_update(uuid, {
            'vm_state': vm_states.SHELVED_OFFLOADED, 'task_state': None,
            'host': None, 'fault': lost,
            'power_state': power_state.SHUTDOWN},
            expected_task_state=task)

    def _unshelved(self, ctxt, current, record, fault, log_fault=None):
        uuid = current['uuid']
        if fault is not None:
            self._unshelve_failed_after(current, fault)
            return
        if log_fault:
            # Never fatal: the server runs, without its older history.
            LOG.warning('Server %s unshelved without its console log '
                        'history: %s', uuid, log_fault)
        # Its guest runs from its own disk now: the saved image and the
        # stored log are no longer needed (before the state changes, so
        # an ACTIVE server never has them).
        self._delete_image(ctxt, record.get('image_id'))
        db.shelved_instance_delete(uuid)
        db.instance_update(uuid, {
            'vm_state': vm_states.ACTIVE, 'task_state': None,
            'fault': log_fault or None, 'power_state': power_state.RUNNING},
            expected_task_state=task_states.UNSHELVING)
        LOG.info('Unshelved server %s on host %s', uuid, current['host'])

    def _unshelve_failed_after(self, current, fault):
        values = {'task_state': None, 'fault': fault}
        if current['vm_state'] == vm_states.SHELVED_OFFLOADED:
            values['host'] = None
        db.instance_update(current['uuid'], values,
                           expected_task_state=task_states.UNSHELVING)
