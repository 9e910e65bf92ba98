"""oslo.middleware in the API's stack (request id, proxy headers, body
size limit), the access log and the request context in log lines."""

import io
import json
import logging

from oslo_context import context as oslo_context
from oslo_log import formatters
from oslo_log import log
import webob

from nova.api.openstack.compute import app
from nova.tests.unit.api import base


class ProxyHeadersTestCase(base.APITestCase):
    def _links(self, headers):
        self.compute.add_server()
        response = self.request('GET', '/v2.1/servers', headers=headers)
        self.assertStatus(200, response)
        return [link['href'] for link in
                self.json(response)['servers'][0]['links']]

    def test_links_follow_the_tls_proxy_when_enabled(self):
        self.flags(group='oslo_middleware', enable_proxy_headers_parsing=True)
        links = self._links({'X-Forwarded-Proto': 'https',
                             'X-Forwarded-Host': 'cloud.example.org'})
        for link in links:
            self.assertTrue(link.startswith('https://cloud.example.org/'),
                            link)

    def test_forwarded_header_rfc7239(self):
        self.flags(group='oslo_middleware', enable_proxy_headers_parsing=True)
        response = self.request(
            'GET', '/', token=None,
            headers={'Forwarded': 'for=192.0.2.1;proto=https;'
                                  'host=cloud.example.org'})
        href = self.json(response)['versions'][0]['links'][0]['href']
        self.assertEqual('https://cloud.example.org/v2.1/', href)

    def test_proxy_headers_ignored_by_default(self):
        # A client must not choose the links others are given.
        links = self._links({'X-Forwarded-Proto': 'https',
                             'X-Forwarded-Host': 'evil.example.org'})
        for link in links:
            self.assertTrue(link.startswith('http://localhost/'), link)


class BodySizeLimitTestCase(base.APITestCase):
    def _post(self, raw, chunked=False):
        req = webob.Request.blank('/v2.1/servers', method='POST')
        req.headers['X-Auth-Token'] = base.DEMO_TOKEN
        req.content_type = 'application/json'
        if chunked:
            req.body_file = io.BytesIO(raw)
            req.content_length = None
            req.headers['Transfer-Encoding'] = 'chunked'
        else:
            req.body = raw
        return req.get_response(self.app)

    def test_default_keeps_the_api_limit_of_one_mib(self):
        # 200 KiB: over oslo.middleware's own default, under ours.
        raw = json.dumps({'server': {'name': 'x' * (200 * 1024)}}).encode()
        response = self._post(raw)
        self.assertNotEqual(413, response.status_int)

    def test_configured_limit_gives_a_json_413(self):
        self.flags(group='oslo_middleware', max_request_body_size=1000)
        self.app = app.build_app(self.compute, conf=self.conf.conf)
        raw = json.dumps({'server': {'name': 'x' * 2000}}).encode()
        response = self._post(raw)
        message = self.assertFault(response, 413, 'overLimit',
                                   'max_request_body_size (1000 bytes)')
        self.assertNotIn('<', message)
        self.assertIn('x-openstack-request-id', response.headers)
        self.assertEqual([], self.compute.calls)

    def test_configured_limit_holds_without_a_length(self):
        self.flags(group='oslo_middleware', max_request_body_size=1000)
        self.app = app.build_app(self.compute, conf=self.conf.conf)
        raw = json.dumps({'server': {'name': 'x' * 2000}}).encode()
        response = self._post(raw, chunked=True)
        self.assertFault(response, 413, 'overLimit', 'too large')
        self.assertEqual([], self.compute.calls)


class _Capture(logging.Handler):
    """Every record, formatted by oslo.log's context formatter with its
    default format strings."""

    def __init__(self, conf):
        super().__init__(logging.DEBUG)
        self.lines = []
        self.setFormatter(formatters.ContextFormatter(
            project='nova', version='0', config=conf))

    def emit(self, record):
        self.lines.append(self.format(record))


class LogContextTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        # What nova.cmd.common.parse_args registers in the services.
        log.register_options(self.conf.conf)
        self.capture = _Capture(self.conf.conf)
        root = logging.getLogger()
        root.addHandler(self.capture)
        self.addCleanup(root.removeHandler, self.capture)

    def lines_of(self, request_id):
        return [line for line in self.capture.lines if request_id in line]

    def access_lines(self, request_id):
        return [line for line in self.lines_of(request_id)
                if 'nova.api.openstack.compute.request_log' in line]

    def test_one_access_line_per_request(self):
        server = self.compute.add_server()
        path = '/v2.1/servers/%s' % server['uuid']
        for method, expected, status in (('GET', path, 200),
                                         ('GET', path + 'x', 404),
                                         ('DELETE', path, 204)):
            response = self.request(method, expected)
            self.assertStatus(status, response)
            request_id = response.headers['x-openstack-request-id']
            lines = self.access_lines(request_id)
            self.assertEqual(1, len(lines), self.capture.lines)
            self.assertIn('"%s %s" status: %d' % (method, expected, status),
                          lines[0])
            self.assertRegex(lines[0], r'time: \d+\.\d{3} s')
            # Who asked, from the context part of the line.
            self.assertIn(' demo demo ', lines[0])

    def test_unauthenticated_requests_are_logged_with_their_id(self):
        self.request('GET', '/v2.1/flavors', token=None)  # a 401
        response = self.request('GET', '/', token=None)
        request_id = response.headers['x-openstack-request-id']
        lines = self.access_lines(request_id)
        self.assertEqual(1, len(lines), self.capture.lines)
        self.assertIn('"GET /" status: 200', lines[0])
        # Not the user of an earlier request of this thread.
        self.assertNotIn('demo', lines[0])

    def test_error_lines_carry_request_user_and_project(self):
        server = self.compute.add_server()
        self.compute.fail['get'] = RuntimeError('boom')
        response = self.request('GET', '/v2.1/servers/%s' % server['uuid'],
                                token='alice:other')
        self.assertStatus(500, response)
        request_id = response.headers['x-openstack-request-id']
        errors = [line for line in self.lines_of(request_id)
                  if ' ERROR ' in line]
        self.assertTrue(errors, self.capture.lines)
        self.assertIn('[None %s alice other ' % request_id, errors[0])
        self.assertIn('boom', '\n'.join(self.capture.lines))

    def test_the_callers_context_is_current_while_handling(self):
        seen = []
        real_list = self.compute.flavor_list

        def flavor_list(ctxt, **kwargs):
            seen.append(oslo_context.get_current())
            return real_list(ctxt, **kwargs)
        self.compute.flavor_list = flavor_list
        response = self.request('GET', '/v2.1/flavors')
        self.assertStatus(200, response)
        self.assertEqual(response.headers['x-openstack-request-id'],
                         seen[0].request_id)
        self.assertEqual(('demo', 'demo'),
                         (seen[0].user_id, seen[0].project_id))

    def test_a_callers_request_id_is_the_global_one(self):
        mine = 'req-12345678-1234-1234-1234-123456789abc'
        response = self.request('GET', '/v2.1/flavors',
                                headers={'X-OpenStack-Request-Id': mine})
        self.assertStatus(200, response)
        request_id = response.headers['x-openstack-request-id']
        self.assertNotEqual(mine, request_id)
        self.assertEqual(mine, self.compute.contexts[-1].global_request_id)
        self.assertIn('[%s %s demo demo ' % (mine, request_id),
                      self.access_lines(request_id)[0])
        # Anything else is not taken.
        response = self.request(
            'GET', '/v2.1/flavors',
            headers={'X-OpenStack-Request-Id': 'req-not-an-id'})
        self.assertStatus(200, response)
        self.assertIsNone(self.compute.contexts[-1].global_request_id)

    def test_method_is_quoted_in_the_access_line(self):
        # waitress and gunicorn refuse such a method; another WSGI server
        # may not, and the access line must hold whatever it passes.
        response = self.request('GET\x1b[31m" 200\nFORGED', '/v2.1/flavors')
        request_id = response.headers['x-openstack-request-id']
        [line] = self.access_lines(request_id)
        self.assertNotIn('\x1b', line)
        self.assertNotIn('\n', line)
        self.assertIn('"GET%1B%5B31m%22%20200%0AFORGED /v2.1/flavors"',
                      line)

    def test_noauth2_caller_names_with_control_characters_refused(self):
        # Those names go into every log line of the request.
        for token in ('de\x1bmo:demo', 'demo:de\x7fmo', 'de\x85mo'):
            response = self.request('GET', '/v2.1/flavors', token=token)
            self.assertFault(response, 401, 'unauthorized',
                             'control character')
            request_id = response.headers['x-openstack-request-id']
            for line in self.lines_of(request_id):
                self.assertNotIn(token, line)

    def test_log_injection_is_quoted(self):
        response = self.request('GET', '/v2.1/flav\x1b[31mors%0a')
        request_id = response.headers['x-openstack-request-id']
        line = self.access_lines(request_id)[0]
        self.assertNotIn('\x1b', line)
        self.assertNotIn('\n', line)
        self.assertIn('flav%1B%5B31mors%0A', line)
