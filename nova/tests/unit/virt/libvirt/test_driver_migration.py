"""Live migration calls of LibvirtDriver on libvirt's test driver.

The test driver cannot migrate, so ``migrateToURI3`` is the one call
replaced; what the driver sends it, and what it does before and after, is
checked. The real migration runs in the functional tests.
"""

import os
import threading
from unittest import mock

import fixtures
import libvirt
from lxml import etree

from nova.console import serial
from nova import exception
from nova.objects import migrate_data
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt import driver
from nova.virt.libvirt import log_transfer


class MigrationTestBase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.flags(enabled=True, group='serial_console')
        self.flags(live_migration_inbound_addr='192.0.2.2', group='libvirt')
        conf = os.path.join(self.instances_path, 'virtlogd.conf')
        with open(conf, 'w') as f:
            f.write('# test\nmax_size = 65536\nmax_backups=2 # comment\n')
        self.flags(virtlogd_conf=conf, group='libvirt')
        self.migrate = self.useFixture(fixtures.MockPatchObject(
            libvirt.virDomain, 'migrateToURI3')).mock
        self.copy = self.useFixture(fixtures.MockPatchObject(
            log_transfer, 'copy_console_log',
            return_value=['console.log.0'])).mock

    def _booted(self, ports='2'):
        inst = self._instance(ports=ports)
        self._spawn(inst)
        with open(self.driver.console_log_path(inst), 'wb') as f:
            f.write(b'history\n')
        return inst

    def _migrate(self, inst, data):
        """The source's two calls of a migration that worked."""
        self.driver.live_migration(None, inst, data.connect_uri, data)
        self.driver.post_live_migration(None, inst, data)

    def _dest_data(self, inst, **kw):
        data = migrate_data.LibvirtLiveMigrateData(
            serial_listen_addr='192.0.2.2', supports_virtlogd=True,
            instance_dir='/srv/b/%s' % inst.uuid, inbound_addr='192.0.2.2',
            connect_uri='qemu+tcp://192.0.2.2/system',
            virtlogd_max_size=65536, virtlogd_max_backups=2,
            serial_port_count=2, serial_listen_ports=[41000, 41001])
        for key, value in kw.items():
            setattr(data, key, value)
        return data


