import webob.exc

from nova.api.openstack.compute import fault
from nova import exception
from nova import test
from nova.tests.unit.api import base


class FaultWrapperTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.server = self.compute.add_server()
        self.path = '/v2.1/servers/%s' % self.server['uuid']

    def test_unexpected_error_hides_details(self):
        self.compute.fail['get'] = RuntimeError('secret internal detail')
        response = self.request('GET', self.path)
        message = self.assertFault(response, 500, 'computeFault')
        self.assertNotIn('secret', response.text)
        self.assertNotIn('Traceback', response.text)
        self.assertNotIn('RuntimeError', response.text)
        request_id = response.headers['x-openstack-request-id']
        self.assertIn(request_id, message)
        # The operator finds everything in the log, under the request id.
        log = self.logs.output
        self.assertIn(request_id, log)
        self.assertIn('Traceback', log)
        self.assertIn('secret internal detail', log)

    def test_unexpected_error_keeps_version_headers(self):
        self.compute.fail['get'] = KeyError('flavor_id')
        response = self.request('GET', self.path, version='2.6')
        self.assertFault(response, 500, 'computeFault')
        self.assertNotIn('flavor_id', response.text)
        self.assertEqual('compute 2.6',
                         response.headers['OpenStack-API-Version'])

    def test_nova_exceptions_keep_status_and_message(self):
        cases = [
            (exception.InstanceNotFound(instance_id='x'), 404,
             'itemNotFound'),
            (exception.InstanceInvalidState(action='a', instance_uuid='x',
                                            state='s'),
             409, 'conflictingRequest'),
            (exception.InstanceNotReady(instance_id='x', state='s'), 409,
             'conflictingRequest'),
            (exception.Invalid(reason='r'), 400, 'badRequest'),
            (exception.Forbidden(action='x'), 403, 'forbidden'),
            (exception.InvalidToken(), 401, 'unauthorized'),
            (exception.ServiceUnavailable(reason='busy'), 503,
             'serviceUnavailable'),
        ]
        for exc, status, name in cases:
            self.compute.fail['get'] = exc
            response = self.request('GET', self.path)
            self.assertFault(response, status, name, exc.message)

    def test_host_side_failures_do_not_reveal_host_details(self):
        for exc, shown in (
                (exception.HypervisorUnavailable(uri='qemu:///system',
                                                 reason='gone'),
                 "hypervisor cannot be reached"),
                (exception.ConsoleLogUnreadable(path='/p/console.log',
                                                reason='EACCES'),
                 'console log cannot be read'),
                (exception.NovaException('secret /etc path'),
                 'Unexpected API error')):
            self.compute.fail['get'] = exc
            response = self.request('GET', self.path)
            self.assertFault(response, 500, 'computeFault', shown,
                             'request id')
            for detail in ('qemu:///system', '/p/console.log', 'EACCES',
                           'secret'):
                self.assertNotIn(detail, response.text)

    def test_not_implemented_is_501(self):
        self.compute.fail['get'] = NotImplementedError('driver internals')
        response = self.request('GET', self.path)
        self.assertFault(response, 501, 'notImplemented', 'not implemented')
        self.assertNotIn('driver internals', response.text)

    def test_nova_exception_with_odd_code_is_500(self):
        class Odd(exception.NovaException):
            code = 200
            msg_fmt = 'odd'
        self.compute.fail['get'] = Odd()
        self.assertFault(self.request('GET', self.path), 500,
                         'computeFault', 'Unexpected API error')


class ResponseForExceptionTestCase(test.TestCase):
    def test_webob_error_keeps_allow_header(self):
        exc = webob.exc.HTTPMethodNotAllowed(explanation='use GET',
                                             headers={'Allow': 'GET'})
        response = fault.response_for_exception(exc, {})
        self.assertEqual(405, response.status_int)
        self.assertEqual('GET', response.headers['Allow'])
        self.assertEqual({'badMethod': {'code': 405, 'message': 'use GET'}},
                         response.json)

    def test_fault_names(self):
        for status, name in ((400, 'badRequest'), (401, 'unauthorized'),
                             (403, 'forbidden'), (404, 'itemNotFound'),
                             (409, 'conflictingRequest'),
                             (413, 'overLimit'), (415, 'badMediaType'),
                             (406, 'computeFault'), (500, 'computeFault'),
                             (501, 'notImplemented'),
                             (503, 'serviceUnavailable')):
            response = fault.fault_response(status, 'm')
            self.assertEqual({name: {'code': status, 'message': 'm'}},
                             response.json)
