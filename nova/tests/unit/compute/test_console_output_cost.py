"""What one os-getConsoleOutput request costs the API process.

Counted, not timed (the machine is shared): the transactions and SQL
statements the request's own thread sends to the database (SQLAlchemy's
``begin`` and ``before_cursor_execute`` events), through build_app
over the real compute API, the real database (SQLite) and a compute
host on the in-process transport.
"""

import contextlib
import json
import threading

from sqlalchemy import event
import webob

from nova.api.openstack.compute import app
from nova.db import api as db
from nova.tests.unit.compute import test_api

TOKEN = 'alice:pa'  # base.ALICE


class ConsoleOutputRoundTripsTestCase(test_api.APITestCase):
    def setUp(self):
        super().setUp()
        self.app = app.build_app(self.api, conf=self.nova_conf)

    @contextlib.contextmanager
    def statements(self):
        """The transactions this thread begins and the statements it
        sends in them meanwhile (the compute host's heartbeats run on
        threads of their own), as a list: 'transaction' for each begin,
        then the statement. oslo.db's own BEGIN on SQLite is left out:
        it is part of the transaction, not a query."""
        engine = db.get_engine()
        thread = threading.get_ident()
        sent = []

        def begin(conn):
            if threading.get_ident() == thread:
                sent.append('transaction')

        def before(conn, cursor, statement, *args):
            if (threading.get_ident() == thread and
                    statement.split()[0].upper() != 'BEGIN'):
                sent.append(statement)
        event.listen(engine, 'begin', begin)
        event.listen(engine, 'before_cursor_execute', before)
        try:
            yield sent
        finally:
            event.remove(engine, 'before_cursor_execute', before)
            event.remove(engine, 'begin', begin)

    def assertOneRoundTrip(self, sent):
        self.assertEqual(2, len(sent), sent)
        self.assertEqual('transaction', sent[0])
        self.assertTrue(sent[1].startswith('SELECT '), sent)

    def console_output(self, server_id, length=None, token=TOKEN):
        req = webob.Request.blank('/v2.1/servers/%s/action' % server_id,
                                  method='POST')
        req.headers['X-Auth-Token'] = token
        req.content_type = 'application/json'
        req.body = json.dumps(
            {'os-getConsoleOutput': {'length': length}}).encode()
        with self.statements() as sent:
            response = req.get_response(self.app)
        return response, sent

    def test_one_round_trip(self):
        uuid = self._active()
        for length in (None, 1, 0):
            response, sent = self.console_output(uuid, length)
            self.assertEqual(200, response.status_int, response.body)
            self.assertOneRoundTrip(sent)
        self.assertEqual({'output': 'console of ' + uuid},
                         json.loads(self.console_output(uuid)[0].body))

    def test_one_round_trip_for_a_host_that_is_down(self):
        uuid = self._active()
        db.instance_update(uuid, {'host': 'nowhere'})
        response, sent = self.console_output(uuid)
        self.assertEqual(409, response.status_int, response.body)
        self.assertIn(b'nowhere', response.body)
        self.assertOneRoundTrip(sent)

    def test_one_round_trip_for_another_projects_server(self):
        uuid = self._active()
        response, sent = self.console_output(uuid, token='bob:pb')
        self.assertEqual(404, response.status_int, response.body)
        self.assertOneRoundTrip(sent)
