"""ComputeTaskAPI: what the compute API sends the conductor, and how."""

from unittest import mock

import oslo_messaging

from nova.conductor import api as conductor_api
from nova.conductor import rpcapi
from nova import context
from nova import exception
from nova.tests.unit import fake_uuids as ids
from nova.tests.unit.compute import base

CTX = context.get_admin_context()
ROW = {'uuid': ids.SRV1, 'host': 'h'}


class ComputeTaskAPITestCase(base.RPCTestCase):
    def setUp(self):
        super().setUp()
        self.nova_flags(rpc_response_timeout=3)
        self.api = conductor_api.ComputeTaskAPI(self.nova_conf)
        self.client = self.api.conductor_compute_rpcapi.client

    def test_actions_are_casts_with_the_uuid_only(self):
        for send, method, kwargs in (
                (lambda: self.api.build_instances(CTX, ROW),
                 'build_instances', {}),
                (lambda: self.api.reboot_instance(CTX, ROW, 'HARD'),
                 'reboot_instance', {'reboot_type': 'HARD'}),
                (lambda: self.api.rebuild_instance(CTX, ROW, {'id': 'i2'}),
                 'rebuild_instance', {'image_id': 'i2'}),
                (lambda: self.api.delete_instance(CTX, ROW),
                 'delete_instance', {})):
            with mock.patch.object(self.client, 'prepare') as prepare:
                self.assertIsNone(send())
            prepare.assert_called_once_with(
                retry=rpcapi.ComputeTaskAPI.RETRIES)
            prepare.return_value.call.assert_not_called()
            prepare.return_value.cast.assert_called_once_with(
                CTX, method, instance_uuid=ids.SRV1, **kwargs)

    def test_live_migration_is_a_short_call(self):
        with mock.patch.object(self.client, 'prepare') as prepare:
            prepare.return_value.call.return_value = None
            self.api.live_migrate_instance(CTX, ROW, 'h2', 'auto')
        # 2.1: with force (the named host is forced by default).
        prepare.assert_called_with(
            timeout=3, retry=rpcapi.ComputeTaskAPI.RETRIES, version='2.1')
        prepare.return_value.call.assert_called_once_with(
            CTX, 'live_migrate_instance', instance_uuid=ids.SRV1,
            host='h2', block_migration='auto', force=True)

    def test_live_migration_force_false_is_sent(self):
        with mock.patch.object(self.client, 'prepare') as prepare:
            self.api.live_migrate_instance(CTX, ROW, 'h2', 'auto',
                                           force=False)
        prepare.return_value.call.assert_called_once_with(
            CTX, 'live_migrate_instance', instance_uuid=ids.SRV1,
            host='h2', block_migration='auto', force=False)

    def test_live_migration_capped_at_2_0_sends_no_force(self):
        with mock.patch.object(self.client, 'can_send_version',
                               return_value=False), \
                mock.patch.object(self.client, 'prepare') as prepare:
            self.api.live_migrate_instance(CTX, ROW, 'h2', 'auto',
                                           force=False)
        prepare.assert_called_once_with(
            timeout=3, retry=rpcapi.ComputeTaskAPI.RETRIES, version='2.0')
        prepare.return_value.call.assert_called_once_with(
            CTX, 'live_migrate_instance', instance_uuid=ids.SRV1,
            host='h2', block_migration='auto')

    def test_broker_away_is_503(self):
        with mock.patch.object(self.client, 'prepare') as prepare:
            prepare.return_value.cast.side_effect = (
                oslo_messaging.MessageDeliveryFailure('gone'))
            e = self.assertRaises(exception.ServiceUnavailable,
                                  self.api.build_instances, CTX, ROW)
        self.assertEqual(503, e.code)
        self.assertNotIn('gone', e.message)

    def test_no_conductor_answering_a_migration_is_503(self):
        with mock.patch.object(self.client, 'prepare') as prepare:
            prepare.return_value.call.side_effect = (
                oslo_messaging.MessagingTimeout('none'))
            e = self.assertRaises(exception.ServiceUnavailable,
                                  self.api.live_migrate_instance, CTX, ROW,
                                  None, 'auto')
        self.assertIn('nova-conductor', e.message)

    def test_pre_check_errors_reach_the_caller(self):
        # Through the in-process transport to the real conductor.
        e = self.assertRaises(exception.InstanceNotFound,
                              self.api.live_migrate_instance, CTX, ROW,
                              'h2', 'auto')
        self.assertEqual(404, e.code)
        e = self.assertRaises(exception.ValidationError,
                              self.api.live_migrate_instance, CTX, ROW,
                              'h2', 'yes')
        self.assertEqual(400, e.code)
