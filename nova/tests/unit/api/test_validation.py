import jsonschema

from nova.api.openstack.compute import schemas
from nova.api.openstack.compute.schemas import remote_consoles
from nova.api.openstack.compute.schemas import server_actions
from nova.api.openstack.compute.schemas import servers
from nova.api.openstack.compute import validation
from nova import exception
from nova import test

ALL_SCHEMAS = (servers.create, server_actions.reboot, server_actions.rebuild,
               server_actions.get_console_output,
               server_actions.get_serial_console, remote_consoles.create)


class ValidationTestCase(test.TestCase):
    def test_schemas_are_draft4_and_closed(self):
        self.assertTrue(schemas.__doc__)
        for schema in ALL_SCHEMAS:
            jsonschema.Draft4Validator.check_schema(schema)
            self.assertFalse(schema['additionalProperties'])
            [inner] = schema['properties'].values()
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
