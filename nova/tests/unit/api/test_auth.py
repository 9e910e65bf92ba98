from keystoneauth1 import access
from keystoneauth1 import fixture
from keystonemiddleware import auth_token
import webob

from nova.api.openstack.compute import app
from nova.api.openstack.compute import auth
from nova.api.openstack.compute import wsgi
import nova.conf
from nova import test
from nova.tests.unit.api import base
from nova.tests.unit.api import fakes


class NoAuthTestCase(base.APITestCase):
    def test_missing_or_empty_token_is_401(self):
        for headers in ({}, {'X-Auth-Token': ''}, {'X-Auth-Token': '  '},
                        {'X-Auth-Token': ':project'}):
            response = self.request('GET', '/v2.1/servers', token=None,
                                    headers=headers)
            self.assertFault(response, 401, 'unauthorized', 'X-Auth-Token')
        self.assertEqual([], self.compute.calls)

    def test_user_and_project(self):
        self.assertStatus(200, self.request('GET', '/v2.1/servers',
                                            token='bob:proj'))
        ctx = self.compute.contexts[-1]
        self.assertEqual(('bob', 'proj', False),
                         (ctx.user_id, ctx.project_id, ctx.is_admin))

    def test_user_alone_is_its_own_project(self):
        self.assertStatus(200, self.request('GET', '/v2.1/servers',
                                            token='carol'))
        ctx = self.compute.contexts[-1]
        self.assertEqual(('carol', 'carol'), (ctx.user_id, ctx.project_id))

    def test_admin_user_is_admin(self):
        self.request('GET', '/v2.1/servers', token='admin:ops')
        ctx = self.compute.contexts[-1]
        self.assertTrue(ctx.is_admin)
        self.assertIn('admin', ctx.roles)
        self.assertEqual('ops', ctx.project_id)
        self.request('GET', '/v2.1/servers', token='administrator')
        self.assertFalse(self.compute.contexts[-1].is_admin)


def _keystone_request(**headers):
    req = webob.Request.blank('/')
    req.headers.update(headers)
    return req


class KeystoneContextTestCase(test.TestCase):
    def test_context_from_confirmed_identity(self):
        ctx = auth.context_from_keystone_headers(_keystone_request(**{
            'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1',
            'X-Project-Id': 'p1', 'X-Roles': 'reader, member'}))
        self.assertEqual(('u1', 'p1', False), (ctx.user_id, ctx.project_id,
                                               ctx.is_admin))
        self.assertEqual(('reader', 'member'), ctx.roles)

    def test_admin_role_makes_admin(self):
        ctx = auth.context_from_keystone_headers(_keystone_request(**{
            'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1',
            'X-Project-Id': 'p1', 'X-Roles': 'reader,admin'}))
        self.assertTrue(ctx.is_admin)

    def test_request_id_is_carried(self):
        req = _keystone_request(**{
            'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1',
            'X-Project-Id': 'p1'})
        req.environ[wsgi.REQUEST_ID_KEY] = 'req-1234'
        self.assertEqual(
            'req-1234', auth.context_from_keystone_headers(req).request_id)

    def test_unconfirmed_identity_is_401(self):
        for status in (None, 'Invalid'):
            headers = {'X-User-Id': 'u1', 'X-Project-Id': 'p1'}
            if status:
                headers['X-Identity-Status'] = status
            self.assertRaises(webob.exc.HTTPUnauthorized,
                              auth.context_from_keystone_headers,
                              _keystone_request(**headers))

    def test_unscoped_token_is_403(self):
        self.assertRaises(webob.exc.HTTPForbidden,
                          auth.context_from_keystone_headers,
                          _keystone_request(**{
                              'X-Identity-Status': 'Confirmed',
                              'X-User-Id': 'u1'}))


