"""What a server carries besides its image and flavor (Nova's fields),
on the real compute API, database and scheduler, over fake drivers."""

from nova.compute import keypairs
from nova.db import api as db
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_api

ALICE, BOB, ADMIN = base.ALICE, base.BOB, base.ADMIN


class ServerFieldsTestCase(test_api.APITestCase):
    def test_create_stores_every_field(self):
        pair = keypairs.create('alice', 'k1')
        server = self.api.create(
            ALICE, 'vm', 'img-1', '1', metadata={'a': 'b', 'empty': ''},
            key_name='k1', access_ip_v4='192.0.2.1',
            access_ip_v6='2001:db8::1', disk_config='AUTO',
            user_data='aGVsbG8=')
        self._wait()
        got = self.api.get(ALICE, server['uuid'])
        self.assertEqual(
            ({'a': 'b', 'empty': ''}, 'k1', pair['public_key'],
             '192.0.2.1', '2001:db8::1', 'AUTO', 'aGVsbG8=', ''),
            tuple(got[k] for k in (
                'metadata', 'key_name', 'key_data', 'access_ip_v4',
                'access_ip_v6', 'disk_config', 'user_data',
                'config_drive')))
        # Built: running, launched, in the host's zone (Nova's default).
        self.assertEqual((1, 'nova', None),
                         (got['power_state'], got['availability_zone'],
                          got['terminated_at']))
        self.assertIsNotNone(got['launched_at'])
        self.assertLessEqual(got['created_at'], got['launched_at'])

    def test_defaults_as_nova(self):
        got = self.api.get(ALICE, self._active())
        self.assertEqual(({}, None, None, None, 'MANUAL', ''), tuple(
            got[k] for k in ('metadata', 'key_name', 'access_ip_v4',
                             'access_ip_v6', 'disk_config',
                             'config_drive')))

    def test_key_name_is_the_callers_own(self):
        keypairs.create('bob', 'bobs')
        self.assertRaises(exception.KeypairNotFound, self.api.create,
                          ALICE, 'vm', 'img-1', '1', key_name='bobs')
        self.assertEqual([], db.instance_get_all())

    def test_unknown_zone_is_400(self):
        e = self.assertRaises(exception.InvalidRequest, self.api.create,
                              ALICE, 'vm', 'img-1', '1',
                              availability_zone='elsewhere')
        self.assertEqual(400, e.code)
        self.assertIn('elsewhere', e.message)
        server = self.api.create(ALICE, 'vm', 'img-1', '1',
                                 availability_zone='nova')
        self._wait()
        self.assertEqual('nova', self.api.get(
            ALICE, server['uuid'])['availability_zone'])

    def test_update_changes_only_what_is_given(self):
        uuid = self._active()
        got = self.api.update(ALICE, uuid, name='renamed',
                              access_ip_v6='2001:db8::2')
        self.assertEqual(('renamed', '2001:db8::2', None, 'active'), tuple(
            got[k] for k in ('name', 'access_ip_v6', 'access_ip_v4',
                             'vm_state')))
        got = self.api.update(ALICE, uuid, description='d')
        self.assertEqual(('renamed', 'd'), (got['name'],
                                            got['description']))
        self.assertRaises(exception.InstanceNotFound, self.api.update,
                          BOB, uuid, name='x')
        self.assertRaises(exception.ValidationError, self.api.update,
                          ALICE, uuid, name='  ')

    def test_rebuild_replaces_metadata_and_relaunches(self):
        server = self.api.create(ALICE, 'vm', 'img-1', '1',
                                 metadata={'old': '1'})
        self._wait()
        before = self.api.get(ALICE, server['uuid'])['launched_at']
        self.api.rebuild(ALICE, server['uuid'], 'img-1', name='new',
                         metadata={'new': '2'}, disk_config='AUTO')
        self._wait()
        got = self.api.get(ALICE, server['uuid'])
        self.assertEqual(('new', {'new': '2'}, 'AUTO', 'active', 1), tuple(
            got[k] for k in ('name', 'metadata', 'disk_config', 'vm_state',
                             'power_state')))
        self.assertGreaterEqual(got['launched_at'], before)


