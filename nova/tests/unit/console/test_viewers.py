"""Console hubs (nova.console.viewers) against a fake compute API."""

import base64
import select
import threading
import time
import uuid

import fixtures

from nova.compute import console_followers
import nova.conf
from nova.console import viewers
from nova import exception
from nova import test
from nova.tests.unit.console import fake_follow

TIMEOUT = 10


def wait_for(predicate, what='condition'):
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('%s not met within %s s' % (what, TIMEOUT))
        time.sleep(0.01)


class Collector:
    """A subscriber's connection: waits on its descriptor, keeps what it
    takes (history bytes, live bytes, gap markers in order)."""

    def __init__(self, sub):
        self.sub = sub
        self.history = None
        self.events = []  # bytes and 'gap', history then live

    @property
    def data(self):
        return b''.join(e for e in self.events if isinstance(e, bytes))

    def poll(self, timeout=TIMEOUT):
        """Wait for a wake-up (through the descriptor) and take."""
        poller = select.poll()
        poller.register(self.sub.fileno(), select.POLLIN)
        if not poller.poll(timeout * 1000):
            return False
        self.sub.clear()
        for item in self.sub.take(1 << 30):
            if isinstance(item, tuple):
                self.history = item[1]
                self.events.extend(item[2])
                self.events.append('live')
            else:
                self.events.append(item)
        return True

    def until(self, predicate, what='data'):
        deadline = time.monotonic() + TIMEOUT
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError('%s not received: %r'
                                     % (what, self.events[-5:]))
            self.poll(0.2)


class HubTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.limits = [64, 512, 1024 * 1024]
        self.use_api(fake_follow.FakeFollowAPI())
        self.uuid = str(uuid.uuid4())

    def use_api(self, api):
        """Hubs on ``api`` (the proxy's console API, injected)."""
        self.api = api
        self.hubs = viewers.Hubs(api, lambda: self.limits)
        self.addCleanup(self.hubs.close_all, 1001, 'test over')

    def subscribe(self, read_only=True, history=viewers.MAX_CONSOLE_BYTES,
                  after=None, instance=None, target=None):
        # ``target`` only when given: as a proxy that does not pass it.
        kw = {} if target is None else {'target': target}
        sub = self.hubs.subscribe(instance or self.uuid, read_only, history,
                                  after, **kw)
        self.addCleanup(sub.close)
        return Collector(sub)


class TestParams(test.TestCase):
    def test_window_is_the_console_logs(self):
        from nova.virt.libvirt import console_log
        self.assertEqual(console_log.MAX_CONSOLE_BYTES,
                         viewers.MAX_CONSOLE_BYTES)

    def test_history(self):
        self.assertEqual(0, viewers.parse_history('0'))
        self.assertEqual(102400, viewers.parse_history('102400'))
        for bad in ('', '-1', '102401', '1.5', ' 1', '+1', 'x', '١٢',
                    '9' * 20):
            self.assertRaises(ValueError, viewers.parse_history, bad)

    def test_after(self):
        self.assertEqual(b'abc', viewers.parse_after('YWJj'))
        self.assertEqual(b'ab', viewers.parse_after('YWI'))
        self.assertEqual(b'ab', viewers.parse_after('YWI='))
        self.assertEqual(b'\xfb\xff', viewers.parse_after('-_8'))
        self.assertEqual(1024, len(viewers.parse_after(
            base64.urlsafe_b64encode(b'x' * 1024).decode())))
        for bad in ('', '=', 'Y', 'YWI==', 'YW=I', 'YWJj+/==', 'YW Jj',
                    base64.urlsafe_b64encode(b'x' * 1025).decode()):
            self.assertRaises(ValueError, viewers.parse_after, bad)


