"""An admin's lock holds against the server's owner: locking it again
must not make it the owner's lock, which the owner could then lift
(Nova's compute API: an owner's lock of a locked server changes
nothing)."""

import uuid

from nova.db import api as db
from nova.tests.unit.api import test_admin_apis as base


class AdminLockTestCase(base.AdminAPITestCase):
    def test_owner_cannot_turn_an_admins_lock_into_its_own(self):
        sid = str(uuid.uuid4())
        db.instance_create({
            'uuid': sid, 'name': 'vm', 'project_id': 'demo',
            'user_id': 'demo', 'flavor_id': '1', 'image_id': 'img-1',
            'vm_state': 'active', 'task_state': None, 'host': 'fake-host'})
        path = '/servers/%s/action' % sid
        self.ok('POST', path, {'lock': None}, status=202)  # the admin
        # The owner may not unlock it...
        self.fault(403, 'POST', path, {'unlock': None}, token=base.DEMO)
        # ...nor after locking it again.
        self.request('POST', path, {'lock': None}, token=base.DEMO)
        self.fault(403, 'POST', path, {'unlock': None}, token=base.DEMO)
        self.assertTrue(db.instance_get(sid)['locked'])
        self.assertEqual('admin', db.instance_get(sid)['locked_by'])
