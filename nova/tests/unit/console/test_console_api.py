"""nova-serialproxy's console calls (``nova.console.api``) over the
in-process transport (JSON both ways), to compute services on FakeDrivers,
with the instances in a test database.
"""

from unittest import mock

from nova.db import api as db
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver
from nova.tests.unit import fake_uuids as ids

PORT = 10999


class FollowTestCase(base.ComputeTestCase):
    """console.api.API.follow_console_log, as nova-serialproxy calls it."""

    HOSTS = ('host-a', 'host-b')

    def setUp(self):
        super().setUp()
        self.api = self.console_api()
        self._server(ids.SRV1, 'active', None, host='host-a')
        self.drivers['host-a'].ports[ids.SRV1] = 10999
        self.log = self.drivers['host-a'].console_log(ids.SRV1)

    def follow(self, **kw):
        # The proxy's context does not matter: the look-up is the admin's.
        return self.api.follow_console_log(base.BOB, ids.SRV1, **kw)

    def test_open_then_read(self):
        self.log.write(b'banner')
        first = self.follow(history_bytes=3)
        self.assertEqual({'host': 'host-a', 'data': b'ner', 'gap': False,
                          'ended': False}, {k: first[k] for k in (
                              'host', 'data', 'gap', 'ended')})
        self.log.write(b' more')
        self.assertEqual(dict(first, data=b' more'), self.follow(
            host='host-a', follow_id=first['follow_id']))

    def test_moved_means_ended(self):
        first = self.follow()
        follower = self.log.followers[0]
        db.instance_update(ids.SRV1, {'host': 'host-b'})
        answer = self.follow(host='host-a', follow_id=first['follow_id'],
                             wait=5)
        self.assertEqual({'host': 'host-a', 'follow_id': first['follow_id'],
                          'data': b'', 'gap': False, 'ended': True,
                          'retry_after': 0.0}, answer)
        # The old host's follower is ended at once.
        base.wait_for(self, lambda: follower.closed, 'the end cast')
        # A new follow goes to the new host.
        self.drivers['host-b'].ports[ids.SRV1] = 11999
        self.drivers['host-b'].console_log(ids.SRV1).write(b'on b')
        answer = self.follow()
        self.assertEqual(('host-b', b'on b'), (answer['host'],
                                               answer['data']))

    def test_deleted_means_ended(self):
        first = self.follow()
        db.instance_delete(ids.SRV1)
        answer = self.follow(host='host-a', follow_id=first['follow_id'])
        self.assertTrue(answer['ended'])
        self.assertRaises(exception.InstanceNotFound, self.follow)

    def test_unknown_server(self):
        e = self.assertRaises(exception.InstanceNotFound,
                              self.api.follow_console_log, base.BOB,
                              ids.SRV2)
        self.assertEqual(404, e.code)

    def test_not_ready_to_open_but_an_open_follow_goes_on(self):
        first = self.follow()
        db.instance_update(ids.SRV1, {'vm_state': 'active',
                                      'task_state': 'rebooting'})
        e = self.assertRaises(exception.InstanceNotReady, self.follow)
        self.assertEqual(409, e.code)
        self.log.write(b'rebooting...')
        self.assertEqual(b'rebooting...', self.follow(
            host='host-a', follow_id=first['follow_id'])['data'])

    def test_host_down(self):
        first = self.follow()
        self.stop_host('host-a')
        for kw in ({}, {'host': 'host-a',
                        'follow_id': first['follow_id']}):
            e = self.assertRaises(exception.InstanceHostUnavailable,
                                  self.follow, **kw)
            self.assertEqual(409, e.code)

    def test_bad_arguments(self):
        for kw in ({'history_bytes': -1}, {'wait': -1},
                   {'host': 5, 'follow_id': 'x'},
                   {'host': 'host-a', 'follow_id': 'x' * 65}):
            self.assertRaises(exception.Invalid, self.follow, **kw)
        self.assertRaises(exception.Invalid, self.api.end_console_follow,
                          base.BOB, ids.SRV1, None, 'x')

    def test_end_console_follow(self):
        first = self.follow()
        follower = self.log.followers[0]
        self.assertIsNone(self.api.end_console_follow(
            base.BOB, ids.SRV1, 'host-a', first['follow_id']))
        base.wait_for(self, lambda: follower.closed, 'the end cast')
        self.assertRaises(exception.ConsoleFollowNotFound, self.follow,
                          host='host-a', follow_id=first['follow_id'])

    def test_end_to_a_host_that_is_gone_never_raises(self):
        self.api.end_console_follow(base.BOB, ids.SRV1, 'nowhere', 'x')


class ValidateTestCase(base.ComputeTestCase):
    """validate_console_port fails closed: anything but a confirmed port
    of a ready instance on a host that is up is no."""

    HOSTS = ('host-a',)

    def setUp(self):
        super().setUp()
        self.api = self.console_api()
        self._server(ids.SRV1, 'active', None, host='host-a')
        self.drivers['host-a'].ports[ids.SRV1] = PORT

    def check(self, uuid=ids.SRV1, port=PORT, console_type='serial'):
        # The proxy's context does not matter: the look-up is the admin's.
        return self.api.validate_console_port(
            base.BOB, uuid, fake_driver.HOST, port, console_type)

    def test_confirmed(self):
        self.assertIs(True, self.check())
        self.assertIs(True, self.check(console_type='serial-readonly'))

    def test_other_port_type_or_instance(self):
        self.assertIs(False, self.check(port=PORT + 1))
        self.assertIs(False, self.check(console_type='novnc'))
        for uuid in (ids.SRV2, 'nope', None, 5):
            self.assertIs(False, self.check(uuid=uuid))

    def test_not_ready(self):
        db.instance_update(ids.SRV1, {'vm_state': 'active',
                                      'task_state': 'rebooting'})
        self.assertIs(False, self.check())

    def test_host_down(self):
        self.stop_host('host-a')
        self.assertIs(False, self.check())
        self.assertIn('Console port of instance %s not confirmed' % ids.SRV1,
                      self.logs.output)

    def test_host_error(self):
        with mock.patch.object(self.api.compute_rpcapi,
                               'validate_console_port',
                               side_effect=exception.ComputeHostError(
                                   host='host-a', reason='boom')):
            self.assertIs(False, self.check())
