"""The API samples of the user guide, checked against the live service.

Every file under ``doc/api_samples`` is a request body sent to, or a
response body expected from, nova-all running on the real hypervisor
(``NovaServices``). A request sample is sent exactly as it is written. A
response sample must match the live response:

* objects have the same keys, recursively: a key the service adds or
  drops fails the test;
* arrays have the same length, compared item by item;
* a literal (string, number, boolean, null) is equal, type included;
* a string with placeholders such as ``"%(host)s/v2.1/servers/%(uuid)s"``
  matches the regular expressions of :data:`PLACEHOLDERS` in place of the
  placeholders, and the rest of the string literally;
* for the samples of a host's figures (os-hypervisors, os-services), which
  differ from one machine to the next, a number or boolean of the sample
  stands for any value of the same type (``loose``); the step checks what
  matters of those values itself.

Any sample that drifts from the service therefore fails, and so does a
sample file that no step below uses, or that ``doc/source/user/api.rst``
does not show.
"""

import collections
import json
import os
import re
import time
import urllib.error
import urllib.request

import fixtures
import testtools
import websocket

from nova.console import websocketproxy
from nova.tests.functional import base
from nova.tests.functional import services

SAMPLES_DIR = os.path.join(base.REPO, 'doc', 'api_samples')
API_PAGE = os.path.join(base.REPO, 'doc', 'source', 'user', 'api.rst')

_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

# What each placeholder of a response sample stands for. No capturing
# groups inside: the matcher numbers its own.
PLACEHOLDERS = {
    # A server's id.
    'uuid': _UUID,
    # A time as the API writes it, in UTC.
    'isotime': r'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z',
    # The root of the compute API as the client called it: scheme, host
    # and port, without a trailing slash.
    'host': r'https?://[^/?#\s]+',
    # hostId: SHA-224 of the project and the compute host.
    'hostid': '[0-9a-f]{56}',
    # Host and port of nova-serialproxy, from [serial_console] base_url.
    'proxy_host': r'(?:[^/?#:\s\[\]]+|\[[0-9A-Fa-f:.]+\])',
    'proxy_port': '[0-9]{1,5}',
    # A console token: secrets.token_urlsafe(32).
    'token': '[A-Za-z0-9_-]{43}',
    # Free text: the guest's console output.
    'text': r'[\s\S]*',
    # A compute host's name (as Nova's host names: underscores allowed).
    'hostname': '[A-Za-z0-9._-]+',
    # An IPv4 or IPv6 address.
    'ip': '[0-9A-Fa-f.:]+',
    # A libvirt or QEMU version.
    'version': r'[0-9]+\.[0-9]+\.[0-9]+',
    # How a host logs its guests' consoles.
    'console_log': 'virtlogd|file|none',
    # -- srv: an OS-SRV-USG time, as Nova writes it (no zone).
    'usgtime': r'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'
               r'\.[0-9]{6}',
    # A time as Nova writes an aggregate's: naive UTC, microseconds.
    'strtime': r'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'
               r'(?:\.[0-9]{1,6})?',
}
# The only placeholder a request sample may hold: the compute host's
# name, which differs from one machine to the next (filled in with the
# name the service reported before the request is sent).
REQUEST_PLACEHOLDERS = {'hostname'}

_PLACEHOLDER_RE = re.compile(r'%\((\w+)\)s')
_CONTROL_CHARACTERS = re.compile('[\x00-\x08\x0b-\x1f]')

API_VERSION_HEADER = 'OpenStack-API-Version'
LEGACY_VERSION_HEADER = 'X-OpenStack-Nova-API-Version'
REQUEST_ID_RE = re.compile('req-' + _UUID)

OTHER_PROJECT_TOKEN = 'intruder:other'
ADMIN_TOKEN = 'admin'
# The target of the live migration samples: no such host in the test.
MISSING_HOST = 'compute-2'
GUEST_BANNER = 'NOVA-GUEST-BANNER'
GUEST_PROMPT = b'nova-guest# '
WAIT_TIMEOUT = 120
TEST_TIMEOUT = 300

Response = collections.namedtuple('Response', 'status headers body raw')


class SampleMismatch(AssertionError):
    pass


def sample_files():
    """Every sample, as a path relative to doc/api_samples."""
    found = set()
    for folder, _dirs, files in os.walk(SAMPLES_DIR):
        for name in files:
            if name.endswith('.json'):
                path = os.path.join(folder, name)
                found.add(os.path.relpath(path, SAMPLES_DIR))
    return found


def load_sample(name):
    with open(os.path.join(SAMPLES_DIR, name), encoding='utf-8') as f:
        return json.load(f)


