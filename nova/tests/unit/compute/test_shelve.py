"""Shelve, shelveOffload and unshelve through the compute API, the
conductor and two compute services on fake drivers (in-process
transport), images in the local catalog."""

import datetime

import sqlalchemy as sa

from nova.api.openstack import common as api_common
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import shelve as conductor_shelve
from nova.db import api as db
from nova import exception
from nova.objects import shelve as shelve_obj
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_api

ALICE, BOB, ADMIN = base.ALICE, base.BOB, base.ADMIN


class ShelveTestCase(test_api.APITestCase):
    HOSTS = ('fake-host', 'other-host')

    def setUp(self):
        super().setUp()
        self.other = self.drivers['other-host']
        # Every new server on fake-host: the other one is disabled.
        db.service_update(db.service_get_by_host('other-host')['id'],
                          {'disabled': True})

    def _enable_only(self, host):
        for name in self.HOSTS:
            db.service_update(db.service_get_by_host(name)['id'],
                              {'disabled': name != host})

    def _status(self, uuid, ctx=ALICE):
        return api_common.status_of(self.api.get(ctx, uuid))

    def _shelved_image(self, uuid):
        record = db.shelved_instance_get(uuid)
        return record and record['image_id']

    def _log_reads(self):
        """The SELECTs that fetch a stored log's bytes from now on."""
        reads = []

        def seen(conn, cursor, statement, params, context, many):
            if (statement.lstrip().upper().startswith('SELECT') and
                    'log_data' in statement):
                reads.append(statement)
        engine = db.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', seen)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute',
                        seen)
        return reads

    def test_the_stored_log_is_read_only_by_the_unshelve(self):
        # Up to 256 MiB per offloaded server: a delete, an outcome or a
        # look at the record must not fetch it, only the unshelve that
        # sends it to the new host.
        uuid = self._active()
        self.driver.console_log(uuid).write(b'history\n' * 4096)
        self.api.shelve(ALICE, uuid)
        self._wait()
        reads = self._log_reads()
        record = db.shelved_instance_get(uuid)
        self.assertEqual(0, len(reads))
        self.assertNotIn('log_data', sorted(record))
        self.assertEqual([['console.log', 8 * 4096]],
                         record['log_files']['files'])
        self._enable_only('other-host')
        self.api.unshelve(ALICE, uuid)
        self._wait()
        self.assertEqual(b'history\n' * 4096,
                         bytes(self.other.console_log(uuid).data))
        self.assertEqual(1, len(reads))
        # Shelved again (a new record, its log stored by the outcome),
        # then deleted: no more reads of the bytes.
        self.other.console_log(uuid).write(b'again\n')
        self.api.shelve(ALICE, uuid)
        self._wait()
        self.assertEqual('SHELVED_OFFLOADED', self._status(uuid))
        self.api.delete(ALICE, uuid)
        self._wait()
        self.assertIsNone(db.instance_get(uuid))
        self.assertEqual(1, len(reads))

    def test_shelve_offloads_at_once_by_default(self):
        uuid = self._active(name='web')
        self.api.shelve(ALICE, uuid)
        self.assertEqual(('ACTIVE', task_states.SHELVING), (
            self._status(uuid), self.api.get(ALICE, uuid)['task_state']))
        self._wait()
        server = self.api.get(ALICE, uuid)
        self.assertEqual(('SHELVED_OFFLOADED', None, None),
                         (self._status(uuid), server['host'],
                          server['fault']))
        self.assertEqual(['snapshot_for_shelve',
                          'read_console_log_for_shelve', 'shelve_offload'],
                         self.driver.names()[-3:])

    def test_shelve_saves_image_and_log(self):
        uuid = self._active(name='web')
        self.driver.console_log(uuid).write(b'boot 1\nbefore shelve\n')
        self.api.shelve(ALICE, uuid)
        self._wait()
        self.assertEqual(['snapshot_for_shelve',
                          'read_console_log_for_shelve', 'shelve_offload'],
                         self.driver.names()[-3:])
        image_id = self._shelved_image(uuid)
        image = db.image_get(image_id)
        # Nova's name, made as the caller, for the caller's project.
        self.assertEqual(('web-shelved', 'snapshot', uuid, 'pa'), (
            image['name'], image['properties']['image_type'],
            image['properties']['instance_uuid'],
            image['properties']['owner_project']))
        self.assertEqual(image_id, self.driver.calls[-3][2])
        stored = conductor_shelve.stored_log(
            db.shelved_instance_get(uuid, with_log=True))
        self.assertEqual(b'boot 1\nbefore shelve\n', stored.history())
        # Its ports are free: the host's facts say so at once.
        self.assertNotIn(uuid, self.driver.ports)

    def test_unshelve_on_the_other_host_carries_log_and_image(self):
        uuid = self._active()
        self.driver.console_log(uuid).write(b'history before shelve\n')
        self.api.shelve(ALICE, uuid)
        self._wait()
        image_id = self._shelved_image(uuid)
        self._enable_only('other-host')
        self.api.unshelve(ALICE, uuid)
        self._wait()
        server = self.api.get(ALICE, uuid)
        self.assertEqual(('ACTIVE', 'other-host', None),
                         (self._status(uuid), server['host'],
                          server['fault']))
        name, _uuid, image, snapshot = self.other.calls[-1]
        self.assertEqual(('unshelve', 'img-1', image_id),
                         (name, image, snapshot))
        self.assertEqual(b'history before shelve\n',
                         bytes(self.other.console_log(uuid).data))
        # The saved image and the stored log are gone.
        self.assertIsNone(db.image_get(image_id))
        self.assertIsNone(db.shelved_instance_get(uuid))
        self.assertEqual(b'console of ' + uuid.encode(),
                         self.api.get_console_output(ALICE, uuid))

    def test_shelve_without_offload_then_unshelve_starts_it_again(self):
        self.nova_flags(shelved_offload_time=-1)
        uuid = self._active()
        self.api.shelve(ALICE, uuid)
        self._wait()
        server = self.api.get(ALICE, uuid)
        self.assertEqual(('SHELVED', 'fake-host'),
                         (self._status(uuid), server['host']))
        self.assertNotIn('shelve_offload', self.driver.names())
        self.api.unshelve(ALICE, uuid)
        self._wait()
        self.assertEqual('ACTIVE', self._status(uuid))
        self.assertEqual('power_on', self.driver.names()[-1])
        self.assertIsNone(db.shelved_instance_get(uuid))

    def test_shelve_offload_is_admins_and_needs_shelved(self):
        self.nova_flags(shelved_offload_time=-1)
        uuid = self._active()
        e = self.assertRaises(exception.InstanceInvalidState,
                              self.api.shelve_offload, ADMIN, uuid)
        self.assertEqual(409, e.code)
        self.api.shelve(ALICE, uuid)
        self._wait()
        self.driver.console_log(uuid).write(b'kept\n')
        self.api.shelve_offload(ADMIN, uuid)
        self._wait()
        self.assertEqual('SHELVED_OFFLOADED', self._status(uuid))
        self.assertIsNone(self.api.get(ALICE, uuid)['host'])
        self.assertEqual(b'kept\n', conductor_shelve.stored_log(
            db.shelved_instance_get(uuid, with_log=True)).history())

    def test_periodic_offload(self):
        self.nova_flags(shelved_offload_time=60)
        uuid = self._active()
        self.api.shelve(ALICE, uuid)
        self._wait()
        self.assertEqual('SHELVED', self._status(uuid))
        task_manager = self.conductor_endpoint()
        now = db.utcnow()
        self.assertEqual([], task_manager._offload_expired(ADMIN, now))
        later = now + datetime.timedelta(seconds=61)
        self.assertEqual([uuid], task_manager._offload_expired(ADMIN, later))
        self._wait()
        self.assertEqual('SHELVED_OFFLOADED', self._status(uuid))

    def test_wrong_states_and_lock_are_409(self):
        uuid = self._active()
        for call in (self.api.unshelve, self.api.shelve_offload):
            self.assertRaises(exception.InstanceInvalidState, call, ADMIN,
                              uuid)
        self.api.lock(ALICE, uuid)
        e = self.assertRaises(exception.InstanceIsLocked, self.api.shelve,
                              ALICE, uuid)
        self.assertEqual(409, e.code)
        # Nothing was made for it.
        self.assertEqual(['img-1', 'img-2'],
                         sorted(i['id'] for i in db.image_list()))
        self.api.unlock(ALICE, uuid)
        self.api.shelve(ALICE, uuid)
        self._wait()
        e = self.assertRaises(exception.InstanceInvalidState,
                              self.api.shelve, ALICE, uuid)
        self.assertEqual(409, e.code)
        # Another project's server does not exist.
        self.assertRaises(exception.InstanceNotFound, self.api.unshelve,
                          BOB, uuid)

    def test_failed_snapshot_leaves_it_active_and_deletes_the_image(self):
        uuid = self._active()
        self.driver.fail['snapshot_for_shelve'] = exception.SnapshotFailed(
            reason='qemu-img convert: No space left on device')
        self.api.shelve(ALICE, uuid)
        self._wait()
        server = self.api.get(ALICE, uuid)
        self.assertEqual(('ACTIVE', 'fake-host'),
                         (self._status(uuid), server['host']))
        self.assertIn('No space left on device', server['fault'])
        self.assertEqual('power_on', self.driver.names()[-1])
        self.assertEqual(['img-1', 'img-2'],
                         sorted(i['id'] for i in db.image_list()))
        self.assertIsNone(db.shelved_instance_get(uuid))

    def test_unreadable_log_never_fails_the_offload(self):
        uuid = self._active()
        self.driver.fail['read_console_log_for_shelve'] = (
            exception.InstanceFileUnsafe(path='/x/console.log',
                                         reason='a symbolic link'))
        self.api.shelve(ALICE, uuid)
        self._wait()
        server = self.api.get(ALICE, uuid)
        self.assertEqual('SHELVED_OFFLOADED', self._status(uuid))
        self.assertIn('console log history before the shelve lost',
                      server['fault'])
        self.assertIn('a symbolic link', server['fault'])
        self.assertIn('shelve_offload', self.driver.names())

    def test_a_log_not_written_back_never_fails_the_unshelve(self):
        uuid = self._active()
        self.driver.console_log(uuid).write(b'old\n')
        self.api.shelve(ALICE, uuid)
        self._wait()
        self._enable_only('other-host')
        self.other.fail['write_back_log'] = 'disk full'
        self.api.unshelve(ALICE, uuid)
        self._wait()
        server = self.api.get(ALICE, uuid)
        self.assertEqual(('ACTIVE', 'other-host'),
                         (self._status(uuid), server['host']))
        self.assertIn('disk full', server['fault'])

    def test_failed_unshelve_stays_offloaded_with_its_log(self):
        uuid = self._active()
        self.driver.console_log(uuid).write(b'old\n')
        self.api.shelve(ALICE, uuid)
        self._wait()
        self._enable_only('other-host')
        self.other.fail['unshelve'] = exception.InstanceBootFailed(
            instance_uuid=uuid, reason='disk full')
        self.api.unshelve(ALICE, uuid)
        self._wait()
        server = self.api.get(ALICE, uuid)
        self.assertEqual(('SHELVED_OFFLOADED', None),
                         (self._status(uuid), server['host']))
        self.assertIn('disk full', server['fault'])
        self.assertEqual(b'old\n', conductor_shelve.stored_log(
            db.shelved_instance_get(uuid, with_log=True)).history())
        # Tried again, it works.
        del self.other.fail['unshelve']
        self.api.unshelve(ALICE, uuid)
        self._wait()
        self.assertEqual('ACTIVE', self._status(uuid))

    def test_no_host_for_unshelve_stays_offloaded(self):
        uuid = self._active()
        self.api.shelve(ALICE, uuid)
        self._wait()
        self._enable_only('nowhere')
        self.api.unshelve(ALICE, uuid)
        self._wait()
        server = self.api.get(ALICE, uuid)
        self.assertEqual(('SHELVED_OFFLOADED', None, None),
                         (self._status(uuid), server['host'],
                          server['task_state']))
        self.assertIn('disabled', server['fault'])

    def test_delete_of_an_offloaded_server_deletes_its_image(self):
        uuid = self._active()
        self.api.shelve(ALICE, uuid)
        self._wait()
        image_id = self._shelved_image(uuid)
        self.api.delete(ALICE, uuid)
        self._wait()
        self.assertIsNone(db.instance_get(uuid))
        self.assertIsNone(db.image_get(image_id))
        self.assertIsNone(db.shelved_instance_get(uuid))

    def test_a_refused_delete_keeps_the_saved_image(self):
        # Its host is down: the delete is refused (409) and the server
        # stays SHELVED; its saved disk must stay too, or the next
        # offload leaves a server with no disk anywhere.
        self.nova_flags(shelved_offload_time=-1)
        uuid = self._active()
        self.api.shelve(ALICE, uuid)
        self._wait()
        image_id = self._shelved_image(uuid)
        self.stop_host('fake-host')
        self.assertRaises(exception.InstanceHostUnavailable,
                          self.api.delete, ALICE, uuid)
        self.assertEqual('SHELVED', self._status(uuid))
        self.assertIsNotNone(db.image_get(image_id))

    def test_delete_while_shelving_deletes_the_image_made_for_it(self):
        # The image holds the deleted server's disk: never left behind
        # in the project with nothing pointing at it.
        uuid = self._active()
        gate = self._gate('snapshot_for_shelve')
        self.api.shelve(ALICE, uuid)
        self.assertTrue(self.driver.entered_event(
            'snapshot_for_shelve').wait(base.WAIT))
        image_id = self._shelved_image(uuid)
        self.assertIsNotNone(image_id)
        self.api.delete(ALICE, uuid)
        gate.set()
        self._wait()
        self.assertIsNone(db.instance_get(uuid))
        self.assertIsNone(db.image_get(image_id))

    def test_a_stale_host_outcome_changes_nothing(self):
        uuid = self._active()
        self.nova_flags(shelved_offload_time=-1)
        self.api.shelve(ALICE, uuid)
        self._wait()
        self.api.shelve_offload(ADMIN, uuid)
        self._wait()
        self.conductor_endpoint().shelve_done(
            ADMIN, 'other-host', uuid, 'unshelve', task_states.UNSHELVING,
            None)
        self.assertEqual(vm_states.SHELVED_OFFLOADED,
                         db.instance_get(uuid)['vm_state'])


class StoredLogTestCase(base.RPCTestCase):
    def test_a_forged_log_is_not_stored(self):
        db.instance_create({
            'uuid': base.ids.SRV1, 'name': 'vm', 'project_id': 'pa',
            'user_id': 'alice', 'flavor_id': '1', 'image_id': 'i',
            'vm_state': 'active', 'task_state': None, 'host': 'h'})
        log = shelve_obj.ShelvedConsoleLog.from_files(
            [('console.log', b'abc')])
        log.sizes = [2 ** 20]  # announces more than it holds
        lost = conductor_shelve.store_log(base.ids.SRV1, log)
        self.assertIn('not kept', lost)
        self.assertIsNone(db.shelved_instance_get(base.ids.SRV1))
        self.assertIn('not a log', conductor_shelve.store_log(
            base.ids.SRV1, {'files': []}))
