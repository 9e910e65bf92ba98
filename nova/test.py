"""Base class for unit tests: config overrides and a clean port table."""

import fixtures
from oslo_config import fixture as config_fixture
import testtools

import nova.conf
from nova.console import serial

CONF = nova.conf.CONF


class TestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.conf = self.useFixture(config_fixture.Config(CONF))
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances_path)
        serial.ALLOCATED_PORTS.clear()
        self.addCleanup(serial.ALLOCATED_PORTS.clear)

    def flags(self, group=None, **kw):
        for name, value in kw.items():
            self.conf.config(group=group, **{name: value})
