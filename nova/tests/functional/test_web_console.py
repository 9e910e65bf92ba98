"""The web serial terminal in headless Chromium, on the real stack.

nova-all runs as its own process against qemu:///system with
``[serial_console] web_root`` filled by ``tools/install-web-console.sh``
(``npm ci`` of the committed lock); Debian's chromium, driven through
chromedriver by selenium, opens the page from nova-serialproxy as a user
would (``/console.html?token=...``) and types with key events.
"""

import os
import re
import time
import urllib.parse

from nova.tests import browser
from nova.tests.functional import base
from nova.tests.functional import services


def page_url(console_url):
    """The web terminal's URL for a console URL ``ws://host:port/?token=``
    (what the docs tell users to do)."""
    parts = urllib.parse.urlsplit(console_url)
    scheme = 'https' if parts.scheme == 'wss' else 'http'
    return urllib.parse.urlunsplit((scheme, parts.netloc, '/console.html',
                                    parts.query, ''))


class WebConsoleTestCase(base.FunctionalTestCase):
    def setUp(self):
        super().setUp()
        self.services = services.NovaServices(
            self.stack.kernel, self.stack.initrd, self.stack.cmdline,
            self.stack.virt_type,
            extra_conf={'serial_console': {
                'web_root': browser.web_root()}})
        self.addCleanup(self.services.cleanup)
        self.services.start()

    def call(self, method, path, body=None, version=None,
             expect=(200, 202)):
        status, answer = self.services.request(method, path, body,
                                               version=version)
        self.assertIn(status, expect, answer)
        return answer

    def create_server(self):
        server = self.call('POST', '/servers', {'server': {
            'name': 'web', 'imageRef': services.IMAGE_ID,
            'flavorRef': '1', 'networks': 'none'}})['server']
        self.addCleanup(self.services.request, 'DELETE',
                        '/servers/%s' % server['id'])
        deadline = time.monotonic() + base.BOOT_TIMEOUT
        while time.monotonic() < deadline:
            server = self.call('GET', '/servers/%s' % server['id'])['server']
            if server['status'] == 'ERROR':
                self.fail('server went to ERROR: %s' % server.get('fault'))
            if (server['status'] == 'ACTIVE' and
                    not server.get('OS-EXT-STS:task_state')):
                return server['id']
            time.sleep(0.5)
        self.fail('server not ACTIVE within %d s' % base.BOOT_TIMEOUT)

    def console_url(self, server_id):
        answer = self.call(
            'POST', '/servers/%s/remote-consoles' % server_id,
            {'remote_console': {'protocol': 'serial', 'type': 'serial'}},
            version='2.6')
        return answer['remote_console']['url']

    def wait_output(self, server_id, pattern, timeout=base.BOOT_TIMEOUT):
        deadline = time.monotonic() + timeout
        output = ''
        while time.monotonic() < deadline:
            output = self.call(
                'POST', '/servers/%s/action' % server_id,
                {'os-getConsoleOutput': {}})['output']
            if re.search(pattern, output):
                return output
            time.sleep(0.5)
        self.fail('%r not in console output: %r' % (pattern, output[-500:]))

    def open_browser(self, url):
        chromium = browser.Browser()
        self.addCleanup(chromium.quit)
        chromium.open(url)
        return chromium

    def assertNoPageErrors(self, chromium):
        """No script error and nothing the CSP refused."""
        errors = [entry['message'] for entry in chromium.console_log()
                  if entry['level'] == 'SEVERE']
        self.assertEqual([], errors)

    def screenshot(self, chromium, name):
        """A screenshot in $NOVA_FUNCTIONAL_SCREENSHOTS (a folder), if set: to
        look at the page as the test saw it."""
        folder = os.environ.get('NOVA_FUNCTIONAL_SCREENSHOTS')
        if folder:
            os.makedirs(folder, exist_ok=True)
            chromium.screenshot(os.path.join(
                folder, '%s-%s.png' % (self.id().rsplit('.', 1)[-1], name)))


