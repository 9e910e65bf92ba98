"""migrate, resize, confirmResize, revertResize: Nova's bodies, codes and
policies; every error a JSON fault, never a 500."""

from nova import exception
from nova.tests.unit.api import base


class ResizeActionsTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.uuid = self.compute.add_server()['uuid']

    def _do(self, body, token=base.DEMO_TOKEN, version='2.30'):
        return self.action(self.uuid, body, token=token, version=version)

    def _status(self):
        return self.json(self.request(
            'GET', '/v2.1/servers/%s' % self.uuid,
            token=base.ADMIN_TOKEN))['server']['status']

    def test_migrate_admin_only_202(self):
        self.assertFault(self._do({'migrate': None}), 403, 'forbidden',
                         'os_compute_api:os-migrate-server:migrate')
        self.assertEqual([], [c for c in self.compute.actions()
                              if c[0] == 'migrate'])
        response = self._do({'migrate': None}, token=base.ADMIN_TOKEN)
        self.assertStatus(202, response)
        self.assertEqual(b'', response.body)
        self.assertEqual(('migrate', self.uuid), self.compute.calls[-1])
        self.assertEqual('RESIZE', self._status())

    def test_migrate_body_and_errors(self):
        self.assertFault(self._do({'migrate': {'host': 'x'}},
                                  token=base.ADMIN_TOKEN),
                         400, 'badRequest', 'migrate')
        self.compute.fail['migrate'] = exception.NoValidHost(
            reason='Hosts considered: compute-1: the server\'s own host.')
        self.assertFault(self._do({'migrate': None},
                                  token=base.ADMIN_TOKEN),
                         400, 'badRequest', 'No valid host',
                         'compute-1')

    def test_resize_202_then_confirm_204(self):
        response = self._do({'resize': {'flavorRef': 'm1.small'}})
        self.assertStatus(202, response)
        self.assertEqual(b'', response.body)
        self.assertEqual(('resize', self.uuid, 'm1.small'),
                         self.compute.calls[-1])
        self.compute.servers[self.uuid].update(status='VERIFY_RESIZE',
                                               task_state=None)
        self.assertEqual('VERIFY_RESIZE', self._status())
        response = self._do({'confirmResize': None})
        self.assertStatus(204, response)
        self.assertEqual(b'', response.body)
        self.assertEqual('ACTIVE', self._status())

    def test_revert_202(self):
        self.compute.servers[self.uuid].update(status='VERIFY_RESIZE')
        response = self._do({'revertResize': None})
        self.assertStatus(202, response)
        self.assertEqual('REVERT_RESIZE', self._status())

    def test_resize_errors(self):
        self.assertFault(self._do({'resize': {'flavorRef': '1'}}), 400,
                         'badRequest', 'must change flavor')
        self.assertFault(self._do({'resize': {'flavorRef': 'nope'}}), 400,
                         'badRequest', 'Unable to locate requested flavor')
        for body in ({'resize': {}}, {'resize': None},
                     {'resize': {'flavorRef': ''}},
                     {'resize': {'flavorRef': '2', 'extra': 1}},
                     {'resize': {'flavorRef': '2',
                                 'OS-DCF:diskConfig': 'SOMETIMES'}}):
            self.assertFault(self._do(body), 400, 'badRequest')
        self.compute.fail['resize'] = exception.InstanceIsLocked(
            instance_uuid=self.uuid)
        self.assertFault(self._do({'resize': {'flavorRef': 'm1.small'}}),
                         409, 'conflictingRequest', 'locked')
        self.compute.fail['resize'] = exception.InstanceInvalidState(
            action='resize', instance_uuid=self.uuid, state='REBOOT')
        self.assertFault(self._do({'resize': {'flavorRef': 'm1.small'}}),
                         409, 'conflictingRequest', 'REBOOT')
        self.compute.fail['resize'] = exception.CannotResizeDisk(
            reason='smaller root disk')
        self.assertFault(self._do({'resize': {'flavorRef': 'm1.small'}}),
                         400, 'badRequest', 'smaller root disk')

    def test_confirm_and_revert_in_the_wrong_state(self):
        self.assertFault(self._do({'confirmResize': None}), 409,
                         'conflictingRequest', 'confirm resize')
        self.assertFault(self._do({'revertResize': None}), 409,
                         'conflictingRequest', 'revert resize')
        self.assertFault(self._do({'confirmResize': {}}), 400, 'badRequest')

    def test_other_project_sees_nothing(self):
        for body in ({'resize': {'flavorRef': 'm1.small'}},
                     {'confirmResize': None}, {'revertResize': None}):
            self.assertFault(self._do(body, token=base.OTHER_TOKEN), 404,
                             'itemNotFound')

    def test_every_served_version(self):
        for version in ('2.1', '2.25', '2.30'):
            self.compute.servers[self.uuid].update(status='ACTIVE',
                                                   task_state=None)
            self.assertStatus(202, self._do(
                {'resize': {'flavorRef': 'm1.small'}}, version=version))
