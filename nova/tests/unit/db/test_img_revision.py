"""Revision img2c4e6a8b0d13: each existing instance of a local catalog
image gets the copy of its image (no path in it); running it again
changes nothing."""

import os

from nova.db import api as db
from nova.db import migration
from nova import test
from nova.tests.unit.db import base
from nova.tests.unit.db import test_alembic
from nova.tests.unit.db import test_migration


class ImgRevisionTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        base.use_database(self)
        self.path = os.path.join(os.path.dirname(self.db_path), 'main.db')
        self.url = 'sqlite:///' + self.path

    def test_existing_instances_keep_their_image(self):
        test_alembic.make_main_database(self.path)
        db.configure(self.url)
        servers = db.instance_get_all()
        self.assertEqual(4, len(servers))
        for server in servers:
            kept = db.instance_image(server)
            self.assertEqual(('i1', 'cirros', 'raw', {'os': 'x'}), (
                kept['id'], kept['name'], kept['disk_format'],
                kept['properties']))
            self.assertNotIn('/k', repr(kept))
        _, once = test_migration.dump(self.path)
        engine = db.make_engine(self.url)
        migration.upgrade(engine)
        engine.dispose()
        self.assertEqual(once, test_migration.dump(self.path)[1])

    def test_a_copy_of_another_image_is_not_the_instance_s(self):
        db.flavor_create({'id': 'f', 'name': 'f', 'ram': 64, 'vcpus': 1})
        image = {'id': 'i', 'name': 'n', 'properties': {'a': 'b'}}
        server = db.instance_create({
            'uuid': 'u1', 'name': 'vm', 'project_id': 'p', 'user_id': 'u',
            'flavor_id': 'f', 'image_id': 'i', 'vm_state': 'building'},
            image=image)
        self.assertEqual({'a': 'b'}, db.instance_image(server)['properties'])
        # The row names another image (as after a rebuild that kept no
        # copy): the old copy is not used.
        db.instance_update('u1', {'image_id': 'j'})
        self.assertIsNone(db.instance_image(db.instance_get('u1')))
        self.assertFalse(db.instance_image_set('u1', image))
        self.assertTrue(db.instance_image_set('u1', dict(image, id='j')))
        self.assertEqual('j', db.instance_image(db.instance_get('u1'))['id'])
