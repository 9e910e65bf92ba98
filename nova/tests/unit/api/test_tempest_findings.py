"""What tempest 47's compute API run found (doc/source/admin/tempest.rst),
through the REST API on the real compute API: Nova's rules for the
bodies tempest and the clients send."""

from unittest import mock

from nova.db import api as db
from nova.image import local
from nova.tests.unit.api import test_server_records
from nova.tests.unit.compute import test_api

ALICE = test_server_records.ALICE
ALICE_CTX = test_api.ALICE


class TempestFindingsTestCase(test_server_records.RESTMixin,
                              test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = self._app()

    def _create(self, **server):
        body = {'name': 'vm', 'imageRef': 'img-1', 'flavorRef': '1'}
        body.update(server)
        return self.call('POST', '/servers', {'server': body})

    def test_lock_and_unlock_with_an_empty_object(self):
        # tempest's lock_server sends {"lock": {}}: was 400 "{} is not
        # of type 'null'" (ServerActionsTestJSON.test_lock_unlock_server).
        uuid = self._active()
        action = '/servers/%s/action' % uuid
        self.check(202, self.call('POST', action, {'lock': {}}))
        self.assertTrue(db.instance_get(uuid)['locked'])
        self.check(202, self.call('POST', action, {'unlock': {}}))
        self.assertFalse(db.instance_get(uuid)['locked'])
        self.check(400, self.call('POST', action, {'unlock': {'a': 1}}))

    def test_access_ipv6_with_an_embedded_ipv4_is_kept_canonical(self):
        # 41 characters, a valid IPv6 address: was 400 "is too long"
        # (ServersTestJSON's setUpClass).
        response = self._create(
            accessIPv6='0000:0000:0000:0000:0000:babe:220.12.22.2')
        uuid = self.check(202, response)['server']['id']
        self._wait()
        server = self.check(200, self.call('GET', '/servers/' + uuid))
        self.assertEqual('::babe:dc0c:1602', server['server']['accessIPv6'])
        body = self.check(400, self._create(accessIPv6='1' * 46))
        self.assertIn('accessIPv6', body['badRequest']['message'])

    def test_metadata_over_the_quota_is_403(self):
        # Was 400 from the schema; Nova answers 403 (tempest's
        # test_max_metadata_exceed_limit).
        body = self.check(403, self._create(
            metadata={'k%d' % i: 'v' for i in range(129)}))
        self.assertEqual('Maximum number of metadata items exceeds 128',
                         body['forbidden']['message'])
        self.assertEqual([], db.instance_get_all())
        self.check(202, self._create(
            metadata={'k%d' % i: 'v' for i in range(128)}))

    def test_image_min_ram_over_the_flavor_s_is_400(self):
        # Was accepted (tempest's FlavorsV2NegativeTest.test_boot_with_
        # low_ram): Nova's FlavorMemoryTooSmall.
        db.image_create({'id': 'img-big', 'name': 'big',
                         'kernel_path': self.kernel})
        with mock_image_min_ram(256):
            body = self.check(400, self._create(imageRef='img-big'))
        self.assertEqual("Flavor's memory is too small for requested image.",
                         body['badRequest']['message'])
        self.assertEqual([], db.instance_get_all())


def mock_image_min_ram(min_ram):
    """Images with ``min_ram`` MiB (the local catalog has no such
    column; Glance's images do)."""
    real = local.image_dict
    return mock.patch.object(local, 'image_dict', lambda row: dict(
        real(row), min_ram=min_ram))


class ListFiltersTestCase(test_server_records.RESTMixin,
                          test_api.APITestCase):
    """GET /servers with Nova's flavor, image, marker and limit (tempest's
    ListServerFiltersTestJSON: each was ignored)."""

    def setUp(self):
        super().setUp()
        self.app = self._app()
        db.flavor_create({'id': '7', 'name': 'other', 'ram': 64,
                          'vcpus': 1, 'extra_specs': {}})
        self.a = self._active(name='a')
        self.b = self.api.create(ALICE_CTX, 'b', 'img-1', '7')['uuid']
        self.c = self.api.create(ALICE_CTX, 'c', 'img-2', '1')['uuid']
        self._wait()

    def ids(self, query, path='/servers'):
        body = self.check(200, self.call('GET', path + '?' + query))
        return [s['id'] for s in body['servers']]

    def test_flavor_and_image(self):
        self.assertEqual([self.b], self.ids('flavor=7'))
        self.assertEqual({self.a, self.b}, set(self.ids('image=img-1')))
        self.assertEqual([self.c], self.ids('image=img-2',
                                            '/servers/detail'))

    def test_limit_and_marker(self):
        every = self.ids('')
        self.assertEqual(3, len(every))
        self.assertEqual(every[:1], self.ids('limit=1'))
        self.assertEqual([], self.ids('limit=0', '/servers/detail'))
        self.assertEqual(every[1:], self.ids('marker=%s' % every[0]))
        self.assertEqual(every[1:2], self.ids('marker=%s&limit=1'
                                              % every[0]))
        for bad in ('limit=-1', 'limit=x', 'marker=nope'):
            self.check(400, self.call('GET', '/servers?' + bad))
