"""Base class for unit tests: config overrides and a clean port table."""

import random
import socket

import fixtures
from oslo_config import fixture as config_fixture
import testtools

import nova.conf
from nova.console import serial
import nova.privsep
from nova.tests.unit import policy_fixture

CONF = nova.conf.CONF


def free_port_block(size, host='127.0.0.1'):
    """A start port with ``size`` consecutive ports free on ``host`` now.

    Tests that expect exact port numbers from a range need every port of
    it free, not only the first one.
    """
    for _ in range(200):
        start = random.randint(20000, 60000 - size)
        socks = []
        try:
            for port in range(start, start + size):
                sock = socket.socket()
                socks.append(sock)
                sock.bind((host, port))
            return start
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError('no %d consecutive free ports on %s' % (size, host))


class PrivsepFixture(fixtures.Fixture):
    """Privsep entrypoints run in the test's own process, as Nova's
    tests run them: no daemon, no sudo, whatever the test's user."""

    def _setUp(self):
        ctx = nova.privsep.console_pctxt
        self.addCleanup(ctx.set_client_mode, ctx.client_mode)
        ctx.set_client_mode(False)
        # The config fixture's reset drops the context's defaults.
        CONF.set_default('capabilities', nova.privsep.CAPABILITIES,
                         group=ctx.cfg_section)


class TestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.conf = self.useFixture(config_fixture.Config(CONF))
        self.useFixture(PrivsepFixture())
        self.policy = self.useFixture(policy_fixture.PolicyFixture())
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances_path)
        serial.ALLOCATED_PORTS.clear()
        self.addCleanup(serial.ALLOCATED_PORTS.clear)

    def flags(self, group=None, **kw):
        for name, value in kw.items():
            self.conf.config(group=group, **{name: value})
