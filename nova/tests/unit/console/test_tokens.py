import dataclasses
import datetime
import hashlib
import sqlite3
from unittest import mock

import hypothesis
from hypothesis import strategies as st

from nova.console import tokens
from nova.db import api as db
from nova import exception
from nova.tests.unit.db import base

UTC = datetime.timezone.utc
T0 = datetime.datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
UUID = '6f1c3b7e-0a8c-4a0e-9d0b-0a1b2c3d4e5f'


class TokensTestCase(base.DBTestCase):
    def setUp(self):
        super().setUp()
        self.now = T0
        patcher = mock.patch.object(tokens, '_utcnow',
                                    side_effect=lambda: self.now)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _authorize(self, uuid=UUID, port=10000, ttl=None):
        return tokens.authorize(uuid, 'serial', '127.0.0.1', port, ttl=ttl)

    def _rejected(self, token):
        return self.assertRaises(exception.InvalidToken, tokens.validate,
                                 token)

    def test_validate_gives_where_it_leads(self):
        token = self._authorize(ttl=30)
        info = tokens.validate(token)
        self.assertEqual(tokens.ConnectInfo(
            instance_uuid=UUID, console_type='serial', host='127.0.0.1',
            port=10000, expires_at=T0 + datetime.timedelta(seconds=30)),
            info)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, info,
                          'port', 1)

    def test_token_is_random_urlsafe(self):
        first, second = self._authorize(), self._authorize()
        self.assertNotEqual(first, second)
        self.assertEqual(43, len(first))
        self.assertRegex(first, r'^[A-Za-z0-9_-]+$')

    def test_only_the_hash_is_stored(self):
        token = self._authorize()
        conn = sqlite3.connect(self.db_path)
        self.addCleanup(conn.close)
        rows = conn.execute('SELECT * FROM console_auth_tokens').fetchall()
        self.assertEqual(1, len(rows))
        self.assertNotIn(token, repr(rows))
        hashes = [r[0] for r in conn.execute(
            'SELECT token_hash FROM console_auth_tokens')]
        self.assertEqual([hashlib.sha256(token.encode()).hexdigest()],
                         hashes)
        # Knowing the hash is no token.
        self._rejected(hashes[0])

    def test_ttl_defaults_to_conf(self):
        self.flags(token_ttl=5, group='consoleauth')
        info = tokens.validate(self._authorize())
        self.assertEqual(T0 + datetime.timedelta(seconds=5),
                         info.expires_at)

    def test_expiry(self):
        token = self._authorize(ttl=10)
        self.now = T0 + datetime.timedelta(seconds=9, microseconds=999999)
        tokens.validate(token)
        self.now = T0 + datetime.timedelta(seconds=10)
        self._rejected(token)

    def test_same_message_for_every_refusal(self):
        token = self._authorize(ttl=10)
        messages = {str(self._rejected(t)) for t in (
            None, 42, b'bytes', '', 'x' * 65, 'has space', 'bad!',
            'caf\u00e9', 'A' * 43)}
        self.now = T0 + datetime.timedelta(seconds=11)
        messages.add(str(self._rejected(token)))
        self.assertEqual({exception.InvalidToken.msg_fmt}, messages)
        self.assertEqual(401, exception.InvalidToken.code)

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(st.one_of(st.text(), st.binary(), st.integers(),
                                st.none()))
    def test_anything_else_is_just_invalid(self, value):
        self.assertRaises(exception.InvalidToken, tokens.validate, value)

    def test_delete_for_instance(self):
        mine = [self._authorize(), self._authorize()]
        other = self._authorize(uuid='other')
        self.assertEqual(2, tokens.delete_for_instance(UUID))
        for token in mine:
            self._rejected(token)
        self.assertEqual('other', tokens.validate(other).instance_uuid)

    def test_purge_expired(self):
        old = self._authorize(ttl=1)
        new = self._authorize(ttl=100)
        self.now = T0 + datetime.timedelta(seconds=2)
        self.assertEqual(1, tokens.purge_expired())
        self.assertEqual(0, tokens.purge_expired())
        tokens.validate(new)
        self.now = T0
        self._rejected(old)  # gone, not merely expired

    def test_authorize_purges_expired_tokens(self):
        self._authorize(ttl=1)
        self.now = T0 + datetime.timedelta(seconds=2)
        self._authorize(ttl=100)
        conn = sqlite3.connect(self.db_path)
        self.addCleanup(conn.close)
        self.assertEqual(1, conn.execute(
            'SELECT count(*) FROM console_auth_tokens').fetchone()[0])

    def test_validate_never_queries_with_the_token(self):
        token = self._authorize()
        with mock.patch.object(db, 'console_token_get_by_hash',
                               wraps=db.console_token_get_by_hash) as get:
            tokens.validate(token)
        get.assert_called_once_with(
            hashlib.sha256(token.encode()).hexdigest())
