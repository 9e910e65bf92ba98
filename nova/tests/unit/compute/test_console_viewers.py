"""Read-only console viewers in the compute API: tokens and URLs.

A viewer's token is a console token of type 'serial-readonly' for the
guest's first tcp serial port: the same store (hashed, with its TTL) and
revoked with the instance's other tokens on reboot, rebuild, delete and
live migration.
"""

import datetime
import hashlib
import sqlite3
from unittest import mock

from nova.compute import api as compute_api
from nova.console import tokens
from nova.console import type as ctype
from nova.db import api as db
from nova import exception
from nova import test
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver
from nova.tests.unit.compute import test_api
from nova.tests.unit.compute import test_manager

ADMIN, ALICE, BOB = base.ADMIN, base.ALICE, base.BOB
PORT = fake_driver.FIRST_PORT


class ConstantsTestCase(test.TestCase):
    def test_types(self):
        self.assertEqual(('serial', 'serial-readonly'),
                         (ctype.SERIAL, ctype.READ_ONLY))
        self.assertEqual((ctype.SERIAL, ctype.READ_ONLY), ctype.SERIAL_TYPES)
        self.assertEqual(ctype.SERIAL, ctype.ConsoleSerial('h', 1).type)


class PageURLTestCase(test.TestCase):
    def test_scheme_follows_the_websocket(self):
        page = compute_api.console_page_url
        self.assertEqual('http://h:6083/console.html?token=T',
                         page('ws://h:6083/', 'T'))
        self.assertEqual('https://c.example.org:6083/console.html?token=T',
                         page('wss://c.example.org:6083/', 'T'))
        self.assertEqual('https://c.example.org/console.html?token=T',
                         page('WSS://c.example.org', 'T'))
        self.assertEqual('http://[::1]:6083/console.html?token=T',
                         page('ws://[::1]:6083/', 'T'))

    def test_same_folder_and_query(self):
        page = compute_api.console_page_url
        # Behind a reverse proxy that serves the proxy under a folder.
        self.assertEqual('https://h/serial/console.html?token=T',
                         page('wss://h/serial/', 'T'))
        self.assertEqual('http://h:1/console.html?a=b&token=T',
                         page('ws://h:1/?a=b', 'T'))


class ViewerTestCase(test_api.APITestCase):
    def _viewer(self, uuid, ctx=ALICE):
        viewer = self.api.get_console_viewer(ctx, uuid)
        self.assertEqual({'type', 'url', 'web_url'}, set(viewer))
        self.assertEqual('serial-readonly', viewer['type'])
        return viewer

    def test_urls_and_token(self):
        self.nova_flags(base_url='wss://proxy.example.org:6083/',
                        group='serial_console')
        uuid = self._active()
        viewer = self._viewer(uuid)
        token = self._token(viewer)
        self.assertEqual('wss://proxy.example.org:6083/?token=' + token,
                         viewer['url'])
        self.assertEqual('https://proxy.example.org:6083/console.html'
                         '?token=' + token, viewer['web_url'])
        info = tokens.validate(token)
        # The same port as an interactive console of the server.
        serial = tokens.validate(self._token(
            self.api.get_serial_console(ALICE, uuid)))
        self.assertEqual(
            (uuid, 'serial-readonly', fake_driver.HOST, PORT),
            (info.instance_uuid, info.console_type, info.host, info.port))
        self.assertEqual((serial.host, serial.port), (info.host, info.port))
        # The host was asked for its serial console, nothing new.
        self.assertEqual([('get_serial_console', uuid)] * 2,
                         self.driver.calls[-2:])

    def test_plain_ws_base_url_gives_http_page(self):
        uuid = self._active()
        viewer = self._viewer(uuid)
        token = self._token(viewer)
        self.assertEqual('ws://127.0.0.1:6083/?token=' + token,
                         viewer['url'])
        self.assertEqual('http://127.0.0.1:6083/console.html?token=' + token,
                         viewer['web_url'])

    def test_each_viewer_its_own_token(self):
        uuid = self._active()
        first, second = (self._token(self._viewer(uuid)) for _ in range(2))
        self.assertNotEqual(first, second)

    def test_stored_hashed_with_the_ttl(self):
        self.flags(token_ttl=77, group='consoleauth')
        uuid = self._active()
        now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
        with mock.patch.object(tokens, '_utcnow', return_value=now):
            token = self._token(self._viewer(uuid))
            info = tokens.validate(token)
        self.assertEqual(now + datetime.timedelta(seconds=77),
                         info.expires_at)
        conn = sqlite3.connect(self.db_path)
        self.addCleanup(conn.close)
        rows = conn.execute(
            'SELECT token_hash, console_type FROM console_auth_tokens'
        ).fetchall()
        self.assertEqual([(hashlib.sha256(token.encode()).hexdigest(),
                           'serial-readonly')], rows)
        self.assertNotIn(token, repr(conn.execute(
            'SELECT * FROM console_auth_tokens').fetchall()))

    def test_errors_as_the_serial_console(self):
        gate = self._gate('spawn')
        building = self.api.create(ALICE, 'vm', 'img-1', '1')['uuid']
        e = self.assertRaises(exception.InstanceNotReady,
                              self.api.get_console_viewer, ALICE, building)
        self.assertEqual(409, e.code)
        gate.set()
        self._wait()
        for ctx, server_id in ((BOB, building), (ALICE, 'nope'),
                               (ALICE, None)):
            e = self.assertRaises(exception.InstanceNotFound,
                                  self.api.get_console_viewer, ctx,
                                  server_id)
            self.assertEqual(404, e.code)
        # An admin may watch any project's server.
        self.assertEqual(building, tokens.validate(self._token(
            self._viewer(building, ctx=ADMIN))).instance_uuid)
        # A host whose guests have no tcp serial port.
        self.driver.fail['get_serial_console'] = (
            exception.ConsoleTypeUnavailable(console_type='serial'))
        e = self.assertRaises(exception.ConsoleTypeUnavailable,
                              self.api.get_console_viewer, ALICE, building)
        self.assertEqual(400, e.code)
        self.assertEqual(1, db.console_token_delete_for_instance(building))

    def test_serial_console_call_still_refuses_read_only(self):
        uuid = self._active()
        e = self.assertRaises(exception.ConsoleTypeUnavailable,
                              self.api.get_serial_console, ALICE, uuid,
                              'serial-readonly')
        self.assertEqual(400, e.code)
        self.assertEqual(0, db.console_token_delete_for_instance(uuid))

    def test_validate_console_port(self):
        uuid = self._active()
        check = self.console_api().validate_console_port
        self.assertIs(True, check(BOB, uuid, fake_driver.HOST, PORT,
                                  'serial-readonly'))
        self.assertIs(False, check(BOB, uuid, fake_driver.HOST, PORT + 1,
                                   'serial-readonly'))
        self.assertIs(False, check(BOB, uuid, '10.0.0.1', PORT,
                                   'serial-readonly'))
        self.assertIs(False, check(BOB, 'nope', fake_driver.HOST, PORT,
                                   'serial-readonly'))
        for other in ('serial-readwrite', 'novnc', '', None):
            self.assertIs(False, check(BOB, uuid, fake_driver.HOST, PORT,
                                       other))
        self._gate('reboot')
        self.api.reboot(ALICE, uuid, 'HARD')
        self.assertIs(False, check(BOB, uuid, fake_driver.HOST, PORT,
                                   'serial-readonly'))