class SchedulerHintsTestCase(test_api.APITestCase):
    HOSTS = ('host-a', 'host-b')

    def _host(self, ctx, uuid):
        return self.api.get(ctx, uuid)['host']

    def test_different_host_keeps_off_the_named_servers_hosts(self):
        first = self._active()
        for _ in range(3):
            server = self.api.create(
                ALICE, 'vm', 'img-1', '1',
                scheduler_hints={'different_host': [first]})
            self._wait()
            self.assertNotEqual(self._host(ALICE, first),
                                self._host(ALICE, server['uuid']))

    def test_same_host_puts_it_with_the_named_server(self):
        first = self._active()
        for _ in range(3):
            server = self.api.create(
                ALICE, 'vm', 'img-1', '1',
                scheduler_hints={'same_host': [first]})
            self._wait()
            self.assertEqual(self._host(ALICE, first),
                             self._host(ALICE, server['uuid']))

    def test_both_hosts_excluded_is_an_error_server_naming_the_hint(self):
        a, b = self._active(), None
        b = self.api.create(ALICE, 'vm', 'img-1', '1',
                            scheduler_hints={'different_host': [a]})
        self._wait()
        server = self.api.create(
            ALICE, 'vm', 'img-1', '1',
            scheduler_hints={'different_host': [a, b['uuid']]})
        got = self.api.get(ALICE, server['uuid'])
        self.assertEqual('error', got['vm_state'])
        self.assertIn('different_host', got['fault'])

    def test_other_projects_servers_do_not_count(self):
        # Nothing about BOB's server leaks through a hint of ALICE's.
        bobs = self.api.create(BOB, 'vm', 'img-1', '1')
        self._wait()
        server = self.api.create(ALICE, 'vm', 'img-1', '1',
                                 scheduler_hints={'same_host': [
                                     bobs['uuid']]})
        got = self.api.get(ALICE, server['uuid'])
        self.assertEqual('error', got['vm_state'])
        self.assertIn('same_host', got['fault'])

    def test_not_a_uuid_is_refused(self):
        self.assertRaises(exception.ValidationError, self.api.create,
                          ALICE, 'vm', 'img-1', '1',
                          scheduler_hints={'same_host': ['../etc']})


class KeypairsTestCase(base.ComputeTestCase):
    HOSTS = ()

    def test_import_generate_list_delete(self):
        generated = keypairs.create('u1', 'gen')
        self.assertIn('PRIVATE KEY', generated['private_key'])
        self.assertTrue(generated['public_key'].startswith('ssh-rsa '))
        imported = keypairs.create('u1', 'imp',
                                   public_key=generated['public_key'])
        self.assertNotIn('private_key', imported)
        self.assertEqual(generated['fingerprint'], imported['fingerprint'])
        self.assertRegex(imported['fingerprint'],
                         '^([0-9a-f]{2}:){15}[0-9a-f]{2}$')
        self.assertEqual(['gen', 'imp'],
                         [p['name'] for p in keypairs.get_all('u1')])
        self.assertEqual([], keypairs.get_all('u2'))
        self.assertNotIn('private_key', keypairs.get('u1', 'gen'))
        keypairs.delete('u1', 'gen')
        self.assertRaises(exception.KeypairNotFound, keypairs.get, 'u1',
                          'gen')
        self.assertRaises(exception.KeypairNotFound, keypairs.delete, 'u1',
                          'gen')

    def test_x509(self):
        pair = keypairs.create('u1', 'cert', key_type='x509')
        self.assertIn('BEGIN CERTIFICATE', pair['public_key'])
        again = keypairs.create('u1', 'cert2', key_type='x509',
                                public_key=pair['public_key'])
        self.assertEqual(pair['fingerprint'], again['fingerprint'])
        self.assertEqual(59, len(again['fingerprint']))  # SHA-1, colons

    def test_names_are_per_user_and_unique(self):
        keypairs.create('u1', 'k')
        keypairs.create('u2', 'k')
        e = self.assertRaises(exception.KeyPairExists, keypairs.create,
                              'u1', 'k')
        self.assertEqual(409, e.code)

    def test_bad_input(self):
        for name in ('', 'x' * 256, 'a/b', ' lead', 'tab\t', '\u00e9'):
            self.assertRaises(exception.ValidationError, keypairs.create,
                              'u1', name)
        for key in ('ssh-rsa notbase64', 'garbage', 'ssh-rsa',
                    'x' * 20000):
            self.assertRaises(exception.ValidationError, keypairs.create,
                              'u1', 'k', public_key=key)
        self.assertRaises(exception.ValidationError, keypairs.create,
                          'u1', 'k', key_type='x509', public_key='nope')
        self.assertEqual([], keypairs.get_all('u1'))

    def test_limit(self):
        # The limit is the user's key_pairs quota (nova.quota).
        for n in range(3):
            db.key_pair_create({'user_id': 'u1', 'name': 'k%d' % n,
                                'fingerprint': 'f', 'public_key': 'p'})
        e = self.assertRaises(exception.KeypairLimitExceeded,
                              keypairs.create, 'u1', 'one-more', limit=3)
        self.assertEqual(403, e.code)
        keypairs.create('u2', 'k', limit=3)  # per user
