"""POST /servers/{id}/action shelve, shelveOffload, unshelve: bodies,
policies, codes (the compute API is a fake here; the real one is in
nova/tests/unit/compute/test_shelve.py)."""

from nova import exception
from nova.tests.unit.api import base

# status -> (action, status after): what the fake compute API allows.
_MOVES = {'shelve': ('ACTIVE', 'SHELVED_OFFLOADED'),
          'shelve_offload': ('SHELVED', 'SHELVED_OFFLOADED'),
          'unshelve': (('SHELVED', 'SHELVED_OFFLOADED'), 'ACTIVE')}


class ShelveAPITestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()
        for method in _MOVES:
            setattr(self.compute, method, self._fake(method))

    def _fake(self, method):
        def call(ctx, server_id):
            self.compute._called(ctx, method, server_id)
            server = self.compute._server(ctx, server_id)
            allowed, after = _MOVES[method]
            if server['status'] not in allowed:
                raise exception.InstanceInvalidState(
                    action=method, instance_uuid=server_id,
                    state=server['status'])
            if server.get('locked'):
                raise exception.InstanceIsLocked(instance_uuid=server_id)
            server['status'] = after
        return call

    def _moves(self):
        return [c for c in self.compute.calls if c[0] in _MOVES]

    def test_shelve_and_unshelve_by_the_owner(self):
        uuid = self.server['uuid']
        response = self.action(uuid, {'shelve': None})
        self.assertStatus(202, response)
        self.assertEqual(b'', response.body)
        for body in ({'unshelve': None}, {'unshelve': {}}):
            self.compute.servers[uuid]['status'] = 'SHELVED_OFFLOADED'
            self.assertStatus(202, self.action(uuid, body))
        self.assertEqual([('shelve', uuid), ('unshelve', uuid),
                          ('unshelve', uuid)], self._moves())

    def test_shelve_offload_is_admins_by_default(self):
        uuid = self.server['uuid']
        self.compute.servers[uuid]['status'] = 'SHELVED'
        self.assertFault(self.action(uuid, {'shelveOffload': None}), 403,
                         'forbidden',
                         'os_compute_api:os-shelve:shelve_offload')
        self.assertEqual([], self._moves())
        self.assertStatus(202, self.action(uuid, {'shelveOffload': None},
                                           token=base.ADMIN_TOKEN))
        self.assertEqual([('shelve_offload', uuid)], self._moves())

    def test_bodies_are_null(self):
        uuid = self.server['uuid']
        for body in ({'shelve': {}}, {'shelve': {'x': 1}},
                     {'shelveOffload': 1}, {'unshelve': {'host': 'h'}},
                     {'unshelve': 'now'}, {'unshelve': []}):
            self.assertFault(self.action(uuid, body, token=base.ADMIN_TOKEN),
                             400, 'badRequest')
        self.assertEqual([], self._moves())

    def test_wrong_state_and_locked_are_409_never_500(self):
        uuid = self.server['uuid']
        self.assertFault(self.action(uuid, {'unshelve': None}), 409,
                         'conflictingRequest', 'ACTIVE')
        self.compute.servers[uuid]['locked'] = True
        self.assertFault(self.action(uuid, {'shelve': None}), 409,
                         'conflictingRequest', 'locked')

    def test_another_projects_server_is_404(self):
        other = self.compute.add_server(project_id='other')
        for body in ({'shelve': None}, {'unshelve': None}):
            self.assertFault(self.action(other['uuid'], body), 404,
                             'itemNotFound')
        self.assertEqual([], self._moves())
