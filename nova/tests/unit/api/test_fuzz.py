"""Random requests never make the API fail with a 500.

Whatever the body, headers or path, the answer is a success or a JSON
fault with a 4xx status: a 500 means a request crashed our code. The
inputs include what parses but cannot be used: strings with lone UTF-16
surrogates (sent as JSON escapes, ``"\\ud800"``; the fake compute API
fails on them as the database does), version numbers and ids of
thousands of digits (int() refuses more than 4300), and very long ids.
"""

import json
import urllib.parse

import hypothesis
from hypothesis import strategies as st

from nova.api.openstack.compute import app
from nova.tests.unit.api import base
from nova.tests.unit.api import fakes

SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[hypothesis.HealthCheck.too_slow])

REFS = (fakes.IMAGE_ID, fakes.OTHER_IMAGE_ID, fakes.FLAVOR_ID, 'm1.small',
        'nope', 'http://x/images/%s' % fakes.IMAGE_ID, 'http://x/', '')

# Text that may hold lone surrogates: st.text() never has them, even
# with an alphabet that does (it merges the alphabet's character sets).
odd_text = st.lists(st.characters()
                    | st.characters(min_codepoint=0xd800,
                                    max_codepoint=0xdfff),
                    max_size=12).map(''.join)
any_text = st.text(max_size=20) | odd_text
# Decimal digits: a few, or more than int() reads.
digits = (st.text('0123456789', min_size=1, max_size=12)
          | st.builds(lambda head, n: head + '1' * n,
                      st.text('123456789', min_size=1, max_size=3),
                      st.integers(4290, 6000)))

json_scalars = (st.none() | st.booleans()
                | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
                | st.floats(allow_nan=False, allow_infinity=False)
                | any_text)
json_values = st.recursive(
    json_scalars,
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=8) | odd_text,
                                        children, max_size=4)),
    max_leaves=12)


def _object(**fields):
    """A valid object (each field from its strategy of good values), or
    one with any subset of the fields, any values and maybe a stranger."""
    anything = {name: st.one_of(good, json_values)
                for name, good in fields.items()}
    anything['junk'] = json_values
    return st.one_of(st.fixed_dictionaries(fields),
                     st.fixed_dictionaries({}, optional=anything))


descriptions = st.none() | any_text
refs = st.sampled_from(REFS) | odd_text
hosts = st.sampled_from([None, 'compute-1', 'compute-2', 'compute-9', ''])
booleans = st.sampled_from([True, False, 'true', 'off', 'auto', 'Yes', 1])

server_bodies = st.fixed_dictionaries({'server': _object(
    name=st.text(max_size=10) | odd_text,
    imageRef=refs,
    flavorRef=refs | st.integers(0, 2),
    networks=st.sampled_from(['none', 'auto', []]),
    min_count=st.sampled_from([1, '1']),
    max_count=st.sampled_from([1, '1']),
    description=descriptions)})

action_bodies = st.one_of(
    st.fixed_dictionaries({'reboot': _object(
        type=st.sampled_from(['SOFT', 'soft', 'Hard', 'HARD']))}),
    st.fixed_dictionaries({'rebuild': _object(
        imageRef=refs, description=descriptions)}),
    st.fixed_dictionaries({'os-migrateLive': _object(
        host=hosts, block_migration=booleans,
        disk_over_commit=booleans)}),
    st.fixed_dictionaries({'os-getConsoleOutput': _object(
        length=st.none() | st.integers(-1, 4)
        | st.sampled_from(['-1', '0', '2', '-01']))}),
    st.fixed_dictionaries({'os-getSerialConsole': _object(
        type=st.just('serial'))}),
    st.dictionaries(st.sampled_from(['reboot', 'os-start',
                                     'os-migrateLive']) | st.text(),
                    json_values, max_size=3),
)
console_bodies = st.fixed_dictionaries({'remote_console': _object(
    protocol=st.sampled_from(['serial', 'vnc', 'spice', 'rdp', 'mks']),
    type=st.sampled_from(['serial', 'novnc', 'webmks', 'spice-html5']))})