class TestHistory(HubTestCase):
    def test_history_then_live_with_one_follower(self):
        self.api.write(self.uuid, b'boot 1\nboot 2\n')
        first = self.subscribe(history=7)
        first.until(lambda c: 'live' in c.events)
        self.assertEqual(7, first.history)
        self.assertEqual([b'boot 2\n', 'live'], first.events)
        self.api.write(self.uuid, b'login: ')
        first.until(lambda c: c.data.endswith(b'login: '))
        # A second subscriber shares the hub: no second follower.
        second = self.subscribe(history=4)
        second.until(lambda c: 'live' in c.events)
        self.assertEqual([b'in: ', 'live'], second.events)
        self.assertEqual(1, len(self.api.open_followers(self.uuid)))
        # The hub asked for the whole window once, with an admin context.
        ctxt, uid, host, fid, history, wait = self.api.follow_calls[0]
        self.assertTrue(ctxt.is_admin)
        self.assertEqual((self.uuid, None, None, viewers.MAX_CONSOLE_BYTES,
                          0), (uid, host, fid, history, wait))
        later = self.api.follow_calls[-1]
        self.assertEqual(fake_follow.HOST, later[2])
        self.assertIsNotNone(later[3])
        self.assertEqual(viewers.FOLLOW_WAIT, later[5])

    def test_window_keeps_the_newest_bytes(self):
        self.api.write(self.uuid, b'a' * 1000)
        first = self.subscribe(history=10)
        first.until(lambda c: 'live' in c.events)
        self.api.write(self.uuid, b'b' * viewers.MAX_CONSOLE_BYTES)
        first.until(lambda c: len(c.data) == 10 + viewers.MAX_CONSOLE_BYTES)
        late = self.subscribe()
        late.until(lambda c: 'live' in c.events)
        self.assertEqual(b'b' * viewers.MAX_CONSOLE_BYTES, late.data)

    def test_history_zero(self):
        self.api.write(self.uuid, b'old')
        sub = self.subscribe(history=0)
        sub.until(lambda c: 'live' in c.events)
        self.assertEqual(['live'], sub.events)
        self.assertEqual(0, sub.history)


class TestAfter(HubTestCase):
    def history(self, after, history=viewers.MAX_CONSOLE_BYTES):
        sub = self.subscribe(history=history, after=after)
        sub.until(lambda c: 'live' in c.events)
        return sub.events

    def test_resumes_after_the_last_occurrence(self):
        self.api.write(self.uuid, b'one MARK two MARK three')
        self.assertEqual([b' three', 'live'], self.history(b'MARK'))

    def test_marker_at_the_end(self):
        self.api.write(self.uuid, b'one MARK')
        self.assertEqual(['live'], self.history(b'MARK'))

    def test_marker_not_found_gives_a_gap_then_history(self):
        self.api.write(self.uuid, b'one two')
        self.assertEqual(['gap', b'two', 'live'],
                         self.history(b'MARK', history=3))

    def test_more_than_history_after_the_marker_is_cut_with_a_gap(self):
        self.api.write(self.uuid, b'MARK 0123456789')
        self.assertEqual(['gap', b'789', 'live'],
                         self.history(b'MARK', history=3))

    def test_marker_rotated_out_of_the_window(self):
        self.api.write(self.uuid, b'MARK' + b'x' * viewers.MAX_CONSOLE_BYTES)
        events = self.history(b'MARK')
        self.assertEqual('gap', events[0])
        self.assertEqual(b'x' * viewers.MAX_CONSOLE_BYTES, events[1])


