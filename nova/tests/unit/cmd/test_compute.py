"""nova-compute: one host's compute service on the message broker."""

import io
import signal
import threading
import time
import types

import fixtures

from nova.cmd import compute as cmd_compute
from nova import exception
from nova import test


class FakeService:
    def __init__(self, conf, manager, fail=None):
        self.conf, self.manager, self.fail = conf, manager, fail
        self.calls = []
        self.started = threading.Event()

    def start(self):
        self.calls.append('start')
        if self.fail:
            raise self.fail
        self.started.set()
        return self

    def stop(self):
        self.calls.append('stop')


class MainTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.useFixture(fixtures.MockPatch('oslo_log.log.setup'))
        self.stderr = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        self.drivers = []
        self.useFixture(fixtures.MockPatchObject(
            cmd_compute.libvirt_driver, 'LibvirtDriver',
            self._driver))
        self.services = []
        self.fail = None
        self.useFixture(fixtures.MockPatchObject(
            cmd_compute.service, 'ComputeService', self._service))
        self.tmp = self.useFixture(fixtures.TempDir())
        self.handlers = {sig: signal.getsignal(sig)
                         for sig in (signal.SIGTERM, signal.SIGINT)}

    def _driver(self):
        # As LibvirtDriver: the host's name is [DEFAULT] host.
        self.drivers.append(types.SimpleNamespace(
            host_name=cmd_compute.CONF.host))
        return self.drivers[-1]

    def _service(self, conf, manager):
        self.services.append(FakeService(conf, manager, self.fail))
        return self.services[-1]

    def _conf(self, transport_url=None):
        path = self.tmp.join('nova.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nhost = compute-7\n')
            if transport_url:
                f.write('transport_url = %s\n' % transport_url)
        return path

    def main(self, transport_url='rabbit://u:p@127.0.0.1:1/'):
        return cmd_compute.main(['nova-compute', '--config-file',
                                 self._conf(transport_url)])

    def _signal_when_started(self, signum):
        def send():
            deadline = time.monotonic() + 10
            while not self.services and time.monotonic() < deadline:
                time.sleep(0.01)
            if self.services and self.services[0].started.wait(10):
                signal.pthread_kill(threading.main_thread().ident, signum)
        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        return thread

    def test_runs_until_sigterm_then_stops_the_service(self):
        self.assertIs(threading.main_thread(), threading.current_thread())
        thread = self._signal_when_started(signal.SIGTERM)
        self.assertEqual(0, self.main())
        thread.join(10)
        [service] = self.services
        self.assertEqual(['start', 'stop'], service.calls)
        self.assertEqual('compute-7', service.manager.host)
        self.assertIs(self.drivers[0], service.manager.driver)
        self.assertEqual(self.handlers, {
            sig: signal.getsignal(sig) for sig in self.handlers})

    def test_says_how_privileged_reads_run(self):
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=0))
        thread = self._signal_when_started(signal.SIGTERM)
        self.assertEqual(0, self.main())
        thread.join(10)
        self.assertIn('Running as root: privileged reads', self.logs.output)

    def test_sigint_stops_it_too(self):
        thread = self._signal_when_started(signal.SIGINT)
        self.assertEqual(0, self.main())
        thread.join(10)
        self.assertEqual(['start', 'stop'], self.services[0].calls)

    def test_needs_a_broker(self):
        self.assertEqual(1, self.main(transport_url=None))
        self.assertIn('nova-compute: [DEFAULT] transport_url is fake://',
                      self.stderr.getvalue())
        self.assertEqual([], self.services)

    def test_bad_configuration(self):
        self.assertEqual(1, cmd_compute.main(
            ['nova-compute', '--config-file', self.tmp.join('missing')]))
        self.assertIn('missing', self.stderr.getvalue())
        self.assertEqual([], self.services)

    def test_cannot_start(self):
        self.fail = exception.HypervisorUnavailable(
            uri='qemu:///system', reason='libvirtd is not running')
        self.assertEqual(1, self.main())
        self.assertIn('nova-compute cannot start: Connection to the '
                      'hypervisor at qemu:///system is broken: libvirtd is '
                      'not running', self.logs.output)
        self.assertEqual(['start'], self.services[0].calls)
        self.assertEqual(self.handlers, {
            sig: signal.getsignal(sig) for sig in self.handlers})
