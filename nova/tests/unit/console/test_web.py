"""The web terminal's static files, served by a real nova-serialproxy.

The proxy runs in a thread (test_websocketproxy's fixtures); the web root
is a temporary folder filled with small stand-ins for the page and
xterm.js; requests go over a raw socket so every byte of the answer is
seen.
"""

import os
import socket
import stat
import tempfile
import threading
import time
import uuid

import testtools

from nova.console import web
from nova.tests.unit.console import test_websocketproxy as base

TIMEOUT = base.TIMEOUT
# A group that neither root nor the test process is in.
FOREIGN_GID = 4242
CONTENTS = {path: ('content of %s\n' % relpath).encode()
            for path, (relpath, _) in web.FILES.items()}


def parse(data):
    """(status code, {lower-case header: value}, body) of one answer."""
    head, sep, body = data.partition(b'\r\n\r\n')
    if not sep:
        raise AssertionError('no complete answer: %r' % data[:300])
    lines = head.decode('latin-1').split('\r\n')
    code = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(':')
        headers[name.strip().lower()] = value.strip()
    return code, headers, body


class WebTestCase(base.ProxyTestCase):
    def setUp(self):
        # The web root is set before the proxy starts (it reads the
        # option at each request anyway).
        self.outside = tempfile.mkdtemp(prefix='nova-web-test-')
        self.root = os.path.join(self.outside, 'web')
        for relpath, _ in web.FILES.values():
            path = os.path.join(self.root, relpath)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as f:
                f.write(('content of %s\n' % relpath).encode())
        with open(os.path.join(self.outside, 'secret'), 'w') as f:
            f.write('SECRET')
        super().setUp()
        self.addCleanup(self._rmtree)
        self.flags(web_root=self.root, group='serial_console')

    def _rmtree(self):
        for top, dirs, files in os.walk(self.outside, topdown=False):
            for name in files + dirs:
                path = os.path.join(top, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)
        os.rmdir(self.outside)

    def request(self, path, method='GET', headers=(), send=None):
        lines = ['%s %s HTTP/1.1' % (method, path),
                 'Host: 127.0.0.1:%d' % self.proxy.port]
        lines.extend(headers)
        request = send or ('\r\n'.join(lines) + '\r\n\r\n').encode()
        data = b''
        with socket.create_connection(('127.0.0.1', self.proxy.port),
                                      timeout=TIMEOUT) as sock:
            sock.sendall(request)
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    return data
                data += chunk
        raise AssertionError('the proxy did not close: %r' % data[:300])

    def get(self, path, **kwargs):
        return parse(self.request(path, **kwargs))

    def assertNotFound(self, path, **kwargs):
        code, headers, body = self.get(path, **kwargs)
        self.assertEqual(404, code, (path, body[:200]))
        self.assertEqual(b'Not found\n', body)
        self.assertSecurityHeaders(headers)

    def assertSecurityHeaders(self, headers):
        csp = headers['content-security-policy']
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self';", csp)
        self.assertIn("connect-src 'self' ws://127.0.0.1:6083;", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn('unsafe-eval', csp)
        self.assertEqual('nosniff', headers['x-content-type-options'])
        self.assertEqual('no-referrer', headers['referrer-policy'])
        self.assertEqual('DENY', headers['x-frame-options'])
        self.assertIn(headers['cache-control'], ('no-store', 'no-cache'))
        self.assertEqual('close', headers['connection'])
        self.assertEqual('nova-serialproxy', headers['server'])


class TestServing(WebTestCase):
    def test_every_listed_file_with_its_type(self):
        for path, (relpath, content_type) in web.FILES.items():
            code, headers, body = self.get(path)
            self.assertEqual(200, code, path)
            self.assertEqual(('content of %s\n' % relpath).encode(), body)
            self.assertEqual(content_type, headers['content-type'])
            self.assertEqual(str(len(body)), headers['content-length'])
            self.assertSecurityHeaders(headers)

    def test_root_is_the_page_and_the_query_is_ignored(self):
        token = 'tok-%s' % uuid.uuid4()
        _, _, page = self.get('/console.html')
        for path in ('/', '/?token=%s' % token,
                     '/console.html?token=%s&history=10' % token):
            code, headers, body = self.get(path)
            self.assertEqual((200, page), (code, body), path)
            # The page's URL holds the token: never stored anywhere.
            self.assertEqual('no-store', headers['cache-control'])
        self.assertNotIn(token, self.log.output)

    def test_head_has_the_headers_and_no_body(self):
        code, headers, body = self.get('/console.js', method='HEAD')
        self.assertEqual(200, code)
        self.assertEqual(b'', body)
        self.assertEqual(str(len(CONTENTS['/console.js'])),
                         headers['content-length'])
        self.assertSecurityHeaders(headers)

    def test_etag_revalidation(self):
        _, headers, _ = self.get('/vendor/xterm.js')
        self.assertEqual('no-cache', headers['cache-control'])
        etag = headers['etag']
        code, _, body = self.get('/vendor/xterm.js',
                                 headers=['If-None-Match: %s' % etag])
        self.assertEqual((304, b''), (code, body))
        with open(os.path.join(self.root, web.FILES['/vendor/xterm.js'][0]),
                  'ab') as f:
            f.write(b'upgraded')
        code, headers, body = self.get('/vendor/xterm.js',
                                       headers=['If-None-Match: %s' % etag])
        self.assertEqual(200, code)
        self.assertTrue(body.endswith(b'upgraded'))
        self.assertNotEqual(etag, headers['etag'])

    def test_one_answer_per_connection(self):
        # Keep-alive and a pipelined second request: one answer, then the
        # proxy closes (each request goes through the acceptor's caps).
        request = (b'GET /console.css HTTP/1.1\r\nHost: x\r\n'
                   b'Connection: keep-alive\r\n\r\n'
                   b'GET /console.js HTTP/1.1\r\nHost: x\r\n\r\n')
        data = self.request(None, send=request)
        code, _, body = parse(data)
        self.assertEqual((200, CONTENTS['/console.css']), (code, body))

    def test_websocket_upgrade_still_proxies(self):
        token = self.tokens.add(self.guest.port)
        ws = self.connect(token)
        ws.send_binary(b'hello')
        self.assertEqual(b'hello', base.recv_exactly(ws, 5))


class TestRefusals(WebTestCase):
    def test_unknown_paths(self):
        for path in ('/index.html', '/etc/passwd', '/console.html/',
                     '/CONSOLE.HTML', '/console.js.map', '//secret',
                     '/./console.html', '/../secret', '/vendor/../secret',
                     '/%2e%2e/secret', '/..%2fsecret', '/vendor/',
                     '/vendor', '/vendor/node_modules/@xterm/xterm/lib/'
                     'xterm.js', '/secret', 'http://x/console.html',
                     '*', '/console.html%00'):
            self.assertNotFound(path)

    def test_symlinked_file_is_not_followed(self):
        page = os.path.join(self.root, 'console.js')
        os.unlink(page)
        os.symlink(os.path.join(self.outside, 'secret'), page)
        code, _, body = self.get('/console.js')
        self.assertEqual(404, code)
        self.assertNotIn(b'SECRET', body)

    def test_symlinked_folder_is_not_followed(self):
        # vendor -> the same folder moved elsewhere, every file in place.
        vendor = os.path.join(self.root, 'vendor')
        moved = os.path.join(self.outside, 'vendor-elsewhere')
        os.rename(vendor, moved)
        os.symlink(moved, vendor)
        self.assertNotFound('/vendor/xterm.js')
        os.unlink(vendor)
        os.rename(moved, vendor)
        # A link deeper down: .../@xterm/xterm -> elsewhere.
        xterm = os.path.join(vendor, 'node_modules', '@xterm', 'xterm')
        os.rename(xterm, moved)
        os.symlink(moved, xterm)
        self.assertNotFound('/vendor/xterm.css')
        self.assertEqual(200, self.get('/vendor/addon-fit.js')[0])

    def test_symlinked_web_root_is_not_followed(self):
        link = os.path.join(self.outside, 'root-link')
        os.symlink(self.root, link)
        self.flags(web_root=link, group='serial_console')
        self.assertNotFound('/console.html')
        self.assertIn('web_root %s' % link, self.log.output)

    def test_fifo_device_and_folder_are_not_files(self):
        page = os.path.join(self.root, 'console.css')
        os.unlink(page)
        os.mkfifo(page)
        self.assertNotFound('/console.css')  # and no hang on the FIFO
        os.unlink(page)
        os.mkdir(page)
        self.assertNotFound('/console.css')
        os.rmdir(page)
        if os.geteuid() == 0:
            os.mknod(page, stat.S_IFCHR | 0o644, os.makedev(1, 5))
            self.assertNotFound('/console.css')  # /dev/zero's device

    def test_writable_by_others_or_foreign_owner_is_refused(self):
        page = os.path.join(self.root, 'console.js')
        os.chmod(page, 0o666)
        self.assertNotFound('/console.js')
        os.chmod(page, 0o644)
        self.assertEqual(200, self.get('/console.js')[0])
        os.chmod(self.root, 0o777)
        self.assertNotFound('/console.js')
        os.chmod(self.root, 0o755)
        if os.geteuid() == 0:
            os.chown(page, 4242, -1)
            self.assertNotFound('/console.js')
            self.assertIn('owned by uid 4242', self.log.output)

    def test_missing_root_or_file(self):
        os.unlink(os.path.join(self.root, 'console.css'))
        self.assertNotFound('/console.css')
        self.flags(web_root=os.path.join(self.outside, 'nope'),
                   group='serial_console')
        self.assertNotFound('/')
        self.assertIn('cannot serve the web console', self.log.output)
        self.flags(web_root='relative/path', group='serial_console')
        self.assertNotFound('/')

    def test_file_too_big(self):
        self.useFixture(base.fixtures.MockPatch(
            'nova.console.web.MAX_FILE_BYTES', 10))
        self.assertNotFound('/console.html')

    def test_other_methods(self):
        for method in ('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'):
            code, headers, body = self.get('/console.html', method=method)
            self.assertEqual(405, code, method)
            self.assertEqual('GET, HEAD', headers['allow'])
            self.assertSecurityHeaders(headers)
        data = self.request('/console.html', method='BREW')
        self.assertTrue(data.startswith(b'HTTP/1.1 501 '), data[:40])
        self.assertNotIn(b'Traceback', data)

    def test_slow_request_gets_the_acceptors_deadline(self):
        self.flags(handshake_timeout=1, group='serial_console')
        with socket.create_connection(('127.0.0.1', self.proxy.port),
                                      timeout=TIMEOUT) as sock:
            sock.sendall(b'GET /console.html HTTP/1.1\r\nHost: x\r\n')
            data = sock.recv(65536)
        self.assertTrue(data.startswith(b'HTTP/1.1 408 '), data[:40])


class TestOpenFile(WebTestCase):
    def test_bad_relative_paths_are_refused_before_any_open(self):
        for relpath in ('', '/console.html', 'a//b', '../secret',
                        'vendor/../console.html', './console.html'):
            self.assertRaises(web.Refused, web.open_file, self.root, relpath)

    def test_reads_the_file(self):
        data, st = web.open_file(self.root, 'console.css')
        self.assertEqual(b'content of console.css\n', data)
        self.assertEqual(len(data), st.st_size)

    def test_no_descriptor_leaks(self):
        before = len(os.listdir('/proc/self/fd'))
        os.unlink(os.path.join(self.root, 'console.css'))
        for _ in range(50):
            web.open_file(self.root, 'console.js')
            self.assertRaises(web.Refused, web.open_file, self.root,
                              'console.css')
            self.assertRaises(web.Refused, web.open_file, self.root,
                              'vendor/none/x.js')
        self.assertLessEqual(len(os.listdir('/proc/self/fd')), before + 2)

    @testtools.skipUnless(os.geteuid() == 0, 'needs root to chown')
    def test_writable_by_a_foreign_group_is_refused(self):
        # Every member of the group could replace the page's script.
        page = os.path.join(self.root, 'console.js')
        for path, mode in ((page, 0o664), (self.root, 0o775)):
            os.chown(path, -1, FOREIGN_GID)
            os.chmod(path, mode)
            e = self.assertRaises(web.Refused, web.open_file, self.root,
                                  'console.js')
            self.assertIn('writable by group gid %d' % FOREIGN_GID, str(e))
            # Read-only for that group, or writable by root's: served.
            os.chmod(path, mode & ~stat.S_IWGRP)
            self.assertEqual(CONTENTS['/console.js'],
                             web.open_file(self.root, 'console.js')[0])
            os.chown(path, -1, 0)
            os.chmod(path, mode)
            self.assertEqual(CONTENTS['/console.js'],
                             web.open_file(self.root, 'console.js')[0])
            os.chmod(path, mode & ~stat.S_IWGRP)

    def test_csp_names_the_base_url_host_only(self):
        csp = web.content_security_policy('wss://u:p@console.example:443/x')
        self.assertIn("connect-src 'self' wss://console.example:443;", csp)
        csp = web.content_security_policy('bogus')
        self.assertIn("connect-src 'self';", csp)


class TestConcurrency(WebTestCase):
    def test_many_clients_at_once(self):
        results = []

        def fetch():
            results.append(self.get('/vendor/xterm.js')[0])
        threads = [threading.Thread(target=fetch) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 2)
        self.assertEqual([200] * 20, results)