class TestGaps(HubTestCase):
    def test_gap_in_live_output_and_in_later_history(self):
        self.api.write(self.uuid, b'before ')
        sub = self.subscribe()
        sub.until(lambda c: c.data == b'before ')
        self.api.write(self.uuid, b'after', gap=True)
        sub.until(lambda c: c.data == b'before after')
        self.assertEqual([b'before ', 'live', 'gap', b'after'], sub.events)
        late = self.subscribe()
        late.until(lambda c: 'live' in c.events)
        self.assertEqual([b'before ', 'gap', b'after', 'live'], late.events)

    def test_gap_in_the_first_answer(self):
        self.api.write(self.uuid, b'rotated', gap=True)
        sub = self.subscribe()
        sub.until(lambda c: 'live' in c.events)
        self.assertEqual(['gap', b'rotated', 'live'], sub.events)

    def test_expired_follower_is_reopened_from_now_with_a_gap(self):
        self.api.write(self.uuid, b'one ')
        sub = self.subscribe()
        sub.until(lambda c: c.data == b'one ')
        # The compute host forgets the follower (its idle sweep).
        wait_for(lambda: self.api.open_followers(self.uuid))
        with self.api.cond:
            self.api.followers.clear()
        wait_for(lambda: self.api.open_followers(self.uuid),
                 'a new follower')
        self.api.write(self.uuid, b'two')
        sub.until(lambda c: c.data.endswith(b'two'))
        self.assertEqual([b'one ', 'live', 'gap', b'two'], sub.events)
        reopen = [c for c in self.api.follow_calls if c[3] is None][-1]
        self.assertEqual(0, reopen[4])  # no history twice


class TestExactJoint(HubTestCase):
    def test_concurrent_appends_and_subscriptions(self):
        # Numbered records: any byte missing, repeated or out of order
        # breaks the comparison with the written stream.
        self.api.max_wait = 0.01
        written = []
        stop = threading.Event()

        def writer():
            n = 0
            while not stop.is_set():
                record = b'%08d;' % n
                written.append(record)
                self.api.write(self.uuid, record)
                n += 1
                if n % 50 == 0:
                    time.sleep(0.001)
        thread = threading.Thread(target=writer)
        thread.start()
        subs = []
        try:
            for n in range(30):
                subs.append(self.subscribe(history=(n * 37) % 400))
                time.sleep(0.005)
                for sub in subs:
                    sub.poll(0)
        finally:
            stop.set()
            thread.join()
        stream = b''.join(written)
        for sub in subs:
            sub.until(lambda c: c.data.endswith(written[-1]),
                      'the last record')
            self.assertNotIn('gap', sub.events)
            self.assertEqual(stream[-len(sub.data):], sub.data)
            # The history is what was asked for (the log is long enough
            # by the time the hub answered).
            self.assertEqual(sub.history, len(
                b''.join(sub.events[:sub.events.index('live')])))


class TestLimits(HubTestCase):
    def test_viewers_per_instance(self):
        self.limits[0] = 2
        self.subscribe()
        self.subscribe()
        self.assertRaises(viewers.TooManyViewers, self.subscribe)
        # Interactive sessions with history are not viewers.
        self.subscribe(read_only=False)
        # Another instance has its own count.
        self.subscribe(instance=str(uuid.uuid4()))

    def test_viewers_per_instance_across_its_hubs(self):
        # Hubs are keyed by instance and token target: tokens of the old
        # and the new host around a migration must not double the cap.
        self.limits[0] = 1
        self.subscribe(target=('192.0.2.1', 10000))
        self.assertRaises(viewers.TooManyViewers, self.subscribe,
                          target=('192.0.2.2', 10000))
        self.subscribe(instance=str(uuid.uuid4()),
                       target=('192.0.2.2', 10000))

    def test_viewers_per_instance_freed_on_leaving(self):
        self.limits[0] = 1
        first = self.subscribe(target=('192.0.2.1', 10000))
        first.sub.close()
        self.subscribe(target=('192.0.2.2', 10000))

    def test_viewers_in_total(self):
        self.limits[1] = 2
        first = self.subscribe()
        self.subscribe(instance=str(uuid.uuid4()))
        self.assertRaises(viewers.TooManyViewers, self.subscribe,
                          instance=str(uuid.uuid4()))
        first.sub.close()
        self.assertEqual(1, self.hubs.viewers)
        self.subscribe(instance=str(uuid.uuid4()))

    def test_slow_subscriber_is_dropped_others_go_on(self):
        self.limits[2] = 300 * 1024
        slow = self.subscribe()
        fast = self.subscribe()
        fast.until(lambda c: 'live' in c.events)
        for n in range(8):
            self.api.write(self.uuid, bytes([65 + n]) * 50 * 1024)
            fast.until(lambda c: len(c.data) == (n + 1) * 50 * 1024)
        wait_for(lambda: slow.sub.done() is not None, 'the slow one dropped')
        self.assertEqual((4008, 'Too slow: fell more than 307200 bytes '
                          'behind'), slow.sub.done())
        self.assertTrue(slow.sub.drop_now)
        self.assertEqual([], slow.sub.items)
        self.assertIsNone(fast.sub.done())