class RevocationTestCase(test_api.APITestCase):
    """Every viewer token goes with the instance's other tokens."""

    def _tokens(self, uuid):
        return [self._token(self.api.get_console_viewer(ALICE, uuid)),
                self._token(self.api.get_console_viewer(ALICE, uuid)),
                self._token(self.api.get_serial_console(ALICE, uuid))]

    def assertRevoked(self, issued):
        for token in issued:
            self.assertRaises(exception.InvalidToken, tokens.validate, token)

    def test_reboot(self):
        soft, hard = self._active(), self._active()
        issued = {uuid: self._tokens(uuid) for uuid in (soft, hard)}
        self._gate('reboot')
        self.api.reboot(ALICE, soft, 'SOFT')
        self.assertRevoked(issued[soft])
        self.assertEqual(hard, tokens.validate(
            issued[hard][0]).instance_uuid)
        self.api.reboot(ALICE, hard, 'HARD')
        self.assertRevoked(issued[hard])

    def test_rebuild(self):
        uuid = self._active()
        issued = self._tokens(uuid)
        self._gate('rebuild')
        self.api.rebuild(ALICE, uuid, 'img-2')
        self.assertRevoked(issued)

    def test_delete(self):
        uuid = self._active()
        issued = self._tokens(uuid)
        self._gate('destroy')
        self.api.delete(ALICE, uuid)
        self.assertRevoked(issued)

    def test_other_servers_keep_theirs(self):
        uuid, other = self._active(), self._active()
        kept = self._tokens(other)
        self._gate('destroy')
        self.api.delete(ALICE, uuid)
        for token in kept:
            self.assertEqual(other, tokens.validate(token).instance_uuid)

    def test_interrupted_task_on_restart(self):
        uuid = self._active()
        issued = self._tokens(uuid)
        db.instance_update(uuid, {'vm_state': 'active',
                                  'task_state': 'rebooting'})
        self.conductor.task_manager.init_host()
        self.assertRevoked(issued)


class MigrationRevocationTestCase(test_api.TwoHostsTestCase):
    def test_live_migration(self):
        uuid = self._active_on('host-a')
        issued = [self._token(self.api.get_console_viewer(ALICE, uuid))
                  for _ in range(2)]
        self.assertIsNone(self.api.live_migrate(ADMIN, uuid, 'host-b'))
        self._wait()
        self.assertEqual('host-b', db.instance_get(uuid)['host'])
        for token in issued:
            self.assertRaises(exception.InvalidToken, tokens.validate, token)
        # A new viewer names the port on host-b.
        info = tokens.validate(self._token(
            self.api.get_console_viewer(ALICE, uuid)))
        self.assertEqual(
            ('serial-readonly', self.drivers['host-b'].ports[uuid]),
            (info.console_type, info.port))
        self.assertIs(True, self.console_api().validate_console_port(
            ADMIN, uuid, info.host, info.port, 'serial-readonly'))


class ManagerTestCase(test_manager.ManagerTestCase):
    """The compute host confirms a viewer's port as a console's."""

    def setUp(self):
        super().setUp()
        self._build()

    def check(self, host, port, console_type):
        return self.rpc.validate_console_port(
            test_manager.CTX, test_manager.HOST, self.instance, host, port,
            console_type)

    def test_validate_console_port_accepts_read_only(self):
        self.assertIs(True, self.check(fake_driver.HOST, PORT,
                                       'serial-readonly'))
        self.assertIs(True, self.check(fake_driver.HOST, str(PORT),
                                       'serial-readonly'))
        self.assertIs(False, self.check(fake_driver.HOST, PORT + 1,
                                        'serial-readonly'))
        self.assertIs(False, self.check('10.0.0.1', PORT,
                                        'serial-readonly'))
        for other in ('serial-readwrite', 'SERIAL', 'novnc', None):
            self.assertIs(False, self.check(fake_driver.HOST, PORT, other))
        self.driver.ports.clear()  # the guest is gone
        self.assertIs(False, self.check(fake_driver.HOST, PORT,
                                        'serial-readonly'))