def placeholders_in(value):
    """The placeholder names used anywhere in a sample (keys included)."""
    if isinstance(value, dict):
        names = set()
        for key, item in value.items():
            names |= placeholders_in(key) | placeholders_in(item)
        return names
    if isinstance(value, list):
        names = set()
        for item in value:
            names |= placeholders_in(item)
        return names
    if isinstance(value, str):
        return set(_PLACEHOLDER_RE.findall(value))
    return set()


def template_regex(template):
    """A regex for a sample string, and its placeholder names in order."""
    names = []
    parts = []
    position = 0
    for match in _PLACEHOLDER_RE.finditer(template):
        name = match.group(1)
        if name not in PLACEHOLDERS:
            raise SampleMismatch('unknown placeholder %%(%s)s in %r'
                                 % (name, template))
        parts.append(re.escape(template[position:match.start()]))
        parts.append('(%s)' % PLACEHOLDERS[name])
        names.append(name)
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile(''.join(parts)), names


def _short(value):
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + '...'


def match_sample(expected, actual, path='body', captured=None,
                 loose=False):
    """Raise SampleMismatch unless ``actual`` matches sample ``expected``.

    Returns ``captured``: each placeholder name with the set of values it
    matched. ``loose``: a number or boolean of the sample matches any
    value of its type (an int any int, never a bool or a float).
    """
    if captured is None:
        captured = {}
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise SampleMismatch('%s: the sample has an object, the service '
                                 'sent %s' % (path, _short(actual)))
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        if missing or extra:
            raise SampleMismatch(
                '%s: keys in the sample only: %s; keys in the response '
                'only: %s' % (path, missing, extra))
        for key in expected:
            match_sample(expected[key], actual[key],
                         '%s[%r]' % (path, key), captured, loose)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            raise SampleMismatch(
                '%s: the sample has a list of %d, the service sent %s'
                % (path, len(expected), _short(actual)))
        for index, (want, got) in enumerate(zip(expected, actual)):
            match_sample(want, got, '%s[%d]' % (path, index), captured,
                         loose)
    elif isinstance(expected, str) and _PLACEHOLDER_RE.search(expected):
        regex, names = template_regex(expected)
        found = regex.fullmatch(actual) if isinstance(actual, str) else None
        if found is None:
            raise SampleMismatch('%s: %s does not match the sample %r'
                                 % (path, _short(actual), expected))
        for name, value in zip(names, found.groups()):
            captured.setdefault(name, set()).add(value)
    elif (loose and isinstance(expected, (bool, int, float))
          and type(expected) is type(actual)):
        pass
    elif type(expected) is not type(actual) or expected != actual:
        raise SampleMismatch('%s: the sample has %s, the service sent %s'
                             % (path, _short(expected), _short(actual)))
    return captured


def literalincludes(page):
    """Sample paths (relative to doc/api_samples) a page includes."""
    with open(page, encoding='utf-8') as f:
        text = f.read()
    return set(re.findall(
        r'^\s*\.\. literalinclude:: \.\./\.\./api_samples/(\S+\.json)\s*$',
        text, re.M))


class SampleFilesTestCase(testtools.TestCase):
    """The sample files themselves; needs no service."""

    def test_samples_are_json_with_known_placeholders(self):
        files = sample_files()
        self.assertGreater(len(files), 20)
        for name in sorted(files):
            used = placeholders_in(load_sample(name))
            if name.endswith('-req.json'):
                # Sent as written but for the host's name: any other
                # placeholder would go to the service.
                self.assertEqual(set(), used - REQUEST_PLACEHOLDERS, name)
            else:
                self.assertTrue(name.endswith('-resp.json'), name)
                self.assertEqual(set(), used - set(PLACEHOLDERS), name)

    def test_api_page_shows_every_sample(self):
        self.assertEqual(sorted(sample_files()),
                         sorted(literalincludes(API_PAGE)))