class InteractivePageTestCase(WebConsoleTestCase):
    def test_typed_command_is_answered(self):
        server_id = self.create_server()
        self.wait_output(server_id, base.BANNER.decode())
        chromium = self.open_browser(page_url(self.console_url(server_id)))
        chromium.type('\n')
        chromium.wait_text(re.escape(base.PROMPT.decode()))
        chromium.type('echo web-$((6*7))\n')
        # The echoed typing, then the shell's answer on a line of its own.
        chromium.wait_text(r'(?m)^web-42\s*$')
        self.assertFalse(chromium.element('badge').is_displayed())
        self.assertIn('Interactive', chromium.bar())
        self.screenshot(chromium, 'interactive')
        self.assertNoPageErrors(chromium)
        # What was typed reached the guest: it is in the console log.
        self.wait_output(server_id, r'echo web-\$\(\(6\*7\)\)')

    def test_page_without_token_says_so(self):
        proxy = 'http://127.0.0.1:%d' % self.services.proxy_port
        chromium = self.open_browser(proxy + '/console.html')
        self.assertIn('No console token', chromium.bar())
        chromium = self.open_browser(proxy + '/?token=not-a-token')
        deadline = time.monotonic() + 30
        while 'Closed' not in chromium.bar():
            self.assertLess(time.monotonic(), deadline, chromium.bar())
            time.sleep(0.2)
        # The proxy's close code and reason, as the user sees them.
        self.assertIn('Closed (1008): Invalid or expired console token',
                      chromium.bar())


class HistoryAndViewerTestCase(WebConsoleTestCase):
    def viewer_web_url(self, server_id):
        answer = self.call('POST', '/servers/%s/console-viewers' % server_id,
                           {'console_viewer': {}})
        return answer['console_viewer']['web_url']

    def test_history_typing_and_a_read_only_viewer(self):
        server_id = self.create_server()
        # Booted before any browser looks: the banner can only come from
        # the console's history.
        output = self.wait_output(server_id, base.BANNER.decode())
        banner = re.search(base.BANNER.decode(), output).group(0)

        chromium = self.open_browser(page_url(self.console_url(server_id)))
        chromium.wait_text(re.escape(banner))
        chromium.wait_text(r'Linux version')  # the kernel's first lines
        self.assertIn('Interactive', chromium.bar())
        self.assertFalse(chromium.element('badge').is_displayed())
        chromium.type('\n')
        chromium.wait_text(re.escape(base.PROMPT.decode()))
        chromium.type('echo web-$((6*7))\n')
        chromium.wait_text(r'(?m)^web-42\s*$')
        self.assertEqual({'mode': 'interactive', 'uuid': server_id,
                          'live': True, 'closed': None}, chromium.state())

        viewer = self.open_browser(self.viewer_web_url(server_id))
        # The same history, and what the interactive user did.
        viewer.wait_text(re.escape(banner))
        viewer.wait_text(r'(?m)^web-42\s*$')
        viewer.wait_text(r'echo web-\$\(\(6\*7\)\)')
        self.assertTrue(viewer.element('badge').is_displayed())
        self.assertIn('Read-only viewer', viewer.bar())
        # Live: the next command and its answer reach the viewer too.
        chromium.type('echo seen-$((7*6))\n')
        viewer.wait_text(r'(?m)^seen-42\s*$')
        # What the viewer types reaches nobody: the next interactive
        # command comes back, and the viewer's never showed up anywhere.
        viewer.type('echo viewer-typed-$((1+1))\n')
        time.sleep(1)
        chromium.type('echo after-$((2+2))\n')
        chromium.wait_text(r'(?m)^after-4\s*$')
        viewer.wait_text(r'(?m)^after-4\s*$')
        self.assertNotIn('viewer-typed', chromium.text())
        self.assertNotIn('viewer-typed', viewer.text())
        output = self.wait_output(server_id, r'after-4')
        self.assertNotIn('viewer-typed', output)

        self.screenshot(chromium, 'interactive')
        self.screenshot(viewer, 'viewer')
        self.assertNoPageErrors(chromium)
        self.assertNoPageErrors(viewer)

        # A second interactive page is refused with the proxy's reason.
        second = self.open_browser(page_url(self.console_url(server_id)))
        deadline = time.monotonic() + 30
        while 'Closed' not in second.bar():
            self.assertLess(time.monotonic(), deadline, second.bar())
            time.sleep(0.2)
        self.assertIn('Closed (4409): An interactive session is already '
                      'open', second.bar())

        # A new URL opened in the same tab (as after a migration) goes on
        # where the tab was: the kept tail, then only what followed it,
        # not the whole history again.
        chromium.open(page_url(self.console_url(server_id)))
        chromium.type('echo again-$((3+3))\n')
        text = chromium.wait_text(r'(?m)^again-6\s*$')
        # The kernel's first line is long before the kept 1024 bytes.
        self.assertNotIn('Linux version', text)
        self.assertEqual(1, text.count(banner), text)
        self.assertEqual(1, text.count('echo after-$((2+2))'), text)
        self.assertEqual(1, text.count('echo again-$((3+3))'), text)
