"""Nova's versioned objects: registry, versions, the wire, the checks."""

from oslo_serialization import jsonutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fixture as ovo_fixture
import testtools

from nova.console import type as ctype
from nova import exception
from nova import objects
from nova.objects import base
from nova.objects import compute_node
from nova.objects import instance
from nova.objects import migrate_data
from nova import rpc
from nova.tests.unit import fake_uuids as ids

# Change an object's fields and its fingerprint here changes: bump its
# VERSION (and teach obj_make_compatible what older readers lack) and
# then record the new fingerprint.
OBJECT_FINGERPRINTS = {
    'ComputeNode': '1.0-6777b40f775bb8b57a1a17fc81d09b05',
    'ConsoleSerial': '1.0-8750e753ef0f261ae97a5e23f1fe62dc',
    'Flavor': '1.1-ee9ddc3e341dd0a44e44554719e04937',
    'ImageMeta': '1.1-34397e9e0b9fc44e6ad2928f65c13ced',
    'Instance': '1.0-be7b0728f358ae8e01db7d6ad5bf02d7',
    'LibvirtLiveMigrateData': '1.1-8a6bb0bc72739fb4ad39ceb08d27ebaa',
    'ShelvedConsoleLog': '1.0-c31e676d88725193000ea8fcce8c1a24',
}


def _across(value):
    """``value`` after a trip through the serializer and JSON, as an RPC
    server hands it to its endpoint."""
    serializer = rpc.RequestContextSerializer()
    wire = jsonutils.loads(jsonutils.dumps(
        serializer.serialize_entity(None, value)))
    return serializer.deserialize_entity(None, wire)


def _instance():
    return instance.Instance(
        uuid=ids.SRV1, host='h1', vm_state='active',
        flavor=instance.Flavor(name='m1.small', memory_mb=256, vcpus=2,
                               extra_specs={'hw:serial_port_count': '2'}),
        image_meta=instance.ImageMeta(
            id='img-1', name='tiny', kernel_path='/k',
            properties={'hw_serial_port_count': 1,
                        'os_command_line': 'console=ttyS0'}))


class RegistryTestCase(testtools.TestCase):
    def test_versions_match_the_fingerprints(self):
        objects.register_all()
        checker = ovo_fixture.ObjectVersionChecker(
            base.NovaObjectRegistry.obj_classes())
        expected, actual = checker.test_hashes(OBJECT_FINGERPRINTS)
        self.assertEqual(expected, actual)

    def test_every_object_is_nova_s_and_reachable(self):
        objects.register_all()
        names = set(base.NovaObjectRegistry.obj_classes())
        self.assertEqual(set(OBJECT_FINGERPRINTS), names)
        for name in names:
            cls = getattr(objects, name)
            self.assertEqual('nova', cls.OBJ_PROJECT_NAMESPACE)
            self.assertTrue(issubclass(cls, base.NovaObject), name)

    def test_console_type_is_the_object(self):
        self.assertIs(ctype.ConsoleSerial, objects.ConsoleSerial)


class WireTestCase(testtools.TestCase):
    def test_objects_cross_as_new_equal_objects(self):
        for value in (_instance(), instance.Instance(uuid=ids.SRV2),
                      migrate_data.LibvirtLiveMigrateData(
                          serial_listen_addr='192.0.2.1',
                          serial_listen_ports=[10000, 10001],
                          virtlogd_max_size=4096, block_migration=None),
                      ctype.ConsoleSerial('127.0.0.1', 10000),
                      compute_node.ComputeNode(
                          host='h1', vcpus=2, virtlogd=True,
                          serial_port_holders=[ids.SRV1],
                          serial_ports_seq=['boot', 3])):
            back = _across(value)
            self.assertIsNot(value, back)
            self.assertIsInstance(back, type(value))
            self.assertEqual(value, back)

    def test_nested_and_plain_values(self):
        value = {'a': [_instance(), 1, 'x'], 'b': None}
        back = _across(value)
        self.assertEqual(value, back)
        self.assertIsInstance(back['a'][0].flavor, instance.Flavor)

    def test_the_wire_names_class_version_and_namespace(self):
        wire = rpc.RequestContextSerializer().serialize_entity(
            None, _instance())
        self.assertEqual(('Instance', '1.0', 'nova'), (
            wire['nova_object.name'], wire['nova_object.version'],
            wire['nova_object.namespace']))

    def test_no_path_crosses_the_wire(self):
        # A host file named in a message (a forged one, or a 1.0 sender's)
        # must never reach the driver: only the image's id is looked up.
        image = _instance().image_meta
        self.assertEqual('/k', image.kernel_path)  # in this process only
        back = _across(image)
        self.assertEqual(('img-1', None, None), (
            back.id, back.kernel_path, back.disk_path))
        wire = rpc.RequestContextSerializer().serialize_entity(None, image)
        self.assertNotIn('/k', repr(wire))
        wire['nova_object.version'] = '1.0'
        wire['nova_object.data'].update(kernel_path='/etc/shadow',
                                        disk_path='/dev/sda')
        forged = rpc.RequestContextSerializer().deserialize_entity(None,
                                                                   wire)
        self.assertEqual((None, None), (forged.kernel_path,
                                        forged.disk_path))

    def test_unknown_class_is_refused(self):
        wire = rpc.RequestContextSerializer().serialize_entity(
            None, _instance())
        wire['nova_object.name'] = 'NotAnObject'
        self.assertRaises(Exception, rpc.RequestContextSerializer()
                          .deserialize_entity, None, wire)