viewer_bodies = st.fixed_dictionaries({'console_viewer': _object()})

# (method, path); {id} is replaced by one of the servers below.
POST_ENDPOINTS = (
    '/v2.1/servers',
    '/v2.1/servers/{id}/action',
    '/v2.1/servers/{id}/remote-consoles',
    '/v2.1/servers/{id}/console-viewers',
)
ALL_ENDPOINTS = (
    ('GET', '/'), ('GET', '/v2.1'), ('GET', '/v2.1/servers'),
    ('GET', '/v2.1/servers/detail'), ('GET', '/v2.1/servers/{id}'),
    ('GET', '/v2.1/flavors'), ('GET', '/v2.1/flavors/detail'),
    ('GET', '/v2.1/flavors/{id}'),
    ('GET', '/v2.1/flavors/{id}/os-extra_specs'),
    ('GET', '/v2.1/images'), ('GET', '/v2.1/images/detail'),
    ('GET', '/v2.1/images/{id}'), ('PUT', '/v2.1/servers/{id}'),
    ('GET', '/v2.1/os-services'), ('GET', '/v2.1/os-hypervisors'),
    ('GET', '/v2.1/os-hypervisors/detail'),
    ('GET', '/v2.1/os-hypervisors/{id}'),
) + tuple(('POST', path) for path in POST_ENDPOINTS)
# Indexes into server_ids: mostly the ACTIVE server.
SERVERS = st.sampled_from([1, 1, 1, 1, 0, 2, 3, 4])
VERSIONS = (None, '2.1', '2.5', '2.6', '2.8', '2.11', '2.16', '2.19',
            '2.24', '2.25', 'latest')
TOKENS = st.sampled_from([base.DEMO_TOKEN, base.ADMIN_TOKEN])
CONTENT_TYPES = ('application/json', 'text/plain', None, 'application/xml',
                 'application/vnd.openstack.compute+json',
                 'multipart/form-data; boundary=x')
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126),
                      max_size=20)
# MAJOR.MINOR with numbers of any length, or "latest", or a bad form.
version_numbers = (st.builds('{}.{}'.format, digits, digits)
                   | st.sampled_from(['2.1', '2.25', 'latest', '2.', '.1'])
                   | header_text)
# Path ids: short text, digits of any length, or far too long.
path_ids = (st.text(max_size=12) | digits
            | st.builds(lambda c, n: c * n, st.sampled_from('a1-%'),
                        st.integers(250, 6000)))
# Raw bodies whose escapes or numbers parse to what nothing can hold.
RAW_BODIES = (
    b'{"server": {"name": "\\ud800", "imageRef": "x", "flavorRef": "1"}}',
    b'{"server": {"name": "x", "imageRef": "\\udfff", "flavorRef": 1}}',
    b'{"rebuild": {"imageRef": "a\\ud83d"}}',
    b'{"\\udc00": {}}',
    b'{"os-getConsoleOutput": {"length": 1' + b'1' * 5000 + b'}}',
    b'{"os-getConsoleOutput": {"length": 1e999}}',
    b'{"reboot": ',
    b'\xff\xfe{}',
)
QUERIES = st.sampled_from(['name', 'host', 'binary', 'status'])

# A lone surrogate somewhere in otherwise ordinary text.
surrogate_text = st.builds(
    lambda head, surrogate, tail: head + surrogate + tail,
    st.text(max_size=6),
    st.characters(min_codepoint=0xd800, max_codepoint=0xdfff),
    st.text(max_size=6))
