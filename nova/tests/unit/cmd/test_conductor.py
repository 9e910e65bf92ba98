"""nova-conductor: the conductor topic of a split deployment."""

import io
import signal
import threading
import time

import fixtures

from nova.cmd import conductor as cmd_conductor
from nova import exception
from nova import test


class FakeConductor:
    def __init__(self):
        self.calls = []

    def stop(self):
        self.calls.append('stop')

    def wait(self):
        self.calls.append('wait')


class MainTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.useFixture(fixtures.MockPatch('oslo_log.log.setup'))
        self.stderr = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        self.configured = []
        self.useFixture(fixtures.MockPatchObject(
            cmd_conductor.db, 'configure',
            lambda: self.configured.append(True)))
        self.conductors = []
        self.started = threading.Event()
        self.fail = None
        self.useFixture(fixtures.MockPatchObject(
            cmd_conductor.common, 'start_conductor', self._start))
        self.tmp = self.useFixture(fixtures.TempDir())
        self.handlers = {sig: signal.getsignal(sig)
                         for sig in (signal.SIGTERM, signal.SIGINT)}

    def _start(self, conf):
        if self.fail:
            raise self.fail
        self.conductors.append(FakeConductor())
        self.started.set()
        return self.conductors[-1]

    def main(self, transport_url='rabbit://u:p@127.0.0.1:1/'):
        path = self.tmp.join('nova.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nhost = conductor-1\n')
            if transport_url:
                f.write('transport_url = %s\n' % transport_url)
        return cmd_conductor.main(['nova-conductor', '--config-file', path])

    def _signal_when_started(self, signum):
        def send():
            if self.started.wait(10):
                time.sleep(0.05)
                signal.pthread_kill(threading.main_thread().ident, signum)
        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        return thread

    def test_runs_until_sigterm_then_stops(self):
        thread = self._signal_when_started(signal.SIGTERM)
        self.assertEqual(0, self.main())
        thread.join(10)
        [conductor] = self.conductors
        self.assertEqual(['stop', 'wait'], conductor.calls)
        self.assertEqual([True], self.configured)
        self.assertIn('nova-conductor serving the conductor topic as '
                      'conductor-1', self.logs.output)
        self.assertEqual(self.handlers, {
            sig: signal.getsignal(sig) for sig in self.handlers})

    def test_sigint_stops_it_too(self):
        thread = self._signal_when_started(signal.SIGINT)
        self.assertEqual(0, self.main())
        thread.join(10)
        self.assertEqual(['stop', 'wait'], self.conductors[0].calls)

    def test_needs_a_broker(self):
        self.assertEqual(1, self.main(transport_url=None))
        self.assertIn('nova-conductor: [DEFAULT] transport_url is fake://',
                      self.stderr.getvalue())
        self.assertEqual([], self.conductors)

    def test_bad_configuration(self):
        self.assertEqual(1, cmd_conductor.main(
            ['nova-conductor', '--config-file', self.tmp.join('missing')]))
        self.assertIn('missing', self.stderr.getvalue())
        self.assertEqual([], self.conductors)

    def test_cannot_start(self):
        self.fail = exception.ServiceUnavailable(reason='no database')
        self.assertEqual(1, self.main())
        self.assertIn('nova-conductor cannot start: no database',
                      self.logs.output)
        self.assertEqual(self.handlers, {
            sig: signal.getsignal(sig) for sig in self.handlers})