class ConstructionTestCase(testtools.TestCase):
    """What the dataclasses did: defaults, positional fields, equality."""

    def test_defaults(self):
        inst = instance.Instance()
        self.assertTrue(instance.is_canonical_uuid(inst.uuid))
        self.assertEqual(instance.Flavor(), inst.flavor)
        self.assertEqual(('m1.tiny', 128, 1, {}), (
            inst.flavor.name, inst.flavor.memory_mb, inst.flavor.vcpus,
            inst.flavor.extra_specs))
        self.assertIsNone(inst.image_meta)
        self.assertIsNone(inst.host)
        self.assertEqual('instance-' + inst.uuid, inst.name)
        data = migrate_data.LibvirtLiveMigrateData()
        self.assertEqual((0, [], False, None), (
            data.serial_port_count, data.serial_listen_ports,
            data.supports_virtlogd, data.block_migration))

    def test_mutable_defaults_are_not_shared(self):
        a, b = (migrate_data.LibvirtLiveMigrateData() for _ in range(2))
        a.serial_listen_ports.append(1)
        self.assertEqual([], b.serial_listen_ports)
        c, d = instance.Flavor(), instance.Flavor()
        c.extra_specs['k'] = 'v'
        self.assertEqual({}, d.extra_specs)

    def test_positional_and_unknown_arguments(self):
        self.assertEqual(ids.SRV1, instance.Instance(ids.SRV1).uuid)
        console = ctype.ConsoleSerial('h', 1)
        self.assertEqual(('h', 1, ctype.SERIAL), (console.host,
                                                  console.port,
                                                  console.type))
        self.assertRaises(TypeError, instance.Instance, nmae='x')
        self.assertRaises(TypeError, ctype.ConsoleSerial, 'h', 1, 's', 4)
        self.assertRaises(TypeError, ctype.ConsoleSerial, 'h', host='h')

    def test_equality(self):
        self.assertEqual(_instance(), _instance())
        other = _instance()
        other.host = 'h2'
        self.assertNotEqual(_instance(), other)
        self.assertNotEqual(ctype.ConsoleSerial('h', 1),
                            ctype.ConsoleSerial('h', 2))


class CheckedFieldsTestCase(testtools.TestCase):
    """Untrusted fields are checked on every way in: construction,
    assignment and deserialization (each value of the wrong type is
    refused, none is coerced)."""

    def _tampered(self, obj, **values):
        wire = rpc.RequestContextSerializer().serialize_entity(None, obj)
        wire['nova_object.data'].update(values)
        return lambda: _across(wire)

    def test_instance_uuid(self):
        for bad in ('../x', '6D1E5A6C-2B0E-4C3E-9A55-0F1D2A3B4C5D', None,
                    42):
            self.assertRaises(exception.InvalidUUID, instance.Instance,
                              uuid=bad)
            self.assertRaises(exception.InvalidUUID,
                              self._tampered(_instance(), uuid=bad))

    def test_migrate_data_types(self):
        good = migrate_data.LibvirtLiveMigrateData()
        for field, bad in (('serial_port_count', '3'),
                           ('serial_port_count', True),
                           ('serial_port_count', 2.0),
                           ('serial_listen_ports', [1, '2']),
                           ('serial_listen_ports', 'x'),
                           ('supports_virtlogd', 'yes'),
                           ('instance_dir', 42),
                           ('connect_uri', ['qemu:///system'])):
            for make in (
                    lambda: migrate_data.LibvirtLiveMigrateData(
                        **{field: bad}),
                    lambda: setattr(good, field, bad),
                    self._tampered(good, **{field: bad})):
                e = self.assertRaises(exception.MigrationError, make)
                self.assertIn(field, e.message)

    def test_report_sequence(self):
        node = compute_node.ComputeNode(host='h', serial_ports_seq=['b', 1])
        for bad in ([1, 1], ['b'], 'b1', ['b', '1']):
            # The ValueError of its field, as the serializer reports a
            # peer's malformed object.
            e = self.assertRaises(exception.MalformedRPCData, self._tampered(
                node, serial_ports_seq=bad))
            self.assertIn('ValueError: ComputeNode.serial_ports_seq',
                          e.message)

    def test_report_fields_that_are_set(self):
        node = compute_node.ComputeNode(host='h', vcpus=4)
        self.assertEqual({'host': 'h', 'vcpus': 4}, dict(node.items()))
        self.assertEqual({'host': 'h', 'vcpus': 4},
                         dict(_across(node).items()))