# (path, version, token, a valid body, the paths of its string fields):
# one of those fields gets a surrogate. Random bodies seldom pass the
# schema, so these start from valid ones.
STRING_FIELD_CASES = (
    ('/v2.1/servers', '2.19', base.DEMO_TOKEN,
     {'server': {'name': 'vm', 'imageRef': fakes.IMAGE_ID,
                 'flavorRef': fakes.FLAVOR_ID, 'networks': 'none',
                 'description': 'd'}},
     (('server', 'name'), ('server', 'imageRef'), ('server', 'flavorRef'),
      ('server', 'description'), ('server', 'networks'))),
    ('/v2.1/servers/{id}/action', '2.19', base.DEMO_TOKEN,
     {'rebuild': {'imageRef': fakes.IMAGE_ID, 'description': 'd'}},
     (('rebuild', 'imageRef'), ('rebuild', 'description'))),
    ('/v2.1/servers/{id}/action', '2.25', base.ADMIN_TOKEN,
     {'os-migrateLive': {'host': 'compute-2', 'block_migration': 'auto'}},
     (('os-migrateLive', 'host'), ('os-migrateLive', 'block_migration'))),
    ('/v2.1/servers/{id}/action', '2.1', base.DEMO_TOKEN,
     {'reboot': {'type': 'SOFT'}}, (('reboot', 'type'),)),
    ('/v2.1/servers/{id}/remote-consoles', '2.6', base.DEMO_TOKEN,
     {'remote_console': {'protocol': 'serial', 'type': 'serial'}},
     (('remote_console', 'protocol'), ('remote_console', 'type'))),
)