class TestEnd(HubTestCase):
    def test_last_subscriber_leaving_ends_the_follow(self):
        first, second = self.subscribe(), self.subscribe()
        first.until(lambda c: 'live' in c.events)
        wait_for(lambda: self.api.open_followers(self.uuid))
        fid = self.api.open_followers(self.uuid)[0]
        first.sub.close()
        self.assertIsNotNone(self.hubs.get(self.uuid))
        second.sub.close()
        self.assertIsNone(self.hubs.get(self.uuid))
        wait_for(lambda: self.api.ended_follows, 'end_console_follow')
        self.assertEqual([(self.uuid, fake_follow.HOST, fid)],
                         self.api.ended_follows)
        # A new subscriber starts a new hub and follower.
        third = self.subscribe()
        third.until(lambda c: 'live' in c.events)

    def test_hub_end_delivers_the_rest_then_4000(self):
        sub = self.subscribe()
        sub.until(lambda c: 'live' in c.events)
        self.api.write(self.uuid, b'last words')
        self.api.leave(self.uuid)
        sub.until(lambda c: c.sub.done() is not None and not c.sub.items)
        self.assertEqual(b'last words', sub.data)
        self.assertEqual((4000, viewers.GONE), sub.sub.done())
        self.assertFalse(sub.sub.drop_now)
        self.assertIsNone(self.hubs.get(self.uuid))
        # The compute host closed that follower itself.
        self.assertEqual([], self.api.ended_follows)

    def test_instance_gone_at_start(self):
        self.api.errors[self.uuid] = exception.InstanceNotFound(
            instance_id=self.uuid)
        sub = self.subscribe()
        wait_for(lambda: sub.sub.done() is not None)
        self.assertEqual((4000, viewers.GONE), sub.sub.done())
        self.assertIsNone(sub.history)

    def test_no_log_to_follow(self):
        self.api.errors[self.uuid] = exception.ConsoleLogFollowUnavailable(
            instance_uuid=self.uuid, reason='a pty')
        sub = self.subscribe()
        wait_for(lambda: sub.sub.done() is not None)
        self.assertEqual((1011, viewers.NO_LOG), sub.sub.done())

    def test_compute_host_follows_too_many(self):
        self.api.errors[self.uuid] = exception.TooManyConsoleFollowers(
            host=fake_follow.HOST, limit=256)
        sub = self.subscribe()
        wait_for(lambda: sub.sub.done() is not None)
        self.assertEqual((1013, viewers.TRY_LATER), sub.sub.done())

    def test_transient_failures_are_retried(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.console.viewers.RETRY_DELAY', 0.01))
        self.api.errors[self.uuid] = RuntimeError('broker hiccup')
        self.api.write(self.uuid, b'fine')
        sub = self.subscribe()
        sub.until(lambda c: 'live' in c.events)
        self.assertEqual([b'fine', 'live'], sub.events)

    def test_close_all(self):
        sub = self.subscribe()
        sub.until(lambda c: 'live' in c.events)
        self.hubs.close_all(1001, 'stopping')
        self.assertEqual((1001, 'stopping'), sub.sub.done())
        self.assertTrue(sub.poll(0))  # woken

    def test_subscriber_after_close_all_is_ended(self):
        # A session that passed the proxy's "stopping" check just before
        # stop() must still be ended, not left with a hub that never
        # answers nor ends.
        self.hubs.close_all(1001, 'stopping')
        sub = self.subscribe()
        self.assertTrue(sub.poll(TIMEOUT))  # woken
        self.assertEqual((1001, 'stopping'), sub.sub.done())
        self.assertEqual([], self.api.follow_calls)
        self.assertIsNone(self.hubs.get(self.uuid))


class TestChurn(HubTestCase):
    """A client that opens and closes viewers of one console in a loop."""

    def setUp(self):
        super().setUp()
        # Long-polls as long as a real compute host does.
        self.api.max_wait = viewers.FOLLOW_WAIT

    def hub_threads(self):
        name = 'console-hub-%s' % self.uuid
        return [t for t in threading.enumerate()
                if t.name == name and t.is_alive()]

    def long_polling(self):
        return any(call[5] for call in self.api.follow_calls
                   if call[3] is not None)

    def test_churn_keeps_one_hub_thread_and_follower(self):
        for n in range(20):
            sub = self.subscribe()
            sub.until(lambda c: 'live' in c.events)
            wait_for(self.long_polling, 'a long-poll')
            sub.sub.close()
            self.api.follow_calls[:] = []
            self.assertLessEqual(len(self.hub_threads()), 2)
            self.assertLessEqual(
                len(self.api.open_followers(self.uuid)), 1)
        # The last one left: the hub's long-poll is cut short (its
        # follower ended), and its thread exits.
        wait_for(lambda: not self.hub_threads(), 'the hub thread gone')
        self.assertEqual([], self.api.open_followers(self.uuid))

    def test_stopped_hub_is_resumed_without_a_new_follower(self):
        # The viewer that comes while the stopped hub's thread still
        # runs joins that hub: no second thread for the same console.
        self.api.write(self.uuid, b'boot\n')
        first = self.subscribe()
        first.until(lambda c: 'live' in c.events)
        hub = self.hubs.get(self.uuid)
        wait_for(self.long_polling, 'a long-poll')
        # As the last subscriber leaving does, minus the end of the
        # follower: the next one comes before the thread acts on the stop.
        self.useFixture(fixtures.MockPatchObject(hub, '_end_now'))
        first.sub.close()
        self.assertTrue(hub._stop.is_set())
        second = self.subscribe()
        self.assertIs(hub, second.sub.hub)
        self.assertIs(hub, self.hubs.get(self.uuid))
        second.until(lambda c: 'live' in c.events)
        self.assertEqual([b'boot\n', 'live'], second.events)
        self.api.write(self.uuid, b'more')
        second.until(lambda c: c.data.endswith(b'more'))
        self.assertEqual(1, len(self.hub_threads()))


class _QuietFollower:
    """A LogFollower of a guest that writes nothing: read(timeout) waits
    the whole timeout (as inotify would) and returns no bytes."""

    def __init__(self):
        self._closed = threading.Event()

    def read(self, timeout=None):
        self._closed.wait(timeout or 0)
        return b''

    def close(self):
        self._closed.set()


class _TableAPI:
    """follow_console_log over a real FollowerTable of one compute host,
    counting calls. Its answers lack ``retry_after``, as an older host's:
    the hub must pace itself."""

    def __init__(self, table):
        self.table = table
        self.lock = threading.Lock()
        self.calls = {}

    def follow_console_log(self, ctxt, instance_uuid, host=None,
                           follow_id=None, history_bytes=None, wait=0):
        with self.lock:
            self.calls[instance_uuid] = self.calls.get(instance_uuid, 0) + 1
        if follow_id is None:
            follow_id = self.table.start(instance_uuid, _QuietFollower)
        data, gap, ended = self.table.read(instance_uuid, follow_id, wait)
        return {'host': fake_follow.HOST, 'follow_id': follow_id,
                'data': data, 'gap': gap, 'ended': ended}

    def end_console_follow(self, ctxt, instance_uuid, host, follow_id):
        self.table.end(instance_uuid, follow_id)


class _PausingFollowAPI(fake_follow.FakeFollowAPI):
    """A host that never waits and asks for ``retry_after`` (None: an
    older host that does not say)."""

    def __init__(self, retry_after=None):
        super().__init__(max_wait=0)
        self.retry_after = retry_after
        self.not_found = False  # forget every follower at once

    def follow_console_log(self, ctxt, instance_uuid, host=None,
                           follow_id=None, history_bytes=None, wait=0):
        if self.not_found and follow_id is not None:
            with self.cond:
                self.follow_calls.append((instance_uuid, follow_id))
            raise exception.ConsoleFollowNotFound(
                instance_uuid=instance_uuid, host=fake_follow.HOST, idle=60)
        answer = super().follow_console_log(
            ctxt, instance_uuid, host, follow_id, history_bytes, wait)
        if self.retry_after is not None:
            answer['retry_after'] = self.retry_after
        return answer


class TestPacing(HubTestCase):
    """No host and no setting makes a hub ask in a loop."""

    def calls_in(self, seconds):
        before = len(self.api.follow_calls)
        time.sleep(seconds)
        return len(self.api.follow_calls) - before

    def test_hub_over_the_hosts_waiter_cap_does_not_spin(self):
        host_conf = nova.conf.new_conf()
        host_conf([], project='nova', default_config_files=[])
        # One waiting slot for two watched guests: one hub's reads are
        # answered at once, empty.
        host_conf.set_override('max_console_follow_waiters', 1,
                               group='serial_console')
        table = console_followers.FollowerTable(fake_follow.HOST, host_conf)
        self.addCleanup(table.close_all)
        api = _TableAPI(table)
        hubs = viewers.Hubs(api, lambda: self.limits)
        self.addCleanup(hubs.close_all, 1001, 'test over')
        for instance in (str(uuid.uuid4()), str(uuid.uuid4())):
            self.addCleanup(hubs.subscribe(instance, True, 0).close)
        time.sleep(2)
        with api.lock:
            calls = dict(api.calls)
        # Quiet guests, reads that may wait 10 s or are told to pause
        # 1 s: a handful of calls. A busy loop makes thousands.
        self.assertLess(sum(calls.values()), 20,
                        'follow calls in 2 s of two quiet guests: %r'
                        % calls)

    def test_host_that_never_waits_nor_says_is_polled_slowly(self):
        self.use_api(_PausingFollowAPI())
        viewer = self.subscribe()
        viewer.until(lambda c: 'live' in c.events)
        # At most one call per POLL_FLOOR (0.5 s), and a few more.
        self.assertLess(self.calls_in(2), 10)
        # Bytes still come through.
        self.api.write(self.uuid, b'late')
        viewer.until(lambda c: c.data == b'late')

    def test_retry_after_is_obeyed_and_stop_cuts_it_short(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.console.viewers.FOLLOW_WAIT', 60))
        self.use_api(_PausingFollowAPI(retry_after=60))
        viewer = self.subscribe()
        viewer.until(lambda c: 'live' in c.events)
        wait_for(lambda: len(self.api.follow_calls) >= 2, 'a second call')
        self.assertEqual(0, self.calls_in(1))
        hub = self.hubs.get(self.uuid)
        viewer.sub.close()
        # The hub leaves its 60 s pause at once and ends its follow.
        hub._thread.join(TIMEOUT)
        self.assertFalse(hub._thread.is_alive())
        self.assertEqual(1, len(self.api.ended_follows))

    def test_host_that_forgets_every_follower_is_not_asked_in_a_loop(self):
        self.use_api(_PausingFollowAPI())
        viewer = self.subscribe()
        viewer.until(lambda c: 'live' in c.events)
        self.api.not_found = True
        self.assertLess(self.calls_in(2), 12)


class TestSubscribeIsAtomic(HubTestCase):
    """A subscription that fails half-way (no descriptor left: EMFILE,
    which any client can bring about by opening connections) leaves
    nothing behind: no hub that nobody starts, no viewer counted."""

    def test_failed_subscribe_leaves_no_dead_hub(self):
        self.api.write(self.uuid, b'boot banner\n')

        def no_descriptor(*args):
            raise OSError(24, 'Too many open files')

        with fixtures.MonkeyPatch('os.eventfd', no_descriptor):
            self.assertRaises(OSError, self.subscribe)
        self.assertIsNone(self.hubs.get(self.uuid))
        self.assertEqual(0, self.hubs.viewers)
        # Descriptors are back: the next viewer sees the console.
        viewer = self.subscribe()
        viewer.until(lambda c: 'live' in c.events)
        self.assertEqual([b'boot banner\n', 'live'], viewer.events)

    def test_hub_that_cannot_start_leaves_nothing(self):
        self.api.write(self.uuid, b'boot banner\n')

        def no_thread(hub):
            raise RuntimeError("can't start new thread")

        closed = []
        real_discard = viewers.Subscriber.discard

        def discard(sub):
            closed.append(sub.fileno())
            real_discard(sub)

        with fixtures.MonkeyPatch('nova.console.viewers.Hub.start',
                                  no_thread), fixtures.MonkeyPatch(
                'nova.console.viewers.Subscriber.discard', discard):
            self.assertRaises(RuntimeError, self.subscribe)
        self.assertEqual(1, len(closed))    # its eventfd was closed
        self.assertIsNone(self.hubs.get(self.uuid))
        self.assertEqual(0, self.hubs.viewers)
        viewer = self.subscribe()
        viewer.until(lambda c: 'live' in c.events)
        self.assertEqual([b'boot banner\n', 'live'], viewer.events)


class _MovingFollowAPI(fake_follow.FakeFollowAPI):
    """The compute API's answers around a live migration: a follow of a
    host the instance left answers ``ended`` at once; a follow without a
    host goes to the instance's host of now."""

    def __init__(self):
        super().__init__(max_wait=5)
        self.where = {}

    def follow_console_log(self, ctxt, instance_uuid, host=None,
                           follow_id=None, history_bytes=None, wait=0):
        here = self.where.get(instance_uuid, fake_follow.HOST)
        if host is not None and host != here:
            return {'host': host, 'follow_id': follow_id, 'data': b'',
                    'gap': False, 'ended': True}
        answer = super().follow_console_log(
            ctxt, instance_uuid, here, follow_id, history_bytes, wait)
        answer['host'] = here
        return answer


class TestHubPerTarget(HubTestCase):
    def test_new_token_after_a_move_reaches_the_new_host(self):
        self.use_api(_MovingFollowAPI())
        self.api.write(self.uuid, b'on a\n')
        old = self.subscribe(target=('192.0.2.1', 10000))
        old.until(lambda c: 'live' in c.events)
        wait_for(lambda: len(self.api.follow_calls) >= 2, 'the long poll')
        # The instance moves (a new serial port on the new host); the old
        # hub's long poll on the old host goes on (up to 5 s here) before
        # it learns. A client with a new token connects meanwhile.
        self.api.where[self.uuid] = 'compute-2'
        new = self.subscribe(target=('192.0.2.2', 10001))
        new.until(lambda c: 'live' in c.events)
        self.assertEqual([b'on a\n', 'live'], new.events)
        self.assertIsNot(self.hubs.get(self.uuid, ('192.0.2.1', 10000)),
                         self.hubs.get(self.uuid, ('192.0.2.2', 10001)))
        self.api.write(self.uuid, b'on b\n')
        new.until(lambda c: c.data == b'on a\non b\n')
        # The old client is told to ask for a new URL; the new one is not.
        old.until(lambda c: c.sub.done() is not None, 'the end')
        self.assertEqual(4000, old.sub.done()[0])
        self.assertIsNone(new.sub.done())
        # The new hub asked where the instance is now, then followed
        # compute-2; the target is never sent as a compute host.
        new_calls = [c for c in self.api.follow_calls
                     if c[2] == 'compute-2']
        self.assertTrue(new_calls)

    def test_same_target_shares_one_hub(self):
        first = self.subscribe(target=('192.0.2.1', 10000))
        second = self.subscribe(target=('192.0.2.1', 10000))
        self.assertIs(first.sub.hub, second.sub.hub)
        first.until(lambda c: 'live' in c.events)
        # The first call of a hub asks no particular host.
        self.assertIsNone(self.api.follow_calls[0][2])
