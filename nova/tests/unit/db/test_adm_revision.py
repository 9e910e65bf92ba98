"""Revision adm3f1c2b9e7d04: a database of today's main gains Nova's
flavor fields (their defaults), a flavor snapshot per existing instance
and the aggregate tables; every row is kept; running it again changes
nothing."""

import os

from nova.db import api as db
from nova.db import migration
from nova import test
from nova.tests.unit.db import base
from nova.tests.unit.db import test_alembic
from nova.tests.unit.db import test_migration


class AdmRevisionTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        base.use_database(self)
        self.path = os.path.join(os.path.dirname(self.db_path), 'main.db')
        self.url = 'sqlite:///' + self.path

    def test_existing_instances_keep_their_flavor(self):
        test_alembic.make_main_database(self.path)
        db.configure(self.url)
        self.assertEqual(
            {'id': '1', 'name': 'tiny', 'ram': 512, 'vcpus': 1, 'disk': 0,
             'extra_specs': {'hw:serial_port_count': '2'}, 'swap': 0,
             'ephemeral_gb': 0, 'rxtx_factor': 1.0, 'is_public': True,
             'disabled': False}, db.flavor_get('1'))
        uuids = [i['uuid'] for i in db.instance_get_all()]
        self.assertEqual(4, len(uuids))
        self.assertTrue(db.flavor_delete('1'))
        # Every instance still has its flavor, as it was.
        for uuid in uuids:
            flavor = db.instance_flavor(db.instance_get(uuid))
            self.assertEqual(('tiny', 512, {'hw:serial_port_count': '2'}),
                             (flavor['name'], flavor['ram'],
                              flavor['extra_specs']))
        self.assertEqual('tiny', db.flavor_get_deleted('1')['name'])
        self.assertEqual([], db.aggregate_list())
        # Again: nothing to do.
        _, once = test_migration.dump(self.path)
        engine = db.make_engine(self.url)
        migration.upgrade(engine)
        engine.dispose()
        self.assertEqual(once, test_migration.dump(self.path)[1])

    def test_new_instance_snapshot_and_delete(self):
        db.flavor_create({'id': 'f', 'name': 'f', 'ram': 64, 'vcpus': 1,
                          'extra_specs': {'a': 'b'}})
        server = db.instance_create({
            'uuid': 'u1', 'name': 'vm', 'project_id': 'p', 'user_id': 'u',
            'flavor_id': 'f', 'image_id': 'i', 'vm_state': 'building'})
        db.flavor_update_extra_specs('f', update={'a': 'c'})
        self.assertEqual({'a': 'b'},
                         db.instance_flavor(server)['extra_specs'])
        db.instance_delete('u1')
        self.assertIsNone(db.flavor_get_deleted('f'))