class DestinationTestCase(MigrationTestBase):
    def test_check_destination(self):
        inst = self._instance()
        data = self.driver.check_can_live_migrate_destination(None, inst)
        self.assertEqual(HOST_A, data.serial_listen_addr)
        self.assertTrue(data.supports_virtlogd)
        self.assertEqual(self.driver.instance_dir(inst), data.instance_dir)
        self.assertEqual('qemu+tcp://192.0.2.2/system', data.connect_uri)
        self.assertEqual((65536, 2), (data.virtlogd_max_size,
                                      data.virtlogd_max_backups))

    def test_check_destination_of_old_host_without_serial(self):
        self.virtlogd = False
        self.flags(enabled=False, group='serial_console')
        self.flags(live_migration_connect_uri='qemu+ssh://b/system',
                   group='libvirt')
        data = self.driver.check_can_live_migrate_destination(
            None, self._instance())
        self.assertIsNone(data.serial_listen_addr)
        self.assertFalse(data.supports_virtlogd)
        self.assertEqual('qemu+ssh://b/system', data.connect_uri)

    def test_pre_live_migration_acquires_ports(self):
        inst = self._instance()
        data = self.driver.check_can_live_migrate_destination(None, inst)
        data.serial_port_count = 3
        data = self.driver.pre_live_migration(None, inst, data)
        self.assertEqual(3, len(set(data.serial_listen_ports)))
        self.assertEqual({(HOST_A, p) for p in data.serial_listen_ports},
                         serial.ALLOCATED_PORTS)
        self.assertTrue(os.path.isdir(self.driver.instance_dir(inst)))

    def test_pre_live_migration_port_exhaustion_releases(self):
        self.flags(port_range='%d:%d' % (self.port_start,
                                         self.port_start + 1),
                   group='serial_console')
        inst = self._instance()
        data = self.driver.check_can_live_migrate_destination(None, inst)
        data.serial_port_count = 3
        self.assertRaises(exception.SocketPortRangeExhaustedException,
                          self.driver.pre_live_migration, None, inst, data)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_leftover_folder_is_moved_aside_not_lost(self):
        inst = self._instance()
        os.makedirs(self.driver.instance_dir(inst))
        with open(self.driver.console_log_path(inst), 'w') as f:
            f.write('from an earlier stay')
        data = self.driver.check_can_live_migrate_destination(None, inst)
        self.driver.pre_live_migration(None, inst, data)
        self.assertEqual([], os.listdir(self.driver.instance_dir(inst)))
        aside = [d for d in os.listdir(self.instances_path)
                 if d.startswith(inst.uuid + '.orphaned-')]
        self.assertEqual(1, len(aside))

    def test_guest_defined_here_is_refused_and_its_folder_kept(self):
        # A stray or repeated pre_live_migration for a guest of this
        # host would have moved its live log and disk aside.
        inst = self._booted(ports='1')
        data = self.driver.check_can_live_migrate_destination(None, inst)
        data.serial_port_count = 1
        e = self.assertRaises(exception.MigrationPreCheckError,
                              self.driver.pre_live_migration, None, inst,
                              data)
        self.assertIn('already defined on this host', e.message)
        with open(self.driver.console_log_path(inst), 'rb') as f:
            self.assertEqual(b'history\n', f.read())
        self.assertEqual([], [d for d in os.listdir(self.instances_path)
                              if '.orphaned-' in d])

    def test_rollback_releases_ports_and_folder(self):
        inst = self._instance()
        data = self.driver.check_can_live_migrate_destination(None, inst)
        data.serial_port_count = 2
        data = self.driver.pre_live_migration(None, inst, data)
        self.driver.rollback_live_migration_at_destination(None, inst, data)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))

    def test_post_at_destination_releases_unused_ports(self):
        inst = self._booted(ports='1')  # "arrived" with one port
        used = serial.ALLOCATED_PORTS.copy()
        extra = self.driver._acquire_port(HOST_A, inst.uuid)  # pre_live_m.
        data = self._dest_data(inst, serial_listen_addr=HOST_A,
                               serial_listen_ports=[p for _, p in used] +
                               [extra])
        self.driver.post_live_migration_at_destination(None, inst, data)
        self.assertEqual(used, serial.ALLOCATED_PORTS)


HOST_A = test_driver.HOST


