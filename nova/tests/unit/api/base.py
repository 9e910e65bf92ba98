"""Requests against build_app() over the in-memory compute API."""

import json
import logging

import fixtures
import webob

from nova.api.openstack.compute import app
from nova import test
from nova.tests.unit.api import fakes

DEMO_TOKEN = 'demo:demo'
ADMIN_TOKEN = 'admin'
OTHER_TOKEN = 'alice:other'


class APITestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.compute = fakes.FakeComputeAPI()
        self.app = app.build_app(self.compute, conf=self.conf.conf)

    def request(self, method, path, body=None, token=DEMO_TOKEN,
                version=None, headers=None, raw=None,
                content_type='application/json'):
        req = webob.Request.blank(path, method=method)
        if token is not None:
            req.headers['X-Auth-Token'] = token
        if version is not None:
            req.headers['OpenStack-API-Version'] = 'compute %s' % version
        if body is not None:
            raw = json.dumps(body).encode('utf-8')
        if raw is not None:
            req.body = raw
            if content_type is not None:
                req.content_type = content_type
        for name, value in (headers or {}).items():
            req.headers[name] = value
        return req.get_response(self.app)

    def action(self, server_id, body, **kwargs):
        return self.request('POST', '/v2.1/servers/%s/action' % server_id,
                            body=body, **kwargs)

    def assertStatus(self, status, response):
        self.assertEqual(status, response.status_int, response.body)

    def assertFault(self, response, status, name, *fragments):
        """A JSON fault ``{name: {code, message}}``, message containing
        every fragment, and never a traceback."""
        self.assertStatus(status, response)
        self.assertEqual('application/json', response.content_type)
        body = json.loads(response.body)
        self.assertEqual([name], list(body))
        self.assertEqual(status, body[name]['code'])
        message = body[name]['message']
        for fragment in fragments:
            self.assertIn(fragment, message)
        self.assertNotIn('Traceback', response.text)
        return message

    def json(self, response):
        return json.loads(response.body)
