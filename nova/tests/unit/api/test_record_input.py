"""Metadata keys and tags as their schemas describe them: anchors that
let a trailing newline through, and control characters a tag's own URL
can never name (the router refuses them), are 400s."""

import uuid

from nova.db import api as db
from nova.tests.unit.api import test_admin_apis as base


class RecordInputTestCase(base.AdminAPITestCase):
    def _server(self):
        sid = str(uuid.uuid4())
        db.instance_create({
            'uuid': sid, 'name': 'vm', 'project_id': 'demo',
            'user_id': 'demo', 'flavor_id': '1', 'image_id': 'img-1',
            'vm_state': 'active', 'task_state': None, 'host': 'fake-host'})
        return sid

    def test_metadata_key_with_a_trailing_newline_is_400(self):
        sid = self._server()
        for method in ('POST', 'PUT'):
            self.fault(400, method, '/servers/%s/metadata' % sid,
                       {'metadata': {'a\n': 'v'}}, token=base.DEMO)
        self.fault(400, 'POST', '/servers', {'server': {
            'name': 'x', 'imageRef': 'img-1', 'flavorRef': '1',
            'metadata': {'a\n': 'v'}}}, token=base.DEMO)

    def test_tag_with_control_characters_is_400(self):
        sid = self._server()
        for tag in ('a\x00', 'a\x1b[2J', 'a\n'):
            self.fault(400, 'PUT', '/servers/%s/tags' % sid,
                       {'tags': [tag]}, token=base.DEMO, version='2.26')
