"""An older compute service (RPC API 2.0) beside a current one (2.1), on
the real RabbitMQ broker, with real guests.

Two compute services run in this process, each a ComputeService and a
LibvirtDriver of its own on this host's libvirtd (as two hosts would,
but sharing the one libvirtd: the two-host rig is
test_multihost's): ``fn-old`` serves only 2.0, as the release before
``tail_length`` did, ``fn-new`` serves 2.1. Senders capped at 2.0 by
``[upgrade_levels] compute`` get console output and serial consoles from
both; an uncapped 2.1 message to the old one is refused by its RPC
server (UnsupportedVersion, by name through the broker) and the caller
gets a clear error at once, not a time-out.
"""

import re

import oslo_messaging

from nova.api.openstack.compute import console_output as api_output
import nova.conf
from nova.cmd import common
from nova.compute import manager
from nova.compute import rpcapi
from nova.compute import service as compute_service
from nova import context
from nova import exception
from nova import rpc
from nova.tests.functional import base
from nova.tests.functional import rabbitmq_vhost
from nova.tests.unit.db import base as db_base
from nova.virt.libvirt import driver as libvirt_driver

ADMIN = context.get_admin_context()
RABBITMQ = base.REPO + '/tools/setup-rabbitmq.sh'
OLD, NEW = 'fn-old', 'fn-new'


class OldComputeManager(manager.ComputeManager):
    """The compute manager of the release before RPC API 2.1."""

    target = oslo_messaging.Target(version='2.0')

    def get_console_output(self, ctxt, instance):
        return self.driver.get_console_output(ctxt,
                                              instance).decode('latin-1')


class _Broker:
    url = None

    @classmethod
    def ensure(cls):
        if cls.url is None:
            # Installs and starts the broker when needed (it keeps the
            # listen addresses other tests asked for).
            base.run_tool(RABBITMQ)
            vhost = rabbitmq_vhost.create()
            cls.url = rabbitmq_vhost.with_vhost(
                base.run_tool(RABBITMQ, '--print-transport-url',
                              '127.0.0.1').strip(), vhost)
        return cls.url


class MixedVersionsOnRabbitMQTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        db_base.use_database(self)
        self.conf = nova.conf.new_conf()
        self.conf([], project='nova', default_config_files=[])
        rpc.register_opts(self.conf)
        for name, value in (('transport_url', _Broker.ensure()),
                            ('report_interval', 1),
                            ('rpc_response_timeout', 30)):
            self.conf.set_override(name, value)
        self.addCleanup(rpc.cleanup, self.conf)
        conductor = common.start_conductor(self.conf)
        self.addCleanup(common.stop_rpc_server, conductor)
        self.drivers = {OLD: libvirt_driver.LibvirtDriver(), NEW: self.driver}
        self.addCleanup(self.drivers[OLD].host.close)
        for host, cls in ((OLD, OldComputeManager),
                          (NEW, manager.ComputeManager)):
            service = compute_service.ComputeService(
                self.conf, cls(self.drivers[host], host=host,
                               conf=self.conf))
            service.start()
            self.addCleanup(service.stop)

    def _api(self, cap):
        self.conf.set_override('compute', cap, group='upgrade_levels')
        return rpcapi.ComputeAPI(self.conf)

    def _quiet_output(self, api, host, inst):
        """Console output of ``host`` at a moment the log did not grow
        between two reads (the guest sits at its prompt)."""
        previous = None
        for _ in range(20):
            output = api.get_console_output(ADMIN, host, inst)
            if output == previous:
                return output
            previous = output
        self.fail('the console log of %s kept growing' % inst.uuid)

    def test_console_output_and_serial_console_of_both_hosts(self):
        inst = self.boot()
        banner = re.search(base.BANNER, self.wait_for_output(
            inst, base.BANNER)).group(0)
        # Wait for the shell's prompt: from then on the log is quiet.
        self.wait_for_output(inst, base.PROMPT)
        capped = self._api('2.0')
        whole = self._quiet_output(capped, NEW, inst)
        self.assertIn(banner, whole)
        lines = whole.count(b'\n')
        self.assertGreater(lines, 3)
        for host in (OLD, NEW):
            self.assertEqual(whole, capped.get_console_output(
                ADMIN, host, inst))
            for tail_length in (0, 1, 3, lines + 5):
                # The REST layer's own (text) cut is the reference.
                self.assertEqual(
                    api_output.last_lines(whole.decode('latin-1'),
                                          tail_length).encode('latin-1'),
                    capped.get_console_output(ADMIN, host, inst,
                                              tail_length=tail_length),
                    (host, tail_length))
            console = capped.get_serial_console(ADMIN, host, inst,
                                                'serial')
            self.assertEqual(self.driver.get_serial_console(None, inst),
                             console)
            self.assertIs(True, capped.validate_console_port(
                ADMIN, host, inst, console.host, console.port, 'serial'))

        # Uncapped: the new host cuts the lines itself; the old one
        # refuses the 2.1 message and the caller is told why.
        current = self._api(None)
        self.assertEqual(
            capped.get_console_output(ADMIN, NEW, inst, tail_length=2),
            current.get_console_output(ADMIN, NEW, inst, tail_length=2))
        e = self.assertRaises(exception.ComputeHostError,
                              current.get_console_output, ADMIN, OLD, inst,
                              tail_length=2)
        self.assertIn('does not serve get_console_output of compute RPC '
                      'API 2.1', e.message)
        self.assertIn('[upgrade_levels] compute', e.message)
        # Messages of 2.0 still reach it from an uncapped client.
        self.assertEqual(whole.decode('latin-1'), current.client.prepare(
            server=OLD, version='2.0').call(ADMIN, 'get_console_output',
                                            instance=inst))
