"""The FollowerTable of a compute host: ids, caps, expiry, waits."""

import os
import threading

import fixtures

import nova.conf
from nova.compute import console_followers
from nova import exception
from nova import test
from nova.tests.unit.compute import base
from nova.tests.unit.compute import fake_driver
from nova.tests.unit import fake_uuids as ids
from nova.virt.libvirt import console_follow


def _read(table, *args, **kwargs):
    """The table's answer without its retry_after: (data, gap, ended)."""
    return table.follow(*args, **kwargs)[:3]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class TableTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.host_conf = nova.conf.new_conf()
        self.host_conf([], project='nova', default_config_files=[])
        self.clock = Clock()
        self.table = console_followers.FollowerTable('h1', self.host_conf,
                                                     clock=self.clock)
        self.addCleanup(self.table.close_all)
        self.logs = {}

    def host_flags(self, **kw):
        for name, value in kw.items():
            self.host_conf.set_override(name, value, group='serial_console')

    def log(self, uuid=ids.SRV1):
        return self.logs.setdefault(uuid, fake_driver.FakeConsoleLog())

    def start(self, uuid=ids.SRV1, history=100):
        return self.table.start(
            uuid, lambda: fake_driver.FakeFollower(self.log(uuid), history))

    def follower(self, uuid=ids.SRV1, i=-1):
        return self.log(uuid).followers[i]

    def test_ids_are_random_and_url_safe(self):
        fids = {self.start() for _ in range(50)}
        self.assertEqual(50, len(fids))
        for fid in fids:
            self.assertRegex(fid, r'^[A-Za-z0-9_-]{22}$')

    def test_read(self):
        self.log().write(b'hist')
        fid = self.start()
        self.assertEqual((b'hist', False, False),
                         _read(self.table, ids.SRV1, fid))
        self.assertEqual((b'', False, False), _read(self.table, ids.SRV1, fid))

    def test_id_bound_to_its_instance(self):
        fid = self.start()
        self.log().write(b'secret of SRV1')
        e = self.assertRaises(exception.ConsoleFollowNotFound,
                              self.table.follow, ids.SRV2, fid)
        unknown = self.assertRaises(exception.ConsoleFollowNotFound,
                                    self.table.follow, ids.SRV2, 'x' * 22)
        # Refused exactly as an unknown id.
        self.assertEqual(unknown.message, e.message)
        self.assertFalse(self.table.end(ids.SRV2, fid))
        self.assertEqual(b'secret of SRV1', _read(
            self.table, ids.SRV1, fid)[0])

    def test_odd_ids_are_unknown(self):
        self.start()
        for bad in (None, 5, b'x', 'x' * 10000, ''):
            self.assertRaises(exception.ConsoleFollowNotFound,
                              self.table.follow, ids.SRV1, bad)

    def test_cap(self):
        self.host_flags(max_console_followers=3)
        fids = [self.start(uuid) for uuid in (ids.SRV1, ids.SRV2,
                                              ids.SRV1)]
        e = self.assertRaises(exception.TooManyConsoleFollowers,
                              self.start, ids.SRV2)
        self.assertEqual(409, e.code)
        self.assertIn('on host h1', e.message)
        self.assertIn('max_console_followers', e.message)
        self.table.end(ids.SRV1, fids[0])
        self.start(ids.SRV2)
        self.assertEqual(3, len(self.table))

    def test_opening_counts_against_the_cap(self):
        # Two opens at once never pass the cap together.
        self.host_flags(max_console_followers=1)
        entered, release = threading.Event(), threading.Event()

        def slow_open():
            entered.set()
            release.wait(10)
            return fake_driver.FakeFollower(self.log(), 0)

        thread = threading.Thread(
            target=self.table.start, args=(ids.SRV1, slow_open))
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(release.set)
        self.assertTrue(entered.wait(10))
        self.assertRaises(exception.TooManyConsoleFollowers, self.start)
        release.set()
        thread.join(10)
        self.assertEqual(1, len(self.table))

    def test_failed_open_frees_its_slot(self):
        self.host_flags(max_console_followers=1)

        def fail():
            raise exception.InstanceNotFound(instance_id=ids.SRV1)

        self.assertRaises(exception.InstanceNotFound, self.table.start,
                          ids.SRV1, fail)
        self.start()

    def test_idle_followers_expire(self):
        self.host_flags(console_follower_idle_timeout=60)
        old = self.start(ids.SRV1)
        old_follower = self.follower(ids.SRV1)
        self.clock.now += 30
        fresh = self.start(ids.SRV2)
        self.clock.now += 31        # old: 61 s without a read
        _read(self.table, ids.SRV2, fresh)
        self.assertTrue(old_follower.closed)
        e = self.assertRaises(exception.ConsoleFollowNotFound,
                              self.table.follow, ids.SRV1, old)
        self.assertIn('60 s', e.message)
        self.assertEqual(1, len(self.table))
        # Reading keeps one alive.
        for _ in range(5):
            self.clock.now += 59
            _read(self.table, ids.SRV2, fresh)
        self.assertEqual(1, len(self.table))

    def test_expired_slot_is_free_for_a_new_one(self):
        self.host_flags(max_console_followers=1)
        self.start()
        self.clock.now += 61
        self.start()
        self.assertEqual(1, len(self.table))

    def test_end_closes(self):
        fid = self.start()
        follower = self.follower()
        self.assertTrue(self.table.end(ids.SRV1, fid))
        self.assertTrue(follower.closed)
        self.assertFalse(self.table.end(ids.SRV1, fid))
        self.assertRaises(exception.ConsoleFollowNotFound,
                          self.table.follow, ids.SRV1, fid)

    def test_end_during_a_waiting_read(self):
        fid = self.start(history=0)
        follower = self.follower()
        results = []
        thread = threading.Thread(target=lambda: results.append(
            _read(self.table, ids.SRV1, fid, wait=5)))
        thread.start()
        base.wait_for(self, lambda: follower.timeouts, 'the read')
        self.assertTrue(self.table.end(ids.SRV1, fid))
        # Not closed under the reader's feet: the reader closes it.
        self.assertFalse(follower.closed)
        self.log().write(b'x')
        thread.join(10)
        self.assertEqual([(b'x', False, False)], results)
        self.assertTrue(follower.closed)

    def test_end_wakes_a_read_waiting_on_a_real_follower(self):
        # A proxy that ends a follower (its last viewer left) must free
        # the follower and its waiting slot now, not when the long-poll
        # times out: else a client that opens and closes viewers in a
        # loop holds followers and waiter slots of the whole host.
        self.host_flags(console_follow_max_wait=60)
        # open_dir() wants a folder 0700 in a folder nobody else writes.
        folder = os.path.join(self.useFixture(fixtures.TempDir()).path,
                              'instance')
        os.mkdir(folder, 0o700)
        path = os.path.join(folder, 'console.log')
        with open(path, 'wb') as f:
            f.write(b'boot\n')
        fid = self.table.start(
            ids.SRV1, lambda: console_follow.LogFollower(path, 0))
        results = []
        thread = threading.Thread(target=lambda: results.append(
            _read(self.table, ids.SRV1, fid, wait=60)))
        thread.start()
        self.addCleanup(thread.join, 70)
        base.wait_for(self, lambda: self.table._waiting == 1, 'the read')
        self.assertTrue(self.table.end(ids.SRV1, fid))
        thread.join(10)
        self.assertFalse(thread.is_alive(), 'the read still waits')
        self.assertEqual([(b'', False, False)], results)
        self.assertEqual(0, self.table._waiting)
        self.assertEqual(0, len(self.table))
        self.assertRaises(exception.ConsoleFollowNotFound,
                          self.table.follow, ids.SRV1, fid)

    def test_one_read_at_a_time(self):
        fid = self.start(history=0)
        follower = self.follower()
        results = []
        thread = threading.Thread(target=lambda: results.append(
            _read(self.table, ids.SRV1, fid, wait=5)))
        thread.start()
        base.wait_for(self, lambda: follower.timeouts, 'the read')
        # A second read (a retry) does not wait for the first (it would
        # hold an RPC thread outside the waiters' count): it answers now
        # and asks for a pause.
        self.assertEqual((b'', False, False, console_followers.RETRY_AFTER),
                         self.table.follow(ids.SRV1, fid, wait=5))
        self.assertEqual(1, len(follower.timeouts))
        self.log().write(b'x')
        thread.join(10)
        self.assertEqual([(b'x', False, False)], results)

    def test_waiters_are_capped(self):
        self.host_flags(max_console_follow_waiters=2)
        fids = [self.start(uuid, history=0)
                for uuid in (ids.SRV1, ids.SRV2, ids.SRV3)]
        threads = []
        for uuid, fid in zip((ids.SRV1, ids.SRV2), fids):
            thread = threading.Thread(target=self.table.follow,
                                      args=(uuid, fid, 5))
            thread.start()
            threads.append(thread)
        for uuid in (ids.SRV1, ids.SRV2):
            base.wait_for(self, lambda: self.follower(uuid).timeouts,
                          'the read')
        # The third answers at once, without waiting.
        self.assertEqual((b'', False, False),
                         _read(self.table, ids.SRV3, fids[2], wait=5))
        self.assertEqual([0], self.follower(ids.SRV3).timeouts)
        self.log(ids.SRV1).write(b'a')
        self.log(ids.SRV2).write(b'b')
        for thread in threads:
            thread.join(10)
        # Once they are done, a read waits again.
        _read(self.table, ids.SRV3, fids[2], wait=0.01)
        self.assertEqual([0, 0.01], self.follower(ids.SRV3).timeouts)

    def test_an_answer_that_did_not_wait_asks_for_a_pause(self):
        # Every slot taken (here: none at all) or no wait allowed: the
        # read answers at once, and says how long to pause, so that a
        # proxy never asks in a loop.
        for flags in ({'max_console_follow_waiters': 0},
                      {'console_follow_max_wait': 0.0}):
            self.host_flags(**flags)
            fid = self.start(history=0)
            self.assertEqual(
                (b'', False, False, console_followers.RETRY_AFTER),
                self.table.follow(ids.SRV1, fid, wait=10))
            self.assertEqual([0], self.follower().timeouts)
            # Asked not to wait: no pause asked for either.
            self.assertEqual((b'', False, False, 0.0),
                             self.table.follow(ids.SRV1, fid, wait=0))
            # Bytes: never a pause.
            self.log().write(b'x')
            self.assertEqual((b'x', False, False, 0.0),
                             self.table.follow(ids.SRV1, fid, wait=10))
            self.table.end(ids.SRV1, fid)
            for name in flags:
                self.host_conf.clear_override(name, group='serial_console')

    def test_a_short_wait_asks_for_the_rest_of_the_pause(self):
        self.host_flags(console_follow_max_wait=0.25)
        fid = self.start(history=0)
        data, gap, ended, retry_after = self.table.follow(ids.SRV1, fid,
                                                          wait=10)
        self.assertEqual([0.25], self.follower().timeouts)
        self.assertEqual(console_followers.RETRY_AFTER - 0.25, retry_after)
        # A read that waited what it asked needs no pause.
        self.assertEqual(0.0, self.table.follow(ids.SRV1, fid,
                                                wait=0.25)[3])

    def test_read_limit(self):
        fid = self.start(history=0)
        self.log().write(b'a' * (300 * 1024))
        self.assertEqual(256 * 1024, len(_read(
            self.table, ids.SRV1, fid)[0]))
        self.log().write(b'b')
        # The rest first, at once (even with a wait), then what came.
        self.assertEqual(b'a' * (44 * 1024),
                         _read(self.table, ids.SRV1, fid, wait=5)[0])
        self.assertEqual(b'b', _read(self.table, ids.SRV1, fid)[0])

    def test_gap_starts_an_answer(self):
        fid = self.start(history=0)
        self.log().write(b'before')
        self.log().rotate_away(5)
        self.log().write(b'after')
        self.assertEqual((b'before', False, False),
                         _read(self.table, ids.SRV1, fid))
        self.assertEqual((b'after', True, False),
                         _read(self.table, ids.SRV1, fid))

    def test_gap_with_nothing_after_it_is_still_told(self):
        fid = self.start(history=0)
        self.log().rotate_away(5)
        self.assertEqual((b'', True, False), _read(self.table, ids.SRV1, fid))
        self.assertEqual((b'', False, False),
                         _read(self.table, ids.SRV1, fid))

    def test_ended(self):
        fid = self.start(history=0)
        follower = self.follower()
        self.log().write(b'bye')
        self.assertEqual((b'bye', False, False), _read(
            self.table, ids.SRV1, fid, wait=5, alive=lambda: False))
        self.assertEqual((b'', False, True), _read(
            self.table, ids.SRV1, fid, wait=5, alive=lambda: False))
        self.assertEqual([0, 0], follower.timeouts)
        self.assertTrue(follower.closed)
        self.assertEqual(0, len(self.table))

    def test_alive_that_fails_does_not_end_the_follow(self):
        fid = self.start(history=0)
        self.log().write(b'x')

        def alive():
            raise exception.HypervisorUnavailable(uri='qemu:///system',
                                                  reason='restarting')

        self.assertEqual((b'x', False, False), _read(
            self.table, ids.SRV1, fid, alive=alive))
        self.assertEqual((b'', False, False), _read(
            self.table, ids.SRV1, fid, alive=alive))
        self.assertEqual(1, len(self.table))

    def test_follower_errors_close_it(self):
        fid = self.start()
        follower = self.follower()
        error = exception.InstanceFileUnsafe(path='/x', reason='a link')

        def broken(timeout=None):
            raise error

        follower.read = broken
        self.assertRaises(exception.InstanceFileUnsafe, self.table.follow,
                          ids.SRV1, fid)
        self.assertTrue(follower.closed)
        self.assertRaises(exception.ConsoleFollowNotFound,
                          self.table.follow, ids.SRV1, fid)

    def test_unexpected_follower_errors_close_it_too(self):
        fid = self.start()
        follower = self.follower()

        def broken(timeout=None):
            raise OSError(5, 'Input/output error')

        follower.read = broken
        self.assertRaises(OSError, self.table.follow, ids.SRV1, fid)
        self.assertTrue(follower.closed)
        self.assertEqual(0, len(self.table))

    def test_a_real_log_gap_is_passed_on(self):
        fid = self.start()
        follower = self.follower()
        answers = iter([console_follow.LogGap('/log'), b'after'])

        def read(timeout=None):
            answer = next(answers)
            if isinstance(answer, Exception):
                raise answer
            return answer

        follower.read = read
        self.assertEqual((b'after', True, False),
                         _read(self.table, ids.SRV1, fid))

    def test_close_all(self):
        for uuid in (ids.SRV1, ids.SRV2):
            self.start(uuid)
        self.table.close_all()
        self.assertEqual(0, len(self.table))
        self.assertEqual([], self.log(ids.SRV1).followers)


