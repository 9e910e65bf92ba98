"""The controller decorators of wsgi and validation, on a toy controller.

Version selection (``Controller.api_version``), schemas per version range
(``validation.schema``), ``expected_errors``, ``response`` and
``action``; requests pass the fault middleware, as in the API.
"""

import inspect
import json
import logging

import fixtures
import webob
import webob.exc

from nova.api.openstack.compute import console_viewers
from nova.api.openstack.compute import fault
from nova.api.openstack.compute import flavors
from nova.api.openstack.compute import hypervisors
from nova.api.openstack.compute import images
from nova.api.openstack.compute import microversion
from nova.api.openstack.compute import remote_consoles
from nova.api.openstack.compute import router
from nova.api.openstack.compute import server_actions
from nova.api.openstack.compute import servers
from nova.api.openstack.compute import services
from nova.api.openstack.compute import validation
from nova.api.openstack.compute import versioned_method
from nova.api.openstack.compute import wsgi
from nova import exception
from nova import test

NAME_SCHEMA = {
    'type': 'object',
    'properties': {'thing': {
        'type': 'object',
        'properties': {'name': {'type': 'string', 'maxLength': 3}},
        'required': ['name'], 'additionalProperties': False}},
    'required': ['thing'], 'additionalProperties': False,
}
# From 2.10 a thing may also have a colour.
COLOUR_SCHEMA = {
    'type': 'object',
    'properties': {'thing': {
        'type': 'object',
        'properties': {'name': {'type': 'string', 'maxLength': 3},
                       'colour': {'type': 'string'}},
        'required': ['name'], 'additionalProperties': False}},
    'required': ['thing'], 'additionalProperties': False,
}


class ToyController(wsgi.Controller):
    @wsgi.Controller.api_version('2.1', '2.4')
    @wsgi.expected_errors(())
    def show(self, req, id):
        return {'version': 'old', 'id': id}

    @wsgi.Controller.api_version('2.5')
    @wsgi.expected_errors(())
    def show(self, req, id):  # noqa: F811 (a second version)
        return {'version': 'new', 'id': id}

    @wsgi.Controller.api_version('2.3', '2.6', 'Gone in 2.7.')
    @wsgi.expected_errors(())
    def middle(self, req):
        return {'middle': True}

    @wsgi.Controller.api_version('2.20')
    @wsgi.expected_errors(())
    def later(self, req):
        return {'later': True}

    @wsgi.response(201)
    @wsgi.expected_errors(400)
    @validation.schema(NAME_SCHEMA, '2.1', '2.9')
    @validation.schema(COLOUR_SCHEMA, '2.10')
    def create(self, req, body):
        return wsgi.ResponseObject(body, headers={'Location': '/things/1'})

    @wsgi.response(204)
    @wsgi.expected_errors(404)
    def delete(self, req, id):
        if id == 'missing':
            raise webob.exc.HTTPNotFound(explanation='No thing %s.' % id)
        if id == 'conflict':
            # Undeclared: a bug in this handler.
            raise webob.exc.HTTPConflict(explanation='secret conflict')
        if id == 'busy':
            raise exception.InstanceNotReady(instance_id=id, state='busy')
        if id == 'forbidden':
            raise exception.Forbidden(action='delete')
        if id == 'unimplemented':
            raise NotImplementedError('driver secret')
        if id == 'broken':
            raise KeyError('secret internal key')

    @wsgi.response(202)
    @wsgi.expected_errors(())
    @wsgi.action('poke')
    def _poke(self, req, id, body):
        pass

    @wsgi.Controller.api_version('2.1', '2.1')
    @wsgi.expected_errors(())
    @wsgi.action('wave')
    def _wave(self, req, id, body):
        return {'waved': 'old'}

    @wsgi.Controller.api_version('2.2')
    @wsgi.expected_errors(())
    @wsgi.action('wave')
    @validation.schema({'type': 'object',
                        'properties': {'wave': {'type': 'integer'}}})
    def _wave(self, req, id, body):  # noqa: F811 (a second version)
        return {'waved': body['wave']}


