"""Quotas on the real stack (issue 13: tempest's quota tests): nova-all
against qemu:///system, one host, REST calls of an admin and a user.
A create over the project's quota is refused with Nova's 403 before any
guest exists; under it, the guest boots; /limits and the quota detail
count it."""

from nova.tests.functional import services
from nova.tests.functional import test_api

ADMIN = 'admin'


class QuotaTestCase(test_api.APITestCase):
    def _quota(self, **limits):
        status, body = self.services.request(
            'PUT', '/os-quota-sets/demo', {'quota_set': limits},
            token=ADMIN)
        self.assertEqual(200, status, body)
        return body['quota_set']

    def _create(self):
        return self.services.request('POST', '/servers', {'server': {
            'name': 'quota', 'imageRef': services.IMAGE_ID,
            'flavorRef': '1'}})

    def _absolute(self):
        status, body = self.services.request('GET', '/limits')
        self.assertEqual(200, status, body)
        return body['limits']['absolute']

    def test_create_over_quota_refused_under_accepted(self):
        status, body = self.services.request('GET', '/flavors/1')
        self.assertEqual(200, status, body)
        vcpus = body['flavor']['vcpus']
        self.addCleanup(self.services.request, 'DELETE',
                        '/os-quota-sets/demo', token=ADMIN)
        self._quota(cores=vcpus - 1)
        status, body = self._create()
        self.assertEqual(403, status, body)
        self.assertEqual(
            'Quota exceeded for cores: Requested %d, but already used 0 '
            'of %d cores' % (vcpus, vcpus - 1), body['forbidden']['message'])
        self.assertEqual([], list(self.conn.compute.servers()))
        self.assertEqual(vcpus - 1, self._absolute()['maxTotalCores'])

        # One server allowed: the first boots, the second is refused.
        self._quota(cores=-1, instances=1)
        server = self.boot()
        absolute = self._absolute()
        self.assertEqual((1, 1, vcpus),
                         (absolute['maxTotalInstances'],
                          absolute['totalInstancesUsed'],
                          absolute['totalCoresUsed']))
        status, body = self._create()
        self.assertEqual(403, status, body)
        self.assertIn('Quota exceeded for instances: Requested 1, but '
                      'already used 1 of 1 instances',
                      body['forbidden']['message'])
        status, body = self.services.request(
            'GET', '/os-quota-sets/demo/detail')
        self.assertEqual(200, status, body)
        self.assertEqual({'limit': 1, 'in_use': 1, 'reserved': 0},
                         body['quota_set']['instances'])
        # Lowering below the usage needs force (Nova's 400).
        status, body = self.services.request(
            'PUT', '/os-quota-sets/demo', {'quota_set': {'instances': 0}},
            token=ADMIN)
        self.assertEqual(400, status, body)
        self.assertEqual([server.id],
                         [s.id for s in self.conn.compute.servers()])