class APISamplesTestCase(testtools.TestCase):
    """Each sample against nova-all on the real hypervisor, in one story.

    One server (flavor 1) goes through create, show, list, console output,
    both serial console calls, a websocket session, a console viewer, soft
    and hard reboot, rebuild and delete; the error samples are provoked on
    the way.
    """

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(TEST_TIMEOUT, gentle=True))
        stack = base._Stack.ensure()
        self.services = services.NovaServices(
            stack.kernel, stack.initrd, stack.cmdline, stack.virt_type)
        self.addCleanup(self.services.cleanup)
        self.services.start()
        self.root = 'http://127.0.0.1:%d' % self.services.api_port
        self.used = set()

    # -- HTTP and samples -----------------------------------------------

    def call(self, method, path, body=None, token=services.USER_TOKEN,
             version=None):
        data = None if body is None else json.dumps(body).encode('utf-8')
        req = urllib.request.Request(self.root + path, data=data,
                                     method=method)
        req.add_header('Accept', 'application/json')
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        if token:
            req.add_header('X-Auth-Token', token)
        if version:
            req.add_header(API_VERSION_HEADER, 'compute %s' % version)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, headers, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, headers, raw = e.code, e.headers, e.read()
        return Response(status, headers, json.loads(raw) if raw else None,
                        raw)

    def request_sample(self, name, **fill):
        """Sample ``name`` as sent: REQUEST_PLACEHOLDERS filled from
        ``fill``."""
        self.used.add(name)
        sample = load_sample(name)
        if placeholders_in(sample):
            text = json.dumps(sample)
            for key, value in fill.items():
                text = text.replace('%%(%s)s' % key, value)
            sample = json.loads(text)
            self.assertEqual(set(), placeholders_in(sample), name)
        return sample

    def check(self, name, response, status, version='2.1', loose=False):
        """Match ``response`` against sample ``name``; the captures.

        ``version``: the microversion the response must say served it,
        None for responses from outside the versioned API. ``loose``: see
        :func:`match_sample`.
        """
        self.used.add(name)
        self.assertEqual(status, response.status, response.raw)
        self.assertEqual('application/json',
                         response.headers.get_content_type())
        if version is not None:
            self.assertVersionHeaders(response, version)
        try:
            return match_sample(load_sample(name), response.body,
                                loose=loose)
        except SampleMismatch as e:
            self.fail('%s drifted from the service: %s\nfull response: %s'
                      % (name, e, response.raw.decode('utf-8', 'replace')))

    def assertVersionHeaders(self, response, version):
        self.assertEqual('compute %s' % version,
                         response.headers.get(API_VERSION_HEADER))
        self.assertEqual(version, response.headers.get(LEGACY_VERSION_HEADER))
        self.assertRegex(response.headers.get('X-OpenStack-Request-Id', ''),
                         REQUEST_ID_RE)

    def assertNoBody(self, response, status):
        self.assertEqual(status, response.status, response.raw)
        self.assertEqual(b'', response.raw)

    # -- waiting --------------------------------------------------------

    def server_path(self, server_id, suffix=''):
        return '/v2.1/servers/%s%s' % (server_id, suffix)

    def wait_active(self, server_id):
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            response = self.call('GET', self.server_path(server_id))
            self.assertEqual(200, response.status, response.raw)
            server = response.body['server']
            if server['status'] == 'ERROR':
                self.fail('server %s went to ERROR: %s' % (
                    server_id, server.get('fault')))
            if (server['status'] == 'ACTIVE' and
                    server['OS-EXT-STS:task_state'] is None):
                return server
            time.sleep(0.3)
        self.fail('server %s not ACTIVE within %d s: %s'
                  % (server_id, WAIT_TIMEOUT, server))

    def console_output(self, server_id, length=None):
        response = self.call('POST', self.server_path(server_id, '/action'),
                             {'os-getConsoleOutput': {'length': length}})
        self.assertEqual(200, response.status, response.raw)
        return response.body['output']

    def wait_for_banner(self, server_id):
        deadline = time.monotonic() + WAIT_TIMEOUT
        output = ''
        while time.monotonic() < deadline:
            output = self.console_output(server_id)
            if GUEST_BANNER in output:
                return output
            time.sleep(0.5)
        self.fail('%s not in the console output of %s within %d s: %r'
                  % (GUEST_BANNER, server_id, WAIT_TIMEOUT, output[-500:]))

    def wait_gone(self, server_id):
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            response = self.call('GET', self.server_path(server_id))
            if response.status == 404:
                return
            time.sleep(0.3)
        self.fail('server %s still there %d s after its delete'
                  % (server_id, WAIT_TIMEOUT))

    # -- the serial console over websocket ------------------------------

    def open_console(self, url):
        """A websocket session on the guest's shell, as a user opens it."""
        ws = websocket.create_connection(url, timeout=30)
        self.addCleanup(ws.close)
        ws.send_binary(b'\r')
        received = b''
        deadline = time.monotonic() + 60
        while GUEST_PROMPT not in received:
            self.assertLess(time.monotonic(), deadline, received[-300:])
            opcode, data = ws.recv_data()
            # Guest bytes come in binary frames, never text frames.
            self.assertEqual(websocket.ABNF.OPCODE_BINARY, opcode, data)
            received += data
        ws.close()

    def assertConsoleRefused(self, url):
        ws = websocket.create_connection(url, timeout=30)
        self.addCleanup(ws.close)
        opcode, data = ws.recv_data(control_frame=True)
        self.assertEqual(websocket.ABNF.OPCODE_CLOSE, opcode, data)
        code = int.from_bytes(data[:2], 'big')
        self.assertEqual(websocketproxy.CLOSE_POLICY_VIOLATION, code)
        self.assertEqual(websocketproxy.REFUSED_TOKEN,
                         data[2:].decode('utf-8'))

    # -- the story ------------------------------------------------------

    def test_samples_match_the_live_service(self):
        self._check_versions()
        self._check_flavors_and_images()
        self._check_errors_without_a_server()
        self._check_keypairs()
        server_id = self._check_create_show_list()
        self._check_services_and_hypervisors()
        self._check_hypervisor_calls(server_id)
        self._check_flavor_manage()
        self._check_aggregates_and_service_actions()
        self._check_admin_view_and_live_migration(server_id)
        self._check_server_records(server_id)
        self._check_console_output(server_id)
        url = self._check_serial_consoles(server_id)
        viewer_url = self._check_console_viewers(server_id)
        self._check_reboots(server_id, url, viewer_url)
        self._check_update(server_id)
        self._check_rebuild_and_delete(server_id)
        self.assertEqual(sorted(sample_files()), sorted(self.used),
                         'every sample file is checked here')

    def _check_versions(self):
        # The version documents need no token and no microversion.
        captured = self.check('versions/versions-get-resp.json',
                              self.call('GET', '/', token=None), 200,
                              version=None)
        self.assertEqual({self.root}, captured['host'])
        captured = self.check('versions/v21-version-get-resp.json',
                              self.call('GET', '/v2.1', token=None), 200,
                              version=None)
        self.assertEqual({self.root}, captured['host'])

    def _check_flavors_and_images(self):
        for path, name in (
                ('/v2.1/flavors', 'flavors/flavors-list-resp.json'),
                ('/v2.1/flavors/detail', 'flavors/flavors-detail-resp.json'),
                ('/v2.1/flavors/2', 'flavors/flavor-get-resp.json'),
                ('/v2.1/flavors/2/os-extra_specs',
                 'flavors/flavor-extra-specs-list-resp.json'),
                ('/v2.1/flavors/2/os-extra_specs/hw:serial_port_count',
                 'flavors/flavor-extra-specs-get-resp.json'),
                ('/v2.1/images', 'images/images-list-resp.json'),
                ('/v2.1/images/detail', 'images/images-details-resp.json'),
                ('/v2.1/images/%s' % services.IMAGE_ID,
                 'images/image-get-resp.json')):
            captured = self.check(name, self.call('GET', path), 200)
            self.assertEqual({self.root}, captured.get('host', {self.root}))

    def _check_errors_without_a_server(self):
        self.check('errors/unauthorized-resp.json',
                   self.call('GET', '/v2.1/servers', token=None), 401,
                   version=None)
        self.check('errors/version-not-supported-resp.json',
                   self.call('GET', '/v2.1/servers', version='2.31'), 406,
                   version=None)
        request = self.request_sample(
            'errors/server-create-missing-flavor-req.json')
        response = self.call('POST', '/v2.1/servers', request)
        self.check('errors/server-create-missing-flavor-resp.json', response,
                   400)
        # Nothing was created.
        self.assertEqual([], self.call('GET', '/v2.1/servers').body['servers'])

    def _check_keypairs(self):
        # The key pair the server below is created with.
        self.check('os-keypairs/keypairs-import-post-resp.json', self.call(
            'POST', '/v2.1/os-keypairs', self.request_sample(
                'os-keypairs/keypairs-import-post-req.json')), 200)
        self.check('os-keypairs/keypairs-list-resp.json',
                   self.call('GET', '/v2.1/os-keypairs'), 200)
        self.check('os-keypairs/keypairs-get-resp.json',
                   self.call('GET', '/v2.1/os-keypairs/demo-key'), 200)
        # Another user has none of that name.
        self.assertEqual(404, self.call(
            'GET', '/v2.1/os-keypairs/demo-key',
            token=OTHER_PROJECT_TOKEN).status)

    def _check_update(self, server_id):
        self.check('servers/server-update-resp.json', self.call(
            'PUT', self.server_path(server_id),
            self.request_sample('servers/server-update-req.json')), 200)

    def _check_create_show_list(self):
        response = self.call(
            'POST', '/v2.1/servers',
            self.request_sample('servers/server-create-req.json'))
        captured = self.check('servers/server-create-resp.json', response,
                              202)
        server_id = response.body['server']['id']
        self.assertEqual({server_id}, captured['uuid'])
        self.assertEqual({self.root}, captured['host'])
        self.assertEqual(self.root + self.server_path(server_id),
                         response.headers['Location'])

        self.wait_active(server_id)
        for path, name in (
                (self.server_path(server_id), 'servers/server-get-resp.json'),
                ('/v2.1/servers', 'servers/servers-list-resp.json'),
                ('/v2.1/servers/detail',
                 'servers/servers-details-resp.json')):
            captured = self.check(name, self.call('GET', path), 200)
            self.assertEqual({server_id}, captured['uuid'])
            self.assertEqual({self.root}, captured['host'])

        # Another project's server does not exist for the caller.
        captured = self.check(
            'errors/server-not-found-resp.json',
            self.call('GET', self.server_path(server_id),
                      token=OTHER_PROJECT_TOKEN), 404)
        self.assertEqual({server_id}, captured['uuid'])
        return server_id

    def _check_services_and_hypervisors(self):
        """The single host reports itself (admins only)."""
        services = {}
        for version, name in (
                ('2.1', 'os-services/services-list-get-resp.json'),
                ('2.11', 'os-services/v2.11/services-list-get-resp.json')):
            response = self.call('GET', '/v2.1/os-services',
                                 token=ADMIN_TOKEN, version=version)
            self.check(name, response, 200, version=version, loose=True)
            [service] = response.body['services']
            services[version] = service
        self.assertIs(False, services['2.11']['forced_down'])
        self.assertEqual(services['2.1']['id'], services['2.11']['id'])
        host = services['2.1']['host']
        self.assertEqual([services['2.1']['id']], [
            s['id'] for s in self.call(
                'GET', '/v2.1/os-services?host=%s&binary=nova-compute'
                % host, token=ADMIN_TOKEN).body['services']])
        self.assertEqual([], self.call(
            'GET', '/v2.1/os-services?host=%s' % MISSING_HOST,
            token=ADMIN_TOKEN).body['services'])
        self.assertEqual(403, self.call('GET', '/v2.1/os-services').status)

        response = self.call('GET', '/v2.1/os-hypervisors',
                             token=ADMIN_TOKEN)
        self.check('os-hypervisors/hypervisors-list-resp.json', response,
                   200, loose=True)
        [listed] = response.body['hypervisors']
        response = self.call('GET', '/v2.1/os-hypervisors/detail',
                             token=ADMIN_TOKEN)
        self.check('os-hypervisors/hypervisors-detail-resp.json', response,
                   200, loose=True)
        [detail] = response.body['hypervisors']
        response = self.call('GET', '/v2.1/os-hypervisors/%d' % listed['id'],
                             token=ADMIN_TOKEN)
        self.check('os-hypervisors/hypervisors-show-resp.json', response,
                   200, loose=True)
        shown = response.body['hypervisor']
        for key in ('id', 'hypervisor_hostname', 'state', 'status'):
            self.assertEqual(listed[key], detail[key], key)
        # Counters may move between two reports; the rest does not.
        for key in ('service', 'hypervisor_version', 'vcpus', 'memory_mb',
                    'cpu_info'):
            self.assertEqual(detail[key], shown[key], key)
        self.assertEqual(
            {'host': host, 'id': services['2.1']['id'],
             'disabled_reason': None}, shown['service'])
        # This project's facts: their own resource, out of Nova's body.
        response = self.call(
            'GET', '/v2.1/os-hypervisors/%d/serial-console-facts'
            % listed['id'], token=ADMIN_TOKEN)
        self.check('os-hypervisors/hypervisors-serial-console-facts-resp.'
                   'json', response, 200, loose=True)
        facts = response.body['serial_console_facts']
        self.assertEqual((listed['id'], listed['hypervisor_hostname']),
                         (facts['id'], facts['hypervisor_hostname']))
        # The figures come from the host's last report, which may predate
        # the story's guest: only their consistency is checked.
        self.assertEqual(facts['virtlogd'],
                         facts['console_log'] == 'virtlogd')
        ports = facts['serial_ports']
        self.assertTrue(0 <= ports['free'] <= ports['total'], ports)
        self.assertGreaterEqual(shown['running_vms'], 0)
        self.assertEqual(shown['memory_mb'] - shown['memory_mb_used'],
                         shown['free_ram_mb'])
        self.assertEqual(404, self.call('GET', '/v2.1/os-hypervisors/%s'
                                        % MISSING_HOST,
                                        token=ADMIN_TOKEN).status)

    def _host(self):
        [service] = self.call('GET', '/v2.1/os-services',
                              token=ADMIN_TOKEN).body['services']
        return service['host']

    def _check_hypervisor_calls(self, server_id):
        """Nova's other hypervisor calls (what `openstack hypervisor
        stats show` and `hypervisor show` send)."""
        [listed] = self.call('GET', '/v2.1/os-hypervisors',
                             token=ADMIN_TOKEN).body['hypervisors']
        name = listed['hypervisor_hostname']
        response = self.call('GET', '/v2.1/os-hypervisors/statistics',
                             token=ADMIN_TOKEN)
        self.check('os-hypervisors/hypervisors-statistics-resp.json',
                   response, 200, loose=True)
        self.assertEqual(1, response.body['hypervisor_statistics']['count'])
        response = self.call('GET', '/v2.1/os-hypervisors/%s/search' % name,
                             token=ADMIN_TOKEN)
        self.check('os-hypervisors/hypervisors-search-resp.json', response,
                   200, loose=True)
        self.assertEqual([listed], response.body['hypervisors'])
        response = self.call('GET', '/v2.1/os-hypervisors/%s/servers' % name,
                             token=ADMIN_TOKEN)
        captured = self.check(
            'os-hypervisors/hypervisors-with-servers-resp.json', response,
            200, loose=True)
        self.assertEqual({server_id}, captured['uuid'])
        self.assertEqual(404, self.call(
            'GET', '/v2.1/os-hypervisors/%s/search' % MISSING_HOST,
            token=ADMIN_TOKEN).status)

    def _check_flavor_manage(self):
        """What `openstack flavor create --property`, `flavor set
        --property` and `flavor delete` send."""
        response = self.call(
            'POST', '/v2.1/flavors',
            self.request_sample('flavors/flavor-create-req.json'),
            token=ADMIN_TOKEN)
        captured = self.check('flavors/flavor-create-resp.json', response,
                              200)
        self.assertEqual({self.root}, captured['host'])
        specs = '/v2.1/flavors/10/os-extra_specs'
        self.check('flavors/flavor-extra-specs-create-resp.json', self.call(
            'POST', specs, self.request_sample(
                'flavors/flavor-extra-specs-create-req.json'),
            token=ADMIN_TOKEN), 200)
        self.check('flavors/flavor-extra-specs-update-resp.json', self.call(
            'PUT', specs + '/hw:serial_port_count', self.request_sample(
                'flavors/flavor-extra-specs-update-req.json'),
            token=ADMIN_TOKEN), 200)
        self.assertEqual(403, self.call('DELETE', '/v2.1/flavors/10').status)
        self.assertNoBody(self.call('DELETE', specs + '/hw:serial_port_count',
                                    token=ADMIN_TOKEN), 200)
        self.assertNoBody(self.call('DELETE', '/v2.1/flavors/10',
                                    token=ADMIN_TOKEN), 202)
        self.assertEqual(404, self.call('GET', '/v2.1/flavors/10').status)

    def _check_aggregates_and_service_actions(self):
        host = self._host()
        response = self.call('POST', '/v2.1/os-aggregates',
                             self.request_sample(
                                 'os-aggregates/aggregate-post-req.json'),
                             token=ADMIN_TOKEN)
        self.check('os-aggregates/aggregate-post-resp.json', response, 200,
                   loose=True)
        path = '/v2.1/os-aggregates/%d' % response.body['aggregate']['id']
        for name in ('os-aggregates/aggregate-add-host-post-req.json',
                     'os-aggregates/aggregate-metadata-post-req.json'):
            self.assertEqual(200, self.call(
                'POST', path + '/action',
                self.request_sample(name, hostname=host),
                token=ADMIN_TOKEN).status)
        self.assertEqual(200, self.call('PUT', path, self.request_sample(
            'os-aggregates/aggregate-update-post-req.json'),
            token=ADMIN_TOKEN).status)
        captured = self.check('os-aggregates/aggregate-get-resp.json',
                              self.call('GET', path, token=ADMIN_TOKEN), 200,
                              loose=True)
        self.assertEqual({host}, captured['hostname'])
        self.check('os-aggregates/aggregates-list-get-resp.json',
                   self.call('GET', '/v2.1/os-aggregates', token=ADMIN_TOKEN),
                   200, loose=True)
        # The host is in the aggregate's zone now.
        [service] = self.call('GET', '/v2.1/os-services',
                              token=ADMIN_TOKEN).body['services']
        self.assertEqual('az-serial', service['zone'])
        self.assertEqual(200, self.call('POST', path + '/action', {
            'remove_host': {'host': host}}, token=ADMIN_TOKEN).status)
        self.assertEqual(200, self.call('DELETE', path,
                                        token=ADMIN_TOKEN).status)

        # Disable with a reason, enable; force-down false (2.11).
        for name, version in (
                ('os-services/service-disable-log-put', '2.1'),
                ('os-services/service-enable-put', '2.1'),
                ('os-services/v2.11/service-force-down-put', '2.11')):
            action = name.rsplit('/', 1)[1][len('service-'):-len('-put')]
            action = {'disable-log': 'disable-log-reason'}.get(action, action)
            response = self.call(
                'PUT', '/v2.1/os-services/' + action,
                self.request_sample(name + '-req.json', hostname=host),
                token=ADMIN_TOKEN, version=version)
            captured = self.check(name + '-resp.json', response, 200,
                                  version=version)
            self.assertEqual({host}, captured['hostname'])
        [service] = self.call('GET', '/v2.1/os-services',
                              token=ADMIN_TOKEN).body['services']
        self.assertEqual(('enabled', 'up', 'nova'), (
            service['status'], service['state'], service['zone']))

    def _check_admin_view_and_live_migration(self, server_id):
        path = self.server_path(server_id)
        response = self.call('GET', path, token=ADMIN_TOKEN, version='2.25')
        captured = self.check('servers/v2.25/server-get-admin-resp.json',
                              response, 200, version='2.25')
        self.assertEqual({server_id}, captured['uuid'])
        server = response.body['server']
        host = server['OS-EXT-SRV-ATTR:host']
        self.assertNotEqual(MISSING_HOST, host)
        hypervisors = self.call('GET', '/v2.1/os-hypervisors',
                                token=ADMIN_TOKEN).body['hypervisors']
        self.assertEqual(
            [server['OS-EXT-SRV-ATTR:hypervisor_hostname']],
            [h['hypervisor_hostname'] for h in hypervisors])

        # Only admins; then a target host that does not exist is the
        # caller's mistake, in both forms of the body.
        action = self.server_path(server_id, '/action')
        request = self.request_sample(
            'servers/v2.25/server-action-live-migrate-req.json')
        self.check('errors/migrate-live-forbidden-resp.json',
                   self.call('POST', action, request, version='2.25'), 403,
                   version='2.25')
        self.check('errors/migrate-live-host-not-found-resp.json',
                   self.call('POST', action, request, token=ADMIN_TOKEN,
                             version='2.25'), 400, version='2.25')
        old_request = self.request_sample(
            'servers/server-action-live-migrate-req.json')
        self.check('errors/migrate-live-host-not-found-resp.json',
                   self.call('POST', action, old_request,
                             token=ADMIN_TOKEN), 400)
        # Nothing happened to the server.
        server = self.wait_active(server_id)
        self.assertEqual('ACTIVE', server['status'])

    def _check_server_records(self, server_id):
        """Tags (2.26), metadata, instance actions, migrations, limits,
        zones; and a live migration with no other host says so."""
        tags = self.server_path(server_id, '/tags')
        self.check('os-server-tags/server-tags-put-all-resp.json',
                   self.call('PUT', tags, self.request_sample(
                       'os-server-tags/server-tags-put-all-req.json'),
                       version='2.26'), 200, version='2.26')
        self.check('os-server-tags/server-tags-index-resp.json',
                   self.call('GET', tags, version='2.26'), 200,
                   version='2.26')
        shown = self.call('GET', self.server_path(server_id),
                          version='2.26').body['server']
        self.assertEqual(['serial-console', 'web'], shown['tags'])
        listed = self.call('GET', '/v2.1/servers/detail?not-tags-any=web',
                           version='2.26').body['servers']
        self.assertEqual([], listed)

        metadata = self.server_path(server_id, '/metadata')
        self.check('server-metadata/server-metadata-create-resp.json',
                   self.call('POST', metadata, self.request_sample(
                       'server-metadata/server-metadata-create-req.json')),
                   200)
        self.check('server-metadata/server-metadata-item-put-resp.json',
                   self.call('PUT', metadata + '/role', self.request_sample(
                       'server-metadata/server-metadata-item-put-req.json')),
                   200)
        # The server was created with "purpose" (servers/server-create-req);
        # a POST merges into what the server has, as Nova's.
        self.assertEqual({'owner': 'ops', 'role': 'db',
                          'purpose': 'serial console demo'},
                         self.call('GET', metadata).body['metadata'])
        # Back to the create request's metadata (PUT replaces it all), so
        # the samples that follow show the server as created.
        for key in ('owner', 'role'):
            self.assertEqual(204, self.call(
                'DELETE', metadata + '/' + key).status)
        restored = self.call('PUT', metadata, {
            'metadata': {'purpose': 'serial console demo'}})
        self.assertEqual(200, restored.status, restored.raw)
        self.assertEqual({'purpose': 'serial console demo'},
                         self.call('GET', metadata).body['metadata'])

        self.check('os-availability-zone/availability-zone-list-resp.json',
                   self.call('GET', '/v2.1/os-availability-zone'), 200)
        absolute = self.call('GET', '/v2.1/limits').body['limits'][
            'absolute']
        self.assertEqual((1, 128), (absolute['totalInstancesUsed'],
                                    absolute['maxServerMeta']))

        # One host: host=null cannot move it, and says why.
        response = self.call('POST', self.server_path(server_id, '/action'),
                             {'os-migrateLive': {
                                 'host': None, 'block_migration': 'auto'}},
                             token=ADMIN_TOKEN, version='2.30')
        self.assertEqual(400, response.status, response.raw)
        message = response.body['badRequest']['message']
        self.assertIn('is the only compute host', message)
        self.assertNotIn('No compute service has reported', message)
        migrations = self.call('GET', '/v2.1/os-migrations',
                               token=ADMIN_TOKEN).body['migrations']
        self.assertIn('error', [m['status'] for m in migrations])
        actions = self.call('GET', self.server_path(
            server_id, '/os-instance-actions')).body['instanceActions']
        self.assertEqual('live-migration', actions[0]['action'])
        self.assertEqual('create', actions[-1]['action'])
        self.wait_active(server_id)

    def _check_console_output(self, server_id):
        full = self.wait_for_banner(server_id)
        request = self.request_sample(
            'servers/server-action-get-console-output-req.json')
        response = self.call('POST', self.server_path(server_id, '/action'),
                             request)
        self.check('servers/server-action-get-console-output-resp.json',
                   response, 200)
        output = response.body['output']
        # length N: the last N lines; the boot printed many more.
        length = request['os-getConsoleOutput']['length']
        lines = output.split('\n')
        if output.endswith('\n'):
            lines.pop()
        self.assertEqual(length, len(lines), output)
        self.assertIn(output, self.console_output(server_id))
        self.assertIn(GUEST_BANNER, full)
        # Control characters other than tab and newline are stripped.
        self.assertIsNone(_CONTROL_CHARACTERS.search(full))
        self.assertEqual('', self.console_output(server_id, length=0))

    def _check_serial_consoles(self, server_id):
        action = self.server_path(server_id, '/action')
        request = self.request_sample(
            'servers/server-action-get-serial-console-req.json')
        captured = self.check(
            'servers/server-action-get-serial-console-resp.json',
            self.call('POST', action, request), 200)
        self.assertEqual({'127.0.0.1'}, captured['proxy_host'])
        self.assertEqual({str(self.services.proxy_port)},
                         captured['proxy_port'])
        # Gone from microversion 2.6 on.
        self.check('errors/serial-console-action-removed-resp.json',
                   self.call('POST', action, request, version='2.6'), 404,
                   version='2.6')

        response = self.call(
            'POST', self.server_path(server_id, '/remote-consoles'),
            self.request_sample('remote-consoles/create-serial-req.json'),
            version='2.6')
        captured = self.check('remote-consoles/create-serial-resp.json',
                              response, 200, version='2.6')
        self.assertEqual({str(self.services.proxy_port)},
                         captured['proxy_port'])
        url = response.body['remote_console']['url']
        self.open_console(url)
        return url

    def _check_console_viewers(self, server_id):
        path = self.server_path(server_id, '/console-viewers')
        request = self.request_sample(
            'console-viewers/create-viewer-req.json')
        # Any microversion: not one of Nova's versioned resources.
        for version in ('2.1', '2.6', '2.25'):
            response = self.call('POST', path, request, version=version)
            captured = self.check('console-viewers/create-viewer-resp.json',
                                  response, 200, version=version)
            self.assertEqual({'127.0.0.1'}, captured['proxy_host'])
            self.assertEqual({str(self.services.proxy_port)},
                             captured['proxy_port'])
            # One token for the websocket and the page.
            self.assertEqual(1, len(captured['token']))
        self.check('errors/console-viewer-unknown-key-resp.json',
                   self.call('POST', path, self.request_sample(
                       'errors/console-viewer-unknown-key-req.json')), 400)
        captured = self.check(
            'errors/server-not-found-resp.json',
            self.call('POST', path, request, token=OTHER_PROJECT_TOKEN),
            404)
        self.assertEqual({server_id}, captured['uuid'])
        return response.body['console_viewer']['url']

    def _check_reboots(self, server_id, console_url, viewer_url):
        action = self.server_path(server_id, '/action')
        soft = self.request_sample(
            'servers/server-action-reboot-soft-req.json')
        self.assertNoBody(self.call('POST', action, soft), 202)
        self.wait_active(server_id)

        self.assertNoBody(self.call('POST', action, self.request_sample(
            'servers/server-action-reboot-req.json')), 202)
        # The hard reboot runs (destroy and boot again) for a second or
        # more: meanwhile the server refuses what needs it ready.
        captured = self.check(
            'errors/console-not-ready-resp.json',
            self.call('POST', action, load_sample(
                'servers/server-action-get-console-output-req.json')), 409)
        self.assertEqual({server_id}, captured['uuid'])
        captured = self.check('errors/reboot-invalid-state-resp.json',
                              self.call('POST', action, soft), 409)
        self.assertEqual({server_id}, captured['uuid'])
        self.wait_active(server_id)
        # The reboot revoked the console URLs issued before it.
        self.assertConsoleRefused(console_url)
        self.assertConsoleRefused(viewer_url)

    def _check_rebuild_and_delete(self, server_id):
        response = self.call(
            'POST', self.server_path(server_id, '/action'),
            self.request_sample('servers/server-action-rebuild-req.json'))
        captured = self.check('servers/server-action-rebuild-resp.json',
                              response, 202)
        self.assertEqual({server_id}, captured['uuid'])
        self.assertEqual(self.root + self.server_path(server_id),
                         response.headers['Location'])
        self.wait_active(server_id)

        self.assertNoBody(self.call('DELETE', self.server_path(server_id)),
                          204)
        self.wait_gone(server_id)
