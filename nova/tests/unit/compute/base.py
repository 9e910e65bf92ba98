"""Servers on a fake driver, with flavors and images in a test database."""

import logging
import os

import fixtures

from nova.compute import manager
from nova import context
from nova.db import api as db
from nova.tests.unit.compute import fake_driver
from nova.tests.unit.db import base as db_base

ADMIN = context.get_admin_context()
ALICE = context.RequestContext(user_id='alice', project_id='pa')
BOB = context.RequestContext(user_id='bob', project_id='pb')


class ComputeTestCase(db_base.DBTestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.driver = fake_driver.FakeDriver()
        self.manager = manager.ComputeManager(self.driver)
        self.flavor = db.flavor_create({
            'id': '1', 'name': 'm1.tiny', 'ram': 128, 'vcpus': 2,
            'extra_specs': {'hw:serial_port_count': '2'}})
        self.kernel = self._file('vmlinuz')
        self.image = db.image_create({
            'id': 'img-1', 'name': 'tiny', 'kernel_path': self.kernel,
            'ramdisk_path': self._file('initrd'),
            'properties': {'os_command_line': 'console=ttyS0 quiet'}})
        self.image2 = db.image_create({
            'id': 'img-2', 'name': 'disk', 'disk_path': self._file('disk'),
            'disk_format': 'qcow2'})

    def _file(self, name):
        path = os.path.join(self.instances_path, name)
        with open(path, 'wb') as f:
            f.write(b'x')
        return path

    def _server(self, uuid='srv-1', status='BUILD', task_state='spawning',
                ctx=ALICE, host='fake-host', **kw):
        values = {'uuid': uuid, 'name': 'vm', 'project_id': ctx.project_id,
                  'user_id': ctx.user_id, 'flavor_id': '1',
                  'image_id': 'img-1', 'status': status,
                  'task_state': task_state, 'host': host}
        values.update(kw)
        return db.server_create(values)

    def _state(self, uuid='srv-1'):
        server = db.server_get(uuid)
        return server and (server['status'], server['task_state'],
                           server['fault'])
