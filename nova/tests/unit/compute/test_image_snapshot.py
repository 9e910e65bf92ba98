"""The image a server is created (or rebuilt) with is kept with it, as
Nova keeps it in the instance's system metadata: the scheduler claims
the serial ports a Glance image asks for, and later actions (reboots,
power on) use the properties of that copy, never Glance's current ones.
The image is checked against the flavor as Nova does (serial ports,
root disk)."""

import copy
import threading
from unittest import mock

from nova.compute import api as compute_api
from nova.conductor import tasks as conductor_tasks
from nova.db import api as db
from nova import exception
from nova.objects import instance as objects
from nova.scheduler import manager as scheduler
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_api

ADMIN, ALICE = base.ADMIN, base.ALICE
GIB = 1024 ** 3
GLANCE_ID = '5a1f3d0c-0000-4000-8000-00000000000a'
OTHER_ID = '5a1f3d0c-0000-4000-8000-00000000000b'


def glance_image(image_id=GLANCE_ID, **properties):
    """An image dict as nova.image.glance gives it."""
    return {'id': image_id, 'name': 'g-%s' % image_id[-1], 'status':
            'active', 'disk_format': 'ami', 'container_format': 'ami',
            'min_ram': 0, 'min_disk': 0, 'size': 1024 * 1024,
            'virtual_size': None, 'checksum': None, 'os_hash_algo': None,
            'os_hash_value': None, 'created_at': None, 'updated_at': None,
            'visibility': 'public', 'owner': None, 'protected': False,
            'tags': [], 'file': None, 'self': None, 'schema': None,
            'os_hidden': False, 'locations': None, 'direct_url': None,
            'stores': None,
            'properties': dict({'kernel_id': 'k-1', 'ramdisk_id': 'r-1'},
                               **properties)}


class FakeGlance:
    """nova.image's API for Glance images: ``images`` by id, each call
    counted."""

    def __init__(self, *images):
        self.images = {i['id']: i for i in images}
        self.gets = []
        self._lock = threading.Lock()

    def get(self, ctx, image_id):
        with self._lock:
            self.gets.append(image_id)
        if image_id not in self.images:
            raise exception.ImageNotFound(image_id=image_id)
        return copy.deepcopy(self.images[image_id])

    def list(self, ctx):
        return [copy.deepcopy(i) for i in self.images.values()]


