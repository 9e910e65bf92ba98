"""Following a console log through the compute RPC client and the
manager, over the in-process transport (JSON both ways), on FakeDrivers.
(The proxy's side of it: nova/tests/unit/console/test_console_api.py.)
"""

import threading
from unittest import mock

from nova.compute import console_followers
from nova.compute import rpcapi
from nova import exception
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_manager
from nova.tests.unit import fake_uuids as ids

CTX = base.ALICE
HOST = test_manager.HOST
KEYS = {'follow_id', 'data', 'gap', 'ended', 'retry_after'}


class ManagerFollowTestCase(test_manager.ManagerTestCase):
    """ComputeManager.follow_console_log through ComputeAPI (rpcapi)."""

    def setUp(self):
        super().setUp()
        self._build()
        self.log = self.driver.console_log(ids.SRV1)

    def follow(self, follow_id=None, history_bytes=None, wait=0,
               instance=None):
        return self.rpc.follow_console_log(
            CTX, HOST, instance or self.instance, follow_id, history_bytes,
            wait)

    def test_history_then_live_as_bytes(self):
        self.log.write(b'boot banner\r\n')
        first = self.follow()
        self.assertEqual(KEYS, set(first))
        self.assertEqual((b'boot banner\r\n', False, False),
                         (first['data'], first['gap'], first['ended']))
        self.assertIsInstance(first['follow_id'], str)
        self.assertEqual(22, len(first['follow_id']))
        self.assertEqual([('open_console_follower', ids.SRV1, 102400)],
                         self.driver.calls)
        self.log.write(b'login: ')
        second = self.follow(first['follow_id'])
        self.assertEqual({'follow_id': first['follow_id'],
                          'data': b'login: ', 'gap': False,
                          'ended': False, 'retry_after': 0.0}, second)
        self.assertEqual(b'', self.follow(first['follow_id'])['data'])

    def test_every_byte_value_crosses(self):
        data = bytes(range(256)) + b'\xff\xfe\x80 not UTF-8 \xc3'
        self.log.write(data)
        first = self.follow(history_bytes=len(data))
        self.assertEqual(data, first['data'])
        self.log.write(data[::-1])
        self.assertEqual(data[::-1],
                         self.follow(first['follow_id'])['data'])

    def test_history_bytes(self):
        self.log.write(b'0123456789')
        self.assertEqual(b'789', self.follow(history_bytes=3)['data'])
        self.assertEqual(b'', self.follow(history_bytes=0)['data'])
        for bad in (-1, 102401, 1.5, '10', True):
            e = self.assertRaises(exception.Invalid, self.follow,
                                  history_bytes=bad)
            self.assertIn('history_bytes', e.message)
            self.assertEqual(400, e.code)

    def test_bad_wait(self):
        for bad in (-1, 'x', float('nan'), float('inf'), True, [1]):
            e = self.assertRaises(exception.Invalid, self.follow, wait=bad)
            self.assertIn('wait', e.message)

    def test_wait_returns_when_bytes_come(self):
        fid = self.follow(history_bytes=0)['follow_id']
        timer = threading.Timer(0.2, self.log.write, (b'late',))
        timer.start()
        self.addCleanup(timer.cancel)
        self.assertEqual(b'late', self.follow(fid, wait=5)['data'])

    def test_wait_is_cut(self):
        fid = self.follow(history_bytes=0)['follow_id']
        follower = self.log.followers[0]
        self.nova_flags(rpc_response_timeout=1)
        self.follow(fid, wait=60)
        self.nova_flags(rpc_response_timeout=60)
        self.nova_flags(console_follow_max_wait=0.25, group='serial_console')
        self.follow(fid, wait=60)
        self.follow(fid, wait=0.125)
        # The first read (history) never waits; then half of the RPC
        # time-out, console_follow_max_wait, what was asked.
        self.assertEqual([0, 0.5, 0.25, 0.125], follower.timeouts)

    def test_unknown_id(self):
        for bad in ('nope', 'x' * 1000, 42, ['a']):
            e = self.assertRaises(exception.ConsoleFollowNotFound,
                                  self.follow, bad)
            self.assertEqual(404, e.code)
            self.assertIn(HOST, e.message)

    def test_id_of_another_instance_is_unknown(self):
        other = test_manager._instance(ids.SRV2)
        self._do(self.rpc.build_and_run_instance, other)
        fid = self.follow()['follow_id']
        e = self.assertRaises(exception.ConsoleFollowNotFound,
                              self.follow, fid, instance=other)
        self.assertNotIn(ids.SRV1, e.message)
        # Still the first one's.
        self.log.write(b'mine')
        self.assertEqual(b'mine', self.follow(fid)['data'])

    def test_end_closes_the_follower(self):
        fid = self.follow()['follow_id']
        follower = self.log.followers[0]
        self.assertTrue(self.rpc.end_console_follow(CTX, HOST,
                                                    self.instance, fid))
        base.wait_for(self, lambda: follower.closed, 'the end cast')
        self.assertRaises(exception.ConsoleFollowNotFound, self.follow,
                          fid)
        # Ending it again, or an unknown one, is harmless.
        self.rpc.end_console_follow(CTX, HOST, self.instance, fid)
        self.rpc.end_console_follow(CTX, HOST, self.instance, 'nope')

    def test_end_of_another_instances_id_does_nothing(self):
        fid = self.follow()['follow_id']
        table = self.services[HOST].manager._followers
        self.assertFalse(table.end(ids.SRV2, fid))
        self.assertEqual(1, len(table))

    def test_end_cast_that_cannot_be_sent(self):
        with mock.patch.object(self.rpc.client, 'prepare') as prepare:
            prepare.return_value.cast.side_effect = RuntimeError('down')
            self.assertFalse(self.rpc.end_console_follow(
                CTX, HOST, self.instance, 'x'))
        self.assertIn('it expires there by itself', self.logs.output)

    def test_ended_when_the_guest_left_and_all_was_read(self):
        self.log.write(b'a')
        fid = self.follow()['follow_id']
        self.log.write(b'last words')
        del self.driver.ports[ids.SRV1]     # destroyed, or migrated away
        follower = self.log.followers[0]
        answer = self.follow(fid, wait=5)
        self.assertEqual((b'last words', False), (answer['data'],
                                                  answer['ended']))
        answer = self.follow(fid, wait=5)
        self.assertEqual((b'', False, True), (answer['data'], answer['gap'],
                                              answer['ended']))
        # A guest that left makes no read wait.
        self.assertEqual([0, 0, 0], follower.timeouts)
        self.assertTrue(follower.closed)
        self.assertRaises(exception.ConsoleFollowNotFound, self.follow,
                          fid)

    def test_a_hard_reboot_does_not_end_the_follow(self):
        # The domain is undefined and defined again under the action's
        # lock: a read in between must not take the guest for gone.
        fid = self.follow()['follow_id']
        undefined, resume = threading.Event(), threading.Event()
        self.addCleanup(resume.set)

        def undefine():
            self.driver.ports.pop(ids.SRV1)
            undefined.set()
            resume.wait(base.WAIT)

        self.driver.hooks['reboot'] = undefine
        thread = threading.Thread(target=self.rpc.reboot_instance,
                                  args=(CTX, HOST, self.instance, 'HARD'))
        thread.start()
        self.addCleanup(thread.join)
        self.assertTrue(undefined.wait(base.WAIT))
        self.log.write(b'reboot: Restarting system')
        self.assertEqual((b'reboot: Restarting system', False),
                         self._data_ended(fid))
        self.assertEqual((b'', False), self._data_ended(fid))
        resume.set()
        thread.join(base.WAIT)
        self.assertEqual('reboot', self._next_outcome()['action'])
        self.log.write(b'Linux version')
        self.assertEqual((b'Linux version', False), self._data_ended(fid))
        # Deleted, with no action running: now it ends.
        self._do(self.rpc.terminate_instance, self.instance)
        self.assertEqual((b'', True), self._data_ended(fid))

    def _data_ended(self, fid):
        answer = self.follow(fid)
        return answer['data'], answer['ended']

    def test_gap(self):
        self.log.write(b'a')
        fid = self.follow()['follow_id']
        self.log.write(b'b')
        self.log.rotate_away(10)
        self.log.write(b'c')
        self.assertEqual((b'b', False), self._data_gap(fid))
        self.assertEqual((b'c', True), self._data_gap(fid))
        self.assertEqual((b'', False), self._data_gap(fid))

    def _data_gap(self, fid):
        answer = self.follow(fid)
        return answer['data'], answer['gap']

    def test_one_answer_is_at_most_256_kib(self):
        fid = self.follow(history_bytes=0)['follow_id']
        data = bytes(range(256)) * 4096          # 1 MiB
        self.log.write(data)
        got = []
        while True:
            piece = self.follow(fid)['data']
            if not piece:
                break
            self.assertLessEqual(len(piece), 256 * 1024)
            got.append(piece)
        self.assertEqual(4, len(got))
        self.assertEqual(data, b''.join(got))

    def test_opening_errors_cross(self):
        self.driver.fail['open_console_follower'] = (
            exception.ConsoleLogFollowUnavailable(instance_uuid=ids.SRV1,
                                                  reason='a pty'))
        e = self.assertRaises(exception.ConsoleLogFollowUnavailable,
                              self.follow)
        self.assertEqual(404, e.code)
        self.assertIn('cannot be followed: a pty', e.message)
        del self.driver.fail['open_console_follower']
        self.driver.ports.clear()
        self.assertRaises(exception.InstanceNotFound, self.follow)
        self.assertEqual(0, len(self.services[HOST].manager._followers))

    def test_too_many_followers(self):
        self.nova_flags(max_console_followers=2, group='serial_console')
        self.follow()
        self.follow()
        e = self.assertRaises(exception.TooManyConsoleFollowers,
                              self.follow)
        self.assertEqual(409, e.code)
        self.assertIn('Too many console followers on host %s' % HOST,
                      e.message)