class SweepTimerTestCase(test.TestCase):
    """The idle sweep also runs on a timer: a host no call reaches any
    more still closes the followers of a proxy that went away."""

    def setUp(self):
        super().setUp()
        self.host_conf = nova.conf.new_conf()
        self.host_conf([], project='nova', default_config_files=[])
        self.host_conf.set_override('console_follower_idle_timeout', 1,
                                    group='serial_console')
        self.table = console_followers.FollowerTable('h1', self.host_conf)
        self.addCleanup(self.table.close_all)
        self.log = fake_driver.FakeConsoleLog()

    def start(self):
        self.table.start(ids.SRV1,
                         lambda: fake_driver.FakeFollower(self.log, 0))
        return self.log.followers[-1]

    def test_idle_follower_closed_without_any_other_call(self):
        follower = self.start()
        base.wait_for(self, lambda: follower.closed, 'the idle sweep',
                      timeout=15)
        self.assertEqual(0, len(self.table))
        # The timer ends with the table's last follower, and the next
        # follower starts it again.
        base.wait_for(self, lambda: self.table._sweeper is None,
                      'the timer to end', timeout=15)
        follower = self.start()
        base.wait_for(self, lambda: follower.closed, 'the idle sweep',
                      timeout=15)

    def test_close_all_stops_the_timer(self):
        follower = self.start()
        sweeper = self.table._sweeper
        self.assertTrue(sweeper.is_alive())
        self.table.close_all()
        self.assertTrue(follower.closed)
        sweeper.join(10)
        self.assertFalse(sweeper.is_alive())
        self.assertIsNone(self.table._sweeper)