class SnapshotTestCase(test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.glance = FakeGlance(
            glance_image(hw_serial_port_count='2'),
            glance_image(OTHER_ID, hw_serial_port_count='1'))
        patcher = mock.patch('nova.image.API', return_value=self.glance)
        patcher.start()
        self.addCleanup(patcher.stop)
        # A flavor that says nothing of serial ports (the image decides)
        # and one whose root disk is 1 GiB.
        db.flavor_create({'id': 'bare', 'name': 'bare', 'ram': 64,
                          'vcpus': 1, 'extra_specs': {}})
        db.flavor_create({'id': 'disk1', 'name': 'disk1', 'ram': 64,
                          'vcpus': 1, 'disk': 1, 'extra_specs': {}})

    def _seen_by_driver(self, method):
        """The image_meta of the instance each ``method`` call got."""
        seen = []
        real = getattr(self.driver, method)

        def wrapper(context, instance, *args, **kwargs):
            seen.append(instance.image_meta)
            return real(context, instance, *args, **kwargs)
        setattr(self.driver, method, wrapper)
        return seen

    def _create(self, image_id=GLANCE_ID, flavor='bare'):
        server = self.api.create(ALICE, 'vm', image_id, flavor)
        self._wait()
        self.assertEqual('active', self.api.get(ALICE,
                                                server['uuid'])['vm_state'])
        return server['uuid']


class SchedulerClaimTestCase(SnapshotTestCase):
    def test_a_glance_image_s_serial_ports_are_claimed(self):
        # The build is held in the driver: its ports are a claim until
        # the host's measurement counts them.
        gate = self._gate('spawn')
        server = self.api.create(ALICE, 'vm', GLANCE_ID, 'bare')
        self._entered('spawn')
        row = db.instance_get(server['uuid'])
        self.assertEqual(2, scheduler._ports_of(row))
        claims = scheduler._claims({'fake-host': {
            'serial_port_holders': []}})
        self.assertEqual({'fake-host': 2}, claims)
        # Not asked of Glance: the copy kept with the server.
        gets = len(self.glance.gets)
        scheduler._ports_of(row)
        self.assertEqual(gets, len(self.glance.gets))
        gate.set()
        self._wait()

    def test_an_image_may_ask_up_to_the_flavor_s_ports(self):
        db.flavor_create({'id': 'one', 'name': 'one', 'ram': 64,
                          'vcpus': 1,
                          'extra_specs': {'hw:serial_port_count': '1'}})
        e = self.assertRaises(
            exception.ImageSerialPortNumberExceedFlavorValue,
            self.api.create, ALICE, 'vm', GLANCE_ID, 'one')
        self.assertEqual(400, e.code)
        self.assertIn('2 serial ports', e.message)
        self.assertIn('at most 1', e.message)
        self.assertEqual([], self.api.list(ALICE))
        # Up to it is fine.
        self._create(OTHER_ID, 'one')


class KeptPropertiesTestCase(SnapshotTestCase):
    def test_reboot_uses_the_properties_the_server_was_created_with(self):
        uuid = self._create()
        # The image changes in Glance after the server was made.
        self.glance.images[GLANCE_ID]['properties'].update(
            kernel_id='k-evil', ramdisk_id='r-evil',
            hw_serial_port_count='4')
        seen = self._seen_by_driver('reboot')
        gets = len(self.glance.gets)
        self.api.reboot(ALICE, uuid, 'HARD')
        self._wait()
        self.assertEqual(1, len(seen))
        self.assertEqual(('k-1', 'r-1', '2'), (
            seen[0].properties['kernel_id'],
            seen[0].properties['ramdisk_id'],
            seen[0].properties['hw_serial_port_count']))
        # Glance was not asked for the reboot.
        self.assertEqual(gets, len(self.glance.gets))

    def test_reboot_works_when_the_image_is_gone_from_glance(self):
        uuid = self._create()
        del self.glance.images[GLANCE_ID]
        seen = self._seen_by_driver('reboot')
        self.api.reboot(ALICE, uuid, 'HARD')
        self._wait()
        current = self.api.get(ALICE, uuid)
        self.assertEqual(('active', None), (current['vm_state'],
                                            current['fault']))
        self.assertEqual(GLANCE_ID, seen[0].id)

    def test_rebuild_keeps_the_new_image(self):
        uuid = self._create()
        self.api.rebuild(ALICE, uuid, OTHER_ID)
        self._wait()
        kept = db.instance_image(db.instance_get(uuid))
        self.assertEqual((OTHER_ID, '1'), (
            kept['id'], kept['properties']['hw_serial_port_count']))
        self.glance.images[OTHER_ID]['properties']['kernel_id'] = 'k-new'
        seen = self._seen_by_driver('reboot')
        self.api.reboot(ALICE, uuid, 'HARD')
        self._wait()
        self.assertEqual((OTHER_ID, 'k-1'), (
            seen[0].id, seen[0].properties['kernel_id']))

    def test_rebuild_checks_the_new_image_against_the_flavor(self):
        db.flavor_create({'id': 'one', 'name': 'one', 'ram': 64,
                          'vcpus': 1,
                          'extra_specs': {'hw:serial_port_count': '1'}})
        uuid = self._create(OTHER_ID, 'one')
        e = self.assertRaises(
            exception.ImageSerialPortNumberExceedFlavorValue,
            self.api.rebuild, ALICE, uuid, GLANCE_ID)
        self.assertEqual(400, e.code)
        current = self.api.get(ALICE, uuid)
        self.assertEqual((OTHER_ID, None), (current['image_id'],
                                            current['task_state']))
        self.assertEqual(OTHER_ID,
                         db.instance_image(current)['id'])

    def test_a_server_made_before_copies_were_kept_gets_one_once(self):
        uuid = self._create()
        # As a row of before the revision: no copy.
        with db._transaction() as session:
            session.query(db.models.InstanceImage).delete()
        server = db.instance_get(uuid)
        self.assertIsNone(db.instance_image(server))
        gets = len(self.glance.gets)
        conductor_tasks.instance_for(server, ctx=ALICE)
        self.assertEqual(gets + 1, len(self.glance.gets))
        self.glance.images[GLANCE_ID]['properties']['kernel_id'] = 'k-2'
        instance = conductor_tasks.instance_for(server, ctx=ALICE)
        self.assertEqual(gets + 1, len(self.glance.gets))
        self.assertEqual('k-1', instance.image_meta.properties['kernel_id'])

    def test_the_copy_goes_with_the_server(self):
        uuid = self._create()
        self.api.delete(ALICE, uuid)
        self._wait()
        with db._reading() as session:
            self.assertIsNone(session.get(db.models.InstanceImage, uuid))


class LocalCatalogTestCase(test_api.APITestCase):
    def test_the_copy_has_no_local_path(self):
        server = self.api.create(ALICE, 'vm', 'img-1', '1')
        self._wait()
        kept = db.instance_image(db.instance_get(server['uuid']))
        self.assertEqual(set(db.IMAGE_SNAPSHOT_KEYS), set(kept))
        self.assertEqual({'os_command_line': 'console=ttyS0 quiet'},
                         kept['properties'])
        self.assertNotIn(self.kernel, repr(kept))


class FlavorRootDiskTestCase(SnapshotTestCase):
    def _image(self, **fields):
        image = glance_image(OTHER_ID, hw_serial_port_count='1')
        image.update(fields)
        self.glance.images[OTHER_ID] = image

    def test_flavor_object_has_root_gb(self):
        uuid = self._create(OTHER_ID, 'disk1')
        instance = conductor_tasks.instance_for(db.instance_get(uuid))
        self.assertEqual(1, instance.flavor.root_gb)
        uuid = self._create(OTHER_ID, 'bare')
        instance = conductor_tasks.instance_for(db.instance_get(uuid))
        self.assertEqual(0, instance.flavor.root_gb)

    def test_image_larger_than_the_root_disk(self):
        for fields in ({'size': 2 * GIB}, {'size': 10, 'virtual_size':
                                           GIB + 1}):
            self._image(**fields)
            e = self.assertRaises(exception.FlavorDiskSmallerThanImage,
                                  self.api.create, ALICE, 'vm', OTHER_ID,
                                  'disk1')
            self.assertEqual(400, e.code)
            self.assertEqual(
                "Flavor's disk is too small for requested image. Flavor "
                "disk is %d bytes, image is %d bytes." % (
                    GIB, fields.get('virtual_size') or fields['size']),
                e.message)
        self.assertEqual([], self.api.list(ALICE))

    def test_min_disk_larger_than_the_root_disk(self):
        self._image(min_disk=2)
        e = self.assertRaises(exception.FlavorDiskSmallerThanMinDisk,
                              self.api.create, ALICE, 'vm', OTHER_ID,
                              'disk1')
        self.assertEqual(400, e.code)
        self.assertEqual(
            "Flavor's disk is smaller than the minimum size specified in "
            "image metadata. Flavor disk is %d bytes, minimum size is %d "
            "bytes." % (GIB, 2 * GIB), e.message)

    def test_root_disk_zero_is_not_checked(self):
        self._image(size=5 * GIB, min_disk=9)
        self._create(OTHER_ID, 'bare')

    def test_an_image_that_fits(self):
        self._image(size=GIB, virtual_size=GIB, min_disk=1)
        self._create(OTHER_ID, 'disk1')

    def test_rebuild_checks_the_root_disk(self):
        uuid = self._create(OTHER_ID, 'disk1')
        big = glance_image(GLANCE_ID, hw_serial_port_count='1')
        big['virtual_size'] = 3 * GIB
        self.glance.images[GLANCE_ID] = big
        e = self.assertRaises(exception.FlavorDiskSmallerThanImage,
                              self.api.rebuild, ALICE, uuid, GLANCE_ID)
        self.assertEqual(400, e.code)
        self.assertEqual(OTHER_ID, self.api.get(ALICE, uuid)['image_id'])


class FlavorObjectTestCase(base.ComputeTestCase):
    def test_root_gb_is_left_out_for_a_1_0_reader(self):
        flavor = objects.Flavor(name='f', root_gb=5)
        primitive = flavor.obj_to_primitive(target_version='1.0')
        self.assertNotIn('root_gb', primitive['nova_object.data'])
        self.assertEqual(5, flavor.obj_to_primitive()[
            'nova_object.data']['root_gb'])


class CheckImageFitsTestCase(base.ComputeTestCase):
    HOSTS = ()

    def test_a_flavor_without_extra_specs_or_disk(self):
        compute_api.check_image_fits_flavor({}, {'properties': {}})
