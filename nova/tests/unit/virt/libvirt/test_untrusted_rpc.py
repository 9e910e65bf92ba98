"""Data from RPC never names a path or a count the host acts on unchecked.

Every compute host holds the broker account, so any of them can send a
call to any other: an instance uuid, a source's port count and a
destination's instance folder are untrusted input. (Attack review,
finding 2: a uuid of ``../victim`` renamed a sibling directory.)
"""

import os
import types

import fixtures
import libvirt
from oslo_serialization import jsonutils
from unittest import mock

from nova.compute import manager
from nova import context
from nova import exception
from nova.objects import instance as objects
from nova.objects import migrate_data
from nova import rpc
from nova.tests.unit.virt.libvirt import test_driver
from nova.virt.libvirt import migration

BAD_UUIDS = ('../victim', '..', '/etc', 'a/b', '',
             'srv-1', '6D1E5A6C-2B0E-4C3E-9A55-0F1D2A3B4C5D',
             '6d1e5a6c2b0e4c3e9a550f1d2a3b4c5d',
             '{6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d}',
             'urn:uuid:6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d',
             '6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d/../x', None, 42)
GOOD = '6d1e5a6c-2b0e-4c3e-9a55-0f1d2a3b4c5d'


def _primitive(obj, **values):
    """``obj`` as it crosses RPC, with ``values`` put into its data as
    a hostile peer could."""
    wire = rpc.RequestContextSerializer().serialize_entity(None, obj)
    wire['nova_object.data'].update(values)
    return jsonutils.loads(jsonutils.dumps(wire))


def _instance_primitive(uuid):
    return _primitive(objects.Instance(uuid=GOOD), uuid=uuid)


def _arrived(primitive):
    """``primitive`` as an RPC server hands it to its endpoint."""
    return rpc.RequestContextSerializer().deserialize_entity(
        context.get_admin_context(), primitive)


class InstanceUuidTestCase(test_driver.DriverTestBase):
    def test_constructor_refuses_non_canonical(self):
        for bad in BAD_UUIDS:
            e = self.assertRaises(exception.InvalidUUID,
                                  objects.Instance, uuid=bad)
            self.assertIn('instance uuid', e.message)

    def test_deserialization_refuses_non_canonical(self):
        for bad in BAD_UUIDS:
            self.assertRaises(exception.InvalidUUID,
                              _arrived, _instance_primitive(bad))

    def test_deserialization_refuses_a_missing_uuid(self):
        primitive = _instance_primitive(GOOD)
        del primitive['nova_object.data']['uuid']
        self.assertRaises(exception.InvalidUUID, _arrived, primitive)

    def test_assignment_refuses_non_canonical(self):
        instance = objects.Instance(uuid=GOOD)
        for bad in BAD_UUIDS:
            self.assertRaises(exception.InvalidUUID, setattr, instance,
                              'uuid', bad)
        self.assertEqual(GOOD, instance.uuid)

    def test_canonical_uuid_accepted(self):
        self.assertEqual(GOOD, _arrived(_instance_primitive(GOOD)).uuid)

    def test_instance_dir_refuses_what_skipped_the_constructor(self):
        self.flags(instances_path='/srv/instances')
        fake = types.SimpleNamespace(uuid='../victim')
        self.assertRaises(exception.InvalidUUID,
                          self.driver.instance_dir, fake)
        self.assertEqual('/srv/instances/' + GOOD, self.driver.instance_dir(
            types.SimpleNamespace(uuid=GOOD)))


class PreLiveMigrationTestCase(test_driver.DriverTestBase):
    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.instances = os.path.join(self.root, 'instances')
        self.victim = os.path.join(self.root, 'victim')
        os.makedirs(self.instances)
        os.makedirs(self.victim)
        with open(os.path.join(self.victim, 'precious'), 'w') as f:
            f.write('x')
        self.flags(instances_path=self.instances)
        self.mgr = manager.ComputeManager(self.driver, host='h')

    def _pre(self, uuid, **data):
        # What a hostile source can send: any JSON in the fields.
        data.setdefault('serial_listen_addr', '127.0.0.1')
        data.setdefault('serial_port_count', 0)
        return self.mgr.pre_live_migration(
            context.get_admin_context(),
            instance=_arrived(_instance_primitive(uuid)),
            migrate_data=_arrived(_primitive(
                migrate_data.LibvirtLiveMigrateData(), **data)))

    def test_uuid_that_is_a_path_is_refused_and_nothing_moves(self):
        self.assertRaises(exception.InvalidUUID, self._pre, '../victim')
        self.assertEqual(['precious'], os.listdir(self.victim))
        self.assertEqual(['instances', 'victim'],
                         sorted(os.listdir(self.root)))
        self.assertEqual([], os.listdir(self.instances))

    def test_huge_port_count_from_the_source_is_refused(self):
        for count in (10 ** 6, -1, '3', True, 2.0):
            e = self.assertRaises(exception.MigrationError, self._pre,
                                  GOOD, serial_port_count=count)
            self.assertIn('serial_port_count', e.message)
        self.assertEqual([], os.listdir(self.instances))
        self.assertEqual(0, self.driver.serial_port_facts()[
            'serial_ports_total'] - self.driver.serial_port_facts()[
            'serial_ports_free'])