class KeystoneAppTestCase(test.TestCase):
    def setUp(self):
        super().setUp()
        self.useFixture(base.fixtures.FakeLogger())
        conf_file = self.useFixture(base.fixtures.TempDir()).join('nova.conf')
        with open(conf_file, 'w') as f:
            f.write('[api]\nauth_strategy = keystone\n'
                    '[keystone_authtoken]\n'
                    'www_authenticate_uri = '
                    'http://keystone.example.org/identity\n')
        self.kconf = nova.conf.new_conf()
        self.kconf(['--config-file', conf_file], project='nova',
                   default_config_files=[])
        self.compute = fakes.FakeComputeAPI()
        self.app = app.build_app(self.compute, conf=self.kconf)

    def test_auth_token_middleware_in_front_of_the_api(self):
        found = self.app
        while not isinstance(found, auth_token.AuthProtocol):
            found = found.application
        self.assertIsInstance(found._app.application,
                              auth.KeystoneContextMiddleware)

    def test_request_without_token_is_refused(self):
        req = webob.Request.blank('/v2.1/servers')
        response = req.get_response(self.app)
        self.assertEqual(401, response.status_int)
        self.assertIn('keystone.example.org',
                      response.headers['WWW-Authenticate'])
        self.assertEqual([], self.compute.calls)

    def _pretend_keystone_confirmed(self, roles):
        def process_request(protocol, request):
            # What auth_token does for a valid token.
            request.headers.update({
                'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1',
                'X-Project-Id': 'p1', 'X-Roles': roles})
        self.useFixture(base.fixtures.MockPatchObject(
            auth_token.AuthProtocol, 'process_request', process_request))

    def test_confirmed_identity_reaches_the_api(self):
        self._pretend_keystone_confirmed('member,admin')
        server = self.compute.add_server(project_id='p1')
        response = webob.Request.blank(
            '/v2.1/servers/%s' % server['uuid']).get_response(self.app)
        self.assertEqual(200, response.status_int, response.body)
        self.assertIn('OS-EXT-SRV-ATTR:host', response.json['server'])
        ctx = self.compute.contexts[-1]
        self.assertEqual(('u1', 'p1', True),
                         (ctx.user_id, ctx.project_id, ctx.is_admin))

    def test_errors_below_auth_token_are_json_faults(self):
        self._pretend_keystone_confirmed('member')
        for path, status, name in (
                ('/v2.1/servers/nope', 404, 'itemNotFound'),
                ('/v2.1/nothing-here', 404, 'itemNotFound')):
            req = webob.Request.blank(path)
            req.headers['OpenStack-API-Version'] = 'compute 2.6'
            response = req.get_response(self.app)
            self.assertEqual(status, response.status_int)
            self.assertEqual(status, response.json[name]['code'])
            self.assertEqual('compute 2.6',
                             response.headers['OpenStack-API-Version'])
            self.assertIn('x-openstack-request-id', response.headers)
        req = webob.Request.blank('/v2.1/flavors')
        req.headers['OpenStack-API-Version'] = 'compute 2.99'
        response = req.get_response(self.app)
        self.assertEqual(406, response.status_int)
        self.assertEqual(406, response.json['computeFault']['code'])

    def test_version_documents_need_no_token(self):
        response = webob.Request.blank('/v2.1').get_response(self.app)
        self.assertEqual(200, response.status_int)

    def test_unknown_strategy_fails_loudly(self):
        conf = nova.conf.new_conf()
        conf([], project='nova', default_config_files=[])
        # The option's choices keep a bad value out of a config file.
        self.assertRaises(ValueError, conf.set_override, 'auth_strategy',
                          'bogus', group='api')


def _token(scope):
    """keystoneauth1's model of a real v3 token of the given scope."""
    body = fixture.V3Token(user_id='u1', user_name='alice')
    if scope == 'project':
        body.set_project_scope(id='p1', name='demo')
    elif scope == 'domain':
        body.set_domain_scope(id='d1', name='Default')
    elif scope == 'system':
        body.set_system_scope()
    # Keystone puts the implied roles in: member implies reader.
    body.add_role(name='member')
    body.add_role(name='reader')
    return access.create(body=body)


class KeystoneScopeTestCase(base.APITestCase):
    """What each token scope gets, with the headers auth_token really sets.

    auth_token's request copies every attribute of the token into a
    header, None included; this drives that very code (set_user_headers)
    instead of a dict of what we think it sets.
    """

    def setUp(self):
        super().setUp()
        conf_file = self.useFixture(base.fixtures.TempDir()).join('nova.conf')
        with open(conf_file, 'w') as f:
            f.write('[api]\nauth_strategy = keystone\n'
                    '[keystone_authtoken]\n'
                    'www_authenticate_uri = http://keystone.example.org/\n')
        kconf = nova.conf.new_conf()
        kconf(['--config-file', conf_file], project='nova',
              default_config_files=[])
        self.kapp = app.build_app(self.compute, conf=kconf)

    def _get(self, scope, path='/v2.1/servers'):
        auth_ref = _token(scope)

        def process_request(protocol, request):
            request.user_token_valid = True
            request.set_user_headers(auth_ref)
        self.useFixture(base.fixtures.MockPatchObject(
            auth_token.AuthProtocol, 'process_request', process_request))
        return webob.Request.blank(path).get_response(self.kapp)

    def test_project_scoped_token_reaches_the_api(self):
        self.assertEqual(200, self._get('project').status_int)
        ctx = self.compute.contexts[-1]
        self.assertEqual(('u1', 'p1', ('member', 'reader')),
                         (ctx.user_id, ctx.project_id, ctx.roles))

    def test_tokens_without_a_project_get_403_naming_the_scope(self):
        for scope, reason in (('unscoped', 'an unscoped token'),
                              ('domain', 'domain-scoped token (domain d1)'),
                              ('system', 'system-scoped token (system all)')):
            self.assertFault(self._get(scope), 403, 'forbidden',
                             'needs a project-scoped token', reason)
        self.assertEqual([], self.compute.calls)

    def test_none_like_project_header_is_403(self):
        # Whatever turns auth_token's None into text or blanks must not
        # make a project called 'None' nor a 500.
        for value in (None, 'None', '', '  '):
            req = _keystone_request(**{
                'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1'})
            req.environ['HTTP_X_PROJECT_ID'] = value
            req.environ['HTTP_X_ROLES'] = None
            error = self.assertRaises(webob.exc.HTTPForbidden,
                                      auth.context_from_keystone_headers,
                                      req)
            self.assertIn('an unscoped token', error.explanation)

    def test_none_user_header_is_401(self):
        req = _keystone_request(**{
            'X-Identity-Status': 'Confirmed', 'X-Project-Id': 'p1'})
        req.environ['HTTP_X_USER_ID'] = None
        self.assertRaises(webob.exc.HTTPUnauthorized,
                          auth.context_from_keystone_headers, req)