class SourceTestCase(MigrationTestBase):
    def test_check_source_counts_ports(self):
        inst = self._booted(ports='3')
        data = self.driver.check_can_live_migrate_source(
            None, inst, self._dest_data(inst, serial_port_count=0))
        self.assertEqual(3, data.serial_port_count)

    def test_check_source_refuses_destination_without_serial(self):
        inst = self._booted()
        e = self.assertRaises(
            exception.MigrationError,
            self.driver.check_can_live_migrate_source, None, inst,
            self._dest_data(inst, serial_listen_addr=None))
        self.assertIn('serial listen address', str(e))
        self.migrate.assert_not_called()

    def test_live_migration_sends_rewritten_xml(self):
        inst = self._booted()
        data = self._dest_data(inst)
        self._migrate(inst, data)
        uri, params, flags = self.migrate.call_args[0]
        self.assertEqual('qemu+tcp://192.0.2.2/system', uri)
        self.assertEqual(libvirt_driver_flags(), flags)
        self.assertEqual('tcp://192.0.2.2',
                         params[libvirt.VIR_MIGRATE_PARAM_URI])
        self.assertEqual('192.0.2.2',
                         params[libvirt.VIR_MIGRATE_PARAM_LISTEN_ADDRESS])
        dest = etree.fromstring(
            params[libvirt.VIR_MIGRATE_PARAM_DEST_XML].encode())
        sources = dest.findall('./devices/serial/source')
        self.assertEqual(['41000', '41001'],
                         [s.get('service') for s in sources])
        self.assertEqual(['/srv/b/%s/console.log' % inst.uuid],
                         [log.get('file') for log in
                          dest.findall('./devices/serial/log')])
        self.assertEqual(params[libvirt.VIR_MIGRATE_PARAM_DEST_XML],
                         params[libvirt.VIR_MIGRATE_PARAM_PERSIST_XML])

    def test_success_releases_ports_copies_log_and_cleans_up(self):
        inst = self._booted()
        data = self._dest_data(inst)
        self._migrate(inst, data)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.copy.assert_called_once_with(
            inst.uuid, self.driver.console_log_path(inst), '192.0.2.2',
            as_backups=True, max_size=65536, max_backups=2,
            conf=mock.ANY, dest_dir='/srv/b/%s' % inst.uuid)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))

    def test_old_destination_gets_log_under_unchanged_names(self):
        inst = self._booted()
        data = self._dest_data(inst, supports_virtlogd=False)
        self._migrate(inst, data)
        self.assertFalse(self.copy.call_args[1]['as_backups'])

    def test_failed_copy_does_not_fail_migration(self):
        inst = self._booted()
        self.copy.side_effect = log_transfer.LogTransferFailed(
            instance_uuid=inst.uuid,
            reason='Remote file system copy ... on 192.0.2.2 failed: '
                   'connection refused')
        data = self._dest_data(inst)
        with self.assertLogs('nova.virt.libvirt.driver', 'WARNING') as logs:
            self._migrate(inst, data)
        self.assertIn(inst.uuid, logs.output[0])
        self.assertIn('connection refused', logs.output[0])
        # Not lost: the log stays here for the operator.
        self.assertTrue(os.path.exists(self.driver.console_log_path(inst)))
        self.assertEqual(set(), serial.ALLOCATED_PORTS)

    def test_no_inbound_address_keeps_log_with_warning(self):
        inst = self._booted()
        data = self._dest_data(inst, inbound_addr=None)
        with self.assertLogs('nova.virt.libvirt.driver', 'WARNING') as logs:
            self._migrate(inst, data)
        self.assertIn('live_migration_inbound_addr', logs.output[0])
        self.copy.assert_not_called()
        self.assertNotIn(libvirt.VIR_MIGRATE_PARAM_URI,
                         self.migrate.call_args[0][1])

    def test_libvirt_failure_leaves_guest_untouched(self):
        inst = self._booted()
        held = set(serial.ALLOCATED_PORTS)
        self.migrate.side_effect = libvirt.libvirtError('unable to connect')
        data = self._dest_data(inst)
        e = self.assertRaises(exception.MigrationError,
                              self.driver.live_migration, None, inst,
                              data.connect_uri, data)
        self.assertIn(inst.uuid, str(e))
        self.assertEqual(held, serial.ALLOCATED_PORTS)
        self.assertTrue(self.driver.is_running(inst))
        self.copy.assert_not_called()


def libvirt_driver_flags():
    return (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER |
            libvirt.VIR_MIGRATE_PERSIST_DEST |
            libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)


