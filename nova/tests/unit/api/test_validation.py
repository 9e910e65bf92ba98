import jsonschema
from oslo_utils import strutils

from nova.api.openstack.compute import schemas
from nova.api.openstack.compute.schemas import console_viewers
from nova.api.openstack.compute.schemas import keypairs
from nova.api.openstack.compute.schemas import parameter_types
from nova.api.openstack.compute.schemas import remote_consoles
from nova.api.openstack.compute.schemas import server_actions
from nova.api.openstack.compute.schemas import servers
from nova.api.openstack.compute import validation
from nova import exception
from nova import test

ALL_SCHEMAS = (servers.create, servers.create_v219, server_actions.reboot,
               server_actions.rebuild, server_actions.rebuild_v219,
               server_actions.get_console_output,
               server_actions.get_serial_console,
               server_actions.migrate_live, server_actions.migrate_live_v225,
               remote_consoles.create, remote_consoles.create_v28,
               console_viewers.create, servers.update, servers.update_v219,
               keypairs.create, keypairs.create_v22, keypairs.create_v210)


class ValidationTestCase(test.TestCase):
    def test_schemas_are_draft4_and_closed(self):
        self.assertTrue(schemas.__doc__)
        for schema in ALL_SCHEMAS:
            jsonschema.Draft4Validator.check_schema(schema)
            self.assertFalse(schema['additionalProperties'])
            for inner in schema['properties'].values():
                if inner == servers.scheduler_hints:
                    # Open, as Nova's: hints no filter reads are ignored.
                    self.assertTrue(inner['additionalProperties'])
                    continue
                self.assertFalse(inner['additionalProperties'])

    def _message(self, body, schema):
        e = self.assertRaises(exception.ValidationError, validation.validate,
                              body, schema)
        self.assertEqual(400, e.code)
        return e.message

    def test_pattern_errors_explain_instead_of_quoting_the_pattern(self):
        message = self._message({'server': {
            'name': 'web\t', 'imageRef': 'x', 'flavorRef': '1'}},
            servers.create)
        self.assertIn('server.name', message)
        self.assertIn('white space', message)
        self.assertNotIn('\\Z', message)

    def test_long_values_are_cut(self):
        message = self._message(
            {'reboot': {'type': 'x' * 10000}}, server_actions.reboot)
        self.assertLess(len(message), 500)
        self.assertIn('reboot.type', message)

    def test_valid_body_passes(self):
        validation.validate({'reboot': {'type': 'SOFT'}},
                            server_actions.reboot)

    def test_versioned_copies_leave_the_originals_alone(self):
        self.assertNotIn('description',
                         servers.create['properties']['server']['properties'])
        self.assertNotIn(
            'description',
            server_actions.rebuild['properties']['rebuild']['properties'])
        v21 = server_actions.migrate_live['properties']['os-migrateLive']
        self.assertIn('disk_over_commit', v21['properties'])
        self.assertEqual(['host', 'block_migration', 'disk_over_commit'],
                         v21['required'])
        self.assertNotIn('mks', remote_consoles.create['properties'][
            'remote_console']['properties']['protocol']['enum'])

    def test_boolean_forms(self):
        # What the schema lets through, the handlers read with oslo's
        # strict bool_from_string; what it refuses never reaches them.
        for value in parameter_types.TRUE_STRINGS + (True,):
            validation.validate(value, parameter_types.boolean)
            self.assertIs(True, strutils.bool_from_string(value, strict=True))
        for value in parameter_types.FALSE_STRINGS + (False,):
            validation.validate(value, parameter_types.boolean)
            self.assertIs(False,
                          strutils.bool_from_string(value, strict=True))
        for value in ('tRUE', 'y', 'n', 1, 0, None, '', 'auto'):
            self.assertRaises(exception.ValidationError, validation.validate,
                              value, parameter_types.boolean)
