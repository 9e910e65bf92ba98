"""Serial port bookkeeping on the real stack: nova-all against
qemu:///system with a port range of one port, so a port that is not
given back, or a scheduler that does not see it given back, shows as the
next server in ERROR."""

import subprocess
import time

from nova import test
from nova.tests.functional import base
from nova.tests.functional import services


class OnePortTestCase(base.FunctionalTestCase):
    # Nova's default: a create right after a delete comes well within
    # one interval, so what the scheduler knows of the freed port comes
    # from the delete itself.
    REPORT_INTERVAL = 10

    def setUp(self):
        super().setUp()
        port = test.free_port_block(1)
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type, serial_ports=(port, port),
            extra_conf={'DEFAULT': {
                'report_interval': self.REPORT_INTERVAL}})
        self.addCleanup(self.services.cleanup)
        self.services.start()

    def _call(self, method, path, body=None, expect=(200, 202, 204)):
        status, body = self.services.request(method, path, body,
                                             token='admin:admin')
        self.assertIn(status, expect, body)
        return body

    def _create(self):
        body = self._call('POST', '/servers', {'server': {
            'name': 'ports', 'imageRef': services.IMAGE_ID,
            'flavorRef': '1', 'networks': 'none'}})
        return body['server']['id']

    def _wait_active(self, uuid, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self._call('GET', '/servers/%s' % uuid)['server']
            if server['status'] == 'ERROR':
                self.fail('server %s went to ERROR: %s' % (
                    uuid, server.get('fault')))
            if (server['status'] == 'ACTIVE' and
                    not server.get('OS-EXT-STS:task_state')):
                return server
            time.sleep(0.5)
        self.fail('server %s not ACTIVE within %d s' % (uuid, timeout))

    def _delete(self, uuid, timeout=120):
        self._call('DELETE', '/servers/%s' % uuid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, _ = self.services.request('GET', '/servers/%s' % uuid,
                                              token='admin:admin')
            if status == 404:
                return
            time.sleep(0.2)
        self.fail('server %s not deleted within %d s' % (uuid, timeout))

    def _free_ports(self):
        facts = self._call('GET', '/os-hypervisors/serial-console-facts')
        return facts['serial_console_facts'][0]['serial_ports']['free']

    def _wait_free(self, count):
        """Until the hypervisor view shows ``count`` free ports (a
        heartbeat at the latest)."""
        deadline = time.monotonic() + self.REPORT_INTERVAL * 3
        while self._free_ports() != count:
            if time.monotonic() > deadline:
                self.fail('never %d free serial ports' % count)
            time.sleep(0.2)

    def _virsh(self, *args):
        subprocess.run(('virsh', '-c', 'qemu:///system') + args,
                       check=True, capture_output=True)

    def test_domain_undefined_behind_the_api_then_deleted(self):
        first = self._create()
        self._wait_active(first)
        self._wait_free(0)  # one host report (or the build's)
        self._virsh('destroy', first)
        self._virsh('undefine', first)
        self._delete(first)
        self.assertEqual(1, self._free_ports())
        self._wait_active(self._create())

    def test_create_at_once_after_a_delete(self):
        first = self._create()
        self._wait_active(first)
        self._wait_free(0)  # one host report (or the build's)
        self._delete(first)
        self._wait_active(self._create())