class ToyApp:
    """The API's middlewares around one controller method per request:
    ``/<method>[/<id>]``."""

    def __init__(self):
        self.controller = ToyController(compute_api=None)

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        environ.setdefault(wsgi.REQUEST_ID_KEY, 'req-toy')
        parts = req.path_info.strip('/').split('/')
        arguments = {'id': parts[1]} if len(parts) > 1 else {}
        handler = getattr(self.controller, parts[0])
        response = wsgi.invoke(handler, req, arguments,
                               with_body=req.method == 'POST')
        return response(environ, start_response)


class DecoratorTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.app = fault.FaultWrapper(
            microversion.MicroversionMiddleware(ToyApp()))

    def request(self, path, version='2.1', method='GET', body=None):
        req = webob.Request.blank(path, method=method)
        req.headers['OpenStack-API-Version'] = 'compute %s' % version
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        return req.get_response(self.app)

    def fault(self, response, status):
        self.assertEqual(status, response.status_int, response.body)
        self.assertNotIn('Traceback', response.text)
        (only,) = json.loads(response.body).values()
        return only['message']

    # -- api_version --------------------------------------------------------

    def test_the_version_chooses_the_method(self):
        for version, which in (('2.1', 'old'), ('2.4', 'old'),
                               ('2.5', 'new'), ('2.25', 'new')):
            response = self.request('/show/7', version)
            self.assertEqual(200, response.status_int)
            self.assertEqual({'version': which, 'id': '7'},
                             json.loads(response.body))

    def test_a_version_no_method_serves_is_404(self):
        for version in ('2.1', '2.19'):
            message = self.fault(self.request('/later', version), 404)
            self.assertEqual('API version %s is not supported on this '
                             'method.' % version, message)
        self.assertEqual(200, self.request('/later', '2.20').status_int)

    def test_the_404_may_say_what_replaced_the_method(self):
        for version in ('2.1', '2.2', '2.7', '2.25'):
            message = self.fault(self.request('/middle', version), 404)
            self.assertEqual('Gone in 2.7.', message)
        for version in ('2.3', '2.6'):
            self.assertEqual(200, self.request('/middle', version).status_int)

    def test_overlapping_versions_are_refused_when_the_class_is_made(self):
        def make():
            class Overlapping(wsgi.Controller):
                @wsgi.Controller.api_version('2.1', '2.5')
                def show(self, req):
                    pass

                @wsgi.Controller.api_version('2.5')
                def show(self, req):  # noqa: F811
                    pass
        self.assertRaisesRegex(TypeError, 'overlap', make)

    def test_the_version_is_chosen_before_the_body_is_read(self):
        # A body that is not JSON: the missing method comes first.
        req = webob.Request.blank('/middle', method='POST')
        req.headers['OpenStack-API-Version'] = 'compute 2.1'
        req.body = b'{'
        self.fault(req.get_response(self.app), 404)
        req.headers['OpenStack-API-Version'] = 'compute 2.3'
        self.assertIn('Malformed request body',
                      self.fault(req.get_response(self.app), 400))

    # -- validation.schema --------------------------------------------------

    def test_each_range_has_its_schema(self):
        coloured = {'thing': {'name': 'a', 'colour': 'red'}}
        message = self.fault(
            self.request('/create', '2.9', 'POST', coloured), 400)
        self.assertIn('thing', message)
        self.assertIn('colour', message)
        response = self.request('/create', '2.10', 'POST', coloured)
        self.assertEqual(201, response.status_int, response.body)
        # The rules both ranges share hold in both.
        for version in ('2.1', '2.9', '2.10', '2.25'):
            message = self.fault(self.request(
                '/create', version, 'POST', {'thing': {'name': 'long'}}),
                400)
            self.assertIn('thing.name', message)

    # -- response and ResponseObject ----------------------------------------

    def test_response_code_and_headers(self):
        response = self.request('/create', '2.1', 'POST',
                                {'thing': {'name': 'a'}})
        self.assertEqual(201, response.status_int)
        # webob makes a relative Location absolute.
        self.assertEqual('http://localhost/things/1',
                         response.headers['Location'])
        self.assertEqual({'thing': {'name': 'a'}}, json.loads(response.body))
        response = self.request('/delete/1', method='DELETE')
        self.assertEqual(204, response.status_int)
        self.assertEqual(b'', response.body)
        self.assertNotIn('Content-Type', response.headers)

    # -- expected_errors ----------------------------------------------------

    def test_declared_errors_pass(self):
        message = self.fault(self.request('/delete/missing'), 404)
        self.assertEqual('No thing missing.', message)

    def test_forbidden_and_nova_errors_keep_their_status(self):
        self.assertEqual(403, self.request('/delete/forbidden').status_int)
        # Undeclared, but typed: its status stands, the gap is logged.
        self.fault(self.request('/delete/busy'), 409)
        self.assertIn('ToyController.delete raised InstanceNotReady (409), '
                      'which it does not declare', self.logs.output)
        self.fault(self.request('/delete/unimplemented'), 501)

    def test_an_unexpected_error_is_logged_and_answered_500(self):
        for thing, secret in (('broken', 'secret internal key'),
                              ('conflict', 'secret conflict')):
            response = self.request('/delete/%s' % thing)
            message = self.fault(response, 500)
            self.assertEqual(fault.unexpected_error_message('req-toy'),
                             message)
            self.assertNotIn('secret', response.text)
            self.assertIn(secret, self.logs.output)
        log = self.logs.output
        self.assertIn('Request req-toy: unexpected KeyError in '
                      'ToyController.delete', log)
        self.assertIn('Traceback', log)
        # Logged once, by the decorator; the fault middleware only answers.
        self.assertEqual(1, log.count('unexpected KeyError'))
        self.assertNotIn('failed with an unexpected error', log)

    # -- action -------------------------------------------------------------

    def test_actions_are_found_by_the_body_key(self):
        self.assertEqual({'poke': '_poke', 'wave': '_wave'},
                         ToyController.wsgi_actions)
        response = self.request('/action/1', method='POST',
                                body={'poke': None})
        self.assertEqual(202, response.status_int)
        message = self.fault(self.request('/action/1', method='POST',
                                          body={'kick': None}), 400)
        self.assertEqual('There is no such action: kick', message)
        message = self.fault(self.request('/action/1', method='POST',
                                          body={'poke': 1, 'wave': 2}), 400)
        self.assertIn('exactly one key', message)

    def test_an_action_may_have_versions(self):
        response = self.request('/action/1', '2.1', 'POST', {'wave': 'x'})
        self.assertEqual({'waved': 'old'}, json.loads(response.body))
        response = self.request('/action/1', '2.2', 'POST', {'wave': 3})
        self.assertEqual({'waved': 3}, json.loads(response.body))
        self.fault(self.request('/action/1', '2.2', 'POST', {'wave': 'x'}),
                   400)