def _state(obj):
    """What an object is made of: class, version, the fields set (with
    their values, objects by their state) and the fields changed."""
    values = {}
    for name in obj.fields:
        if obj.obj_attr_is_set(name):
            value = getattr(obj, name)
            if isinstance(value, ovo_base.VersionedObject):
                value = _state(value)
            values[name] = value
    return (type(obj), obj.VERSION, values, set(obj._changed_fields))


def _ovo_from_primitive(cls, primitive):
    """What oslo.versionedobjects' own _obj_from_primitive makes of
    ``primitive`` (``cls()``, then the primitive's fields)."""
    return ovo_base.VersionedObject._obj_from_primitive.__func__(
        cls, None, primitive['nova_object.version'], primitive)


class FromPrimitiveTestCase(testtools.TestCase):
    """NovaObject builds an arriving object without first building the
    defaults its fields replace; it must make what oslo.versionedobjects
    makes."""

    def _samples(self):
        inst = _instance()
        inst.obj_reset_changes()
        inst.host = 'h2'  # one change crosses
        return [inst, instance.Instance(uuid=ids.SRV2), inst.flavor,
                inst.image_meta, instance.ImageMeta(id='img-2'),
                compute_node.ComputeNode(host='h', vcpus=4),
                ctype.ConsoleSerial(host='h', port=10000),
                migrate_data.LibvirtLiveMigrateData(filename='f')]

    def test_same_object_as_oslo_versionedobjects(self):
        # A made-up id (an ImageMeta's without one) is the same in both.
        self.patch(instance, '_new_uuid', lambda: ids.SRV3)
        serializer = rpc.RequestContextSerializer()
        for obj in self._samples():
            primitive = jsonutils.loads(jsonutils.dumps(
                serializer.serialize_entity(None, obj)))
            data = primitive['nova_object.data']
            # Whole, and without each field in turn (a default, or unset).
            for missing in [None] + sorted(data):
                if missing == 'uuid' and isinstance(obj, instance.Instance):
                    continue  # refused: test_instance_uuid
                p = jsonutils.loads(jsonutils.dumps(primitive))
                p['nova_object.data'].pop(missing, None)
                ours = serializer.deserialize_entity(None, p)
                theirs = _ovo_from_primitive(type(obj), p)
                self.assertEqual(_state(theirs), _state(ours),
                                 '%s without %s' % (type(obj), missing))

    def test_instance_without_flavor_gets_the_default_one(self):
        p = instance.Instance(uuid=ids.SRV1).obj_to_primitive()
        del p['nova_object.data']['flavor']
        got = instance.Instance.obj_from_primitive(p)
        self.assertEqual(instance.Flavor(), got.flavor)

    def test_no_throwaway_uuid_or_flavor(self):
        p = _instance().obj_to_primitive()
        made = []
        real = instance._new_uuid
        self.patch(instance, '_new_uuid',
                   lambda: made.append('uuid') or real())
        flavor_init = instance.Flavor.__init__

        def counting_init(self, *args, **kwargs):
            made.append('flavor')
            flavor_init(self, *args, **kwargs)
        self.patch(instance.Flavor, '__init__', counting_init)
        got = instance.Instance.obj_from_primitive(p)
        self.assertEqual([], made)
        self.assertEqual(ids.SRV1, got.uuid)
        self.assertEqual('m1.small', got.flavor.name)

    def test_mutable_defaults_are_not_shared_after_the_wire(self):
        p = instance.Flavor().obj_to_primitive()
        del p['nova_object.data']['extra_specs']
        one = instance.Flavor.obj_from_primitive(p)
        two = instance.Flavor.obj_from_primitive(p)
        one.extra_specs['k'] = 'v'
        self.assertEqual({}, two.extra_specs)
        self.assertEqual({}, instance.Flavor.fields['extra_specs'].default)


class WhatChangedTestCase(testtools.TestCase):
    def test_same_as_oslo_versionedobjects(self):
        inst = _instance()
        cases = [inst]
        reset = _instance()
        reset.obj_reset_changes(recursive=True)
        cases.append(reset)
        child = _instance()
        child.obj_reset_changes(recursive=True)
        child.flavor.vcpus = 4  # only the flavor changed
        cases.append(child)
        image_gone = _instance()
        image_gone.obj_reset_changes(recursive=True)
        image_gone.image_meta = None
        cases.append(image_gone)
        for obj in cases + [compute_node.ComputeNode(host='h')]:
            self.assertEqual(
                ovo_base.VersionedObject.obj_what_changed(obj),
                obj.obj_what_changed())
        self.assertEqual({'flavor'}, child.obj_what_changed())
        self.assertEqual(set(), reset.obj_what_changed())
