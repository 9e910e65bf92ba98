"""An older compute host (RPC API 2.0) beside a current one (2.1).

The senders capped at 2.0 (``[upgrade_levels] compute``) keep working
with both; uncapped, a 2.1 message to the older host is refused at once
with an error that says what to do. Over the in-process transport:
oslo.messaging's client and dispatcher, as on a broker.
"""

import fixtures
import oslo_messaging

from nova.compute import manager
from nova.compute import rpcapi
from nova import exception
from nova.objects import migrate_data
from nova import rpc
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import base
from nova.tests.unit.compute import test_manager

CTX = base.ALICE
LOG = b'one\ntwo\n\xc3\xa9t\xc3\n\r\x00three\n'


class OldComputeManager(manager.ComputeManager):
    """A host of the release before 2.1: its console output has no
    ``tail_length``."""

    target = oslo_messaging.Target(version='2.0')

    def get_console_output(self, ctxt, instance):
        return self.driver.get_console_output(ctxt,
                                              instance).decode('latin-1')


class MixedVersionsTestCase(base.RPCTestCase):
    def setUp(self):
        super().setUp()
        self.start_host('old', manager_class=OldComputeManager)
        self.start_host('new')
        for driver in self.drivers.values():
            driver.get_console_output = lambda ctxt, instance: LOG
        self.instance = test_manager._instance()

    def _api(self, cap=None):
        self.nova_flags(group='upgrade_levels', compute=cap)
        return rpcapi.ComputeAPI(self.nova_conf)

    def _built(self, api, host):
        """Build the instance on ``host`` (a cast) and wait for it."""
        api.build_and_run_instance(CTX, host, self.instance)
        base.wait_for(self, lambda: ids.SRV1 in self.drivers[host].ports,
                      'the build on %s' % host)

    def test_console_output_from_both_under_a_cap(self):
        api = self._api('2.0')
        for host in ('old', 'new'):
            self.assertEqual(LOG, api.get_console_output(
                CTX, host, self.instance))
            self.assertEqual(b'\r\x00three\n', api.get_console_output(
                CTX, host, self.instance, tail_length=1))

    def test_capped_and_uncapped_give_the_same_lines(self):
        capped, current = self._api('2.0'), self._api(None)
        for tail_length in (None, 0, 1, 2, 3, 4, 5, 100):
            self.assertEqual(
                capped.get_console_output(CTX, 'old', self.instance,
                                          tail_length=tail_length),
                current.get_console_output(CTX, 'new', self.instance,
                                           tail_length=tail_length),
                tail_length)

    def test_uncapped_message_to_the_old_host_is_refused(self):
        e = self.assertRaises(exception.ComputeHostError,
                              self._api(None).get_console_output, CTX,
                              'old', self.instance, tail_length=1)
        self.assertIn('does not serve get_console_output of compute RPC '
                      'API 2.1', e.message)
        self.assertIn('[upgrade_levels] compute', e.message)
        self.assertIn('old', e.message)

    def test_the_new_host_cuts_the_lines(self):
        # Only the lines asked for cross RPC.
        client = rpc.get_client(self.nova_conf, rpcapi.TOPIC, '2.1')
        self.assertEqual('\r\x00three\n', client.prepare(server='new').call(
            CTX, 'get_console_output', instance=self.instance,
            tail_length=1))

    def test_bad_tail_lengths_are_refused_by_the_host(self):
        client = rpc.get_client(self.nova_conf, rpcapi.TOPIC, '2.1')
        for bad in (-1, '1', True, 1.5):
            e = self.assertRaises(
                exception.Invalid, client.prepare(server='new').call, CTX,
                'get_console_output', instance=self.instance,
                tail_length=bad)
            self.assertIn('tail_length', e.message)

    def test_other_consoles_of_both_under_a_cap(self):
        api = self._api('2.0')
        for host in ('old', 'new'):
            self._built(api, host)
            console = api.get_serial_console(CTX, host, self.instance,
                                             'serial')
            self.assertIs(True, api.validate_console_port(
                CTX, host, self.instance, console.host, console.port,
                'serial'))
            api.terminate_instance(CTX, host, self.instance)

    def test_live_migration_both_ways_under_a_cap(self):
        # The conductor's checks, its cast to the source, and the
        # source's calls to the destination: all under the cap.
        api = self._api('2.0')
        reported = []
        self.useFixture(fixtures.MockPatchObject(
            self.conductor_endpoint(), 'report_live_migration',
            side_effect=lambda ctxt, instance, source, dest, outcome,
            fault=None: reported.append((source, dest, outcome, fault))))
        self._built(api, 'old')
        for source, dest in (('old', 'new'), ('new', 'old')):
            data = api.check_can_live_migrate_destination(CTX, dest,
                                                          self.instance)
            self.assertIsInstance(data,
                                  migrate_data.LibvirtLiveMigrateData)
            data = api.check_can_live_migrate_source(CTX, source,
                                                     self.instance, data)
            count = len(reported)
            api.live_migration(CTX, source, self.instance, dest, data)
            base.wait_for(self, lambda: len(reported) > count,
                          'the report of %s' % source)
            self.assertEqual((source, dest, 'done', None), reported[-1])
            self.assertIn(ids.SRV1, self.drivers[dest].ports)
            self.assertNotIn(ids.SRV1, self.drivers[source].ports)

    def test_the_cap_option_takes_versions_only(self):
        self.assertRaises(ValueError, self.nova_flags,
                          group='upgrade_levels', compute='latest')
