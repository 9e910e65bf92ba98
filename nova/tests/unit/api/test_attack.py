"""Hostile inputs found by review: each a 4xx, never a 500."""

import base64

from nova.tests.unit.api import base

KEYPAIRS = '/v2.1/os-keypairs'


class KeypairHostileKeysTestCase(base.APITestCase):
    def test_unsupported_ssh_key_type_is_400(self):
        # cryptography raises UnsupportedAlgorithm (not a ValueError)
        # for a key type it does not know.
        blob = base64.b64encode(b'\x00\x00\x00\x07ssh-foo').decode()
        for key in ('ssh-foo ' + blob, 'ssh-foo AAAAB3NzaC1yc2E='):
            response = self.request('POST', KEYPAIRS, body={
                'keypair': {'name': 'k', 'public_key': key}})
            self.assertFault(response, 400, 'badRequest',
                             'keypair.public_key')