class SourceStepsTestCase(MigrationTestBase):
    """The source's job and its clean-up are two calls: the compute
    manager decides between them from what libvirt says."""

    def test_job_keeps_ports_and_log_until_post(self):
        inst = self._booted()
        held = set(serial.ALLOCATED_PORTS)
        data = self._dest_data(inst)
        self.driver.live_migration(None, inst, data.connect_uri, data)
        self.assertEqual(held, serial.ALLOCATED_PORTS)
        self.copy.assert_not_called()
        self.driver.post_live_migration(None, inst, data)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.copy.assert_called_once()
        # Again (a recovery after the source died): nothing left to do.
        self.driver.post_live_migration(None, inst, data)
        self.copy.assert_called_once()

    def test_post_checks_what_the_destination_said(self):
        inst = self._booted()
        held = set(serial.ALLOCATED_PORTS)
        self.assertRaises(exception.MigrationError,
                          self.driver.post_live_migration, None, inst,
                          self._dest_data(inst, inbound_addr='a b'))
        self.assertEqual(held, serial.ALLOCATED_PORTS)
        self.copy.assert_not_called()

    def test_post_after_a_restart_guesses_the_log_role(self):
        # No job of this process sent the guest: whether the guest writes
        # console.log there follows from the destination's facts.
        for virtlogd, addr, backups in ((True, '192.0.2.2', True),
                                        (False, '192.0.2.2', False),
                                        (False, None, True)):
            inst = self._booted()
            self.copy.reset_mock()
            self.driver.post_live_migration(None, inst, self._dest_data(
                inst, supports_virtlogd=virtlogd, serial_listen_addr=addr))
            self.assertIs(backups, self.copy.call_args[1]['as_backups'])

    def test_guest_states(self):
        inst = self._booted()
        self.assertEqual(driver.GUEST_RUNNING,
                         self.driver.live_migration_guest_state(inst))
        dom = self.driver.host.get_domain(inst)
        with mock.patch.object(libvirt.virDomain, 'jobInfo',
                               return_value=[libvirt.VIR_DOMAIN_JOB_UNBOUNDED,
                                             0, 0]):
            self.assertEqual(driver.GUEST_MIGRATING,
                             self.driver.live_migration_guest_state(inst))
        with mock.patch.object(
                libvirt.virDomain, 'state',
                return_value=[libvirt.VIR_DOMAIN_PAUSED,
                              libvirt.VIR_DOMAIN_PAUSED_MIGRATION]):
            self.assertEqual(driver.GUEST_MIGRATING,
                             self.driver.live_migration_guest_state(inst))
        dom.destroy()
        self.assertEqual(driver.GUEST_STOPPED,
                         self.driver.live_migration_guest_state(inst))
        self.driver.destroy(None, inst)
        self.assertEqual(driver.GUEST_ABSENT,
                         self.driver.live_migration_guest_state(inst))

    def test_job_progress_is_logged_until_libvirt_returns(self):
        inst = self._booted()
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.MIGRATION_PROGRESS_INTERVAL', 0))
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.MIGRATION_POLL_INTERVAL', 0.01))
        done = threading.Event()
        self.migrate.side_effect = lambda *a: done.wait(5)
        stats = self.useFixture(fixtures.MockPatchObject(
            libvirt.virDomain, 'jobStats')).mock

        def stats_then_end():
            done.set()
            return {'data_remaining': 3 * 1024 * 1024,
                    'data_total': 8 * 1024 * 1024, 'time_elapsed': 2000}
        stats.side_effect = stats_then_end
        data = self._dest_data(inst)
        with self.assertLogs('nova.virt.libvirt.driver', 'INFO') as logs:
            self.driver.live_migration(None, inst, data.connect_uri, data)
        self.assertTrue(any('3 of 8 MiB left after 2 s' in line
                            for line in logs.output), logs.output)


class DestinationRecoveryTestCase(MigrationTestBase):
    def test_rollback_never_touches_a_guest_defined_here(self):
        inst = self._booted(ports='1')
        held = set(serial.ALLOCATED_PORTS)
        self.driver.rollback_live_migration_at_destination(
            None, inst, self._dest_data(
                inst, serial_listen_addr=HOST_A,
                serial_listen_ports=[p for _, p in held]))
        self.assertEqual(held, serial.ALLOCATED_PORTS)
        self.assertTrue(os.path.exists(self.driver.console_log_path(inst)))

    def test_rollback_without_data_releases_all_it_holds(self):
        inst = self._instance()
        data = self.driver.check_can_live_migrate_destination(None, inst)
        data.serial_port_count = 2
        self.driver.pre_live_migration(None, inst, data)
        self.driver.rollback_live_migration_at_destination(None, inst, None)
        self.assertEqual(set(), serial.ALLOCATED_PORTS)
        self.assertFalse(os.path.exists(self.driver.instance_dir(inst)))

    def test_post_without_data_keeps_what_the_guest_listens_on(self):
        inst = self._booted(ports='1')
        used = serial.ALLOCATED_PORTS.copy()
        self.driver._acquire_port(HOST_A, inst.uuid)  # pre_live_migration's
        self.driver.post_live_migration_at_destination(None, inst, None)
        self.assertEqual(used, serial.ALLOCATED_PORTS)
