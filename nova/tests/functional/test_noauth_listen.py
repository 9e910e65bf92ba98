"""noauth2 takes any caller at their word: nova-all refuses it off
loopback, with one clear error line and no traceback."""

import testtools

from nova.tests.functional import base
from nova.tests.functional import services


class NoAuthListenTestCase(testtools.TestCase):
    def test_noauth2_on_every_address_is_refused_at_start(self):
        stack = base._Stack.ensure()
        nova = services.NovaServices(
            stack.kernel, stack.initrd, stack.cmdline, stack.virt_type,
            extra_conf={'DEFAULT': {'osapi_compute_listen': '0.0.0.0'}})
        self.addCleanup(nova.cleanup)
        e = self.assertRaises(services.ServicesFailed, nova.start)
        text = str(e)
        self.assertIn('nova-all exited with 1', text)
        self.assertIn('nova-all cannot start: [api] auth_strategy = noauth2',
                      text)
        self.assertIn('listens on 0.0.0.0 ([DEFAULT] osapi_compute_listen)',
                      text)
        self.assertNotIn('Traceback', text)