class DestInstanceDirTestCase(test_driver.DriverTestBase):
    def _data(self, path):
        # As it arrives from the destination, which may send anything.
        return _arrived(_primitive(migrate_data.LibvirtLiveMigrateData(),
                                   instance_dir=path))

    def test_destination_paths_outside_its_instance_folder_refused(self):
        for bad in ('/etc', '/srv/instances/%s/../../etc' % GOOD,
                    'relative/' + GOOD, '/srv//instances/' + GOOD,
                    '/srv/instances/other', '/srv/instances/%s/' % GOOD,
                    42):
            e = self.assertRaises(
                exception.MigrationError,
                lambda: migration.check_dest_instance_dir(self._data(bad),
                                                          GOOD))
            self.assertIn('instance_dir', e.message)

    def test_destination_instance_folder_accepted(self):
        migration.check_dest_instance_dir(
            self._data('/srv/instances/' + GOOD), GOOD)
        migration.check_dest_instance_dir(self._data(None), GOOD)

    def test_live_migration_refuses_before_the_guest_moves(self):
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        inst = self._instance()
        self._spawn(inst)
        data = migrate_data.LibvirtLiveMigrateData(
            serial_listen_addr='127.0.0.1', instance_dir='/etc',
            serial_listen_ports=[1])
        with mock.patch.object(libvirt.virDomain, 'migrateToURI3') as mig:
            e = self.assertRaises(exception.MigrationError,
                                  self.driver.live_migration, None, inst,
                                  'qemu:///x', data)
        self.assertIn("instance_dir '/etc'", e.message)
        mig.assert_not_called()


class DestDataTestCase(test_driver.DriverTestBase):
    """The rest of what a destination tells the source."""

    def _check(self, **values):
        values.setdefault('instance_dir', '/srv/instances/' + GOOD)
        migration.check_dest_data(
            migrate_data.LibvirtLiveMigrateData(**values), GOOD)

    def test_good_data_accepted(self):
        self._check(serial_listen_addr='192.0.2.2', inbound_addr='fd00::2',
                    connect_uri='qemu+tcp://host-b.example/system',
                    serial_listen_ports=[10000, 65535])
        self._check(connect_uri='qemu+unix:///system?socket=/run/b.sock')

    def test_addresses_that_are_not_hosts_refused(self):
        for field in ('serial_listen_addr', 'inbound_addr'):
            for bad in ('../../etc/shadow', '-oProxyCommand=x', 'a b',
                        'h/x', 'h@x', 42,
                        # A scope is free text in an IPv6 address: it
                        # would reach the rsync URL, the migration URI
                        # and the password file's name.
                        '::1%x]:1/m/u#', 'fe80::1%/../x', 'fe80::1%eth0',
                        # '$' matched before a final newline.
                        'host\n', '10.0.0.1\n'):
                e = self.assertRaises(exception.MigrationError,
                                      self._check, **{field: bad})
                self.assertIn(field, e.message)

    def test_uris_that_run_a_program_refused(self):
        for bad in ('qemu+ext:///system?command=/bin/sh',
                    'qemu+ssh://b/system?netcat=/tmp/x',
                    'qemu+ssh://b/system?COMMAND=x',
                    'qemu+ssh://b/system?proxy=x',
                    # libvirt also splits parameters on ';', and
                    # unescapes their names.
                    'qemu+ssh://b/system?a=b;netcat=x',
                    'qemu+ssh://b/system?%6eetcat=x',
                    'qemu+ssh://b/system?a=b c', 7):
            e = self.assertRaises(exception.MigrationError, self._check,
                                  connect_uri=bad)
            self.assertIn('connect_uri', e.message)

    def test_ports_that_are_not_tcp_ports_refused(self):
        for bad in ([0], [65536], ['1'], [True], 'x', None):
            e = self.assertRaises(exception.MigrationError, self._check,
                                  serial_listen_ports=bad)
            self.assertIn('serial_listen_ports', e.message)

    def test_virtlogd_limits_out_of_bounds_refused(self):
        # They size what the source stages: max_size 1 would stage one
        # file per byte of log.
        for field, bad in (('virtlogd_max_size', 0),
                           ('virtlogd_max_size', 1),
                           ('virtlogd_max_size', -1),
                           ('virtlogd_max_size', 1 << 50),
                           ('virtlogd_max_size', '2097152'),
                           ('virtlogd_max_backups', -1),
                           ('virtlogd_max_backups', 10 ** 9),
                           ('virtlogd_max_backups', True)):
            e = self.assertRaises(exception.MigrationError, self._check,
                                  **{field: bad})
            self.assertIn(field, e.message)
        self._check(virtlogd_max_size=4096, virtlogd_max_backups=0)
        self._check(virtlogd_max_size=2097152, virtlogd_max_backups=3)