class RPCAPIShapeTestCase(base.RPCTestCase):
    def test_follow_is_a_short_call(self):
        api = rpcapi.ComputeAPI(self.nova_conf)
        self.nova_flags(rpc_response_timeout=3)
        with mock.patch.object(api.client, 'prepare') as prepare:
            prepare.return_value.call.return_value = {
                'follow_id': 'f', 'data': '\xff\x00a', 'gap': True,
                'ended': False}
            answer = api.follow_console_log(
                CTX, 'h', test_manager._instance(), None, 7, 2.5)
        # A host that does not send retry_after (older) means no pause.
        self.assertEqual({'follow_id': 'f', 'data': b'\xff\x00a',
                          'gap': True, 'ended': False, 'retry_after': 0.0},
                         answer)
        prepare.assert_called_once_with(server='h', version='2.0',
                                        timeout=3,
                                        retry=rpcapi.CALL_RETRIES)
        kwargs = prepare.return_value.call.call_args[1]
        self.assertEqual((None, 7, 2.5), (kwargs['follow_id'],
                                          kwargs['history_bytes'],
                                          kwargs['wait']))

    def test_malformed_answers(self):
        api = rpcapi.ComputeAPI(self.nova_conf)
        good = {'follow_id': 'f', 'data': 'a', 'gap': False,
                'ended': False}
        for bad in (None, [], {}, dict(good, data='\u20ac'),
                    dict(good, data=b'a'), dict(good, gap=None),
                    dict(good, ended='yes'), dict(good, follow_id=5),
                    dict(good, data='a' * (256 * 1024 + 1)),
                    dict(good, retry_after=-1), dict(good, retry_after='1'),
                    dict(good, retry_after=True),
                    dict(good, retry_after=float('nan')),
                    dict(good, retry_after=61)):
            with mock.patch.object(api.client, 'prepare') as prepare:
                prepare.return_value.call.return_value = bad
                e = self.assertRaises(
                    exception.ComputeHostError, api.follow_console_log,
                    CTX, 'h', test_manager._instance(), 'f', None, 0)
            self.assertIn('malformed console follow answer', e.message)

    def test_retry_after_passes_through(self):
        api = rpcapi.ComputeAPI(self.nova_conf)
        with mock.patch.object(api.client, 'prepare') as prepare:
            prepare.return_value.call.return_value = {
                'follow_id': 'f', 'data': '', 'gap': False,
                'ended': False, 'retry_after': 1}
            answer = api.follow_console_log(
                CTX, 'h', test_manager._instance(), 'f', None, 10)
        self.assertEqual(1.0, answer['retry_after'])
        self.assertIsInstance(answer['retry_after'], float)

    def test_end_is_a_cast(self):
        api = rpcapi.ComputeAPI(self.nova_conf)
        with mock.patch.object(api.client, 'prepare') as prepare:
            self.assertTrue(api.end_console_follow(
                CTX, 'h', test_manager._instance(), 'f'))
        prepare.assert_called_once_with(server='h', retry=0)
        self.assertEqual('end_console_follow',
                         prepare.return_value.cast.call_args[0][1])
        self.assertFalse(prepare.return_value.call.called)


class ChecksTestCase(base.RPCTestCase):
    def test_check_history_bytes(self):
        check = console_followers.check_history_bytes
        self.assertEqual(102400, check(None))
        self.assertEqual((0, 5, 102400), (check(0), check(5),
                                          check(102400)))

    def test_check_wait(self):
        check = console_followers.check_wait
        self.assertEqual((0.0, 0.0, 2.5, 3.0),
                         (check(None), check(0), check(2.5), check(3)))
