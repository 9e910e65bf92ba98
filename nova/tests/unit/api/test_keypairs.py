"""/os-keypairs: Nova's bodies and statuses by microversion (2.2, 2.10)."""

import jsonschema

from nova.tests.unit.api import base

PATH = '/v2.1/os-keypairs'


class KeypairsAPITestCase(base.APITestCase):
    def create(self, keypair, **kwargs):
        return self.request('POST', PATH, body={'keypair': keypair},
                            **kwargs)

    def test_generate_and_import_by_version(self):
        # Today's main: 404, there is no os-keypairs.
        response = self.create({'name': 'gen'})
        self.assertStatus(200, response)
        pair = self.json(response)['keypair']
        self.assertEqual({'name', 'public_key', 'fingerprint', 'user_id',
                          'private_key'}, set(pair))
        self.assertEqual('demo', pair['user_id'])
        response = self.create({'name': 'imp',
                                'public_key': pair['public_key']},
                               version='2.2')
        self.assertStatus(201, response)
        imported = self.json(response)['keypair']
        self.assertEqual(('ssh', pair['fingerprint']),
                         (imported['type'], imported['fingerprint']))
        self.assertNotIn('private_key', imported)

        listed = self.json(self.request('GET', PATH))['keypairs']
        self.assertEqual([{'keypair': {
            'name': 'gen', 'public_key': pair['public_key'],
            'fingerprint': pair['fingerprint']}}], listed[:1])
        self.assertIn('type', self.json(self.request(
            'GET', PATH, version='2.2'))['keypairs'][0]['keypair'])
        shown = self.json(self.request('GET', PATH + '/gen'))['keypair']
        self.assertEqual((False, None, None, 'demo'), (
            shown['deleted'], shown['deleted_at'], shown['updated_at'],
            shown['user_id']))
        self.assertIsInstance(shown['id'], int)

        self.assertStatus(202, self.request('DELETE', PATH + '/gen'))
        self.assertStatus(204, self.request('DELETE', PATH + '/imp',
                                            version='2.2'))
        self.assertFault(self.request('GET', PATH + '/gen'), 404,
                         'itemNotFound', 'gen')

    def test_errors(self):
        self.assertStatus(200, self.create({'name': 'k'}))
        self.assertFault(self.create({'name': 'k'}), 409,
                         'conflictingRequest', "'k' already exists")
        for keypair, fragment in (
                ({'name': 'a/b'}, 'keypair.name'),
                ({'name': ''}, 'keypair.name'),
                ({}, 'keypair.name'),
                ({'name': 'x', 'public_key': 'nope'}, 'not an OpenSSH'),
                ({'name': 'x', 'type': 'ssh'}, 'keypair.type'),
                ({'name': 'x', 'extra': 1}, 'keypair.extra')):
            self.assertFault(self.create(keypair), 400, 'badRequest',
                             fragment)
        self.assertFault(self.create({'name': 'x', 'type': 'rsa'},
                                     version='2.2'), 400, 'badRequest',
                         'keypair.type')

    def test_other_users_pairs_are_for_admins_from_210(self):
        self.assertStatus(200, self.create({'name': 'mine'}))
        # Another user of the same project does not see it.
        self.assertFault(self.request('GET', PATH + '/mine',
                                      token='bob:demo'), 404,
                         'itemNotFound')
        # user_id is a 2.10 field, and for admins.
        self.assertFault(self.create({'name': 'x', 'user_id': 'bob'},
                                     version='2.9'), 400, 'badRequest',
                         'keypair.user_id')
        self.assertFault(self.create({'name': 'x', 'user_id': 'bob'},
                                     version='2.10'), 403, 'forbidden',
                         'os-keypairs:create')
        response = self.create({'name': 'forbob', 'user_id': 'bob'},
                               version='2.10', token=base.ADMIN_TOKEN)
        self.assertStatus(201, response)
        self.assertEqual('bob', self.json(response)['keypair']['user_id'])
        self.assertEqual(['forbob'], [
            k['keypair']['name'] for k in self.json(self.request(
                'GET', PATH + '?user_id=bob', version='2.10',
                token=base.ADMIN_TOKEN))['keypairs']])
        self.assertFault(self.request('GET', PATH + '?user_id=demo',
                                      version='2.10', token='bob:demo'),
                         403, 'forbidden')
        # Before 2.10 ?user_id= is ignored: the caller's own pairs.
        self.assertEqual([], self.json(self.request(
            'GET', PATH + '?user_id=bob', token=base.ADMIN_TOKEN))[
                'keypairs'])

    def test_x509_from_22(self):
        response = self.create({'name': 'c', 'type': 'x509'},
                               version='2.2')
        self.assertStatus(201, response)
        pair = self.json(response)['keypair']
        self.assertEqual('x509', pair['type'])
        jsonschema.validate(pair['fingerprint'], {
            'type': 'string', 'pattern': '^([0-9a-f]{2}:){19}[0-9a-f]{2}$'})