class EveryHandlerTestCase(test.TestCase):
    """The API's own controllers keep to the pattern."""

    def handlers(self):
        api_router = router.APIRouter(compute_api=None)
        names = {(controller, action)
                 for _m, _p, controller, action in router.ROUTES}
        for controller_name, action in sorted(names):
            controller = api_router.controllers[controller_name]
            if action == 'action':
                names = sorted(controller.wsgi_actions.values())
            else:
                names = [action]
            for name in names:
                method = getattr(type(controller), name)
                if isinstance(method, versioned_method.VersionedMethod):
                    for _min, _max, func, _text in method.versions:
                        yield '%s.%s' % (controller_name, name), func
                else:
                    yield '%s.%s' % (controller_name, name), method

    def test_every_handler_declares_its_errors(self):
        handlers = list(self.handlers())
        self.assertGreater(len(handlers), 20)
        for name, func in handlers:
            self.assertTrue(hasattr(func, 'wsgi_expected_errors'), name)

    def test_no_handler_reads_the_microversion_itself(self):
        for module in (servers, server_actions, remote_consoles,
                       console_viewers, flavors, images, hypervisors,
                       services):
            source = inspect.getsource(module)
            for call in ('get_version(', 'is_supported(', 'VERSION_KEY'):
                self.assertNotIn(call, source, module.__name__)