class FuzzTestCase(base.APITestCase):
    def setUp(self):
        super().setUp()
        self.fresh_world()

    def fresh_world(self):
        """Servers in known states (actions change them)."""
        self.compute = fakes.FakeComputeAPI()
        self.app = app.build_app(self.compute, conf=self.conf.conf)
        self.server_ids = ['nope']
        for status in ('ACTIVE', 'BUILD', 'ERROR'):
            self.server_ids.append(self.compute.add_server(
                status=status, fault='boom')['uuid'])
        self.server_ids.append(
            self.compute.add_server(project_id='other')['uuid'])
        for server_id in self.server_ids[1:3]:
            self.compute.console_output[server_id] = (
                b'line \xff\x00 \xe2\x9c\x93\r\n' * 3)

    def assertNoServerError(self, response):
        self.assertLess(response.status_int, 500, response.body)
        if response.status_int >= 400:
            body = json.loads(response.body)
            [fault] = body.values()
            self.assertEqual(response.status_int, fault['code'])
            self.assertNotIn('Traceback', response.text)

    def post_random_body(self, path, server, version, body, token):
        self.fresh_world()
        path = path.format(id=self.server_ids[server])
        self.assertNoServerError(
            self.request('POST', path, body=body, version=version,
                         token=token))

    @hypothesis.settings(max_examples=60, **SETTINGS)
    @hypothesis.given(server=SERVERS, version=st.sampled_from(VERSIONS),
                      body=server_bodies | json_values, token=TOKENS)
    def test_random_create_bodies(self, server, version, body, token):
        self.post_random_body('/v2.1/servers', server, version, body, token)

    @hypothesis.settings(max_examples=150, **SETTINGS)
    @hypothesis.given(server=SERVERS, version=st.sampled_from(VERSIONS),
                      body=action_bodies | json_values, token=TOKENS)
    def test_random_action_bodies(self, server, version, body, token):
        self.post_random_body('/v2.1/servers/{id}/action', server, version,
                              body, token)

    @hypothesis.settings(max_examples=40, **SETTINGS)
    @hypothesis.given(server=SERVERS, version=st.sampled_from(VERSIONS),
                      body=console_bodies | json_values, token=TOKENS)
    def test_random_remote_console_bodies(self, server, version, body,
                                          token):
        self.post_random_body('/v2.1/servers/{id}/remote-consoles', server,
                              version, body, token)

    @hypothesis.settings(max_examples=40, **SETTINGS)
    @hypothesis.given(server=SERVERS, version=st.sampled_from(VERSIONS),
                      body=viewer_bodies | json_values, token=TOKENS)
    def test_random_console_viewer_bodies(self, server, version, body,
                                          token):
        self.post_random_body('/v2.1/servers/{id}/console-viewers', server,
                              version, body, token)

    @hypothesis.settings(max_examples=60, **SETTINGS)
    @hypothesis.given(path=st.sampled_from(POST_ENDPOINTS),
                      version=st.sampled_from(VERSIONS),
                      content_type=st.sampled_from(CONTENT_TYPES),
                      raw=st.binary(max_size=64)
                      | st.sampled_from(RAW_BODIES))
    def test_random_bytes(self, path, version, content_type, raw):
        path = path.format(id=self.server_ids[1])
        self.assertNoServerError(self.request(
            'POST', path, raw=raw, content_type=content_type,
            version=version))

    @hypothesis.settings(max_examples=60, **SETTINGS)
    @hypothesis.given(endpoint=st.sampled_from(ALL_ENDPOINTS),
                      resource_id=st.text(max_size=12)
                      | st.sampled_from(['1', '2', '01', fakes.IMAGE_ID]),
                      token=TOKENS | header_text,
                      new_header=header_text
                      | st.sampled_from(['compute 2.11', 'compute 2.25']),
                      legacy_header=st.none() | header_text,
                      query_name=QUERIES,
                      query=st.text(max_size=12)
                      | st.sampled_from(['compute-1', 'nova-compute']))
    def test_random_paths_tokens_and_versions(
            self, endpoint, resource_id, token, new_header, legacy_header,
            query_name, query):
        method, path = endpoint
        path = path.format(id=urllib.parse.quote(resource_id, safe=''))
        path += '?%s=%s' % (query_name, urllib.parse.quote(
            query.encode('utf-8', 'surrogatepass')))
        headers = {'OpenStack-API-Version': new_header}
        if legacy_header is not None:
            headers['X-OpenStack-Nova-API-Version'] = legacy_header
        self.assertNoServerError(self.request(
            method, path, body={'reboot': {'type': 'SOFT'}}, token=token,
            headers=headers))

    @hypothesis.settings(max_examples=80, **SETTINGS)
    @hypothesis.given(endpoint=st.sampled_from(ALL_ENDPOINTS),
                      resource_id=path_ids,
                      new_header=st.none() | version_numbers,
                      legacy_header=st.none() | version_numbers,
                      token=TOKENS)
    def test_version_headers_and_path_ids(self, endpoint, resource_id,
                                          new_header, legacy_header, token):
        method, path = endpoint
        path = path.format(id=urllib.parse.quote(resource_id, safe=''))
        headers = {}
        if new_header is not None:
            headers['OpenStack-API-Version'] = 'compute ' + new_header
        if legacy_header is not None:
            headers['X-OpenStack-Nova-API-Version'] = legacy_header
        self.assertNoServerError(self.request(
            method, path, body={'reboot': {'type': 'SOFT'}}, token=token,
            headers=headers))

    @hypothesis.settings(max_examples=60, **SETTINGS)
    @hypothesis.given(case=st.sampled_from(STRING_FIELD_CASES),
                      pick=st.integers(0, 10), text=surrogate_text,
                      as_key=st.booleans())
    def test_lone_surrogate_in_any_string_field(self, case, pick, text,
                                                as_key):
        path, version, token, body, fields = case
        body = json.loads(json.dumps(body))
        outer, field = fields[pick % len(fields)]
        if as_key:
            body[outer][text] = body[outer].pop(field)
        else:
            body[outer][field] = text
        self.fresh_world()
        response = self.request('POST', path.format(id=self.server_ids[1]),
                                body=body, version=version, token=token)
        self.assertNoServerError(response)
        self.assertEqual(400, response.status_int, response.body)
